/**
 * One build's hold on its target: the checks that protect the user and the base interpreter,
 * the lock, the staging directory the steps of `EnvBuilder` write into, and the commit that
 * puts the venv in place (lib/disk/staging.ts), which a later failure can still undo. The
 * steps themselves are in lib/venv/env_builder.ts.
 */
import { BuildError, q } from "../errors.ts";
import type { FoundInterpreter } from "../discovery/discovery.ts";
import {
  fsReason,
  kindOf,
  lstatOrNull,
  makeDirs,
  readRegularFile,
  resolvedPath,
} from "../disk/disk.ts";
import { foreignEntry } from "./foreign_entries.ts";
import type { InterpreterInfo } from "../discovery/interpreter.ts";
import { type BuildOptions, computeLayout, pathFor, type VenvLayout } from "./layout.ts";
import { basename, dirname, join, PATH_LIMIT } from "../disk/paths.ts";
import type { LinkMode } from "../disk/file_links.ts";
import { outdatedSeedFiles, prepareSeed, seedPip, type SeedPlan } from "../seed/pip_seed.ts";
import { parsePythonStrLiteral, parsePyvenvCfg } from "./pyvenv_cfg.ts";
import { posixCommandLine, windowsCommandLine } from "./shell_quote.ts";
import {
  newVenvDirError,
  pythonOsErrorText,
  REAL_DISK,
  venvDirectoryRefusal,
} from "./venv_refusals.ts";
import {
  type Commit,
  commitStage,
  conflicts,
  createStage,
  isKeptEntry,
  isOwnEntry,
  lockTarget,
  namedAsVenv,
  onInterrupt,
  recoverLeftovers,
  type Target,
} from "../disk/staging.ts";

/** The text of the `.gitignore` mkvenv writes into each venv: ignore everything in it. */
export const GITIGNORE_TEXT = "# Created by mkvenv; the whole virtual environment is ignored\n*\n";

/** Where and how a build runs, beyond the options of the venv itself. */
export interface BuildSettings {
  /** The directory relative ENV_DIRs are taken from. */
  cwd: string;
  /** The words that start mkvenv itself, for the `command` key of pyvenv.cfg. */
  invocation: readonly string[];
  /** `--clear` may empty a non-empty directory that is not a venv. */
  force?: boolean;
  log?: (line: string) => void;
  /** Shows a warning to the user. */
  warn?: (line: string) => void;
  /** Seed wheels given with `--pip-wheel` (or `MKVENV_PIP_WHEEL`), relative to `cwd`. */
  pipWheels?: readonly string[];
  /** How seeded files are placed (`--link-mode`); default hard links. */
  linkMode?: LinkMode;
  /** The cache root; null for none. Default: `cacheRoot()`. */
  cacheDir?: string | null;
}

/** Make `envDirArg` absolute against `cwd` without resolving links (as `os.path.abspath`). */
export function absoluteEnvDir(info: InterpreterInfo, envDirArg: string, cwd: string): string {
  return pathFor(info.platform).resolve(cwd, envDirArg);
}

