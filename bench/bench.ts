/**
 * `deno task bench`: mkvenv against the tools it replaces, measured side by side in one run,
 * same interpreter, a fresh target directory for every run, runs interleaved so that machine
 * noise hits both sides alike. Prints the median of each and the ratio.
 *
 * Which mkvenv: `MKVENV_BENCH_BIN` (the words that run it, e.g. a compiled release binary; the
 * CI workflow times the binary it compiles this way). Otherwise `deno run` of the program the
 * binary is compiled from (`dist/mkvenv.js`, scripts/build.ts), built into a scratch directory,
 * because `deno compile` cannot run here; like the binary, it reads no `deno.json`. The
 * `--without-pip` figure of `deno run main.ts` from source, which also loads and
 * transpile-caches 30-odd modules, is printed too.
 *
 * Times include Deno's own start-up. The bench prints it alone (an empty script), mkvenv's
 * `--version`, and mkvenv's first run on an empty cache (unpacking and byte-compiling the pip
 * wheel once), which the timed runs do not include.
 *
 * virtualenv is installed from the local package mirror into a scratch venv (made by mkvenv);
 * without it, its comparison is skipped with a note.
 *
 * `MKVENV_BENCH_BASELINE=REV` adds a before/after comparison in the same run: the program
 * built from the git revision REV (say `main`, or the commit before a change) against this
 * tree's, both with `--without-pip`, the path where start-up is most of the time.
 */
import { join } from "../lib/disk/paths.ts";
import { build } from "../scripts/build.ts";

const PYTHON = Deno.env.get("MKVENV_BENCH_PYTHON") ?? "/root/.pyenv/versions/3.12.1/bin/python3.12";
const RUNS = Number(Deno.env.get("MKVENV_BENCH_RUNS") ?? "15");
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SOURCE: readonly string[] = [Deno.execPath(), "run", "--allow-all", MAIN];

/** One side of a comparison: the command that creates a venv at `target`. */
export interface Side {
  label: string;
  argv: (target: string) => string[];
  /** Run after creation, timed with it (e.g. the first `pip --version`). */
  after?: (target: string) => string[];
}

/** A comparison of mkvenv with another tool. */
export interface Case {
  title: string;
  ours: Side;
  theirs: Side;
  /** The least ratio the issue asks for. */
  target: number;
  /** Interleaved runs (default `MKVENV_BENCH_RUNS`): fewer for the slow `python -m venv`. */
  runs?: number;
}

