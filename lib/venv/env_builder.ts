/**
 * `EnvBuilder`: CPython's venv API in TypeScript. `create(envDir)` is the recipe, one
 * overridable step after another, in CPython's order; a subclass changes a step by overriding
 * it (and usually calling `super`). mkvenv's CLI is one client of it (main.ts).
 *
 * Atomicity: the steps up to and including `setupScripts`/`installScripts` write into a
 * staging directory through `context.files`, while every path in the context is the venv's
 * final path; then the venv is committed (lib/disk/staging.ts). `postSetup` and
 * `upgradeDependencies` run the venv's own python, which needs the venv in place, so they run
 * after the commit, still under the target's lock; if one of them throws, the commit is undone.
 */
import { findInterpreter, type FoundInterpreter } from "../discovery/discovery.ts";
import { BuildError, q } from "../errors.ts";
import type { LinkMode } from "../disk/file_links.ts";
import { lstatOrNull, osError } from "../disk/disk.ts";
import { join, resolve } from "../disk/paths.ts";
import { removeTree } from "../disk/staging.ts";
import { renderActivationScripts } from "./activation.ts";
import {
  type Build,
  type BuildSettings,
  commandLine,
  directoriesUnder,
  GITIGNORE_TEXT,
  openBuild,
} from "./target.ts";
import { makeContext, type VenvContext } from "./context.ts";
import { installScriptsFrom } from "./install_scripts.ts";
import {
  type BuildOptions,
  computeLayout,
  entriesToPlace,
  pathFor,
  type VenvLayout,
} from "./layout.ts";
import { upgradeDeps } from "./pip.ts";
import { renderPyvenvCfg } from "./pyvenv_cfg.ts";

/** A progress report: the step that is running and what it does. */
export interface ProgressEvent {
  /** The step's method name, such as `setupPython` or `postSetup`. */
  step: string;
  /** What is being done, one line. */
  message: string;
}

/**
 * The options of `EnvBuilder` and `create()`. The first group is CPython's parameters in
 * camelCase with CPython's API defaults (not the command line's: no pip, copies); the rest is
 * mkvenv's.
 */
export interface EnvBuilderOptions {
  /** Give the venv access to the base interpreter's site-packages. Default false. */
  systemSitePackages?: boolean;
  /** Empty an existing target first (its old entries return if the build fails). Default false. */
  clear?: boolean;
  /** Link the interpreter rather than copy it. Default false, as in CPython's API. */
  symlinks?: boolean;
  /** Upgrade an existing venv in place to the base interpreter. Default false. */
  upgrade?: boolean;
  /** Install pip (from the interpreter's bundled wheel, no network). Default false. */
  withPip?: boolean;
  /** The prompt; `"."` is the current directory's name (3.9+). Default null: the venv's name. */
  prompt?: string | null;
  /** Upgrade pip (and setuptools before 3.12) with the venv's pip after creating it. */
  upgradeDeps?: boolean;
  /**
   * The SCMs to write ignore files for, each by a method `create<Name>IgnoreFile`. Default
   * `["git"]`.
   */
  scmIgnoreFiles?: Iterable<string>;
  /**
   * The base interpreter: a request as `-p` takes it (a path, a command, a version such as
   * `3.12`, an implementation, a range), or one already found. Default: what the command line
   * finds without `-p`.
   */
  python?: string | FoundInterpreter;
  /** How seeded files are placed from mkvenv's cache. Default `hardlink`. */
  linkMode?: LinkMode;
  /** The directory relative paths are taken from. Default `Deno.cwd()`. */
  cwd?: string;
  /** mkvenv's cache directory; null for none. Default as the command line's. */
  cacheDir?: string | null;
  /** Let `clear` empty a non-empty directory that is not a venv. Default false. */
  force?: boolean;
  /** Seed from these pip (or setuptools) wheels instead of the interpreter's own. */
  pipWheels?: readonly string[];
  /**
   * A directory of scripts to install into every venv with `installScripts`, on `upgrade`
   * too (the command line's `--scripts`). Default null.
   */
  scripts?: string | null;
  /** The words that start the program, for the `command` key of pyvenv.cfg. */
  invocation?: readonly string[];
  /** Receives the lines `--verbose` shows. */
  log?: (line: string) => void;
  /** Receives warnings. */
  warn?: (line: string) => void;
  /** Receives a report as each step starts, and whatever a step reports. */
  progress?: (event: ProgressEvent) => void;
}