function isWithin(path: string, dir: string, sep: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * `envDir` with every link resolved, when nothing is there yet: its parent resolved, and its
 * own name (asking for `envDir` itself would fail, and a failed call costs a thrown error).
 */
function resolvedNewPath(envDir: string): string {
  const parent = dirname(envDir);
  return parent === envDir ? envDir : join(resolvedPath(parent), basename(envDir));
}

/**
 * Refuse an ENV_DIR whose absolute path cannot work or would harm the base interpreter: the
 * target's PATH separator, a NUL, text that was not UTF-8, or a place that is the base prefix,
 * encloses it, or is inside its bin/lib/include, as written or as `resolved` (`envDir` with its
 * links resolved). Throws `BuildError`.
 */
export function checkEnvDir(info: InterpreterInfo, envDir: string, resolved: string): void {
  const path = pathFor(info.platform);
  const refuse = (why: string) =>
    new BuildError(`Cannot create a virtual environment in ${q(envDir)}: ${why}`);
  const sep = path.delimiter;
  if (envDir.includes(sep)) {
    // venv's words (3.11+), then why: the activate scripts put the path on PATH.
    throw new BuildError(
      `Refusing to create a venv in ${envDir} because it contains the PATH separator ${sep} ` +
        `(activating it would split PATH there); choose a directory without ${q(sep)}`,
    );
  }
  if (envDir.includes("\0")) throw refuse("the path contains a NUL character");
  if (envDir.includes("\uFFFD")) {
    throw refuse(
      "the path is not valid UTF-8 (or contains U+FFFD); choose a directory whose name is UTF-8",
    );
  }
  const limit = PATH_LIMIT[info.platform];
  const bytes = new TextEncoder().encode(envDir).length;
  if (bytes > limit) {
    throw refuse(
      `the path is ${bytes} bytes long, more than the ${limit} a path may have here ` +
        `(PATH_MAX); choose a shorter one`,
    );
  }
  const windows = info.platform === "windows";
  const norm = (p: string) => (windows ? p.toLowerCase() : p);
  // A path can reach the base's directories through a link: compare the resolved paths too.
  const resolve = !windows && Deno.build.os !== "windows";
  const forms = (p: string) => new Set([norm(p), ...(resolve ? [resolvedPath(p)] : [])]);
  const envs = new Set([norm(envDir), ...(resolve ? [resolved] : [])]);
  for (const prefix of new Set([info.basePrefix, info.prefix].map(norm))) {
    if ([...forms(prefix)].some((p) => [...envs].some((env) => isWithin(p, env, path.sep)))) {
      throw refuse(
        `it is the base interpreter's installation ${
          q(prefix)
        } or a directory that contains it; choose another directory`,
      );
    }
    for (const sub of windows ? ["Scripts", "Lib", "Include", "DLLs"] : ["bin", "lib", "include"]) {
      const dir = path.join(prefix, sub);
      if ([...forms(dir)].some((d) => [...envs].some((env) => isWithin(env, d, path.sep)))) {
        throw refuse(
          `it is inside the base interpreter's ${q(dir)}; choose a directory outside it`,
        );
      }
    }
  }
}

/** The `command` value: our own command line that re-creates this venv, shell-quoted. */
export function commandLine(
  found: FoundInterpreter,
  envDir: string,
  options: BuildOptions,
  context: Pick<BuildSettings, "invocation">,
): string {
  const windows = found.info.platform === "windows";
  const args = [...context.invocation, "--python", found.info.executable];
  if (windows && options.symlinks) args.push("--symlinks");
  if (!windows && !options.symlinks) args.push("--copies");
  if (!options.withPip) args.push("--without-pip");
  if (options.systemSitePackages) args.push("--system-site-packages");
  if (options.clear) args.push("--clear");
  if (options.upgrade) args.push("--upgrade");
  if (options.upgradeDeps) args.push("--upgrade-deps");
  if (options.prompt !== null) args.push(`--prompt=${options.prompt}`);
  if (!options.scmIgnoreFiles) args.push("--without-scm-ignore-files");
  args.push(envDir);
  return windows ? windowsCommandLine(args) : posixCommandLine(args);
}

/**
 * For `--upgrade`: keep the prompt and system-site setting of the existing venv. Throws
 * `BuildError` when its pyvenv.cfg is there but cannot be read: silently dropping them would
 * change the venv.
 */
function optionsKeptOnUpgrade(cfgPath: string, options: BuildOptions): BuildOptions {
  let text: string;
  try {
    text = new TextDecoder().decode(readRegularFile(cfgPath, { limit: CFG_LIMIT }).bytes);
  } catch (e: unknown) {
    if (e instanceof Deno.errors.NotFound) return options;
    throw new BuildError(
      `Cannot read ${q(cfgPath)} to keep its prompt and settings on --upgrade: ${
        fsReason(e)
      }; make ` +
        `it readable, or build the venv afresh with --clear`,
      { cause: e },
    );
  }
  const cfg = parsePyvenvCfg(text);
  const prompt = cfg.get("prompt");
  return {
    ...options,
    systemSitePackages: options.systemSitePackages ||
      cfg.get("include-system-site-packages")?.toLowerCase() === "true",
    prompt: options.prompt ?? (prompt === undefined ? null : parsePythonStrLiteral(prompt)),
  };
}

/** The most of an existing pyvenv.cfg that is read: venv writes a few hundred bytes. */
const CFG_LIMIT = 1024 * 1024;

/**
 * Refuse to clear or build into `envDir` when that would lose the user's data, or when its
 * pyvenv.cfg is something venv could not replace: a named pipe (venv's write would wait for a
 * reader forever), a device (it would write into /dev/null and leave no pyvenv.cfg), a socket
 * or a directory. With --clear --force it is emptied as anything else.
 */
function checkExisting(
  envDir: string,
  cfgPath: string,
  options: BuildOptions & Pick<BuildSettings, "force">,
) {
  const cfg = REAL_DISK.stat(cfgPath);
  const isVenv = lstatOrNull(cfgPath)?.isFile === true;
  if (cfg !== null && !cfg.isFile && !(options.clear && options.force)) {
    throw new BuildError(
      options.clear
        ? `Refusing to clear ${q(envDir)}: its ${q(cfgPath)} is ${
          kindOf(cfg)
        }, so it is not a virtual environment; pass --force to empty it anyway, or choose ` +
          `another ENV_DIR`
        : `Refusing to build into ${q(envDir)}: its ${q(cfgPath)} is ${
          kindOf(cfg)
        }, not a file venv can write; move it away or choose another ENV_DIR`,
    );
  }
  if (!options.clear || options.force) return;
  if (isVenv) {
    const foreign = foreignEntry(envDir, isOwnEntry);
    if (foreign === null) return;
    // .mkvenv-kept (and -2, ...) holds old files an earlier run could not remove or put back.
    const why = isKeptEntry(foreign.split(/[\\/]/)[0]!)
      ? "old files an earlier mkvenv could neither remove nor put back; look through them"
      : "which neither a virtual environment nor pip puts there";
    throw new BuildError(
      `Refusing to clear ${q(envDir)}: it holds ${
        q(foreign)
      }, ${why}; pass --force to clear it anyway, or move it out first`,
    );
  }
  const entries = [...Deno.readDirSync(envDir)].filter((e) => !isOwnEntry(e.name));
  if (entries.length > 0) {
    throw new BuildError(
      `Refusing to clear ${q(envDir)}: it is not a virtual environment (no pyvenv.cfg) and it ` +
        `holds ${entries.length} entr${entries.length === 1 ? "y" : "ies"} (such as ${
          q(entries[0]!.name)
        }); pass --force to empty it anyway, or choose another ENV_DIR`,
    );
  }
}

/** The chosen seed wheels and the function that installs them. */
interface Seeding {
  plan: SeedPlan;
  install: typeof seedPip;
  outdated: typeof outdatedSeedFiles;
}

/**
 * The directories of `layout` below the venv's root with every parent they need, parents
 * first: made one by one in the fresh stage, no call fails on one that exists.
 */
export function directoriesUnder(layout: VenvLayout): string[] {
  const path = pathFor(layout.platform);
  const ordered = new Set<string>();
  const add = (dir: string) => {
    if (dir === layout.envDir || ordered.has(dir)) return;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`internal: ${dir} is outside ${layout.envDir}`);
    add(parent);
    ordered.add(dir);
  };
  for (const dir of layout.dirs) add(dir);
  return [...ordered];
}

