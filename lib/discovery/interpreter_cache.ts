/**
 * Cached interpreter facts: the probe runs once per interpreter binary; an upgraded or replaced
 * interpreter (other real path, size, mtime, mode or inode) is probed again. Each entry records
 * the stamp of the file it describes and is used only while that file still has it. A corrupt,
 * unreadable, damaged or untrusted entry (lib/disk/cache.ts: another user owns it or could have
 * written it) is ignored and replaced; a cache root mkvenv does not trust, or cannot write, is
 * skipped: the interpreter is probed again. A binary that refused the probe (a Python 2, a
 * non-Python) is remembered for the rest of the run only: it may be fixed before the next.
 *
 * An entry may also remember that discovery found the path to be a base interpreter (no shim,
 * not in a venv: lib/discovery/base_interpreter.ts), so that the next run reads one file instead of
 * following the path again. Whether a path is in a venv depends on a `pyvenv.cfg` beside it or
 * one directory up, so that memory holds those two directories' stamps and counts only while
 * they are unchanged: creating, removing or renaming a file there changes them.
 */
import { dirname, join } from "../disk/paths.ts";
import { readRegularFile } from "../disk/disk.ts";
import {
  cacheRoot,
  cacheRootProblem,
  digest,
  ensureCacheDir,
  forgetCacheRoot,
  inspectCachePath,
  readCacheText,
  writeFileAtomic,
} from "../disk/cache.ts";
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

/** The file at `path` as it is now: its stamp, the entry name that stamp gives, its real path. */
interface FileStamp {
  key: string;
  stamp: string;
  real: string;
}

function fileStamp(path: string): FileStamp | null {
  try {
    const real = Deno.realPathSync(path);
    const st = Deno.statSync(real);
    const stamp = JSON.stringify([
      PROBE_VERSION,
      path,
      real,
      st.size,
      st.mtime?.getTime() ?? 0,
      st.mode ?? 0,
      st.ino ?? 0,
      st.dev ?? 0,
    ]);
    return { key: digest(stamp), stamp, real };
  } catch {
    return null;
  }
}

/** Refusals seen in this process, by stamp key: never written to disk. */
const refusals = new Map<string, ProbeRefused>();

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
  try {
    const head = readRegularFile(path, { limit: 2, head: true }).bytes;
    return head[0] === 0x23 && head[1] === 0x21;
  } catch {
    return true;
  }
}

/** Where the entry of the file `stamp` lives, when there is a cache mkvenv trusts. */
interface EntryPlace {
  root: string;
  dir: string;
  entry: string;
}

const distrustSaid = new Set<string>();

function entryPlace(
  root: string | null,
  stamp: FileStamp | null,
  log?: (line: string) => void,
): EntryPlace | null {
  if (root === null || stamp === null) return null;
  const problem = cacheRootProblem(root);
  if (problem !== null && problem.kind !== "missing") {
    if (!distrustSaid.has(root)) {
      log?.(`the cache ${root} is not used: ${problem.why}; interpreters are probed again`);
      distrustSaid.add(root);
    }
    return null;
  }
  const dir = join(root, "interpreters");
  return { root, dir, entry: join(dir, `${stamp.key}.json`) };
}

/**
 * The entry's facts, parsed, when the entry exists, is trusted, and describes the file as it is
 * now; else null (said with `log` when it was there but not used).
 */
function readEntry(
  place: EntryPlace,
  stamp: FileStamp,
  log?: (line: string) => void,
): Record<string, unknown> | null {
  const problem = inspectCachePath(place.dir, "dir");
  if (problem !== null) {
    if (problem.kind !== "missing") log?.(`the cache ${place.dir} is not used: ${problem.why}`);
    return null;
  }
  const text = readCacheText(place.entry, log);
  if (text === null) return null;
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
    const entry = raw as Record<string, unknown>;
    if (entry.file !== stamp.stamp) {
      log?.(`the cache entry ${place.entry} describes another file: probing again`);
      return null;
    }
    return entry;
  } catch {
    return null;
  }
}

