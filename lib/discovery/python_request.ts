/**
 * What a user asks for with `-p/--python`, `MKVENV_PYTHON` or a `.python-version` line, parsed
 * into a typed `PythonRequest`, and whether an interpreter's facts satisfy it. Pure: no disk,
 * no subprocess.
 */
import { q, UsageError } from "../errors.ts";
import { type InterpreterInfo, MINIMUM_VERSION, type PythonVersion } from "./interpreter.ts";

/** An implementation a request can name. `null` in a request means any. */
export type Implementation = "cpython" | "pypy";

/** One comparison of a version request; `prefix` is a bare `3.12` (every 3.12.x). */
export interface VersionClause {
  op: "prefix" | "==" | "!=" | ">=" | "<=" | ">" | "<" | "~=";
  /** The release numbers as written, e.g. `[3, 12]`. */
  release: readonly number[];
  /** `==3.12.*` / `!=3.12.*`. */
  wildcard: boolean;
}

/** A request described by facts: implementation, versions, free-threading. */
export interface SpecRequest {
  kind: "spec";
  implementation: Implementation | null;
  /** All must hold; empty means any version. */
  clauses: readonly VersionClause[];
  /** `true`: only free-threaded builds; `false`: only GIL builds; `null`: either. */
  freeThreaded: boolean | null;
  /** Commands tried on PATH before anything else, e.g. `python3.11` for `-p python3.11`. */
  commands: readonly string[];
  /** The oldest version accepted when no clause says otherwise (the bare default only). */
  minimum: PythonVersion | null;
}

/** A parsed request for a base interpreter. */
export type PythonRequest =
  | { kind: "path"; path: string }
  | { kind: "command"; name: string }
  | SpecRequest;

export { MINIMUM_VERSION };

/** What a bare `mkvenv` asks for: `python3`, then `python`, then any Python 3.6 or newer. */
export const DEFAULT_REQUEST: SpecRequest = {
  kind: "spec",
  implementation: null,
  clauses: [],
  freeThreaded: null,
  commands: ["python3", "python"],
  minimum: MINIMUM_VERSION,
};

/** The forms a request may take, for error messages and `--help`. */
export const ACCEPTED_FORMS =
  "a path, a command name, a version (3, 3.12, 3.12.1, 3.13t), an implementation with or " +
  "without a version (cpython3.12, pypy3.10, pypy) or a version range (>=3.10,<3.13)";

const IMPLEMENTATIONS: Record<string, Implementation | null> = {
  python: null,
  cpython: "cpython",
  pypy: "pypy",
};

/** True when `text` can only be meant as a file-system path. */
function looksLikePath(text: string): boolean {
  return text.includes("/") || text.includes("\\") || text === "~" ||
    text === "." || text === ".." || /^[A-Za-z]:/.test(text);
}

/** `3`, `3.12`, `3.12.1`, `312` (uv's short form for 3.12), each with an optional `t`. */
function parseVersion(text: string): { release: number[]; t: boolean } | null {
  const m = /^(\d+(?:\.\d+){0,2})(t?)$/.exec(text);
  if (!m) return null;
  let release = m[1]!.split(".").map(Number);
  if (release.length === 1 && /^3\d{1,2}$/.test(m[1]!)) release = [3, Number(m[1]!.slice(1))];
  return { release, t: m[2] === "t" };
}

function parseClauses(text: string): VersionClause[] | null {
  const clauses: VersionClause[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*(==|!=|~=|>=|<=|>|<)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$/.exec(part);
    if (!m) return null;
    const op = m[1] as VersionClause["op"];
    const wildcard = m[3] !== undefined;
    const release = m[2]!.split(".").map(Number);
    if (wildcard && op !== "==" && op !== "!=") return null;
    if (op === "~=" && release.length < 2) return null;
    clauses.push({ op, release, wildcard });
  }
  return clauses;
}

/**
 * Parse a request string. Throws `UsageError` (naming `origin`, e.g. `-p/--python`) for text
 * that is none of the accepted forms.
 */
