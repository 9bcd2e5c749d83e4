/**
 * Cached interpreter facts: the probe runs once per interpreter binary; an upgraded or replaced
 * interpreter (other real path, size, mtime, mode or inode) is probed again. A binary that
 * refused the probe (a Python 2, a non-Python) is remembered too, so discovery does not run it
 * on every search. A corrupt or unreadable entry is ignored and rewritten; a cache that cannot
 * be written is skipped.
 *
 * An entry may also remember that discovery found the path to be a base interpreter (no shim,
 * not in a venv: lib/discovery/base_interpreter.ts), so that the next run reads one file instead of
 * following the path again. Whether a path is in a venv depends on a `pyvenv.cfg` beside it or
 * one directory up, so that memory holds those two directories' stamps and counts only while
 * they are unchanged: creating, removing or renaming a file there changes them.
 */
import { dirname, join } from "../disk/paths.ts";
import { cacheRoot, digest, writeFileAtomic } from "../disk/cache.ts";
import {
  type InterpreterInfo,
  PROBE_VERSION,
  probeInfo,
  ProbeRefused,
  runProbe,
} from "./interpreter.ts";

/** Options for `probeCached`. */
export interface ProbeCachedOptions {
  /** The cache root; `null` disables the cache. Default: `cacheRoot()`. */
  cacheDir?: string | null;
  timeoutMs?: number;
  /** Called with a line of diagnostics (for `--verbose`). */
  log?: (line: string) => void;
  /**
   * The caller has found `path` to be a base interpreter (not a shim, not in a venv): the entry
   * remembers it, for `cachedBaseFacts`.
   */
  base?: boolean;
}

/**
 * A directory changed more recently than this may change again within the same mtime tick
 * (milliseconds in Deno, seconds or more on some file systems) unseen: its stamp is not
 * remembered.
 */
const SETTLED_MS = 2000;

/** The cache entry of the file at `path` as it is now, and its real path. */
function cacheKey(path: string): { key: string; real: string } | null {
  try {
    const real = Deno.realPathSync(path);
    const st = Deno.statSync(real);
    const stamp = [
      PROBE_VERSION,
      path,
      real,
      st.size,
      st.mtime?.getTime() ?? 0,
      st.mode ?? 0,
      st.ino ?? 0,
      st.dev ?? 0,
    ];
    return { key: digest(JSON.stringify(stamp)), real };
  } catch {
    return null;
  }
}

/**
 * The stamps (inode, mtime) of the two directories where a `pyvenv.cfg` would make `path` a
 * venv's interpreter; null when they cannot be read or one is not settled.
 */
function venvDirStamps(path: string): number[][] | null {
  try {
    const dir = dirname(path);
    const stamps = [dir, dirname(dir)].map((d) => {
      const st = Deno.statSync(d);
      return [st.ino ?? 0, st.mtime?.getTime() ?? 0];
    });
    return stamps.every(([, mtime]) => mtime !== 0 && Date.now() - mtime! >= SETTLED_MS)
      ? stamps
      : null;
  } catch {
    return null;
  }
}

function sameStamps(a: unknown, b: number[][]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether the file starts with `#!`; true when it cannot be read (then it is not cached). */
function isScript(path: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path);
  } catch {
    return true;
  }
  try {
    const head = new Uint8Array(2);
    const n = file.readSync(head);
    return n === 2 && head[0] === 0x23 && head[1] === 0x21;
  } catch {
    return true;
  } finally {
    file.close();
  }
}

function readEntry(entry: string): string | null {
  try {
    return Deno.readTextFileSync(entry);
  } catch {
    return null;
  }
}

/** The entry's text: the probe's JSON, with the base-interpreter stamps when given. */
function entryText(raw: string, base: number[][] | null): string {
  return base === null ? raw : `{"base":${JSON.stringify(base)},${raw.slice(1)}`;
}

/**
 * The facts of the interpreter at `path` when its cache entry remembers it as a base
 * interpreter (`probeCached` with `base`) and neither the file nor the directories a venv
 * would be found in have changed since; otherwise null. Never probes, never throws.
 */
export function cachedBaseFacts(
  path: string,
  options: Pick<ProbeCachedOptions, "cacheDir" | "log"> = {},
): InterpreterInfo | null {
  const root = options.cacheDir === undefined ? cacheRoot() : options.cacheDir;
  const key = root === null ? null : cacheKey(path);
  if (root === null || key === null) return null;
  const entry = join(root, "interpreters", `${key.key}.json`);
  const text = readEntry(entry);
  if (text === null) return null;
  try {
    const raw: unknown = JSON.parse(text);
    const base = (raw as { base?: unknown } | null)?.base;
    const stamps = base === undefined ? null : venvDirStamps(path);
    if (stamps === null || !sameStamps(base, stamps)) return null;
    const info = probeInfo(raw);
    options.log?.(`${path} is a base interpreter, as the cache ${entry} remembers`);
    return info;
  } catch {
    return null;
  }
}