/** The entry's text: the probe's JSON, with the file's stamp and the base-interpreter stamps. */
function entryText(raw: string, stamp: FileStamp, base: number[][] | null): string {
  const baseKey = base === null ? "" : `"base":${JSON.stringify(base)},`;
  return `{"file":${JSON.stringify(stamp.stamp)},${baseKey}${raw.slice(1)}`;
}

/** Write an entry; a cache that cannot be made, trusted or written is skipped (said with `log`). */
async function writeEntry(
  place: EntryPlace,
  text: string,
  log?: (line: string) => void,
): Promise<void> {
  try {
    Deno.mkdirSync(place.root, { recursive: true, mode: 0o700 });
    forgetCacheRoot(place.root);
    const problem = cacheRootProblem(place.root);
    if (problem !== null) throw new Error(problem.why);
    ensureCacheDir(place.root, place.dir, log);
    await writeFileAtomic(place.entry, text);
  } catch (e: unknown) {
    log?.(`cannot write the interpreter cache ${place.entry}: ${String(e)}`);
  }
}

/**
 * The facts of the interpreter at `path` when its cache entry remembers it as a base
 * interpreter (`probeCached` with `base`) and neither the file nor the directories a venv
 * would be found in have changed since; otherwise null. Never probes. Throws `BuildError` only
 * when the default cache root cannot be named (see `cacheRoot`).
 */
export function cachedBaseFacts(
  path: string,
  options: Pick<ProbeCachedOptions, "cacheDir" | "log"> = {},
): InterpreterInfo | null {
  const root = options.cacheDir === undefined ? cacheRoot() : options.cacheDir;
  const stamp = root === null ? null : fileStamp(path);
  const place = entryPlace(root, stamp, options.log);
  if (place === null) return null;
  const raw = readEntry(place, stamp!, options.log);
  if (raw === null) return null;
  try {
    const stamps = raw.base === undefined ? null : venvDirStamps(path);
    if (stamps === null || !sameStamps(raw.base, stamps)) return null;
    const info = probeInfo(raw);
    options.log?.(`${path} is a base interpreter, as the cache ${place.entry} remembers`);
    return info;
  } catch {
    return null;
  }
}

/**
 * The facts of the interpreter at `path`, from the cache when it is current, else from a probe
 * (then cached). Throws `BuildError` as `runProbe` does, or when the default cache root cannot
 * be named (see `cacheRoot`).
 */
export async function probeCached(
  path: string,
  options: ProbeCachedOptions = {},
): Promise<InterpreterInfo> {
  const log = options.log;
  const root = options.cacheDir === undefined ? cacheRoot() : options.cacheDir;
  const stamp = root === null ? null : fileStamp(path);
  const place = entryPlace(root, stamp, log);
  const base = options.base && place !== null ? venvDirStamps(path) : null;
  const refused = stamp === null ? undefined : refusals.get(stamp.key);
  if (refused !== undefined) {
    log?.(`${path} refused the probe before`);
    throw refused;
  }
  if (place !== null) {
    const raw = readEntry(place, stamp!, log); // missing or unusable: probe again and rewrite
    try {
      if (raw !== null) {
        const info = probeInfo(raw);
        log?.(`interpreter facts for ${path} from cache ${place.entry}`);
        if (base !== null && !sameStamps(raw.base, base)) {
          const json = JSON.stringify(toProbeJson(info));
          await writeEntry(place, entryText(json, stamp!, base), log);
        }
        return info;
      }
    } catch {
      // corrupt: probe again and rewrite
    }
  }
  // A script (a pyenv/asdf shim) may start another interpreter tomorrow: never cache it.
  // Checked before writing only: a script that replaced a cached binary has another key.
  const target = place !== null && !isScript(stamp!.real) ? place : null;
  const probeOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  let probed: { info: InterpreterInfo; raw: string };
  try {
    probed = await runProbeRaw(path, probeOptions);
  } catch (e: unknown) {
    if (e instanceof ProbeRefused && stamp !== null) refusals.set(stamp.key, e);
    throw e;
  }
  const { info, raw } = probed;
  log?.(`probed ${path}`);
  if (target !== null) await writeEntry(target, entryText(raw, stamp!, base), log);
  return info;
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