export function parsePythonRequest(text: string, origin = "-p/--python"): PythonRequest {
  const invalid = () =>
    new UsageError(`Invalid Python request ${q(text)} in ${origin}: expected ${ACCEPTED_FORMS}`);
  if (text.trim() === "" || text.includes("\0")) throw invalid();
  if (looksLikePath(text)) return { kind: "path", path: text };
  const m = /^(cpython|python|pypy)?([-@]?)(.*)$/i.exec(text)!;
  const implName = m[1]?.toLowerCase();
  const separator = m[2]!;
  const rest = m[3]!;
  const implementation = implName === undefined ? null : IMPLEMENTATIONS[implName] ?? null;
  // `python3.11` and `pypy3` are also commands: the exact name on PATH is tried first.
  const commands = implName !== undefined && implName !== "cpython" && separator === ""
    ? [text]
    : [];
  const spec = (clauses: VersionClause[], freeThreaded: boolean | null): SpecRequest => ({
    kind: "spec",
    implementation,
    clauses,
    freeThreaded,
    commands,
    minimum: null,
  });
  if (implName !== undefined && rest === "" && separator === "") return spec([], false);
  const version = parseVersion(rest);
  if (version !== null && (implName !== undefined || separator === "")) {
    return spec([{ op: "prefix", release: version.release, wildcard: false }], version.t);
  }
  if (/^\s*[=!~<>]/.test(rest)) {
    const clauses = parseClauses(rest);
    if (clauses === null) throw invalid();
    return spec(clauses, false);
  }
  if (implName === undefined && /^[\d.=!~<>]/.test(text)) throw invalid();
  if (/^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(text)) return { kind: "command", name: text };
  throw invalid();
}

function compareRelease(version: readonly number[], release: readonly number[]): number {
  const length = Math.max(version.length, release.length);
  for (let i = 0; i < length; i++) {
    const a = version[i] ?? 0;
    const b = release[i] ?? 0;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

function hasPrefix(version: readonly number[], release: readonly number[]): boolean {
  return release.every((n, i) => version[i] === n);
}

/** Whether `version` satisfies one clause (PEP 440 semantics for the operators). */
export function satisfiesClause(version: PythonVersion, clause: VersionClause): boolean {
  const cmp = compareRelease(version, clause.release);
  switch (clause.op) {
    case "prefix":
      return hasPrefix(version, clause.release);
    case "==":
      return clause.wildcard ? hasPrefix(version, clause.release) : cmp === 0;
    case "!=":
      return clause.wildcard ? !hasPrefix(version, clause.release) : cmp !== 0;
    case ">=":
      return cmp >= 0;
    case "<=":
      return cmp <= 0;
    case ">":
      return cmp > 0;
    case "<":
      return cmp < 0;
    case "~=":
      return cmp >= 0 && hasPrefix(version, clause.release.slice(0, -1));
  }
}

/** Whether a version (as read from a name, e.g. a pyenv directory) can satisfy the clauses. */
export function versionSatisfies(request: SpecRequest, version: PythonVersion): boolean {
  if (request.minimum !== null && compareRelease(version, request.minimum) < 0) return false;
  return request.clauses.every((c) => satisfiesClause(version, c));
}

/** `CPython 3.12.1`, `PyPy 3.9.18`, `CPython 3.13.0t`. */
export function describeInterpreter(info: InterpreterInfo): string {
  const names: Record<string, string> = { cpython: "CPython", pypy: "PyPy", graalpy: "GraalPy" };
  const name = names[info.implementation] ?? info.implementation;
  return `${name} ${info.version.join(".")}${info.gilDisabled ? "t" : ""}`;
}

/** The clauses as the user would write them: `3.12`, `>=3.10,<3.13`. */
export function describeClauses(clauses: readonly VersionClause[]): string {
  return clauses.map((c) =>
    `${c.op === "prefix" ? "" : c.op}${c.release.join(".")}${c.wildcard ? ".*" : ""}`
  ).join(",");
}

/**
 * Why `info` does not satisfy `request`, or null when it does. The reason is a short phrase for
 * `--verbose` and for the error listing rejected candidates.
 */
export function mismatch(request: SpecRequest, info: InterpreterInfo): string | null {
  const what = describeInterpreter(info);
  if (request.implementation !== null && info.implementation !== request.implementation) {
    const wanted = request.implementation === "pypy" ? "PyPy" : "CPython";
    return `${what} is not ${wanted}`;
  }
  if (request.minimum !== null && compareRelease(info.version, request.minimum) < 0) {
    return `${what} is older than ${request.minimum.slice(0, 2).join(".")}, the oldest mkvenv ` +
      "supports";
  }
  const failed = request.clauses.filter((c) => !satisfiesClause(info.version, c));
  if (failed.length > 0) return `${what} does not satisfy ${describeClauses(failed)}`;
  if (request.freeThreaded === true && !info.gilDisabled) {
    return `${what} is not a free-threaded build`;
  }
  if (request.freeThreaded === false && info.gilDisabled) {
    const xy = info.version.slice(0, 2).join(".");
    return `${what} is a free-threaded build: ask for ${xy}t to use it`;
  }
  return null;
}