/**
 * The facts of the interpreter at `path`, from the cache when it is current, else from a probe
 * (then cached). Throws `BuildError` as `runProbe` does.
 */
export async function probeCached(
  path: string,
  options: ProbeCachedOptions = {},
): Promise<InterpreterInfo> {
  const root = options.cacheDir === undefined ? cacheRoot() : options.cacheDir;
  const key = root === null ? null : cacheKey(path);
  const entry = root !== null && key !== null
    ? join(root, "interpreters", `${key.key}.json`)
    : null;
  const base = options.base && entry !== null ? venvDirStamps(path) : null;
  if (entry !== null) {
    const text = readEntry(entry); // missing or unreadable: probe again and rewrite
    const refused = text === null ? null : parseRefusal(text);
    if (refused !== null) {
      options.log?.(`${path} refused the probe before (cache ${entry})`);
      throw refused;
    }
    try {
      if (text !== null) {
        const raw: unknown = JSON.parse(text);
        const info = probeInfo(raw);
        options.log?.(`interpreter facts for ${path} from cache ${entry}`);
        if (base !== null && !sameStamps((raw as { base?: unknown }).base, base)) {
          const raw = JSON.stringify(toProbeJson(info));
          await writeFileAtomic(entry, entryText(raw, base)).catch(() => {});
        }
        return info;
      }
    } catch {
      // corrupt: probe again and rewrite
    }
  }
  // A script (a pyenv/asdf shim) may start another interpreter tomorrow: never cache it.
  // Checked before writing only: a script that replaced a cached binary has another key.
  const target = entry !== null && !isScript(key!.real) ? entry : null;
  const probeOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  let probed: { info: InterpreterInfo; raw: string };
  try {
    probed = await runProbeRaw(path, probeOptions);
  } catch (e: unknown) {
    if (e instanceof ProbeRefused && target !== null) {
      const refusal = { probe: PROBE_VERSION, refused: { message: e.message, detail: e.detail } };
      await writeFileAtomic(target, JSON.stringify(refusal)).catch(() => {});
    }
    throw e;
  }
  const { info, raw } = probed;
  options.log?.(`probed ${path}`);
  if (target !== null) {
    try {
      await writeFileAtomic(target, entryText(raw, base));
    } catch (e: unknown) {
      options.log?.(`cannot write the interpreter cache ${target}: ${String(e)}`);
    }
  }
  return info;
}

/** A remembered refusal as the error it was, or null when `text` is not one. */
function parseRefusal(text: string): ProbeRefused | null {
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== "object" || raw === null || !("refused" in raw)) return null;
    if ((raw as { probe?: unknown }).probe !== PROBE_VERSION) return null;
    const refused = (raw as { refused: unknown }).refused;
    if (typeof refused !== "object" || refused === null) return null;
    const { message, detail } = refused as { message?: unknown; detail?: unknown };
    if (typeof message !== "string") return null;
    return new ProbeRefused(message, typeof detail === "string" ? { detail } : {});
  } catch {
    return null;
  }
}

async function runProbeRaw(
  path: string,
  options: { timeoutMs?: number },
): Promise<{ info: InterpreterInfo; raw: string }> {
  const info = await runProbe(path, options);
  return { info, raw: JSON.stringify(toProbeJson(info)) };
}

/** The inverse of `parseProbeOutput`, so cached entries parse with the same code. */
export function toProbeJson(info: InterpreterInfo): Record<string, unknown> {
  return {
    probe: PROBE_VERSION,
    implementation: info.implementation,
    version: info.version,
    releaselevel: info.releaselevel,
    os_name: info.osName,
    sys_platform: info.sysPlatform,
    executable: info.executable,
    base_executable: info.baseExecutable,
    realpath_executable: info.realpathExecutable,
    prefix: info.prefix,
    base_prefix: info.basePrefix,
    is64: info.is64,
    fs_encoding: info.fsEncoding,
    abiflags: info.abiflags,
    gil_disabled: info.gilDisabled,
    is_python_build: info.isPythonBuild,
    venv_scheme: info.venvScheme,
    platlibdir: info.platlibdir,
    wheel_pkg_dir: info.wheelPkgDir,
    cache_tag: info.cacheTag,
    stdlib: info.stdlib,
    site_packages: info.sitePackages,
    ensurepip: info.ensurepip === null ? null : {
      dir: info.ensurepip.dir,
      has_main: info.ensurepip.hasMain,
      bundled_dir: info.ensurepip.bundledDir,
      bundled: info.ensurepip.bundled,
      pip_version: info.ensurepip.pipVersion,
      setuptools_version: info.ensurepip.setuptoolsVersion,
    },
    windows: info.windows === null ? null : {
      base_dir_files: info.windows.baseDirFiles,
      venv_nt_scripts: info.windows.venvNtScripts,
    },
  };
}