/** A seed being prepared, shared by the ENV_DIRs of one command. */
interface SharedSeed {
  plan: Promise<SeedPlan>;
  users: number;
}

/**
 * Seeds prepared for one set of build options, by interpreter: the ENV_DIRs of one command
 * share their options object, and so choose, check and read the seed wheels once.
 */
const PREPARED = new WeakMap<object, Map<string, SharedSeed>>();

/**
 * The seed for `info` under `options`, prepared on first use. `release` when the venv is
 * built: a seed in a temporary cache is removed when its last user releases it, and one that
 * failed is prepared again by the next user.
 */
function preparedSeed(
  info: InterpreterInfo,
  options: BuildOptions & BuildSettings,
): { plan: Promise<SeedPlan>; release(): void } {
  const byInterpreter = PREPARED.get(options) ?? new Map<string, SharedSeed>();
  PREPARED.set(options, byInterpreter);
  const key = `${info.executable}\0${info.cacheTag}`;
  let shared = byInterpreter.get(key);
  if (shared === undefined) {
    const plan = prepareSeed(info, {
      pipWheels: (options.pipWheels ?? []).map((w) =>
        pathFor(info.platform).resolve(options.cwd, w)
      ),
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.log ? { log: options.log } : {}),
      ...(options.warn ? { warn: options.warn } : {}),
    });
    shared = { plan, users: 0 };
    byInterpreter.set(key, shared);
    const entry = shared;
    plan.catch(() => {
      if (byInterpreter.get(key) === entry) byInterpreter.delete(key);
    });
  }
  const entry = shared;
  entry.users++;
  return {
    plan: entry.plan,
    release: () => {
      if (--entry.users > 0) return;
      entry.plan.then((plan) => {
        if (!plan.temporary) return;
        if (byInterpreter.get(key) === entry) byInterpreter.delete(key);
        plan.dispose();
      }, () => {});
    },
  };
}

