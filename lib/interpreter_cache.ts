/**
 * Cached interpreter facts: the probe runs once per interpreter binary; an upgraded or replaced
 * interpreter (other real path, size, mtime or inode) is probed again. A corrupt or unreadable
 * entry is ignored and rewritten; a cache that cannot be written is skipped.
 */
import { join } from "./paths.ts";
import { cacheRoot, digest, writeFileAtomic } from "./cache.ts";
import { type InterpreterInfo, parseProbeOutput, PROBE_VERSION, runProbe } from "./interpreter.ts";

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
    try {
      const info = parseProbeOutput(Deno.readTextFileSync(entry));
      options.log?.(`interpreter facts for ${path} from cache ${entry}`);
      return info;
    } catch {
      // missing, unreadable or corrupt: probe again and rewrite
    }
  }
  const probeOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const { info, raw } = await runProbeRaw(path, probeOptions);
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
