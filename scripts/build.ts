/**
 * `deno task build`: mkvenv as one JavaScript file, `dist/mkvenv.js`, the program the release
 * binaries are compiled from (`deno task compile`) and the one `deno task bench` times.
 *
 * 1. `deno bundle` joins main.ts, lib/ and the text-imported templates into one module. One,
 *    not a program split into chunks loaded with `import()`: a compiled binary keeps the code
 *    cache of the modules its first run loaded before it started, and never of a chunk
 *    imported later (Deno's cli/rt/code_cache.rs), so a seeding chunk would be compiled anew
 *    by every run with pip. lib/ imports everything statically for the same reason.
 * 2. The functions that everyday runs call are made ones V8 compiles when it compiles the
 *    module (scripts/eager.ts), so that they are in the code cache Deno makes then, whichever
 *    command the first run was; compiled on first call instead, they would cost every run
 *    2-3 ms. The others (help, listing, refusals, the first run's unpacking of a wheel, ...)
 *    are left to be compiled if called: compiling them all in advance makes a code cache 1.6
 *    times the size, which every run reads, about 1 ms more of a `--without-pip` build.
 * 3. Which functions everyday runs call, the program itself shows (`trainingRuns`): built with
 *    every function eager, it makes venvs with and without pip, by path and by the default
 *    search, from a warm cache, under V8's coverage, and the functions that ran stay eager.
 *    Without a Python to train with (none on PATH and no `MKVENV_BUILD_PYTHON`), every
 *    function stays eager, which is slower to start but behaves the same.
 */
import { eagerModule, functionKey, keepEager } from "./eager.ts";
import { dirname, fromFileUrl, join } from "../lib/disk/paths.ts";
import { parsePyvenvCfg } from "../lib/venv/pyvenv_cfg.ts";

const ROOT = join(dirname(fromFileUrl(import.meta.url)), "..");
const MAIN = join(ROOT, "main.ts");

/** The program's file name in the directory it is built into. */
export const ENTRY = "mkvenv.js";

/** What a build reports on (stderr by default). */
export type BuildLog = (line: string) => void;

async function deno(args: string[], env?: Record<string, string>) {
  return await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(env ? { env } : {}),
  }).output();
}

/**
 * The everyday runs the program is trained on: without pip and (when the interpreter can seed
 * it) with it, by the default search and by the path of `python`, the cache warm.
 */
function trainingRuns(python: string, withPip: boolean): string[][] {
  const runs = [["--without-pip"], ["-p", python, "--without-pip"]];
  return withPip ? [...runs, [], ["-p", python]] : runs;
}

/**
 * The functions of `program` (an `eagerModule` output) that the training runs call, by
 * `functionKey`; null, said with `log`, when there is no Python to train with.
 */
export async function hotFunctions(
  program: string,
  options: { python?: string | undefined; log: BuildLog },
): Promise<Set<string> | null> {
  const { log } = options;
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-train-" });
  try {
    const path = join(dir, ENTRY);
    await Deno.writeTextFile(path, program);
    const env = {
      ...Deno.env.toObject(),
      MKVENV_CACHE_DIR: join(dir, "cache"),
      DENO_DIR: join(dir, "deno"),
      NO_COLOR: "1",
    };
    const mkvenv = (args: string[], coverage?: string) =>
      deno([
        "run",
        "--allow-all",
        "--no-config",
        "--quiet",
        ...(coverage ? [`--coverage=${coverage}`] : []),
        path,
        ...args,
      ], env);
    const firstLine = (out: Deno.CommandOutput) =>
      new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    // Unmeasured: the interpreter's facts into the cache, its name from the venv, pip's wheel.
    const asked = options.python;
    const first = await mkvenv([...(asked ? ["-p", asked] : []), "--without-pip", join(dir, "w0")]);
    if (!first.success) {
      log(
        `no Python to train the program with (${firstLine(first)}): every function eager; ` +
          "set MKVENV_BUILD_PYTHON to a Python to train on",
      );
      return null;
    }
    const cfg = parsePyvenvCfg(await Deno.readTextFile(join(dir, "w0", "pyvenv.cfg")));
    const python = asked ?? cfg.get("executable") ?? "";
    const seeded = await mkvenv(["-p", python, join(dir, "w1")]);
    if (!seeded.success) log(`${python} cannot seed pip (${firstLine(seeded)}): trained without`);
    const coverage = join(dir, "coverage");
    let i = 0;
    for (const args of trainingRuns(python, seeded.success)) {
      const out = await mkvenv([...args, join(dir, `v${++i}`)], coverage);
      if (!out.success) log(`training run mkvenv ${args.join(" ")} failed: ${firstLine(out)}`);
    }
    const hot = new Set<string>();
    const reports = [
      ...(await Deno.stat(coverage).catch(() => null) ? Deno.readDirSync(coverage) : []),
    ];
    if (reports.length === 0) {
      log("no training run left a coverage report: every function eager");
      return null;
    }
    for (const entry of reports) {
      const report = JSON.parse(await Deno.readTextFile(join(coverage, entry.name)));
      if (!String(report.url).endsWith(`/${ENTRY}`)) continue;
      for (const fn of report.functions as V8FunctionCoverage[]) {
        const whole = fn.ranges[0];
        if (whole && whole.count > 0) hot.add(functionKey(whole.startOffset, whole.endOffset));
      }
    }
    log(`trained on ${python}: ${hot.size} functions ran and stay eager`);
    return hot;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A function's entry in V8's coverage report: its first range is the whole function. */
interface V8FunctionCoverage {
  ranges: { startOffset: number; endOffset: number; count: number }[];
}

/** How a build trains the program (see the header). */
export interface BuildOptions {
  /** The Python to train with; default `MKVENV_BUILD_PYTHON`, else mkvenv's default search. */
  python?: string;
  log?: BuildLog;
}

/** Bundle main.ts into one module and rewrite it (see the header); returns its text. */
export async function buildProgram(options: BuildOptions = {}): Promise<string> {
  const log = options.log ?? ((line: string) => console.error(`build: ${line}`));
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-build-" });
  try {
    const bundle = join(dir, ENTRY);
    const out = await deno(["bundle", "--quiet", "--platform", "deno", "--output", bundle, MAIN]);
    if (!out.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const eager = eagerModule(await Deno.readTextFile(bundle));
    const python = options.python ?? Deno.env.get("MKVENV_BUILD_PYTHON");
    const hot = await hotFunctions(eager, { python, log });
    const banner = "// mkvenv, built by scripts/build.ts from main.ts; do not edit.\n";
    return banner + keepEager(eager, hot);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Write the program into the directory `dir` (default dist/) as `ENTRY`; returns its path,
 * which is what `deno run` and `deno compile` take.
 */
export async function build(
  dir = join(ROOT, "dist"),
  options: BuildOptions = {},
): Promise<string> {
  const program = await buildProgram(options);
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, ENTRY);
  await Deno.writeTextFile(path, program);
  return path;
}

if (import.meta.main) {
  console.log(await build(Deno.args[0]));
}