/**
 * One build in progress: its target checked and locked, its staging directory made. Paths are
 * final paths; `at` maps one to where it is written now.
 */
export interface Build {
  /** The venv's absolute path. */
  readonly envDir: string;
  /** Whether `envDir` existed (re-use, `--clear`, `--upgrade`). */
  readonly existing: boolean;
  /** The options in effect (`--upgrade` keeps the prompt and system-site setting). */
  readonly options: BuildOptions;
  /** The pip seeding prepared before the lock, or null without pip. */
  readonly seed: Seeding | null;
  /** Where the final path `path` is written now: the stage until the commit, then itself. */
  at(path: string): string;
  /** Whether the venv has been committed. */
  readonly committed: boolean;
  /**
   * Put the staged venv in place (refusing to overwrite a user's file in a directory that is
   * not a venv). Throws `BuildError`; the target is then as it was.
   */
  commit(): void;
  /**
   * The build succeeded: returns the directory holding what the commit moved aside (to be
   * emptied, then removed by `close`), or null.
   */
  succeeded(): string | null;
  /** Release everything: a build that did not succeed is undone (stage or commit). */
  close(): void;
  /** A failure of this build, the stage's paths named as the venv's (before the commit). */
  explain(e: unknown): unknown;
}

/**
 * Make `envDir` when nothing is there and its parent is a directory (POSIX: Windows locks a
 * file beside the target first, lib/disk/staging.ts); false for anything else, whose reason
 * `lockChecked` finds and words.
 */
