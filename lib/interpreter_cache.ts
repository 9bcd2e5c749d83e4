/**
 * Cached interpreter facts: the probe runs once per interpreter binary; an upgraded or replaced
 * interpreter (other real path, size, mtime or inode) is probed again. A binary that refused the
 * probe (a Python 2, a non-Python) is remembered too, so discovery does not run it on every
 * search. A corrupt or unreadable entry is ignored and rewritten; a cache that cannot be written
 * is skipped.
 */
import { join } from "./paths.ts";
import { cacheRoot, digest, writeFileAtomic } from "./cache.ts";
import {
  type InterpreterInfo,
  parseProbeOutput,
  PROBE_VERSION,
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
}

function cacheKey(path: string): string | null {
  try {
    const real = Deno.realPathSync(path);
    const st = Deno.statSync(real);
    // A script (a pyenv/asdf shim) may start another interpreter tomorrow: never cache it.
    if (startsWithShebang(real)) return null;
    const stamp = [
      PROBE_VERSION,
      path,
      real,
      st.size,
      st.mtime?.getTime() ?? 0,
      st.ino ?? 0,
      st.dev ?? 0,
    ];
    return digest(JSON.stringify(stamp));
  } catch {
    return null;
  }
}

function startsWithShebang(path: string): boolean {
  const file = Deno.openSync(path);
  try {
    const head = new Uint8Array(2);
    const n = file.readSync(head);
    return n === 2 && head[0] === 0x23 && head[1] === 0x21;
  } finally {
    file.close();
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
  const entry = root !== null && key !== null ? join(root, "interpreters", `${key}.json`) : null;
  if (entry !== null) {
    let text: string | null = null;
    try {
      text = Deno.readTextFileSync(entry);
    } catch {
      // missing or unreadable: probe again and rewrite
    }
    const refused = text === null ? null : parseRefusal(text);
    if (refused !== null) {
      options.log?.(`${path} refused the probe before (cache ${entry})`);
      throw refused;
    }
    try {
      if (text !== null) {
        const info = parseProbeOutput(text);
        options.log?.(`interpreter facts for ${path} from cache ${entry}`);
        return info;
      }
    } catch {
      // corrupt: probe again and rewrite
    }
  }
  const probeOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  let probed: { info: InterpreterInfo; raw: string };
  try {
    probed = await runProbeRaw(path, probeOptions);
  } catch (e: unknown) {
    if (e instanceof ProbeRefused && entry !== null) {
      const refusal = { probe: PROBE_VERSION, refused: { message: e.message, detail: e.detail } };
      await writeFileAtomic(entry, JSON.stringify(refusal)).catch(() => {});
    }
    throw e;
  }
  const { info, raw } = probed;
  options.log?.(`probed ${path}`);
  if (entry !== null) {
    try {
      await writeFileAtomic(entry, raw);
    } catch (e: unknown) {
      options.log?.(`cannot write the interpreter cache ${entry}: ${String(e)}`);
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
