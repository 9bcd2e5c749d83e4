/**
 * What mkvenv knows about a base interpreter: one probe run by that interpreter, parsed into
 * a typed `InterpreterInfo` at the edge. No other module spawns Python to ask it a question.
 */
import probeSource from "../../templates/probe.py" with { type: "text" };
import { BuildError, q } from "../errors.ts";
import { envVar } from "../disk/process_env.ts";
import { onInterrupt } from "../disk/interrupt.ts";

/** The operating-system family a venv is laid out for. */
export type Platform = "linux" | "darwin" | "windows";

/** `[major, minor, micro]`, e.g. `[3, 12, 1]`. */
export type PythonVersion = readonly [number, number, number];

/** The oldest Python mkvenv builds venvs for: 3.6 (the probe, layout and seeding all work there). */
export const MINIMUM_VERSION: PythonVersion = [3, 6, 0];

/** Paths of the interpreter's sysconfig `venv` scheme, relative to the venv (3.11+). */
export interface VenvScheme {
  /** The scripts directory (`bin`, `Scripts`). */
  scripts: string | null;
  /** Pure-Python site-packages. */
  purelib: string | null;
  /** Platform-specific site-packages. */
  platlib: string | null;
  /** The include directory. */
  include: string | null;
}

/** Where the interpreter's `ensurepip` lives and which wheels it bundles. */
export interface EnsurepipFacts {
  /** The `ensurepip` package's directory. */
  dir: string;
  /** Whether `ensurepip/__main__.py` exists (Debian strips it). */
  hasMain: boolean;
  /** Where its bundled wheels are. */
  bundledDir: string;
  /** The file names of the bundled wheels. */
  bundled: string[];
  /** The pip version it installs, if known. */
  pipVersion: string | null;
  /** The setuptools version it installs, if any. */
  setuptoolsVersion: string | null;
}

/** Windows-only facts: which executables the base directory and venv's `scripts/nt` hold. */
export interface WindowsFacts {
  /** The executables in the base interpreter's directory. */
  baseDirFiles: string[];
  /** The files in the stdlib's `venv/scripts/nt` (the launchers). */
  venvNtScripts: string[];
}

/** Everything mkvenv needs to know about a base interpreter, from one probe. */
export interface InterpreterInfo {
  /** `sys.implementation.name`: `cpython`, `pypy`, ... */
  implementation: string;
  /** `sys.version_info[:3]`. */
  version: PythonVersion;
  /** `sys.version_info.releaselevel`: `final`, `candidate`, ... */
  releaselevel: string;
  /** `os.name`: `posix` or `nt`. */
  osName: string;
  /** `sys.platform`. */
  sysPlatform: string;
  /** The platform the venv is for. */
  platform: Platform;
  /** `sys.executable`. */
  executable: string;
  /** `sys._base_executable`, or `sys.executable` where it does not exist (3.7 POSIX). */
  baseExecutable: string;
  /** `os.path.realpath(sys.executable)`. */
  realpathExecutable: string;
  /** `sys.prefix`. */
  prefix: string;
  /** `sys.base_prefix`. */
  basePrefix: string;
  /** Whether the interpreter is 64-bit. */
  is64: boolean;
  /** `sys.getfilesystemencoding()`. */
  fsEncoding: string;
  /** `sys.abiflags` (empty on Windows). */
  abiflags: string;
  /** A free-threaded build (`Py_GIL_DISABLED`). */
  gilDisabled: boolean;
  /** `sysconfig.is_python_build()`: run from a source tree. */
  isPythonBuild: boolean;
  /** The sysconfig `venv` scheme's paths, or null before 3.11. */
  venvScheme: VenvScheme | null;
  /** `sys.platlibdir` (3.9+), or null. */
  platlibdir: string | null;
  /** Debian's and others' configured wheel directory for ensurepip, or null. */
  wheelPkgDir: string | null;
  /** `sys.implementation.cache_tag`, for byte-compiled file names. */
  cacheTag: string;
  /** The standard library directory. */
  stdlib: string;
  /** The base interpreter's site-packages directories. */
  sitePackages: string[];
  /** The interpreter's `ensurepip`, or null without one. */
  ensurepip: EnsurepipFacts | null;
  /** Windows-only facts, or null elsewhere. */
  windows: WindowsFacts | null;
}