async function exec(argv: string[], env: Record<string, string>): Promise<void> {
  if (argv.length === 0) return;
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd!, { args, env, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Flush the file system's dirty data, so a run does not pay for the write-back of the one
 * before it (`python -m venv` leaves megabytes of it; the machine is shared).
 */
async function settle(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output().catch(() => {});
}

async function timeOnce(side: Side, dir: string, env: Record<string, string>): Promise<number> {
  const target = join(dir, `t-${crypto.randomUUID().slice(0, 8)}`);
  await settle();
  const start = performance.now();
  await exec(side.argv(target), env);
  if (side.after) await exec(side.after(target), env);
  const elapsed = performance.now() - start;
  await Deno.remove(target, { recursive: true });
  return elapsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Run one case: warm-up, then `runs` interleaved pairs. Returns the two medians in ms. */
export async function runCase(c: Case, runs = RUNS): Promise<{ ours: number; theirs: number }> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-bench-" });
  const env = { ...Deno.env.toObject(), MKVENV_CACHE_DIR: join(dir, ".cache") };
  try {
    await timeOnce(c.ours, dir, env);
    await timeOnce(c.theirs, dir, env);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await timeOnce(c.ours, dir, env));
      theirs.push(await timeOnce(c.theirs, dir, env));
    }
    return { ours: median(ours), theirs: median(theirs) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The words that run mkvenv in the timed runs (see the header); set by `chooseMkvenv`. */
let MKVENV: readonly string[] = SOURCE;

/** `MKVENV_BENCH_BIN`, else the program built into `dir`. Returns how it is described. */
async function chooseMkvenv(dir: string): Promise<string> {
  const bin = Deno.env.get("MKVENV_BENCH_BIN");
  if (bin) {
    MKVENV = bin.split(" ").filter((w) => w !== "");
    return `mkvenv = ${bin} (MKVENV_BENCH_BIN)`;
  }
  const program = await build(join(dir, "mkvenv.js"));
  MKVENV = [Deno.execPath(), "run", "--allow-all", "--no-config", program];
  return "mkvenv = deno run of dist/mkvenv.js as scripts/build.ts makes it (what the binary runs)";
}

const mkvenvSide = (extra: string[], words?: readonly string[]): Side => ({
  label: `mkvenv ${extra.join(" ")}`.trim(),
  argv: (t) => [...(words ?? MKVENV), "-p", PYTHON, ...extra, t],
});
const withoutPip: Side = {
  label: `${PYTHON} -m venv --without-pip`,
  argv: (t) => [PYTHON, "-m", "venv", "--without-pip", t],
};

const SLOW_RUNS = Number(Deno.env.get("MKVENV_BENCH_SLOW_RUNS") ?? "5");
const venvWithPip: Side = {
  label: `${PYTHON} -m venv`,
  argv: (t) => [PYTHON, "-m", "venv", t],
};
const firstPip = (t: string) => [join(t, "bin", "pip"), "--version"];

/** The comparisons `deno task bench` runs. */
export const CASES: Case[] = [
  {
    title: "create a venv with pip (the default)",
    ours: mkvenvSide([]),
    theirs: venvWithPip,
    target: 40,
    runs: SLOW_RUNS,
  },
  {
    title: "create a venv, then its first bin/pip --version",
    ours: { ...mkvenvSide([]), after: firstPip },
    theirs: { ...venvWithPip, after: firstPip },
    target: 10,
    runs: SLOW_RUNS,
  },
  {
    title: "create a venv without pip",
    ours: mkvenvSide(["--without-pip"]),
    theirs: withoutPip,
    target: 2,
  },
  {
    title: "create a venv without pip, mkvenv run from source (deno run main.ts)",
    ours: mkvenvSide(["--without-pip"], SOURCE),
    theirs: withoutPip,
    target: 2,
  },
];

/**
 * A scratch venv (made by mkvenv) with virtualenv installed from the local package mirror, or
 * null when that fails (no mirror, no network). Its `virtualenv` seeds pip from its own cache,
 * which the warm-up run fills.
 */
async function virtualenvCase(dir: string): Promise<Case | string> {
  const tool = join(dir, "virtualenv-tool");
  const env = { ...Deno.env.toObject(), MKVENV_CACHE_DIR: join(dir, ".cache") };
  try {
    await exec([...SOURCE, "-p", PYTHON, tool], env);
    await exec([
      join(tool, "bin", "pip"),
      "install",
      "--quiet",
      "--index-url",
      Deno.env.get("MKVENV_BENCH_INDEX") ?? "file:///opt/pypi/simple",
      "virtualenv",
    ], { ...env, PIP_DEFAULT_TIMEOUT: "5", PIP_RETRIES: "0" });
  } catch (e: unknown) {
    return `virtualenv comparison skipped: cannot install virtualenv from the local mirror (${
      String(e).split("\n")[0]
    })`;
  }
  const appData = join(dir, "virtualenv-app-data");
  return {
    title: "create a venv with pip, against virtualenv (seeded, warm app-data)",
    ours: mkvenvSide([]),
    theirs: {
      label: "virtualenv",
      // No periodic update: it starts a background process that would slow the next run.
      argv: (t) => [
        "env",
        `VIRTUALENV_OVERRIDE_APP_DATA=${appData}`,
        join(tool, "bin", "virtualenv"),
        "-q",
        "--no-periodic-update",
        "-p",
        PYTHON,
        t,
      ],
    },
    target: 5,
  };
}

/**
 * The `MKVENV_BENCH_BASELINE` comparison: the program of git revision `rev` (exported into
 * `dir` and built with its own scripts/build.ts) against this tree's, without pip; or a note
 * saying why it cannot be made.
 */
async function baselineCase(dir: string, rev: string): Promise<Case | string> {
  const tree = join(dir, "baseline");
  const program = join(dir, "baseline.js");
  try {
    await Deno.mkdir(tree);
    const root = new URL("..", import.meta.url).pathname;
    const archive = await new Deno.Command("git", {
      args: ["-C", root, "archive", "--format=tar", rev],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!archive.success) throw new Error(new TextDecoder().decode(archive.stderr).trim());
    const tar = new Deno.Command("tar", { args: ["-x", "-C", tree], stdin: "piped" }).spawn();
    const writer = tar.stdin.getWriter();
    await writer.write(archive.stdout);
    await writer.close();
    if (!(await tar.status).success) throw new Error("tar -x failed");
    await exec([Deno.execPath(), "run", "-A", join(tree, "scripts", "build.ts"), program], {
      ...Deno.env.toObject(),
    });
  } catch (e: unknown) {
    return `baseline comparison skipped: cannot build ${rev} (${String(e).split("\n")[0]})`;
  }
  return {
    title: `create a venv without pip, this tree against ${rev} (before/after)`,
    ours: mkvenvSide(["--without-pip"]),
    theirs: {
      label: `mkvenv ${rev}`,
      argv: (t) => [
        Deno.execPath(),
        "run",
        "--allow-all",
        "--no-config",
        program,
        "-p",
        PYTHON,
        "--without-pip",
        t,
      ],
    },
    // Not slower: the same time within the noise of interleaved medians.
    target: 0.97,
  };
}

/** An entry of a venv's tree, parents first: what the floor script re-creates. */
type TreeEntry =
  | { kind: "dir"; rel: string }
  | { kind: "link"; rel: string; target: string }
  | { kind: "file"; rel: string; text: string; mode: number };

function treeEntries(root: string, rel = ""): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const entry of Deno.readDirSync(join(root, rel))) {
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    const path = join(root, child);
    if (entry.isSymlink) {
      entries.push({ kind: "link", rel: child, target: Deno.readLinkSync(path) });
    } else if (entry.isDirectory) {
      entries.push({ kind: "dir", rel: child }, ...treeEntries(root, child));
    } else {
      const mode = (Deno.statSync(path).mode ?? 0o644) & 0o777;
      entries.push({ kind: "file", rel: child, text: Deno.readTextFileSync(path), mode });
    }
  }
  return entries;
}

/**
 * The floor: Deno making the same `--without-pip` tree with no logic at all (one manifest read,
 * then mkdir, symlink and write for each entry in a stage, and one rename), the least any
 * `deno run` program can take for it.
 */
const FLOOR_SCRIPT = `const [manifest, target] = Deno.args;
const stage = target + ".stage";
Deno.mkdirSync(stage);
for (const e of JSON.parse(Deno.readTextFileSync(manifest))) {
  const path = stage + "/" + e.rel;
  if (e.kind === "dir") Deno.mkdirSync(path);
  else if (e.kind === "link") Deno.symlinkSync(e.target, path);
  else Deno.writeTextFileSync(path, e.text, { mode: e.mode });
}
Deno.renameSync(stage, target);
`;

interface Baselines {
  /** `deno run` of an empty script. */
  deno: number;
  /** mkvenv --version. */
  startup: number;
  /** Deno writing mkvenv's `--without-pip` tree with no logic. */
  floor: number;
  /** mkvenv's first run on an empty cache. */
  cold: number;
}

async function baselines(): Promise<Baselines> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-bench-" });
  try {
    const env = { ...Deno.env.toObject(), MKVENV_CACHE_DIR: join(dir, ".cache") };
    const cold = await timeOnce(mkvenvSide([]), dir, env);
    const empty = join(dir, "empty.js");
    await Deno.writeTextFile(empty, "");
    const reference = join(dir, "reference");
    await exec(mkvenvSide(["--without-pip"]).argv(reference), env);
    const manifest = join(dir, "tree.json");
    await Deno.writeTextFile(manifest, JSON.stringify(treeEntries(reference)));
    const floorScript = join(dir, "floor.js");
    await Deno.writeTextFile(floorScript, FLOOR_SCRIPT);
    const floorSide: Side = {
      label: "floor",
      argv: (t) => [Deno.execPath(), "run", "-A", "--no-config", floorScript, manifest, t],
    };
    await timeOnce(floorSide, dir, env);
    const startup: number[] = [];
    const deno: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let start = performance.now();
      await exec([...MKVENV, "--version"], env);
      startup.push(performance.now() - start);
      start = performance.now();
      await exec([Deno.execPath(), "run", "--no-config", empty], env);
      deno.push(performance.now() - start);
      floor.push(await timeOnce(floorSide, dir, env));
    }
    return { deno: median(deno), startup: median(startup), floor: median(floor), cold };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const scratch = await Deno.makeTempDir({ prefix: "mkvenv-bench-tools-" });
  const which = await chooseMkvenv(scratch);
  console.log(
    `interpreter: ${PYTHON}; ${RUNS} interleaved runs each (${SLOW_RUNS} against python -m venv ` +
      `with pip), medians, fresh target each run; ${which}; Deno start-up included`,
  );
  const { deno, startup, floor, cold } = await baselines();
  console.log(
    `Deno start-up alone (deno run of an empty script): ${deno.toFixed(1)} ms; ` +
      `mkvenv --version: ${startup.toFixed(1)} ms; ` +
      `Deno writing the same --without-pip tree with no logic (the floor): ${
        floor.toFixed(1)
      } ms; ` +
      `first run on an empty cache (unpack + byte-compile pip once): ${cold.toFixed(0)} ms`,
  );
  // `deno task bench WORD`: only the comparisons whose title contains WORD.
  const only = Deno.args[0];
  const wanted = (title: string) => only === undefined || title.includes(only);
  const cases = [...CASES];
  if (wanted("virtualenv")) {
    const ve = await virtualenvCase(scratch);
    if (typeof ve === "string") console.log(ve);
    else cases.push(ve);
  }
  const baseline = Deno.env.get("MKVENV_BENCH_BASELINE");
  if (baseline) {
    const before = await baselineCase(scratch, baseline);
    if (typeof before === "string") console.log(before);
    else cases.push(before);
  }
  for (const c of cases.filter((c) => wanted(c.title))) {
    const r = await runCase(c, c.runs ?? RUNS);
    const ratio = r.theirs / r.ours;
    console.log(
      `${c.title}: mkvenv ${r.ours.toFixed(1)} ms, ${c.theirs.label} ${r.theirs.toFixed(1)} ms: ` +
        `mkvenv is ${ratio.toFixed(ratio < 2 ? 2 : 1)}x faster (target ${c.target}x${
          ratio >= c.target ? ", met" : ", NOT met"
        })`,
    );
  }
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
}