/** What a build in progress needs beyond its context; one per `create` call. */
interface Run {
  found: FoundInterpreter;
  build: Build;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * Creates virtual environments, as CPython's `venv.EnvBuilder`. Subclass it and override a
 * step to customise creation; `create(envDir)` calls them in this order:
 *
 * 1. `ensureDirectories(envDir)` returns the context (the directories, staged);
 * 2. `create<Scm>IgnoreFile(context)` for each entry of `scmIgnoreFiles`;
 * 3. `createConfiguration(context)` writes pyvenv.cfg;
 * 4. `setupPython(context)` places the interpreter;
 * 5. `setupPip(context)` when `withPip`;
 * 6. `setupScripts(context)` unless `upgrade`, then `installScripts(context, scripts)` when
 *    the `scripts` option is set;
 * 7. the commit: the venv appears at `envDir`, complete;
 * 8. `postSetup(context)` unless `upgrade`;
 * 9. `upgradeDependencies(context)` when `upgradeDeps`.
 *
 * Guarantees, for the built-in steps and overrides alike: a step of 1-6 that throws leaves the
 * target as it was (nothing for a new venv), because those steps write into a staging
 * directory (write through `context.files`, which maps the context's final paths to it). A
 * step of 8-9 runs on the committed venv, under the target's lock; if it throws, a new venv is
 * removed and an existing directory gets back the entries the commit replaced or (with
 * `clear`) removed. What such a step itself changed inside a directory the venv already had
 * (a package it installed into an existing site-packages) is not undone. The error is then
 * thrown on.
 *
 * @example A builder that installs a local wheel after creating the venv
 * ```ts
 * import { EnvBuilder, type VenvContext } from "@mkvenv/mkvenv";
 *
 * class WithWheel extends EnvBuilder {
 *   constructor(private wheel: string, options = {}) {
 *     super({ withPip: true, ...options });
 *   }
 *   override async postSetup(context: VenvContext): Promise<void> {
 *     this.progress({ step: "postSetup", message: `installing ${this.wheel}` });
 *     const out = await new Deno.Command(context.envExe, {
 *       args: ["-m", "pip", "install", "--no-index", this.wheel],
 *     }).output();
 *     if (!out.success) throw new Error(`pip failed for ${this.wheel}`);
 *   }
 * }
 * await new WithWheel("./dist/mypkg-1.0-py3-none-any.whl").create(".venv");
 * ```
 */
export class EnvBuilder {
  /** Give the venv access to the base interpreter's site-packages. */
  readonly systemSitePackages: boolean;
  /** Empty an existing target first. */
  readonly clear: boolean;
  /** Link the interpreter rather than copy it. */
  readonly symlinks: boolean;
  /** Upgrade an existing venv in place. */
  readonly upgrade: boolean;
  /** Install pip. */
  readonly withPip: boolean;
  /** The prompt as given (`"."` resolved per interpreter version), or null. */
  readonly prompt: string | null;
  /** Upgrade the core dependencies after creating the venv. */
  readonly upgradeDeps: boolean;
  /** The SCMs to write ignore files for, lower-cased. */
  readonly scmIgnoreFiles: readonly string[];
  /** The scripts directory installed into every venv, or null. */
  readonly scripts: string | null;
  /** Receives the lines `--verbose` shows. */
  readonly log: (line: string) => void;
  /** Receives warnings. */
  readonly warn: (line: string) => void;
  /** Receives progress reports; a step may call it too. */
  readonly progress: (event: ProgressEvent) => void;

  readonly #options: EnvBuilderOptions;
  readonly #cwd: string;
  #found: Promise<FoundInterpreter> | null = null;
  #buildSettings: (BuildOptions & BuildSettings) | null = null;
  readonly #runs = new Map<string, Run>();

  /** A builder with `options` (CPython's API defaults for what is not given). */
  constructor(options: EnvBuilderOptions = {}) {
    this.#options = options;
    this.#cwd = options.cwd ?? Deno.cwd();
    this.systemSitePackages = options.systemSitePackages ?? false;
    this.clear = options.clear ?? false;
    this.symlinks = options.symlinks ?? false;
    this.upgrade = options.upgrade ?? false;
    this.withPip = options.withPip ?? false;
    this.prompt = options.prompt ?? null;
    this.upgradeDeps = options.upgradeDeps ?? false;
    this.scmIgnoreFiles = [...(options.scmIgnoreFiles ?? ["git"])].map((s) => s.toLowerCase());
    this.scripts = options.scripts ?? null;
    this.log = options.log ?? (() => {});
    this.warn = options.warn ?? (() => {});
    this.progress = options.progress ?? (() => {});
  }

  /**
   * Create (or re-use, clear, upgrade) the venv at `envDir` (relative to the `cwd` option):
   * the recipe, step by step (see the class). Throws `BuildError` for anything the user can
   * fix, `UsageError` for a `python` request of no accepted form; the target is then as it
   * was (see the class for the guarantee of each step).
   */
  async create(envDir: string): Promise<void> {
    const run = await this.#begin(envDir);
    const { build } = run;
    try {
      const context = await this.ensureDirectories(build.envDir);
      for (const scm of this.scmIgnoreFiles) await this.#scmIgnoreStep(scm).call(this, context);
      await this.createConfiguration(context);
      await this.setupPython(context);
      if (this.withPip) await this.setupPip(context);
      if (!this.upgrade) await this.setupScripts(context);
      if (this.scripts !== null) await this.installScripts(context, this.scripts);
      this.#step("commit", `moving the venv into place at ${context.envDir}`);
      build.commit();
      if (!this.upgrade) await this.postSetup(context);
      if (this.upgradeDeps) await this.upgradeDependencies(context);
      const aside = build.succeeded();
      try {
        if (aside !== null) await this.clearDirectory(aside);
      } catch {
        // The venv is built: what is left of the old files is kept when the build closes, and
        // the warning then says where and why (Commit.finish).
      }
    } catch (e: unknown) {
      throw build.explain(e);
    } finally {
      this.#runs.delete(build.envDir);
      build.close();
    }
  }

  /**
   * Compute the venv's layout, create its directories (in the stage) and return the context.
   * An override should call `super.ensureDirectories(envDir)` and add to what it returns.
   * Throws `BuildError`.
   */
  ensureDirectories(envDir: string): Promise<VenvContext> {
    const { found, build } = this.#run(envDir);
    this.#step("ensureDirectories", `creating ${envDir}`);
    const layout = computeLayout(found.info, envDir, { ...build.options, cwd: this.#cwd });
    const context = makeContext(found.info, layout, {
      map: (path) => build.at(path),
      committed: () => build.committed,
    });
    for (const dir of directoriesUnder(layout)) context.files.mkdir(dir);
    const { lib64 } = this.#toPlace(context);
    if (lib64 !== null) context.files.symlink(lib64.target, lib64.path);
    return Promise.resolve(context);
  }

  /** Write `.gitignore`, ignoring the whole venv. Throws `BuildError`. */
  createGitIgnoreFile(context: VenvContext): Promise<void> {
    this.#step("createGitIgnoreFile", "writing .gitignore");
    const path = pathFor(context.layout.platform).join(context.envDir, ".gitignore");
    context.files.writeFile(path, GITIGNORE_TEXT);
    return Promise.resolve();
  }

  /** Write `pyvenv.cfg` (committed last, which marks the venv complete). Throws `BuildError`. */
  createConfiguration(context: VenvContext): Promise<void> {
    const { found, build } = this.#run(context.envDir);
    this.#step("createConfiguration", "writing pyvenv.cfg");
    const command = commandLine(found, context.envDir, build.options, {
      invocation: this.#options.invocation ?? ["mkvenv"],
    });
    const text = renderPyvenvCfg(found.info, context.layout, { options: build.options, command });
    context.files.writeFile(context.cfgPath, text);
    return Promise.resolve();
  }

  /**
   * Place the venv's interpreter: links to the base interpreter (`symlinks`) or copies, with
   * the aliases CPython makes (`python`, `python3`, ...). Throws `BuildError`.
   */
  setupPython(context: VenvContext): Promise<void> {
    this.#step("setupPython", `placing ${context.envExe}`);
    for (const entry of this.#toPlace(context).interpreters) {
      if (entry.kind === "symlink") context.files.symlink(entry.target, entry.path);
      else context.files.copyExecutable(entry.target, entry.path);
    }
    return Promise.resolve();
  }

  /**
   * Install pip (and setuptools before 3.12) from the interpreter's bundled wheels, hard-linked
   * from mkvenv's cache; no Python runs and no network is used. A package an existing venv
   * already has is left as it is (unless `clear`). Throws `BuildError`.
   */
  async setupPip(context: VenvContext): Promise<void> {
    const { build } = this.#run(context.envDir);
    if (build.seed === null) return;
    this.#step("setupPip", "installing pip");
    this.log("installing pip");
    const linkMode = this.#options.linkMode;
    await build.seed.install(context.layout, build.seed.plan, {
      at: (path) => context.files.stagePath(path),
      skipInstalled: build.existing && !this.clear,
      ...(linkMode ? { linkMode } : {}),
      log: this.log,
      warn: this.warn,
    });
  }

  /**
   * Write mkvenv's activation scripts (sh, fish, csh, PowerShell, nushell, xonsh, Python; cmd
   * on Windows), every value quoted for its language. Throws `BuildError` when the path or
   * prompt has a character one of them cannot carry.
   */
  setupScripts(context: VenvContext): Promise<void> {
    this.#step("setupScripts", "writing the activation scripts");
    for (const script of renderActivationScripts(context.layout)) {
      context.files.writeFile(script.path, script.content, script.mode);
    }
    return Promise.resolve();
  }

  /**
   * Install the scripts of `dir` into the bin directory: `dir/common`, then `dir/posix` (or
   * `dir/nt` for a Windows venv), with `__VENV_DIR__`, `__VENV_NAME__`, `__VENV_PROMPT__`,
   * `__VENV_BIN_NAME__` and `__VENV_PYTHON__` replaced in one pass, each value quoted for the
   * language of its file (by extension: `.sh` or none POSIX, `.bat` cmd.exe, `.ps1`
   * PowerShell, `.py` Python, `.fish`, `.csh`, `.nu`). Files that are not UTF-8 are copied
   * untouched; existing files are replaced. Throws `BuildError`.
   */
  installScripts(context: VenvContext, dir: string): Promise<void> {
    const path = resolve(this.#cwd, dir);
    this.#step("installScripts", `installing the scripts of ${path}`);
    installScriptsFrom(context, path);
    return Promise.resolve();
  }

  /**
   * A hook for subclasses, called on the committed venv (unless `upgrade`): run the venv's
   * python (`context.envExe`) here. Does nothing by default.
   */
  postSetup(_context: VenvContext): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Upgrade pip (and setuptools before 3.12) with the venv's own pip, from the package index
   * pip is configured with. Throws `BuildError` with pip's output when it fails.
   */
  async upgradeDependencies(context: VenvContext): Promise<void> {
    this.#step("upgradeDependencies", "upgrading the core dependencies");
    this.log("upgrading the core dependencies");
    await upgradeDeps(context.layout, context.interpreter);
  }

  /**
   * Remove everything inside the directory `path`, removing links rather than following them.
   * `create()` with `clear` moves the old entries of the venv aside at the commit and empties
   * them with this method once the build has succeeded (so a failure can put them back).
   * Throws `BuildError`.
   */
  clearDirectory(path: string): Promise<void> {
    try {
      for (const entry of Deno.readDirSync(path)) removeTree(join(path, entry.name));
    } catch (e: unknown) {
      if (e instanceof Deno.errors.NotFound) return Promise.resolve();
      throw osError(`Cannot clear ${q(path)}`, e);
    }
    return Promise.resolve();
  }

  /**
   * The base interpreter this builder uses: the `python` option, found (and probed) once per
   * builder. Throws `UsageError` for a request of no accepted form, `BuildError` when no
   * interpreter satisfies it.
   */
  interpreter(): Promise<FoundInterpreter> {
    if (this.#found === null) {
      const python = this.#options.python;
      this.#found = typeof python === "object" ? Promise.resolve(python) : findInterpreter(python, {
        cwd: this.#cwd,
        ...(this.#options.cacheDir === undefined ? {} : { cacheDir: this.#options.cacheDir }),
        ...(this.#options.log ? { log: this.#options.log } : {}),
        warn: this.warn,
      });
      this.#found.catch(() => (this.#found = null));
    }
    return this.#found;
  }

  async #begin(envDir: string): Promise<Run> {
    for (const scm of this.scmIgnoreFiles) this.#scmIgnoreStep(scm);
    const found = await this.interpreter();
    const build = await openBuild(envDir, found, this.#settings());
    if (this.#runs.has(build.envDir)) {
      build.close();
      throw new BuildError(
        `Cannot create ${q(build.envDir)} twice at once with one builder; await the first create()`,
      );
    }
    const run = { found, build };
    this.#runs.set(build.envDir, run);
    return run;
  }

  /**
   * The options of every build of this builder: one object, so that its builds share what is
   * prepared once per set of options (the seed wheels, lib/venv/target.ts).
   */
  #settings(): BuildOptions & BuildSettings {
    if (this.#buildSettings !== null) return this.#buildSettings;
    this.#buildSettings = {
      systemSitePackages: this.systemSitePackages,
      symlinks: this.symlinks,
      clear: this.clear,
      upgrade: this.upgrade,
      withPip: this.withPip,
      prompt: this.prompt,
      upgradeDeps: this.upgradeDeps,
      scmIgnoreFiles: this.scmIgnoreFiles.includes("git"),
      cwd: this.#cwd,
      invocation: this.#options.invocation ?? ["mkvenv"],
      force: this.#options.force ?? false,
      pipWheels: this.#options.pipWheels ?? [],
      log: this.log,
      warn: this.warn,
      ...(this.#options.linkMode ? { linkMode: this.#options.linkMode } : {}),
      ...(this.#options.cacheDir === undefined ? {} : { cacheDir: this.#options.cacheDir }),
    };
    return this.#buildSettings;
  }

  #run(envDir: string): Run {
    const run = this.#runs.get(envDir);
    if (run === undefined) {
      throw new Error(
        `No build of ${q(envDir)} is in progress: the steps of EnvBuilder run inside create()`,
      );
    }
    return run;
  }

  /** The method that writes the ignore file of `scm`; throws `BuildError` when there is none. */
  #scmIgnoreStep(scm: string): (context: VenvContext) => Promise<void> {
    const name = `create${capitalize(scm)}IgnoreFile`;
    const method = (this as unknown as Record<string, unknown>)[name];
    if (typeof method !== "function") {
      throw new BuildError(
        `Cannot write an ignore file for the SCM ${q(scm)}: the builder has no method ${name}; ` +
          `define it in a subclass, or leave ${q(scm)} out of scmIgnoreFiles`,
      );
    }
    return method as (context: VenvContext) => Promise<void>;
  }

  /**
   * The interpreter entries and lib64 link to place: into an existing venv (not cleared), the
   * aliases and lib64 found there are kept, as venv makes them only where nothing is.
   */
  #toPlace(context: VenvContext): VenvLayout {
    const { build } = this.#run(context.envDir);
    if (!build.existing || this.clear) return context.layout;
    return entriesToPlace(context.layout, (path) => lstatOrNull(path) !== null);
  }

  #step(step: string, message: string): void {
    this.progress({ step, message });
  }
}

/**
 * Create a venv at `envDir` with `options`, as CPython's module-level `venv.create()`: a
 * shortcut for `new EnvBuilder(options).create(envDir)`. Throws as `EnvBuilder.create`.
 */
export async function create(envDir: string, options: EnvBuilderOptions = {}): Promise<void> {
  await new EnvBuilder(options).create(envDir);
}
