/**
 * Finding the base interpreter: turn what the user asked for (`-p`, `MKVENV_PYTHON`, a
 * `.python-version` file, or nothing) into a request, then walk the places Pythons live in a
 * fixed order (PATH, pyenv, uv, and on Windows the `py` launcher and the PEP 514 registry),
 * resolving version-manager shims and venvs to the real base interpreter, until one satisfies
 * the request. Every candidate is checked with the cached probe, so a warm run spawns nothing.
 * The order is documented in docs/discovery.md.
 */
import { posix, win32 } from "node:path";
import { BuildError, q, UsageError } from "./errors.ts";
import { type InterpreterInfo, type Platform, runProbe } from "./interpreter.ts";
import { probeCached } from "./interpreter_cache.ts";
import {
  ACCEPTED_FORMS,
  DEFAULT_REQUEST,
  describeInterpreter,
  mismatch,
  parsePythonRequest,
  type PythonRequest,
  type SpecRequest,
} from "./python_request.ts";
import {
  compareReleasesDescending,
  type InstallName,
  installNameMismatch,
  parseCoreTag,
  parseInstallName,
  parsePyListPaths,
  parseRegQuery,
  recogniseShim,
  toolVersions,
  versionFileLines,
} from "./python_sources.ts";
import { parsePyvenvCfg } from "./pyvenv_cfg.ts";

/** What discovery needs from the machine; the default uses Deno, tests may fake it. */
export interface DiscoveryHost {
  os: Platform;
  cwd: string;
  env(name: string): string | undefined;
  /** Follows links; null when nothing is there. */
  stat(
    path: string,
  ): Promise<{ isFile: boolean; isDirectory: boolean; executable: boolean } | null>;
  /** Entry names, or null when `path` is not a readable directory. */
  readDir(path: string): Promise<string[] | null>;
  /** At most `limit` bytes of the file as text, or null when it cannot be read. */
  readText(path: string, limit: number): Promise<string | null>;
  /** The path with links resolved, or `path` itself when that fails. */
  realPath(path: string): Promise<string>;
  /** Run a command; its stdout when it exits 0, else null. */
  run(command: string, args: readonly string[]): Promise<string | null>;
  /** The interpreter's facts; `cache: false` for shims. Throws `BuildError` as `runProbe`. */
  probe(path: string, options: { cache: boolean }): Promise<InterpreterInfo>;
}

/** Options for `findInterpreter` and `listInterpreters`. */
export interface FindOptions {
  cwd?: string;
  env?: (name: string) => string | undefined;
  /** The cache root; `null` disables the cache. Default: `cacheRoot()`. */
  cacheDir?: string | null;
  log?: (line: string) => void;
  /** Replace the machine (for tests); `cwd`, `env` and `cacheDir` are then ignored. */
  host?: DiscoveryHost;
}

/** The interpreter chosen for a build. */
export interface FoundInterpreter {
  /** The real base interpreter's path (shims and venvs resolved; links kept). */
  path: string;
  info: InterpreterInfo;
  /** Where it was found: `PATH`, `pyenv`, `uv`, `py launcher`, `registry`, or the request. */
  source?: string;
}

/** A request together with where it came from, for messages. */
export interface ChosenRequest {
  request: PythonRequest;
  /** The text as written, or null for the bare default. */
  text: string | null;
  /** `-p/--python`, `MKVENV_PYTHON`, a `.python-version` path, or `default`. */
  origin: string;
  /** The directory relative paths in the request are taken from. */
  baseDir: string;
}

function platformOf(os: typeof Deno.build.os): Platform {
  return os === "windows" ? "windows" : os === "darwin" ? "darwin" : "linux";
}

