/**
 * The mkvenv command, a thin client of `EnvBuilder`: parse argv, map it to the builder's
 * options (the command line's defaults: links on POSIX, pip on), create each ENV_DIR, map
 * errors to exit statuses (2 usage, 1 build failure).
 */
import { BuildError, EnvBuilder, type EnvBuilderOptions, UsageError } from "./lib/mod.ts";
import { type CliRequest, helpText, parseCli, usageText } from "./lib/cli/cli.ts";
import { formatInterpreterList, listInterpreters } from "./lib/discovery/discovery.ts";
import { checkpoint, runInterruptCleanups } from "./lib/disk/interrupt.ts";
import { MKVENV_VERSION } from "./lib/version.ts";
import { cacheRoot } from "./lib/disk/cache.ts";
import { environmentError, openWasAbandoned } from "./lib/disk/disk.ts";
import { currentDir, envVar } from "./lib/disk/process_env.ts";
import { q } from "./lib/errors.ts";

/**
 * The words that start this mkvenv: the compiled binary, or deno running this file (its path
 * from `import.meta`, which costs no URL parsing on the start-up path).
 */
function invocation(): string[] {
  const exe = Deno.execPath();
  const isDeno = /^deno(\.exe)?$/i.test(exe.split(/[\\/]/).pop() ?? "");
  const program = import.meta.filename; // undefined when run from a remote URL
  if (!isDeno || program === undefined) return [exe];
  return [exe, "run", "--allow-all", program];
}

/** `MKVENV_PIP_WHEEL`: seed wheels separated like PATH entries. */
function pipWheelsFromEnv(): string[] {
  const value = envVar("MKVENV_PIP_WHEEL") ?? "";
  return value.split(Deno.build.os === "windows" ? ";" : ":").filter((p) => p !== "");
}

/**
 * The working directory, or "/" when it cannot be named (its path is not valid UTF-8, or it was
 * removed) and no path given needs it. Throws `BuildError` when one does.
 */
function workingDir(paths: readonly string[], log?: (line: string) => void): string {
  const here = currentDir();
  if (here !== null) return here;
  const absolute = Deno.build.os === "windows" ? /^([\\/]|[A-Za-z]:[\\/])/ : /^\//;
  const relative = paths.find((p) => !absolute.test(p));
  if (relative !== undefined) {
    throw new BuildError(
      `Cannot use the relative path ${q(relative)}: the working directory's path is not valid ` +
        `UTF-8 (or it was removed); give it as an absolute path`,
    );
  }
  log?.("the working directory cannot be named: no .python-version file is looked for");
  return "/";
}

/** The builder's options for the command line `request`. */
function builderOptions(
  request: CliRequest,
  context: { cwd: string; pipWheels: string[]; log: ((line: string) => void) | undefined },
): EnvBuilderOptions {
  const { log } = context;
  const options: EnvBuilderOptions = {
    systemSitePackages: request.systemSitePackages,
    symlinks: request.symlinks ?? Deno.build.os !== "windows",
    clear: request.clear,
    force: request.force,
    upgrade: request.upgrade,
    withPip: request.withPip,
    prompt: request.prompt,
    upgradeDeps: request.upgradeDeps,
    scmIgnoreFiles: request.scmIgnoreFiles ? ["git"] : [],
    invocation: invocation(),
    cwd: context.cwd,
    pipWheels: context.pipWheels,
    scripts: request.scripts,
    warn,
  };
  if (request.python !== undefined) options.python = request.python;
  if (request.linkMode) options.linkMode = request.linkMode;
  if (log) options.log = log;
  return options;
}

function warn(line: string): void {
  console.error(`mkvenv: warning: ${line}`);
}

/** Run mkvenv with `args`; returns the exit status. */
export async function main(args: readonly string[]): Promise<number> {
  let verbose = args.includes("-v") || args.includes("--verbose");
  const err = (line: string) => console.error(line);
  try {
    const request = parseCli(args);
    verbose = request.verbose;
    if (request.help) {
      await Deno.stdout.write(new TextEncoder().encode(helpText()));
      return 0;
    }
    if (request.version) {
      console.log(`mkvenv ${MKVENV_VERSION}`);
      return 0;
    }
    const log = verbose ? (line: string) => err(`mkvenv: ${line}`) : undefined;
    cacheRoot(); // an unusable MKVENV_CACHE_DIR is refused before anything else
    const pipWheels = request.pipWheels.length > 0 ? request.pipWheels : pipWheelsFromEnv();
    const python = request.python;
    const pythonPath = python !== undefined && /[\\/]/.test(python) ? [python] : [];
    const cwd = workingDir(
      request.listPythons ? pythonPath : [...request.envDirs, ...pipWheels, ...pythonPath],
      log,
    );
    const findOptions = { cwd, ...(log ? { log } : {}), warn };
    if (request.listPythons) {
      const list = await listInterpreters(request.python, findOptions);
      await Deno.stdout.write(new TextEncoder().encode(formatInterpreterList(list)));
      return list.entries.length > 0 ? 0 : 1;
    }
    const builder = new EnvBuilder(builderOptions(request, { cwd, pipWheels, log }));
    for (const envDir of request.envDirs) {
      await checkpoint(); // a signal stops the run between targets too
      await builder.create(envDir);
    }
    return 0;
  } catch (e: unknown) {
    if (e instanceof UsageError) {
      err(usageText());
      err(`mkvenv: error: ${e.message}`);
      return 2;
    }
    if (e instanceof BuildError) {
      err(`mkvenv: error: ${e.message}`);
      if (e.detail) err(e.detail.trimEnd());
      if (verbose && e.cause) err(String(e.cause instanceof Error ? e.cause.stack : e.cause));
      return 1;
    }
    const environmental = environmentError(e);
    if (environmental !== null) {
      err(`mkvenv: error: ${environmental.message}`);
      if (verbose && e instanceof Error) err(e.stack ?? "");
      return 1;
    }
    err(`mkvenv: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (verbose && e instanceof Error) err(e.stack ?? "");
    else err("Run again with --verbose for a stack trace, and please report it.");
    return 70;
  }
}

/** On Ctrl-C or SIGTERM: remove the half-built stage and the lock, then exit 130 / 143. */
function handleSignals(): void {
  const signals: [Deno.Signal, number][] = Deno.build.os === "windows"
    ? [["SIGINT", 130]]
    : [["SIGINT", 130], ["SIGTERM", 143]];
  for (const [signal, status] of signals) {
    Deno.addSignalListener(signal, () => {
      runInterruptCleanups();
      console.error(`mkvenv: interrupted; nothing was left half-built`);
      Deno.exit(status);
    });
  }
}

if (import.meta.main) {
  handleSignals();
  const status = await main(Deno.args);
  // A failure exits at once: a probe that timed out may leave a grandchild holding its pipes;
  // so does a run that gave up an open (a named pipe swapped in), whose thread still waits.
  if (status !== 0 || openWasAbandoned()) Deno.exit(status);
  // Success ends normally, which lets Deno store the V8 code cache of these modules (Deno.exit
  // skips that): the next run saves 4-5 ms of compiling.
}
