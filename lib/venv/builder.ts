/**
 * Building one venv: compute its layout (pure), assemble it in a staging directory, commit it
 * (lib/disk/staging.ts), under a lock on the target. The steps follow CPython's `EnvBuilder.create`.
 */
import { renderActivationScripts } from "./activation.ts";
import { BuildError, q } from "../errors.ts";
import type { FoundInterpreter } from "../discovery/discovery.ts";
import { copyExecutable, lstatOrNull, makeDirs, osError, writeNewFile } from "../disk/disk.ts";
import type { InterpreterInfo } from "../discovery/interpreter.ts";
import { type BuildOptions, computeLayout, pathFor, type VenvLayout } from "./layout.ts";
import { dirname, PATH_LIMIT } from "../disk/paths.ts";
import type { LinkMode } from "../disk/file_links.ts";
import type { seedPip, SeedPlan } from "../seed/pip_seed.ts";
import { parsePythonStrLiteral, parsePyvenvCfg, renderPyvenvCfg } from "./pyvenv_cfg.ts";
import { posixCommandLine, windowsCommandLine } from "./shell_quote.ts";
import {
  commitStage,
  conflicts,
  createStage,
  isOwnEntry,
  lockTarget,
  onInterrupt,
  recoverLeftovers,
  type Stage,
} from "../disk/staging.ts";

/** The text of the `.gitignore` mkvenv writes into each venv: ignore everything in it. */
export const GITIGNORE_TEXT = "# Created by mkvenv; the whole virtual environment is ignored\n*\n";

