/**
 * Stub interpreters for discovery tests: shell scripts that answer mkvenv's probe
 * (`-I -c <source>`) with canned facts, in the exact shape templates/probe.py prints.
 */
import { dirname } from "node:path";
import {
  type InterpreterInfo,
  parseProbeOutput,
  type PythonVersion,
} from "../lib/discovery/interpreter.ts";

/** The facts a stub claims; everything else gets a plausible default. */
export interface StubFacts {
  implementation?: string;
  version: PythonVersion;
  gilDisabled?: boolean;
  /** `sys.executable`; default: the stub's own path. */
  executable?: string;
  windows?: boolean;
}

/** The probe's JSON for an interpreter at `path` with `facts`. */
export function probeJson(path: string, facts: StubFacts): string {
  const [major, minor] = facts.version;
  const implementation = facts.implementation ?? "cpython";
  const executable = facts.executable ?? path;
  const windows = facts.windows ?? false;
  const prefix = windows ? executable.replace(/\\[^\\]*$/, "") : dirname(dirname(executable));
  const tag = implementation === "pypy" ? `pypy${major}${minor}` : `cpython-${major}${minor}`;
  return JSON.stringify({
    probe: 1,
    implementation,
    version: facts.version,
    releaselevel: "final",
    os_name: windows ? "nt" : "posix",
    sys_platform: windows ? "win32" : "linux",
    executable,
    base_executable: executable,
    has_base_executable: true,
    realpath_executable: executable,
    prefix,
    base_prefix: prefix,
    is64: true,
    fs_encoding: "utf-8",
    abiflags: facts.gilDisabled ? "t" : "",
    gil_disabled: facts.gilDisabled ?? false,
    is_python_build: false,
    venv_scheme: null,
    platlibdir: "lib",
    wheel_pkg_dir: null,
    cache_tag: tag,
    stdlib: `${prefix}/lib/python${major}.${minor}`,
    site_packages: [],
    ensurepip: null,
    windows: windows ? { base_dir_files: ["python.exe"], venv_nt_scripts: [] } : null,
  });
}

/** Parsed facts, as discovery sees them (for hosts that do not run anything). */
export function factsFor(path: string, facts: StubFacts): InterpreterInfo {
  return parseProbeOutput(probeJson(path, facts));
}

/** Write an executable script at `path` (parents created). */
export async function writeScript(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
}

/**
 * Write a stub interpreter at `path`. It prints the facts for `-I -c <anything>`; any other
 * arguments make it fail, as a real probe would notice.
 */
export async function writeStub(path: string, facts: StubFacts): Promise<void> {
  await writeScript(
    path,
    [
      "#!/bin/sh",
      "# stub interpreter for mkvenv's discovery tests",
      'if [ "$1" = "-I" ] && [ "$2" = "-c" ]; then',
      "  cat <<'STUB_FACTS'",
      probeJson(path, facts),
      "STUB_FACTS",
      "  exit 0",
      "fi",
      'echo "stub interpreter: unexpected arguments: $*" >&2',
      "exit 2",
      "",
    ].join("\n"),
  );
}

/** A script that fails if anything runs it: discovery must resolve it without probing. */
export async function writeUnprobeable(path: string): Promise<void> {
  await writeScript(path, "#!/bin/sh\necho 'this file must not be run' >&2\nexit 3\n");
}

/** The error `fn` throws, which must be an instance of `type`. */
export function thrown<T extends Error>(fn: () => unknown, type: new (...args: never[]) => T): T {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof type) return e;
    throw new Error(`expected a ${type.name}, got ${String(e)}`);
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}

/** The error the promise rejects with, which must be an instance of `type`. */
export async function rejection<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (e: unknown) {
    if (e instanceof type) return e;
    throw new Error(`expected a ${type.name}, got ${e instanceof Error ? e.stack : String(e)}`);
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}