/** The host backed by Deno: real files, real subprocesses, the probe cache. */
export function denoHost(options: Omit<FindOptions, "host"> = {}): DiscoveryHost {
  const probeOptions = {
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.log === undefined ? {} : { log: options.log }),
  };
  const os = platformOf(Deno.build.os);
  return {
    os,
    cwd: options.cwd ?? Deno.cwd(),
    env: options.env ?? ((name) => Deno.env.get(name)),
    async stat(path) {
      try {
        const st = await Deno.stat(path);
        const executable = st.isFile && (os === "windows" || ((st.mode ?? 0o111) & 0o111) !== 0);
        return { isFile: st.isFile, isDirectory: st.isDirectory, executable };
      } catch {
        return null;
      }
    },
    async readDir(path) {
      try {
        const names: string[] = [];
        for await (const entry of Deno.readDir(path)) names.push(entry.name);
        return names;
      } catch {
        return null;
      }
    },
    async readText(path, limit) {
      let file: Deno.FsFile | undefined;
      try {
        file = await Deno.open(path);
        const buffer = new Uint8Array(limit);
        let filled = 0;
        while (filled < limit) {
          const n = await file.read(buffer.subarray(filled));
          if (n === null) break;
          filled += n;
        }
        return new TextDecoder().decode(buffer.subarray(0, filled));
      } catch {
        return null;
      } finally {
        file?.close();
      }
    },
    async realPath(path) {
      try {
        return await Deno.realPath(path);
      } catch {
        return path;
      }
    },
    async run(command, args) {
      try {
        const out = await new Deno.Command(command, {
          args: [...args],
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).output();
        return out.success ? new TextDecoder().decode(out.stdout) : null;
      } catch {
        return null;
      }
    },
    probe(path, { cache }) {
      return cache ? probeCached(path, probeOptions) : runProbe(path);
    },
  };
}

/** A candidate turned down, with the reason shown under `--verbose` and in the final error. */
class Rejected extends Error {
  override name = "Rejected";
}

interface Candidate {
  path: string;
  /** `PATH`, `pyenv`, ... */
  source: string;
}

interface Source {
  name: string;
  /** How the error message names the place, e.g. `pyenv (/root/.pyenv/versions)`. */
  where: string;
  candidates(): AsyncGenerator<Candidate>;
}

/** Everything one search shares. */
class Search {
  readonly path: typeof posix;
  /** Real paths already checked, to the path they were first seen at. */
  readonly seen = new Map<string, string>();
  readonly rejected: string[] = [];

  constructor(readonly host: DiscoveryHost, readonly log: (line: string) => void) {
    this.path = host.os === "windows" ? win32 : posix;
  }

  home(): string | null {
    return (this.host.os === "windows" ? this.host.env("USERPROFILE") : this.host.env("HOME")) ??
      null;
  }

  pathDirs(): string[] {
    const sep = this.host.os === "windows" ? ";" : ":";
    return (this.host.env("PATH") ?? "").split(sep).filter((d) => d !== "");
  }

  exeName(name: string): string {
    return this.host.os === "windows" ? `${name}.exe` : name;
  }

  async isExecutable(path: string): Promise<boolean> {
    return (await this.host.stat(path))?.executable ?? false;
  }

  /** The first executable called `name` in `dirs` (default: PATH). */
  async which(name: string, dirs: readonly string[] = this.pathDirs()): Promise<string | null> {
    for (const dir of dirs) {
      const candidate = this.path.join(dir, this.exeName(name));
      if (await this.isExecutable(candidate)) return candidate;
    }
    return null;
  }

  pyenvRoot(): string | null {
    const explicit = this.host.env("PYENV_ROOT");
    if (explicit) return explicit;
    const home = this.home();
    if (home === null) return null;
    return this.host.os === "windows"
      ? this.path.join(home, ".pyenv", "pyenv-win")
      : this.path.join(home, ".pyenv");
  }

  uvPythonDir(): string | null {
    const explicit = this.host.env("UV_PYTHON_INSTALL_DIR");
    if (explicit) return explicit;
    if (this.host.os === "windows") {
      const appData = this.host.env("APPDATA");
      return appData ? this.path.join(appData, "uv", "data", "python") : null;
    }
    const xdg = this.host.env("XDG_DATA_HOME");
    if (xdg && xdg.startsWith("/")) return this.path.join(xdg, "uv", "python");
    const home = this.home();
    return home === null ? null : this.path.join(home, ".local", "share", "uv", "python");
  }