/** The probe script's source, fed to `python -I -c PROBE_LOADER` on its standard input. */
export const PROBE_SOURCE: string = probeSource;

/**
 * The `-c` program that runs the probe from standard input. The probe's source is not put on
 * the command line, so a program that is not Python (`-p /bin/ls`) cannot echo it back into
 * the error, and `ps` shows one short line.
 */
export const PROBE_LOADER =
  'import sys;exec(compile(sys.stdin.buffer.read(),"<mkvenv probe>","exec"))';

/** Bump when the probe's output changes shape, so cached facts are re-probed. */
export const PROBE_VERSION = 1;

function field<T>(obj: Record<string, unknown>, key: string, check: (v: unknown) => v is T): T {
  const value = obj[key];
  if (!check(value)) throw new TypeError(`probe field ${key} has an unexpected value`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isObjectOrNull = (v: unknown): v is Record<string, unknown> | null =>
  v === null || isObject(v);

function platformOf(osName: string, sysPlatform: string): Platform {
  if (osName === "nt") return "windows";
  return sysPlatform === "darwin" ? "darwin" : "linux";
}

/**
 * Turn the probe's JSON text into `InterpreterInfo`.
 * Throws a `TypeError` naming the field when the text is not the probe's output.
 */
export function parseProbeOutput(text: string): InterpreterInfo {
  return probeInfo(JSON.parse(text));
}

/**
 * `parseProbeOutput` for JSON already parsed (a cache entry read for more than its facts).
 * Throws a `TypeError` naming the field when `raw` is not the probe's output.
 */
export function probeInfo(raw: unknown): InterpreterInfo {
  if (!isObject(raw)) throw new TypeError("probe output is not a JSON object");
  if (raw.probe !== PROBE_VERSION) throw new TypeError("probe output has another version");
  const version = raw.version;
  if (
    !Array.isArray(version) || version.length !== 3 ||
    !version.every((n) => Number.isInteger(n))
  ) {
    throw new TypeError("probe field version has an unexpected value");
  }
  const osName = field(raw, "os_name", isString);
  const sysPlatform = field(raw, "sys_platform", isString);
  const scheme = field(raw, "venv_scheme", isObjectOrNull);
  const ensurepip = field(raw, "ensurepip", isObjectOrNull);
  const windows = field(raw, "windows", isObjectOrNull);
  return {
    implementation: field(raw, "implementation", isString),
    version: [version[0], version[1], version[2]] as PythonVersion,
    releaselevel: field(raw, "releaselevel", isString),
    osName,
    sysPlatform,
    platform: platformOf(osName, sysPlatform),
    executable: field(raw, "executable", isString),
    baseExecutable: field(raw, "base_executable", isString),
    realpathExecutable: field(raw, "realpath_executable", isString),
    prefix: field(raw, "prefix", isString),
    basePrefix: field(raw, "base_prefix", isString),
    is64: field(raw, "is64", isBool),
    fsEncoding: field(raw, "fs_encoding", isString),
    abiflags: field(raw, "abiflags", isString),
    gilDisabled: field(raw, "gil_disabled", isBool),
    isPythonBuild: field(raw, "is_python_build", isBool),
    venvScheme: scheme === null ? null : {
      scripts: field(scheme, "scripts", isStringOrNull),
      purelib: field(scheme, "purelib", isStringOrNull),
      platlib: field(scheme, "platlib", isStringOrNull),
      include: field(scheme, "include", isStringOrNull),
    },
    platlibdir: field(raw, "platlibdir", isStringOrNull),
    wheelPkgDir: field(raw, "wheel_pkg_dir", isStringOrNull),
    cacheTag: field(raw, "cache_tag", isString),
    stdlib: field(raw, "stdlib", isString),
    sitePackages: field(raw, "site_packages", isStringArray),
    ensurepip: ensurepip === null ? null : {
      dir: field(ensurepip, "dir", isString),
      hasMain: field(ensurepip, "has_main", isBool),
      bundledDir: field(ensurepip, "bundled_dir", isString),
      bundled: field(ensurepip, "bundled", isStringArray),
      pipVersion: field(ensurepip, "pip_version", isStringOrNull),
      setuptoolsVersion: field(ensurepip, "setuptools_version", isStringOrNull),
    },
    windows: windows === null ? null : {
      baseDirFiles: field(windows, "base_dir_files", isStringArray),
      venvNtScripts: field(windows, "venv_nt_scripts", isStringArray),
    },
  };
}

/**
 * The interpreter ran and answered, but not with its facts (it failed, or printed something
 * else): the same binary will answer the same way next time, so the answer may be cached.
 */
export class ProbeRefused extends BuildError {
  override name = "ProbeRefused";
}

/**
 * Test seam: when `MKVENV_PROBE_LOG` names a file, every probe run appends the interpreter's
 * path to it as one line, so tests can count probes (a warm run must add none).
 */
function noteProbe(path: string): void {
  const file = envVar("MKVENV_PROBE_LOG");
  if (!file) return;
  try {
    Deno.writeTextFileSync(file, `${path}\n`, { append: true });
  } catch {
    // a test seam only: never fail a build over it
  }
}

/** Options for `probeInterpreter`. */
export interface ProbeOptions {
  /** Kill the probe after this many milliseconds (default: MKVENV_PROBE_TIMEOUT seconds, else 20 s). */
  timeoutMs?: number;
}

/**
 * Run the probe with the interpreter at `path` (no cache; see `interpreter_cache.ts`).
 * Throws `BuildError` when it cannot be run, fails, hangs, or does not answer like a Python.
 */
export async function runProbe(path: string, options: ProbeOptions = {}): Promise<InterpreterInfo> {
  const envSeconds = Number(envVar("MKVENV_PROBE_TIMEOUT"));
  const timeoutMs = options.timeoutMs ??
    (Number.isFinite(envSeconds) && envSeconds > 0 ? envSeconds * 1000 : 20_000);
  noteProbe(path);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, {
      args: ["-I", "-c", PROBE_LOADER],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONIOENCODING: "utf-8" },
      // Its own process group, so that a timeout or Ctrl-C ends whatever it started too.
      detached: Deno.build.os !== "windows",
    }).spawn();
  } catch (e: unknown) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : String(e instanceof Error ? e.message : e);
    throw new BuildError(
      `Cannot run the interpreter ${q(path)}: ${why}; pass a Python with -p/--python`,
      { cause: e },
    );
  }
  const killGroup = () => {
    try {
      if (Deno.build.os === "windows") child.kill("SIGKILL");
      else Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const forget = onInterrupt(killGroup);
  const writer = child.stdin.getWriter();
  // A program that is not Python may exit without reading: a broken pipe is its answer.
  writer.write(new TextEncoder().encode(PROBE_SOURCE)).then(() => writer.close()).catch(() => {});
  // On a timeout, do not wait for the pipes: a grandchild (a shim's `sleep`, say) may hold them.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const outcome = await Promise.race([child.output(), timeout]);
  clearTimeout(timer);
  forget();
  const command = `${path} -I -c <mkvenv probe>`;
  if (outcome === "timeout") {
    killGroup();
    throw new BuildError(
      `The interpreter ${q(path)} did not answer mkvenv's probe within ${
        timeoutMs / 1000
      } s: is it a Python? (MKVENV_PROBE_TIMEOUT sets the limit in seconds)`,
      { detail: `command: ${command}` },
    );
  }
  const out = outcome;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new ProbeRefused(
      `The interpreter ${
        q(path)
      } failed mkvenv's probe (exit ${out.code}): is it Python ${supported()}?`,
      { detail: `command: ${command}\n${stderr}${stdout}` },
    );
  }
  let info: InterpreterInfo;
  try {
    info = parseProbeOutput(stdout);
  } catch (e: unknown) {
    throw new ProbeRefused(
      `The interpreter ${
        q(path)
      } answered mkvenv's probe with something that is not its facts: is it a Python?`,
      { detail: `command: ${command}\n${stdout.slice(0, 2000)}${stderr}`, cause: e },
    );
  }
  const [major, minor] = info.version;
  if (major < MINIMUM_VERSION[0] || (major === MINIMUM_VERSION[0] && minor < MINIMUM_VERSION[1])) {
    throw new ProbeRefused(
      `The interpreter ${q(path)} is Python ${
        info.version.join(".")
      }; mkvenv supports Python ${supported()}: pass another one with -p/--python`,
    );
  }
  return info;
}

/** The versions mkvenv supports, in words. */
function supported(): string {
  return `${MINIMUM_VERSION.slice(0, 2).join(".")} or newer`;
}
