/**
 * What a venv looks like, as a pure function of the interpreter's facts, the build options and
 * the target platform. Every platform and version rule of the on-disk layout lives here; the
 * code that touches the disk only carries out the `VenvLayout` computed here.
 */
import { posix, win32 } from "../disk/paths.ts";
import type { InterpreterInfo, Platform, PythonVersion } from "../discovery/interpreter.ts";

/** The options of one build, after parsing (CLI defaults already applied). */
export interface BuildOptions {
  systemSitePackages: boolean;
  /** Link the interpreter (true) or copy it (false). */
  symlinks: boolean;
  clear: boolean;
  upgrade: boolean;
  withPip: boolean;
  /** The `--prompt` value as given (`"."` unresolved), or null when not given. */
  prompt: string | null;
  upgradeDeps: boolean;
  scmIgnoreFiles: boolean;
}

/** The defaults of `python -m venv` on the command line for `platform`. */
export function defaultBuildOptions(platform: Platform): BuildOptions {
  return {
    systemSitePackages: false,
    symlinks: platform !== "windows",
    clear: false,
    upgrade: false,
    withPip: true,
    prompt: null,
    upgradeDeps: false,
    scmIgnoreFiles: true,
  };
}

/** One interpreter entry in the venv's bin directory. */
export interface InterpreterEntry {
  /** Absolute path in the venv. */
  path: string;
  /** `symlink`: a link to `target`; `copy`: a byte copy of `target` made executable. */
  kind: "symlink" | "copy";
  /** Link text (absolute, or a sibling's basename for aliases) or the file to copy. */
  target: string;
  /** The primary entry is (re)placed on every build; aliases only when absent, as CPython. */
  primary: boolean;
}

/** The computed shape of one venv. Paths are absolute, in the target platform's syntax. */
export interface VenvLayout {
  /** The platform the venv is for. */
  platform: Platform;
  /** The base interpreter's version. */
  version: PythonVersion;
  /** The venv's directory. */
  envDir: string;
  /** Basename of `envDir`. */
  envName: string;
  /** The prompt the activation scripts show (bare, without parentheses). */
  prompt: string;
  /** `bin` or `Scripts` (as the scheme names it). */
  binName: string;
  /** The scripts directory. */
  binDir: string;
  /** The include directory. */
  includeDir: string;
  /** Where pure-Python packages go (site-packages). */
  purelibDir: string;
  /** Directories to create, parents first. */
  dirs: string[];
  /** `lib64 -> lib` relative link, or null. */
  lib64: { path: string; target: string } | null;
  /** The venv's own interpreter (what pip's scripts run), absolute. */
  envExe: string;
  /** The interpreter and its aliases in the bin directory. */
  interpreters: InterpreterEntry[];
  /** `pyvenv.cfg`. */
  cfgPath: string;
  /** `.gitignore`, or null when no SCM ignore file is written. */
  gitignorePath: string | null;
}

/** The path module for a platform. */
export function pathFor(platform: Platform): typeof posix {
  return platform === "windows" ? win32 : posix;
}

/** `version >= [major, minor]`. */
export function atLeast(version: PythonVersion, major: number, minor: number): boolean {
  return version[0] > major || (version[0] === major && version[1] >= minor);
}

/** Relative venv paths for bin, include and purelib, per platform and version. */
function relativePaths(info: InterpreterInfo): { bin: string; include: string; purelib: string } {
  const [major, minor] = info.version;
  const xy = `${major}.${minor}`;
  const scheme = info.venvScheme;
  const windows = info.platform === "windows";
  const bin = scheme?.scripts ?? (windows ? "Scripts" : "bin");
  let purelib = scheme?.purelib;
  if (!purelib) {
    if (windows) purelib = "Lib\\site-packages";
    else if (info.implementation === "pypy") purelib = `lib/pypy${xy}/site-packages`;
    else purelib = `lib/python${xy}${info.gilDisabled ? "t" : ""}/site-packages`;
  }
  // 3.11-3.13 take include from the scheme (include/pythonX.Y); 3.14 went back to plain include.
  let include = windows ? "Include" : "include";
  if (scheme?.include && !atLeast(info.version, 3, 14)) include = scheme.include;
  return { bin, include, purelib };
}

/** Names of the interpreter aliases CPython (or PyPy) adds beside the primary, in order. */
function aliasNames(info: InterpreterInfo): string[] {
  const [major, minor] = info.version;
  const names = ["python", `python${major}`];
  if (atLeast(info.version, 3, 9)) names.push(`python${major}.${minor}`);
  if (info.implementation === "pypy") names.push(`pypy${major}`, "pypy");
  if (atLeast(info.version, 3, 14) && info.fsEncoding.toLowerCase() === "utf-8") {
    names.push("\u{1D70B}thon");
  }
  return names;
}