/** Where and how a build runs, beyond the options of the venv itself. */
export interface BuildContext {
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
 * Refuse an ENV_DIR whose absolute path cannot work or would harm the base interpreter: the
 * target's PATH separator, a NUL, text that was not UTF-8, or a place that is the base prefix,
 * encloses it, or is inside its bin/lib/include. Throws `BuildError`.
 */
export function checkEnvDir(info: InterpreterInfo, envDir: string): void {
  const path = pathFor(info.platform);
  const refuse = (why: string) =>
    new BuildError(`Cannot create a virtual environment in ${q(envDir)}: ${why}`);
  const sep = path.delimiter;
  if (envDir.includes(sep)) {
    throw refuse(`the path contains ${q(sep)}, the PATH separator; choose a directory without it`);
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
  const env = norm(envDir);
  for (const prefix of new Set([info.basePrefix, info.prefix].map(norm))) {
    if (isWithin(prefix, env, path.sep)) {
      throw refuse(
        `it is the base interpreter's installation ${
          q(prefix)
        } or a directory that contains it; choose another directory`,
      );
    }
    for (const sub of windows ? ["Scripts", "Lib", "Include", "DLLs"] : ["bin", "lib", "include"]) {
      if (isWithin(env, norm(path.join(prefix, sub)), path.sep)) {
        throw refuse(
          `it is inside the base interpreter's ${
            q(path.join(prefix, sub))
          }; choose a directory outside it`,
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
  context: Pick<BuildContext, "invocation">,
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

/** For `--upgrade`: keep the prompt and system-site setting of the existing venv. */
function optionsKeptOnUpgrade(cfgPath: string, options: BuildOptions): BuildOptions {
  let text: string;
  try {
    text = Deno.readTextFileSync(cfgPath);
  } catch {
    return options;
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

/** Refuse to clear or build into `envDir` when that would lose the user's data. */
function checkExisting(envDir: string, cfgPath: string, options: BuildOptions & BuildContext) {
  const isVenv = lstatOrNull(cfgPath)?.isFile === true;
  if (isVenv || !options.clear || options.force) return;
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

/**
 * The pip-seeding code (wheels, zip, hashes, launchers), loaded only when pip is asked for, so
 * `--without-pip` does not pay for compiling it. A literal specifier: `deno compile` embeds it.
 */
function loadSeeding(): Promise<typeof import("../seed/pip_seed.ts")> {
  return import("../seed/pip_seed.ts");
}

/** The chosen seed wheels and the function that installs them. */
interface Seeding {
  plan: SeedPlan;
  install: typeof seedPip;
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

/** Assemble the complete venv described by `layout` (final paths) in `stage`. */
function assemble(
  stage: Stage,
  layout: VenvLayout,
  cfgText: string,
  build: BuildOptions,
  seed: Seeding & { options: BuildContext; existing: boolean } | null,
) {
  const at = stage.at;
  for (const dir of directoriesUnder(layout)) {
    try {
      Deno.mkdirSync(at(dir));
    } catch (e: unknown) {
      throw osError(`Cannot create the directory ${q(dir)}`, e);
    }
  }
  if (layout.lib64 !== null) {
    try {
      Deno.symlinkSync(layout.lib64.target, at(layout.lib64.path));
    } catch (e: unknown) {
      throw osError(`Cannot link ${q(layout.lib64.path)}`, e);
    }
  }
  if (layout.gitignorePath !== null) writeNewFile(at(layout.gitignorePath), GITIGNORE_TEXT);
  for (const entry of layout.interpreters) {
    if (entry.kind === "symlink") {
      try {
        Deno.symlinkSync(entry.target, at(entry.path));
      } catch (e: unknown) {
        throw osError(`Cannot link ${q(entry.path)} to ${q(entry.target)}`, e);
      }
    } else copyExecutable(entry.target, at(entry.path));
  }
  if (!build.upgrade) {
    for (const script of renderActivationScripts(layout)) {
      writeNewFile(at(script.path), script.content, script.mode);
    }
  }
  if (seed !== null) {
    seed.options.log?.("installing pip");
    seed.install(layout, seed.plan, {
      at,
      // What the venv has now survives the commit, unless --clear empties it.
      skipInstalled: seed.existing && !build.clear,
      ...(seed.options.linkMode ? { linkMode: seed.options.linkMode } : {}),
      ...(seed.options.log ? { log: seed.options.log } : {}),
    });
  }
  writeNewFile(at(layout.cfgPath), cfgText);
}

/**
 * Build (or re-use, clear, upgrade) the venv at `envDirArg` with the interpreter `found`.
 * A failure leaves nothing, or the previous state (lib/disk/staging.ts). Returns the layout built.
 * Throws `BuildError` on anything the user can fix.
 */
export async function buildVenv(
  envDirArg: string,
  found: FoundInterpreter,
  options: BuildOptions & BuildContext,
): Promise<VenvLayout> {
  const { info } = found;
  const envDir = absoluteEnvDir(info, envDirArg, options.cwd);
  checkEnvDir(info, envDir);
  // Choose and cache the seed wheels before touching the disk: a missing wheel leaves nothing.
  const seedModule = options.withPip ? await loadSeeding() : null;
  const prepared = seedModule ? preparedSeed(seedModule, info, options) : null;
  try {
    const plan = prepared ? await prepared.plan : null;
    const seed = seedModule && plan && { plan, install: seedModule.seedPip };
    return await buildWithSeed(envDir, found, options, seed);
  } finally {
    prepared?.release();
  }
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
  seedModule: typeof import("../seed/pip_seed.ts"),
  info: InterpreterInfo,
  options: BuildOptions & BuildContext,
): { plan: Promise<SeedPlan>; release(): void } {
  const byInterpreter = PREPARED.get(options) ?? new Map<string, SharedSeed>();
  PREPARED.set(options, byInterpreter);
  const key = `${info.executable}\0${info.cacheTag}`;
  let shared = byInterpreter.get(key);
  if (shared === undefined) {
    const plan = seedModule.prepareSeed(info, {
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

async function buildWithSeed(
  envDir: string,
  found: FoundInterpreter,
  options: BuildOptions & BuildContext,
  seed: Seeding | null,
): Promise<VenvLayout> {
  const { info } = found;
  const log = options.log ?? (() => {});
  const parent = dirname(envDir);
  if (lstatOrNull(parent) === null) makeDirs(parent);
  // The lock and the recovery of a killed run's leftovers: lib/disk/staging.ts.
  const target = await lockTarget(envDir, { log });
  const unregisterLock = onInterrupt(() => target.release());
  try {
    const existing = target.existed ? lstatOrNull(envDir) : null;
    recoverLeftovers(envDir, log);
    const cfgPath = pathFor(info.platform).join(envDir, "pyvenv.cfg");
    let build: BuildOptions = options;
    if (existing !== null) {
      checkExisting(envDir, cfgPath, options);
      if (options.upgrade) build = optionsKeptOnUpgrade(cfgPath, options);
    }
    const layout = computeLayout(info, envDir, { ...build, cwd: options.cwd });
    const command = commandLine(found, envDir, build, options);
    const cfgText = renderPyvenvCfg(info, layout, { options: build, command });

    log(`creating ${envDir} for ${info.implementation} ${info.version.join(".")}`);
    const stage = createStage(envDir, existing !== null);
    const unregisterStage = onInterrupt(() => stage.discard());
    try {
      const seeding = seed && { ...seed, options, existing: existing !== null };
      assemble(stage, layout, cfgText, build, seeding);
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
      commitStage(stage, envDir, {
        clear: options.clear,
        target,
        ...(options.warn ? { warn: options.warn } : {}),
      });
    } catch (e: unknown) {
      stage.discard();
      throw e;
    } finally {
      unregisterStage();
    }

    if (build.upgradeDeps) {
      log("upgrading the core dependencies");
      const { upgradeDeps } = await import("./pip.ts");
      await upgradeDeps(layout, info);
    }
    return layout;
  } finally {
    unregisterLock();
    target.release();
  }
}
