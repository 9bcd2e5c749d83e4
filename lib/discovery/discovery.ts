/**
 * Finding the base interpreter: turn what the user asked for (`-p`, `MKVENV_PYTHON`, a
 * `.python-version` file, or nothing) into a request, then walk the places Pythons live in a
 * fixed order (PATH, pyenv, uv, and on Windows the `py` launcher and the PEP 514 registry),
 * resolving version-manager shims and venvs to the real base interpreter, until one satisfies
 * the request. Every candidate is checked with the cached probe, so a warm run spawns nothing.
 * The order is documented in docs/discovery.md.
 */
import { resolveBase, type Resolved } from "./base_interpreter.ts";
import {
  type Candidate,
  denoHost,
  type DiscoveryHost,
  type HostOptions,
  Rejected,
  Search,
  type Source,
} from "./discovery_host.ts";
import { sourcesFor } from "./discovery_sources.ts";
import { BuildError, q, UsageError } from "../errors.ts";
import type { InterpreterInfo } from "./interpreter.ts";
import {
  ACCEPTED_FORMS,
  DEFAULT_REQUEST,
  describeInterpreter,
  mismatch,
  parsePythonRequest,
  type PythonRequest,
  type SpecRequest,
} from "./python_request.ts";
import { versionFileLines } from "./python_sources.ts";

export { denoHost, type DiscoveryHost, type HostOptions } from "./discovery_host.ts";

/** Options for `findInterpreter` and `listInterpreters`. */
export interface FindOptions extends HostOptions {
  /** Replace the machine (for tests); `cwd`, `env` and `cacheDir` are then ignored. */
  host?: DiscoveryHost;
}

/** The interpreter chosen for a build. */
export interface FoundInterpreter {
  /** The real base interpreter's path (shims and venvs resolved; links kept). */
  path: string;
  /** Its facts, from the probe. */
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
  options: { log?: (line: string) => void } = {},
): Promise<ChosenRequest> {
  const log = options.log ?? (() => {});
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
    let request: PythonRequest | null = null;
    try {
      request = parsePythonRequest(line, found.file);
    } catch (e: unknown) {
      if (!(e instanceof UsageError)) throw e;
    }
    if (request !== null && request.kind !== "command") {
      return { request, text: line, origin: found.file, baseDir };
    }
    // Any other pyenv version name (`miniconda3-latest`, a pyenv-virtualenv) is a directory.
    const root = search.pyenvRoot();
    if (root !== null && !line.includes("/") && !line.includes("\\")) {
      const dir = search.path.join(root, "versions", line);
      if ((await host.stat(dir))?.isDirectory) {
        return { request: { kind: "path", path: dir }, text: line, origin: found.file, baseDir };
      }
    }
    log(`${found.file}: ignoring ${q(line)}: expected ${ACCEPTED_FORMS}, or a pyenv version`);
  }
  log(`${found.file} has no usable line: using the default search`);
  return fallback;
}

/**
 * `path` as its own base interpreter, with its facts, when the cache remembers that following
 * it led nowhere else and nothing that decided it has changed: one file read instead of
 * reading the file's head and looking for a `pyvenv.cfg` twice. Null otherwise.
 */
async function knownBase(search: Search, path: string): Promise<Resolved | null> {
  const info = await search.host.cachedBase?.(path) ?? null;
  return info === null ? null : { path, via: [], info };
}

type Verdict =
  | { kind: "found"; found: FoundInterpreter }
  | { kind: "rejected"; reason: string }
  | { kind: "duplicate" };

/** Resolve, de-duplicate, probe and match one candidate. */
async function check(search: Search, candidate: Candidate, spec: SpecRequest): Promise<Verdict> {
  const label = `candidate ${candidate.path} (${candidate.source})`;
  const reject = (reason: string): Verdict => {
    search.log(`${label}: rejected: ${reason}`);
    search.rejected.push(`${candidate.path}: ${reason}`);
    return { kind: "rejected", reason };
  };
  let resolved: Resolved;
  try {
    resolved = await knownBase(search, candidate.path) ?? await resolveBase(search, candidate.path);
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
      info = await search.host.probe(resolved.path, { cache: true, base: true });
    } catch (e: unknown) {
      if (e instanceof BuildError) return reject(e.message);
      throw e;
    }
  }
  const why = mismatch(spec, info);
  if (why !== null) return reject(resolved.via.length > 0 ? `${why} (at ${resolved.path})` : why);
  search.log(`${shown}: accepted: ${describeInterpreter(info)}`);
  return { kind: "found", found: { path: resolved.path, info, source: candidate.source } };
}

// ---------------------------------------------------------------------------------------------
// The public entry points.

function describeRequest(chosen: ChosenRequest): string {
  if (chosen.text === null) {
    return "the default request (python3, then python, then any Python 3.6 or newer)";
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
    throw fail(
      st === null ? search.host.whyMissing?.(path) ?? "no such file" : "not an executable file",
    );
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
    resolved = await knownBase(search, path) ?? await resolveBase(search, path);
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
  const info = resolved.info ??
    await search.host.probe(resolved.path, { cache: true, base: true });
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
  const chosen = await chooseRequest(request, host, { log });
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
  const chosenRequest = await chooseRequest(request, host, { log });
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