  /** The nearest file called `name` in `start` or its parents: its path and text. */
  async findUpward(start: string, name: string): Promise<{ file: string; text: string } | null> {
    let dir = this.path.resolve(start);
    for (;;) {
      const file = this.path.join(dir, name);
      const text = await this.host.readText(file, 64 * 1024);
      if (text !== null) return { file, text };
      const parent = this.path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Which request: -p, MKVENV_PYTHON, .python-version, or the default.

/**
 * Decide what is asked for: `explicit` (from `-p`), else `MKVENV_PYTHON`, else the first usable
 * line of the nearest `.python-version`, else the default. Throws `UsageError` for a request
 * that is none of the accepted forms.
 */
export async function chooseRequest(
  explicit: string | undefined,
  host: DiscoveryHost,
  log: (line: string) => void = () => {},
): Promise<ChosenRequest> {
  const search = new Search(host, log);
  if (explicit !== undefined) {
    return {
      request: parsePythonRequest(explicit, "-p/--python"),
      text: explicit,
      origin: "-p/--python",
      baseDir: host.cwd,
    };
  }
  const fromEnv = host.env("MKVENV_PYTHON");
  if (fromEnv) {
    return {
      request: parsePythonRequest(fromEnv, "MKVENV_PYTHON"),
      text: fromEnv,
      origin: "MKVENV_PYTHON",
      baseDir: host.cwd,
    };
  }
  const found = await search.findUpward(host.cwd, ".python-version");
  const fallback: ChosenRequest = {
    request: DEFAULT_REQUEST,
    text: null,
    origin: "default",
    baseDir: host.cwd,
  };
  if (found === null) return fallback;
  const baseDir = search.path.dirname(found.file);
  for (const line of versionFileLines(found.text)) {
    if (line === "system") {
      log(`${found.file} asks for "system": using the default search`);
      return { ...fallback, origin: found.file };
    }
    // A pyenv version name (`miniconda3-latest`, a pyenv-virtualenv name) is a directory.
    const root = search.pyenvRoot();
    if (root !== null && !line.includes("/") && !line.includes("\\")) {
      const dir = search.path.join(root, "versions", line);
      if ((await host.stat(dir))?.isDirectory) {
        return { request: { kind: "path", path: dir }, text: line, origin: found.file, baseDir };
      }
    }
    try {
      const request = parsePythonRequest(line, found.file);
      if (request.kind !== "command") {
        return { request, text: line, origin: found.file, baseDir };
      }
      log(`${found.file}: ignoring ${q(line)}: not a version and not a pyenv version`);
    } catch (e: unknown) {
      if (!(e instanceof UsageError)) throw e;
      log(`${found.file}: ignoring ${q(line)}: expected ${ACCEPTED_FORMS}`);
    }
  }
  log(`${found.file} has no usable line: using the default search`);
  return fallback;
}

// ---------------------------------------------------------------------------------------------
// Shims and venvs: from a candidate to the real base interpreter.

/** A pyenv version name to its directory: exact, or the newest installed `name.*` (as pyenv). */
async function pyenvVersionDir(search: Search, root: string, name: string): Promise<string> {
  const versions = search.path.join(root, "versions");
  const exact = search.path.join(versions, name);
  if ((await search.host.stat(exact))?.isDirectory) return exact;
  const names = (await search.host.readDir(versions)) ?? [];
  const prefixed = names.filter((n) => n.startsWith(`${name}.`) && /^[\d.]+$/.test(n))
    .map((n) => ({ n, release: n.split(".").map(Number) }))
    .sort((a, b) => compareReleasesDescending(a.release, b.release));
  return prefixed.length > 0 ? search.path.join(versions, prefixed[0]!.n) : exact;
}

/** The versions a version manager has selected, from its env var or version files. */
async function selectedVersions(
  search: Search,
  envValue: string | undefined,
  separator: RegExp,
  fromFile: (text: string) => string[] | null,
  fileName: string,
  fallbackFiles: readonly string[],
): Promise<string[]> {
  if (envValue) return envValue.split(separator).filter((v) => v !== "");
  let dir = search.path.resolve(search.host.cwd);
  for (;;) {
    const text = await search.host.readText(search.path.join(dir, fileName), 64 * 1024);
    const versions = text === null ? null : fromFile(text);
    if (versions !== null && versions.length > 0) return versions;
    const parent = search.path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const file of fallbackFiles) {
    const text = await search.host.readText(file, 64 * 1024);
    const versions = text === null ? null : fromFile(text);
    if (versions !== null && versions.length > 0) return versions;
  }
  return ["system"];
}

/** Where a pyenv shim leads, following pyenv's own rules (PYENV_VERSION, version files). */
async function resolvePyenvShim(
  search: Search,
  shim: string,
  rootFromShim: string | null,
): Promise<string> {
  const shimDir = search.path.dirname(shim);
  const program = search.path.basename(shim);
  const root = rootFromShim ?? search.host.env("PYENV_ROOT") ?? search.path.dirname(shimDir);
  const versions = await selectedVersions(
    search,
    search.host.env("PYENV_VERSION"),
    /:/,
    (text) => versionFileLines(text).flatMap((line) => line.split(/\s+/)),
    ".python-version",
    [search.path.join(root, "version")],
  );
  for (const version of versions) {
    const found = version === "system"
      ? await search.which(program, search.pathDirs().filter((d) => d !== shimDir))
      : search.path.join(await pyenvVersionDir(search, root, version), "bin", program);
    if (found !== null && await search.isExecutable(found)) return found;
  }
  throw new Rejected(
    `pyenv shim: no selected pyenv version (${versions.join(", ")}) has ${program}`,
  );
}

/** Where an asdf shim leads, following asdf's rules (ASDF_PYTHON_VERSION, .tool-versions). */
async function resolveAsdfShim(search: Search, shim: string): Promise<string> {
  const shimDir = search.path.dirname(shim);
  const program = search.path.basename(shim);
  const home = search.home();
  const dataDir = search.host.env("ASDF_DATA_DIR") ??
    (home === null ? search.path.dirname(shimDir) : search.path.join(home, ".asdf"));
  const defaultFile = search.host.env("ASDF_DEFAULT_TOOL_VERSIONS_FILENAME") ?? ".tool-versions";
  const versions = await selectedVersions(
    search,
    search.host.env("ASDF_PYTHON_VERSION"),
    /\s+/,
    (text) => toolVersions(text, "python"),
    ".tool-versions",
    home === null ? [] : [search.path.join(home, defaultFile)],
  );
  for (const version of versions) {
    let found: string | null;
    if (version === "system") {
      found = await search.which(program, search.pathDirs().filter((d) => d !== shimDir));
    } else if (version.startsWith("path:")) {
      found = search.path.join(version.slice(5), "bin", program);
    } else {
      found = search.path.join(dataDir, "installs", "python", version, "bin", program);
    }
    if (found !== null && await search.isExecutable(found)) return found;
  }
  throw new Rejected(
    `asdf shim: no selected asdf python version (${versions.join(", ")}) has ${program}`,
  );
}

type ShimStep = { path: string; how: string } | { info: InterpreterInfo; how: string };

/**
 * Resolve `path` when it is a shim: pyenv and asdf shims by their managers' rules (no
 * subprocess); any other file in a `shims` directory (mise, ...) by asking it for its facts,
 * uncached, and following its `executable`. Null when `path` is not a shim.
 */
async function resolveShim(search: Search, path: string): Promise<ShimStep | null> {
  const head = await search.host.readText(path, 4096);
  const kind = head === null ? null : recogniseShim(head);
  if (kind?.manager === "pyenv") {
    return { path: await resolvePyenvShim(search, path, kind.root), how: `pyenv shim ${path}` };
  }
  if (kind?.manager === "asdf") {
    return { path: await resolveAsdfShim(search, path), how: `asdf shim ${path}` };
  }
  if (search.path.basename(search.path.dirname(path)) !== "shims") return null;
  let info: InterpreterInfo;
  try {
    // Never cached: a shim may start another interpreter tomorrow.
    info = await search.host.probe(path, { cache: false });
  } catch (e: unknown) {
    if (e instanceof BuildError) throw new Rejected(e.message);
    throw e;
  }
  const target = info.executable;
  if (
    target !== "" && target !== path &&
    await search.host.realPath(target) !== await search.host.realPath(path)
  ) {
    return { path: target, how: `shim ${path}` };
  }
  return { info, how: `shim ${path}` };
}

/**
 * When `path` belongs to a venv (a `pyvenv.cfg` beside it or one directory up), the base
 * interpreter its `home` names; null otherwise. Throws `Rejected` for a venv without a usable
 * home.
 */
async function venvBase(
  search: Search,
  path: string,
): Promise<{ path: string; venvDir: string } | null> {
  const dir = search.path.dirname(path);
  for (const cfgDir of [dir, search.path.dirname(dir)]) {
    const text = await search.host.readText(search.path.join(cfgDir, "pyvenv.cfg"), 64 * 1024);
    if (text === null) continue;
    const cfg = parsePyvenvCfg(text);
    const home = cfg.get("home");
    if (!home) throw new Rejected(`it is in the venv ${cfgDir}, whose pyvenv.cfg has no home`);
    const xy = /^(\d+\.\d+)/.exec(cfg.get("version_info") ?? cfg.get("version") ?? "")?.[1];
    const names = search.host.os === "windows"
      ? [search.path.basename(path), "python.exe"]
      : [search.path.basename(path), ...(xy ? [`python${xy}`] : []), "python3", "python"];
    for (const name of new Set(names)) {
      const base = search.path.join(home, name);
      if (await search.isExecutable(base)) return { path: base, venvDir: cfgDir };
    }
    throw new Rejected(`it is in the venv ${cfgDir}, whose home ${home} holds no interpreter`);
  }
  return null;
}

interface Resolved {
  path: string;
  /** What led from the candidate to `path`, e.g. `pyenv shim ...`, `venv ...`. */
  via: string[];
  /** Facts already known (from an unknown shim that is its own interpreter). */
  info: InterpreterInfo | null;
}

/** Follow shims and venvs from `start` to the base interpreter. Throws `Rejected`. */
async function resolveBase(search: Search, start: string): Promise<Resolved> {
  let path = start;
  const via: string[] = [];
  for (let hop = 0; hop < 8; hop++) {
    const st = await search.host.stat(path);
    if (!st?.isFile || !st.executable) {
      throw new Rejected(
        hop === 0 ? "not an executable file" : `${path}, where it leads, is not an executable file`,
      );
    }
    const shim = await resolveShim(search, path);
    if (shim !== null) {
      via.push(shim.how);
      if ("info" in shim) return { path, via, info: shim.info };
      path = shim.path;
      continue;
    }
    const base = await venvBase(search, path);
    if (base !== null) {
      via.push(`venv ${base.venvDir}`);
      path = base.path;
      continue;
    }
    return { path, via, info: null };
  }
  throw new Rejected("too many shims or venvs lead from one to the next");
}

type Verdict =
  | { kind: "found"; found: FoundInterpreter }
  | { kind: "rejected"; reason: string }
  | { kind: "duplicate" };

/** Resolve, de-duplicate, probe and match one candidate. */
async function check(
  search: Search,
  candidate: Candidate,
  spec: SpecRequest | null,
): Promise<Verdict> {
  const label = `candidate ${candidate.path} (${candidate.source})`;
  const reject = (reason: string): Verdict => {
    search.log(`${label}: rejected: ${reason}`);
    search.rejected.push(`${candidate.path}: ${reason}`);
    return { kind: "rejected", reason };
  };
  let resolved: Resolved;
  try {
    resolved = await resolveBase(search, candidate.path);
  } catch (e: unknown) {
    if (e instanceof Rejected) return reject(e.message);
    throw e;
  }
  const shown = resolved.via.length > 0
    ? `${label} -> ${resolved.path} (via ${resolved.via.join(", ")})`
    : label;
  const real = await search.host.realPath(resolved.path);
  const first = search.seen.get(real);
  if (first !== undefined) {
    search.log(`${shown}: skipped: the same interpreter as ${first}`);
    return { kind: "duplicate" };
  }
  search.seen.set(real, resolved.path);
  let info = resolved.info;
  if (info === null) {
    try {
      info = await search.host.probe(resolved.path, { cache: true });
    } catch (e: unknown) {
      if (e instanceof BuildError) return reject(e.message);
      throw e;
    }
  }
  const why = spec === null ? null : mismatch(spec, info);
  if (why !== null) return reject(resolved.via.length > 0 ? `${why} (at ${resolved.path})` : why);
  search.log(`${shown}: accepted: ${describeInterpreter(info)}`);
  return { kind: "found", found: { path: resolved.path, info, source: candidate.source } };
}

// ---------------------------------------------------------------------------------------------
// Sources, in search order.

interface NameFacts extends InstallName {
  name: string;
}

/** `python3.12`, `python3`, `python`, `pypy3.10`, `python3.13t` (and `.exe` on Windows). */
function interpreterName(name: string, windows: boolean): NameFacts | null {
  const m = /^(python|pypy)(\d+)?(?:\.(\d+))?(t)?$/i.exec(
    windows ? name.replace(/\.exe$/i, "") : name,
  );
  if (!m || (windows && !/\.exe$/i.test(name))) return null;
  const release = [m[2], m[3]].filter((x) => x !== undefined).map(Number);
  return {
    name,
    implementation: m[1]!.toLowerCase() === "pypy" ? "pypy" : "cpython",
    release,
    freeThreaded: m[4] !== undefined,
  };
}

/** Whether interpreter names of `implementation` are looked for on PATH for `spec`. */
function wantsName(spec: SpecRequest, implementation: string, listing: boolean): boolean {
  if (spec.implementation !== null) return spec.implementation === implementation;
  return implementation === "cpython" || listing;
}

function pathSource(search: Search, spec: SpecRequest, listing: boolean): Source {
  return {
    name: "PATH",
    where: "PATH",
    async *candidates() {
      for (const command of spec.commands) {
        const found = await search.which(command);
        if (found !== null) yield { path: found, source: "PATH" };
      }
      const windows = search.host.os === "windows";
      for (const dir of search.pathDirs()) {
        const names = ((await search.host.readDir(dir)) ?? [])
          .map((n) => interpreterName(n, windows))
          .filter((f): f is NameFacts => f !== null && wantsName(spec, f.implementation, listing))
          .sort((a, b) =>
            (a.implementation === b.implementation ? 0 : a.implementation === "cpython" ? -1 : 1) ||
            // Versioned names first (newest first), then python3, then python.
            (a.release.length > 1 ? 0 : 1) - (b.release.length > 1 ? 0 : 1) ||
            compareReleasesDescending(a.release, b.release) ||
            Number(a.freeThreaded !== (spec.freeThreaded === true)) -
              Number(b.freeThreaded !== (spec.freeThreaded === true)) ||
            a.name.localeCompare(b.name)
          );
        for (const facts of names) {
          const path = search.path.join(dir, facts.name);
          const why = facts.release.length > 1 ? installNameMismatch(spec, facts) : null;
          if (why !== null) {
            search.log(`skipped ${path} (PATH): ${why}`);
            continue;
          }
          if (await search.isExecutable(path)) yield { path, source: "PATH" };
        }
      }
    },
  };
}

/** Interpreters in the installs of a pyenv `versions` or uv `python` directory, newest first. */
function installsSource(
  search: Search,
  spec: SpecRequest,
  manager: "pyenv" | "uv",
  dir: string | null,
): Source {
  return {
    name: manager,
    where: `${manager} (${dir ?? "no home directory"})`,
    async *candidates() {
      if (dir === null) return;
      const entries = ((await search.host.readDir(dir)) ?? [])
        .filter((n) => !n.startsWith("."))
        .map((name) => ({ name, facts: parseInstallName(name, manager) }))
        .sort((a, b) =>
          compareReleasesDescending(a.facts?.release ?? null, b.facts?.release ?? null) ||
          (a.facts?.implementation === "cpython" ? 0 : 1) -
            (b.facts?.implementation === "cpython" ? 0 : 1) ||
          a.name.localeCompare(b.name)
        );
      const windows = search.host.os === "windows";
      for (const { name, facts } of entries) {
        const install = search.path.join(dir, name);
        const why = facts === null ? null : installNameMismatch(spec, facts);
        if (why !== null) {
          search.log(`skipped ${install} (${manager}): ${why}`);
          continue;
        }
        const bin = windows ? install : search.path.join(install, "bin");
        const xy = facts && facts.release.length > 1 ? facts.release.slice(0, 2).join(".") : null;
        const t = facts?.freeThreaded ? "t" : "";
        const names = windows ? [...(xy && t ? [`python${xy}t`] : []), "python", "pypy"] : [
          ...(xy ? [`python${xy}${t}`] : []),
          "python3",
          "python",
          ...(xy ? [`pypy${xy}`] : []),
          "pypy3",
          "pypy",
        ];
        for (const exe of names) {
          const path = search.path.join(bin, search.exeName(exe));
          if (await search.isExecutable(path)) {
            yield { path, source: manager };
            break;
          }
        }
      }
    },
  };
}

function coreTagMismatch(spec: SpecRequest, tag: string): string | null {
  const facts = parseCoreTag(tag);
  const why = facts === null ? null : installNameMismatch(spec, facts);
  return why === null ? null : why.replace("its name", "its tag");
}

function launcherSource(search: Search, spec: SpecRequest): Source {
  return {
    name: "py launcher",
    where: "the py launcher (py --list-paths)",
    async *candidates() {
      const text = await search.host.run("py", ["--list-paths"]);
      if (text === null) return;
      for (const entry of parsePyListPaths(text)) {
        const why = coreTagMismatch(spec, entry.tag);
        if (why !== null) {
          search.log(`skipped ${entry.path} (py launcher): ${why}`);
          continue;
        }
        yield { path: entry.path, source: "py launcher" };
      }
    },
  };
}

/** PEP 514's three places, in the order the launcher reads them. */
export const REGISTRY_KEYS: readonly string[] = [
  "HKCU\\Software\\Python",
  "HKLM\\Software\\Python",
  "HKLM\\Software\\WOW6432Node\\Python",
];

function registrySource(search: Search, spec: SpecRequest): Source {
  return {
    name: "registry",
    where: "the registry (PEP 514)",
    async *candidates() {
      for (const key of REGISTRY_KEYS) {
        const text = await search.host.run("reg", ["query", key, "/s"]);
        if (text === null) continue;
        for (const entry of parseRegQuery(text)) {
          const why = entry.company === "PythonCore" ? coreTagMismatch(spec, entry.tag) : null;
          if (why !== null) {
            search.log(`skipped ${entry.executable} (registry): ${why}`);
            continue;
          }
          yield { path: entry.executable, source: "registry" };
        }
      }
    },
  };
}

/** The places a spec request is looked for, in order. */
function sourcesFor(search: Search, spec: SpecRequest, listing = false): Source[] {
  const root = search.pyenvRoot();
  const sources = [
    pathSource(search, spec, listing),
    installsSource(
      search,
      spec,
      "pyenv",
      root === null ? null : search.path.join(root, "versions"),
    ),
    installsSource(search, spec, "uv", search.uvPythonDir()),
  ];
  if (search.host.os === "windows") {
    sources.push(launcherSource(search, spec), registrySource(search, spec));
  }
  return sources;
}

// ---------------------------------------------------------------------------------------------
// The public entry points.

function describeRequest(chosen: ChosenRequest): string {
  if (chosen.text === null) {
    return "the default request (python3, then python, then any Python 3.7 or newer)";
  }
  const from = chosen.origin === "-p/--python" ? "" : ` from ${chosen.origin}`;
  return `${q(chosen.text)}${from}`;
}

function rejectedDetail(search: Search): string | undefined {
  if (search.rejected.length === 0) return undefined;
  const shown = search.rejected.slice(0, 30).map((line) => `  ${line}`);
  if (search.rejected.length > 30) shown.push(`  ... and ${search.rejected.length - 30} more`);
  return `Candidates rejected:\n${shown.join("\n")}`;
}

/** The interpreter a path request names: the file, or one inside the directory. */
async function interpreterInDirectory(search: Search, dir: string): Promise<string | null> {
  const names = search.host.os === "windows"
    ? ["python.exe", "Scripts\\python.exe", "bin\\python.exe"]
    : ["bin/python3", "bin/python", "python3", "python", "bin/pypy3", "pypy3"];
  for (const name of names) {
    const path = search.path.join(dir, name);
    if (await search.isExecutable(path)) return path;
  }
  return null;
}

async function findByPath(search: Search, chosen: ChosenRequest, text: string) {
  const home = search.home();
  const expanded = (text === "~" || /^~[\\/]/.test(text)) && home !== null
    ? search.path.join(home, text.slice(1))
    : text;
  let path = search.path.resolve(chosen.baseDir, expanded);
  const st = await search.host.stat(path);
  const fail = (why: string) =>
    new BuildError(
      `No Python found for ${describeRequest(chosen)}: ${why}; ` +
        "pass the path of a Python interpreter with -p/--python",
    );
  if (st?.isDirectory) {
    const inside = await interpreterInDirectory(search, path);
    if (inside === null) throw fail(`the directory ${q(path)} holds no Python interpreter`);
    path = inside;
  } else if (!st?.executable) {
    throw fail(st === null ? "no such file" : "not an executable file");
  }
  return await resolveOne(search, chosen, path, "path");
}

/** Resolve and probe the one candidate a path or command names; probe errors stay as they are. */
async function resolveOne(
  search: Search,
  chosen: ChosenRequest,
  path: string,
  source: string,
): Promise<FoundInterpreter> {
  let resolved: Resolved;
  try {
    resolved = await resolveBase(search, path);
  } catch (e: unknown) {
    if (e instanceof Rejected) {
      throw new BuildError(
        `No Python found for ${describeRequest(chosen)}: ${path}: ${e.message}; ` +
          "pass the path of a Python interpreter with -p/--python",
      );
    }
    throw e;
  }
  if (resolved.via.length > 0) {
    search.log(`${path} -> ${resolved.path} (via ${resolved.via.join(", ")})`);
  }
  const info = resolved.info ?? await search.host.probe(resolved.path, { cache: true });
  search.log(`using ${describeInterpreter(info)} at ${resolved.path}`);
  return { path: resolved.path, info, source };
}

async function searchSpec(
  search: Search,
  spec: SpecRequest,
  sources: readonly Source[],
): Promise<FoundInterpreter | null> {
  for (const source of sources) {
    search.log(`looking in ${source.where}`);
    for await (const candidate of source.candidates()) {
      const verdict = await check(search, candidate, spec);
      if (verdict.kind === "found") return verdict.found;
    }
  }
  return null;
}

async function findChosen(search: Search, chosen: ChosenRequest): Promise<FoundInterpreter> {
  const request = chosen.request;
  search.log(`looking for ${describeRequest(chosen)}`);
  if (request.kind === "path") return await findByPath(search, chosen, request.path);
  if (request.kind === "command") {
    const path = await search.which(request.name);
    if (path === null) {
      throw new BuildError(
        `No Python found for ${describeRequest(chosen)}: no such command on PATH; ` +
          "pass the path of a Python interpreter with -p/--python",
      );
    }
    return await resolveOne(search, chosen, path, "PATH");
  }
  const sources = sourcesFor(search, request);
  const found = await searchSpec(search, request, sources);
  if (found !== null) {
    search.log(`using ${describeInterpreter(found.info)} at ${found.path} (${found.source})`);
    return found;
  }
  const detail = rejectedDetail(search);
  throw new BuildError(
    `No Python found for ${describeRequest(chosen)}: searched ${
      sources.map((s) => s.where).join(", ")
    }; install a matching Python, or pass an interpreter's path with -p/--python`,
    detail === undefined ? {} : { detail },
  );
}

function hostFor(options: FindOptions): DiscoveryHost {
  return options.host ?? denoHost(options);
}

/**
 * Find and probe the interpreter for `request` (the `-p` text; when undefined: MKVENV_PYTHON,
 * then `.python-version`, then `python3`/`python` on PATH and the other sources).
 * Throws `UsageError` for a request of no accepted form, `BuildError` when nothing satisfies
 * it (naming the request and the places searched) or a named interpreter cannot be probed.
 */
export async function findInterpreter(
  request: string | undefined,
  options: FindOptions = {},
): Promise<FoundInterpreter> {
  const host = hostFor(options);
  const log = options.log ?? (() => {});
  const chosen = await chooseRequest(request, host, log);
  return await findChosen(new Search(host, log), chosen);
}

/** One line of `--list-pythons`. */
export interface ListedInterpreter {
  path: string;
  info: InterpreterInfo;
  source: string;
  /** The one `findInterpreter` picks for the same request. */
  chosen: boolean;
}

/** What `--list-pythons` shows. */
export interface InterpreterList {
  entries: ListedInterpreter[];
  /** How the request was described (`the default request`, `"3.12"`). */
  request: string;
  /** The places searched. */
  searched: string[];
  /** Why nothing was chosen, when nothing was. */
  problem: string | null;
}

const ANY: SpecRequest = { ...DEFAULT_REQUEST, minimum: null };

/**
 * Every interpreter discovery can find (those satisfying `request` when it names versions),
 * marking the one `findInterpreter(request)` would use. Throws `UsageError` for a request of no
 * accepted form.
 */
export async function listInterpreters(
  request: string | undefined,
  options: FindOptions = {},
): Promise<InterpreterList> {
  const host = hostFor(options);
  const log = options.log ?? (() => {});
  const chosenRequest = await chooseRequest(request, host, log);
  let chosen: FoundInterpreter | null = null;
  let problem: string | null = null;
  try {
    chosen = await findChosen(new Search(host, log), chosenRequest);
  } catch (e: unknown) {
    if (!(e instanceof BuildError)) throw e;
    problem = e.message;
  }
  const search = new Search(host, log);
  const spec = chosenRequest.request.kind === "spec" && chosenRequest.text !== null
    ? chosenRequest.request
    : ANY;
  const sources = sourcesFor(search, spec, true);
  const entries: ListedInterpreter[] = [];
  const chosenReal = chosen === null ? null : await host.realPath(chosen.path);
  for (const source of sources) {
    for await (const candidate of source.candidates()) {
      const verdict = await check(search, candidate, spec);
      if (verdict.kind !== "found") continue;
      const { path, info } = verdict.found;
      const isChosen = chosenReal !== null && await host.realPath(path) === chosenReal;
      entries.push({ path, info, source: source.name, chosen: isChosen });
    }
  }
  if (chosen !== null && !entries.some((e) => e.chosen)) {
    entries.unshift({
      path: chosen.path,
      info: chosen.info,
      source: chosen.source ?? chosenRequest.origin,
      chosen: true,
    });
  }
  return {
    entries,
    request: describeRequest(chosenRequest),
    searched: sources.map((s) => s.where),
    problem,
  };
}

/** The text `--list-pythons` prints: one line per interpreter, `*` marking the chosen one. */
export function formatInterpreterList(list: InterpreterList): string {
  const rows = list.entries.map((e) => [
    e.chosen ? "*" : " ",
    describeInterpreter(e.info),
    e.path,
    e.source,
  ]);
  const width = (i: number) => Math.max(0, ...rows.map((r) => r[i]!.length));
  const lines = rows.map((r) =>
    `${r[0]} ${r[1]!.padEnd(width(1))}  ${r[2]!.padEnd(width(2))}  ${r[3]}`.trimEnd()
  );
  if (list.entries.length === 0) {
    lines.push(`No Python found; searched ${list.searched.join(", ")}`);
  }
  if (list.problem !== null) lines.push(`mkvenv would fail: ${list.problem}`);
  else lines.push(`* = what mkvenv uses for ${list.request}`);
  return lines.join("\n") + "\n";
}