function madeNew(envDir: string): boolean {
  if (Deno.build.os === "windows") return false;
  try {
    Deno.mkdirSync(envDir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lock a target that exists, or that could not simply be made: check it (a link may lead
 * into the base interpreter), refuse where venv would (a file or link in the way) in its
 * words, make the missing parents, then lock. A refusal inside a directory waits for its lock
 * (`recheck`): another run may hold it while moving entries one by one (its `--clear`), and
 * what is in the way is looked at again once the directory is this run's. Throws `BuildError`.
 */
async function lockChecked(
  envDir: string,
  found: FoundInterpreter,
  layout: VenvLayout,
  options: BuildOptions & BuildSettings,
): Promise<{ target: Target; recheck: boolean }> {
  const { info } = found;
  checkEnvDir(info, envDir, resolvedPath(envDir));
  const refusal = venvDirectoryRefusal(layout, options);
  const st = refusal === null ? null : REAL_DISK.lstat(envDir);
  if (refusal !== null && !(st?.isDirectory && !st.isSymlink)) throw refusal;
  try {
    const parent = dirname(envDir);
    if (lstatOrNull(parent) === null) makeDirs(parent);
    const target = await lockTarget(envDir, options.log ? { log: options.log } : {});
    return { target, recheck: refusal !== null };
  } catch (e: unknown) {
    throw newVenvDirError(envDir, info.platform, e) ?? e;
  }
}

/**
 * Start a build of the venv at `envDirArg` for the interpreter `found`: check the path,
 * prepare pip's seed wheels (before anything is touched, so a missing wheel leaves nothing),
 * take the target's lock, check what is there, remove a killed run's leftovers and make the
 * stage. Throws `BuildError` for anything the user can fix; nothing is left behind then.
 *
 * A new ENV_DIR, the common case, is made first and then locked: a directory just made has
 * nothing in the way and nothing left over, so none of the checks that look at the disk
 * before the lock runs. Every other case (the directory exists, its parent does not, making
 * it fails) takes the way that checks everything first and words every refusal. The first
 * way makes no failed system call, each of which costs Deno a thrown error (the first one
 * about 0.3 ms, `deno task bench`'s `--without-pip` line).
 */
export async function openBuild(
  envDirArg: string,
  found: FoundInterpreter,
  options: BuildOptions & BuildSettings,
): Promise<Build> {
  const { info } = found;
  const envDir = absoluteEnvDir(info, envDirArg, options.cwd);
  checkEnvDir(info, envDir, resolvedNewPath(envDir));
  const layout = computeLayout(info, envDir, options);
  const log = options.log ?? (() => {});
  // Choose and cache the seed wheels before touching the disk: a missing wheel leaves nothing.
  const prepared = options.withPip ? preparedSeed(info, options) : null;
  const cleanups: (() => void)[] = [];
  const cleanUp = () => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  };
  if (prepared) cleanups.push(() => prepared.release());
  try {
    const plan = prepared ? await prepared.plan : null;
    // The lock and the recovery of a killed run's leftovers: lib/disk/staging.ts.
    const { target, recheck } = madeNew(envDir)
      ? { target: await lockTarget(envDir, { log, made: true }), recheck: false }
      : await lockChecked(envDir, found, layout, options);
    cleanups.push(() => target.release());
    cleanups.push(onInterrupt(() => target.release()));
    const existing = target.existed ? lstatOrNull(envDir) : null;
    recoverLeftovers(envDir, {
      claimed: !target.existed,
      log,
      foreign: (dir) => foreignEntry(dir, isOwnEntry),
      ...(options.warn ? { warn: options.warn } : {}),
    });
    if (recheck) {
      const refusal = venvDirectoryRefusal(layout, options);
      if (refusal !== null) throw refusal;
    }
    const cfgPath = pathFor(info.platform).join(envDir, "pyvenv.cfg");
    let build: BuildOptions = options;
    if (existing !== null) {
      checkExisting(envDir, cfgPath, options);
      if (options.upgrade) build = optionsKeptOnUpgrade(cfgPath, options);
    }
    log(`creating ${envDir} for ${info.implementation} ${info.version.join(".")}`);
    let stage;
    try {
      stage = createStage(envDir, { existing: existing !== null, log });
    } catch (e: unknown) {
      // venv's first write into an existing directory makes its include directory, from the
      // first part of it that is missing (os.makedirs).
      let first = layout.includeDir;
      const path = pathFor(info.platform);
      while (path.dirname(first) !== envDir && lstatOrNull(path.dirname(first)) === null) {
        first = path.dirname(first);
      }
      const said = existing !== null && e instanceof BuildError &&
          e.cause instanceof Deno.errors.PermissionDenied
        ? pythonOsErrorText(e, first)
        : null;
      if (said === null) throw e;
      throw new BuildError(
        `${said}: this user cannot write in ${q(envDir)}; run mkvenv as a user who can, or ` +
          `choose another ENV_DIR`,
        { cause: e },
      );
    }
    let commit: Commit | null = null;
    let aside: string | null = null;
    let succeeded = false;
    // Until the build succeeds, an interruption undoes it: the stage goes, or the commit.
    const undo = () => {
      if (commit === null) stage.discard();
      else commit.undo();
    };
    cleanups.push(onInterrupt(undo));
    cleanups.push(() => {
      if (!succeeded) undo();
    });
    const seed = plan && { plan, install: seedPip, outdated: outdatedSeedFiles };
    return {
      envDir,
      existing: existing !== null,
      options: build,
      seed,
      at: (path) => (commit === null ? stage.at(path) : path),
      get committed() {
        return commit !== null;
      },
      commit: () => {
        if (existing !== null && !options.clear && lstatOrNull(cfgPath) === null) {
          const clashes = conflicts(stage, envDir);
          if (clashes.length > 0) {
            throw new BuildError(
              `Refusing to build into ${q(envDir)}: it is not a virtual environment and ${
                q(clashes[0]!)
              } would be overwritten${
                clashes.length > 1 ? ` (and ${clashes.length - 1} more)` : ""
              }; move it away or choose another ENV_DIR`,
            );
          }
        }
        // An older pip than ours goes with the commit, as `ensurepip --upgrade` replaces it.
        const retire = seed && existing !== null && !options.clear
          ? seed.outdated(layout, seed.plan, (path) => lstatOrNull(stage.at(path)) !== null)
          : [];
        commit = commitStage(stage, envDir, {
          clear: options.clear,
          target,
          retire,
          ...(options.warn ? { warn: options.warn } : {}),
        });
        aside = commit.aside;
      },
      succeeded: () => {
        succeeded = true;
        return aside;
      },
      close: () => {
        if (succeeded) commit?.finish();
        cleanUp();
      },
      explain: (e) => (commit === null ? namedAsVenv(e, stage.root, envDir) : e),
    };
  } catch (e: unknown) {
    cleanUp();
    throw e;
  }
}