function windowsInterpreters(
  info: InterpreterInfo,
  binDir: string,
  options: BuildOptions,
): InterpreterEntry[] {
  const path = win32;
  const baseDir = path.dirname(info.baseExecutable);
  const ntScripts = path.join(info.stdlib, "venv", "scripts", "nt");
  const available = new Set(info.windows?.venvNtScripts.map((f) => f.toLowerCase()) ?? []);
  const baseFiles = new Set(info.windows?.baseDirFiles.map((f) => f.toLowerCase()) ?? []);
  const entries: InterpreterEntry[] = [];
  const add = (name: string, launcher: string, primary: boolean) => {
    const inNt = available.has(launcher.toLowerCase());
    const target = options.symlinks
      ? path.join(baseDir, name)
      : inNt
      ? path.join(ntScripts, launcher)
      : path.join(baseDir, launcher);
    entries.push({
      path: path.join(binDir, name),
      kind: options.symlinks ? "symlink" : "copy",
      target,
      primary,
    });
  };
  if (atLeast(info.version, 3, 13)) {
    const t = info.gilDisabled ? "t" : "";
    add("python.exe", `venvlauncher${t}.exe`, true);
    add("pythonw.exe", `venvwlauncher${t}.exe`, false);
    if (info.gilDisabled) {
      const xy = `${info.version[0]}.${info.version[1]}`;
      add(`python${xy}t.exe`, "venvlaunchert.exe", false);
      add(`pythonw${xy}t.exe`, "venvwlaunchert.exe", false);
    }
  } else {
    const names = ["python.exe", "pythonw.exe"];
    const base = path.basename(info.baseExecutable);
    if (atLeast(info.version, 3, 9) && !names.includes(base.toLowerCase())) names.push(base);
    for (const name of names) {
      if (baseFiles.size === 0 || baseFiles.has(name.toLowerCase())) {
        add(name, name, name.toLowerCase() === "python.exe");
      }
    }
  }
  return entries;
}

/**
 * Compute the layout of a venv at the absolute path `envDir` for the interpreter `info`.
 * `cwd` resolves `--prompt .`. Pure: reads nothing from the disk.
 */
export function computeLayout(
  info: InterpreterInfo,
  envDir: string,
  options: BuildOptions & { cwd: string },
): VenvLayout {
  const path = pathFor(info.platform);
  const rel = relativePaths(info);
  const envName = path.basename(envDir);
  let prompt = options.prompt ?? envName;
  // `--prompt .` means the current directory's name since 3.9 (bpo-38901); a literal before.
  if (options.prompt === "." && atLeast(info.version, 3, 9)) prompt = path.basename(options.cwd);
  const binDir = path.join(envDir, rel.bin);
  const includeDir = path.join(envDir, rel.include);
  const purelibDir = path.join(envDir, rel.purelib);
  const dirs = [envDir, includeDir, purelibDir, binDir];
  const lib64 = info.platform === "linux" && info.is64 && !atLeast(info.version, 3, 15)
    ? { path: path.join(envDir, "lib64"), target: "lib" }
    : null;

  let interpreters: InterpreterEntry[];
  let envExe: string;
  if (info.platform === "windows") {
    interpreters = windowsInterpreters(info, binDir, options);
    const primaryName = atLeast(info.version, 3, 13)
      ? "python.exe"
      : win32.basename(info.baseExecutable);
    envExe = path.join(binDir, primaryName);
  } else {
    const primaryName = posix.basename(info.baseExecutable);
    envExe = path.join(binDir, primaryName);
    interpreters = [{
      path: envExe,
      kind: options.symlinks ? "symlink" : "copy",
      target: info.baseExecutable,
      primary: true,
    }];
    for (const alias of aliasNames(info)) {
      if (alias === primaryName) continue;
      interpreters.push({
        path: path.join(binDir, alias),
        kind: options.symlinks ? "symlink" : "copy",
        target: options.symlinks ? primaryName : info.baseExecutable,
        primary: false,
      });
    }
  }

  return {
    platform: info.platform,
    version: info.version,
    envDir,
    envName,
    prompt,
    binName: rel.bin,
    binDir,
    includeDir,
    purelibDir,
    dirs,
    lib64,
    envExe,
    interpreters,
    cfgPath: path.join(envDir, "pyvenv.cfg"),
    // CPython writes .gitignore from 3.13; mkvenv writes it for every version (documented).
    gitignorePath: options.scmIgnoreFiles ? path.join(envDir, ".gitignore") : null,
  };
}

/**
 * The part of `layout` to place into a venv directory that exists (re-use, `--upgrade`), where
 * `present(path)` says what is already there: venv makes the interpreter aliases (`python3`,
 * `python3.X`, ...) and the `lib64` link only where nothing is, so one the user put there is
 * kept. The primary interpreter entry is always placed: mkvenv re-points it (README).
 */
export function entriesToPlace(layout: VenvLayout, present: (path: string) => boolean): VenvLayout {
  return {
    ...layout,
    interpreters: layout.interpreters.filter((entry) => entry.primary || !present(entry.path)),
    lib64: layout.lib64 !== null && present(layout.lib64.path) ? null : layout.lib64,
  };
}
