/**
 * Wheels (PEP 427, with the `.dist-info` of PEP 376 and the `.data` schemes of PEP 491): the
 * file name, the metadata files, entry points and RECORD, and the checked contents of a whole
 * wheel held in memory. Pure: bytes and text in, typed values out.
 */
import { BuildError, q } from "../errors.ts";
import { sha256 } from "./sha256.ts";
import { readZipEntries, readZipEntry, ZipError } from "./zip.ts";

/** The parts of a wheel's file name: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`. */
export interface WheelName {
  distribution: string;
  version: string;
  build: string | null;
  pythonTags: string[];
  abiTags: string[];
  platformTags: string[];
}

/** Parse a wheel file name (a basename), or return null when it is not one. */
export function parseWheelFilename(filename: string): WheelName | null {
  if (!filename.endsWith(".whl")) return null;
  const parts = filename.slice(0, -4).split("-");
  if (parts.length !== 5 && parts.length !== 6) return null;
  if (parts.some((p) => p === "")) return null;
  const [distribution, version] = parts as [string, string];
  const build = parts.length === 6 ? parts[2]! : null;
  if (build !== null && !/^\d/.test(build)) return null;
  const [py, abi, plat] = parts.slice(-3) as [string, string, string];
  return {
    distribution,
    version,
    build,
    pythonTags: py.split("."),
    abiTags: abi.split("."),
    platformTags: plat.split("."),
  };
}

/** A project name normalized as PEP 503 does: lower case, runs of `-_.` become one `-`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/**
 * The header fields of an RFC 822-style metadata file (`METADATA`, `WHEEL`), up to the first
 * blank line (the description body is not read). Keys are lower-cased; a key may repeat.
 */
export function parseHeaders(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: { key: string; index: number } | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (line === "") break;
    if (/^[ \t]/.test(line) && last !== null) {
      const values = fields.get(last.key)!;
      values[last.index] += "\n" + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const values = fields.get(key) ?? [];
    values.push(value);
    fields.set(key, values);
    last = { key, index: values.length - 1 };
  }
  return fields;
}

/** One entry point: `name = module:attr.path [extras]`. */
export interface EntryPoint {
  name: string;
  module: string;
  /** Dotted attribute path inside the module, or null to run the module's own object. */
  attr: string | null;
}

/**
 * The groups of an `entry_points.txt` (an INI file) that hold `name = module:attr` values,
 * e.g. `console_scripts`. Lines that are not entries are ignored, as installers do.
 */
export function parseEntryPoints(text: string): Map<string, EntryPoint[]> {
  const groups = new Map<string, EntryPoint[]>();
  let current: EntryPoint[] | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const name = section[1]!.trim();
      current = groups.get(name) ?? [];
      groups.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current === null || eq <= 0) continue;
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).replace(/\[[^\]]*\]\s*$/, "").trim();
    const m = /^([\w.]+)\s*(?::\s*([\w.]+))?$/.exec(value);
    if (!m || name === "") continue;
    current.push({ name, module: m[1]!, attr: m[2] ?? null });
  }
  return groups;
}

/**
 * Why `name` cannot be the name of a script file (it would land outside the scripts directory,
 * or could not be created), or null when it can. Every console and GUI script name of a wheel
 * is checked here, as `readWheel` reads it.
 */
export function scriptNameProblem(name: string): string | null {
  if (name === "." || name === "..") return "is not a file name";
  const bad = [...name].find((c) =>
    c === "/" || c === "\\" || c === ":" || c <= "\x1f" || c === "\x7f"
  );
  if (bad !== undefined) return `is not a file name: it contains ${q(bad)}`;
  return null;
}

/** One line of a RECORD file. `hash` is `algo=urlsafe-b64-nopad` or "" (as `size` may be). */
export interface RecordRow {
  path: string;
  hash: string;
  size: string;
}

/** Split CSV text (RFC 4180 quoting) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
    i++;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Parse a RECORD file. Rows with fewer than three fields are padded with "". */
export function parseRecord(text: string): RecordRow[] {
  return parseCsv(text)
    .filter((r) => !(r.length === 1 && r[0] === ""))
    .map((r) => ({ path: r[0] ?? "", hash: r[1] ?? "", size: r[2] ?? "" }));
}

function csvField(value: string): string {
  const quote = value.includes(",") || value.includes('"') || value.includes("\n") ||
    value.includes("\r");
  return quote ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Render RECORD rows as CSV, one `\n`-terminated line each, in the order given. */
export function renderRecord(rows: readonly RecordRow[]): string {
  return rows.map((r) => `${csvField(r.path)},${csvField(r.hash)},${csvField(r.size)}\n`).join("");
}

const DIGESTS: Record<string, string> = {
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
};

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * URL-safe base64 without padding, as RECORD writes hashes. By hand: `btoa` would load
 * Deno's base64 code on first use, which costs a run more than the few hashes it writes.
 */
export function base64UrlNoPad(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]! + BASE64URL[(n >> 6) & 63]! +
      BASE64URL[n & 63]!;
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]!;
    if (i + 1 < bytes.length) out += BASE64URL[(n >> 6) & 63]!;
  }
  return out;
}

/** The RECORD hash of `data`: `sha256=` + URL-safe base64 without padding. */
export function recordHash(data: Uint8Array): string {
  return `sha256=${base64UrlNoPad(sha256(data))}`;
}

/**
 * The RECORD hash of `data` with `algorithm` (sha256, sha384 or sha512), else null. Native
 * (Web Crypto), so that a whole wheel's files are hashed at once off the main thread.
 */
async function recordHashWith(data: Uint8Array, algorithm: string): Promise<string | null> {
  const name = DIGESTS[algorithm];
  if (name === undefined) return null;
  const digest = await crypto.subtle.digest(name, data as Uint8Array<ArrayBuffer>);
  return `${algorithm}=${base64UrlNoPad(new Uint8Array(digest))}`;
}

/** Where a file of a wheel is installed (the install scheme keys of PEP 491). */
export type WheelCategory = "purelib" | "platlib" | "scripts" | "headers" | "data";

/** One file of a wheel, with its RECORD hash and size (checked against the contents). */
export interface WheelFile {
  /** Path inside the archive. */
  archivePath: string;
  category: WheelCategory;
  /** Path relative to the category's directory, `/`-separated. */
  path: string;
  hash: string;
  size: number;
  /** Unix permission bits: 0o755 for files the archive marks executable, else 0o644. */
  mode: number;
  /** A script whose `#!python` (or `#!pythonw`) first line the installer must rewrite. */
  pythonScript: boolean;
}

/** A wheel read and checked from its bytes. */
export interface Wheel {
  name: string;
  version: string;
  /** The `.dist-info` directory, as named in the archive. */
  distInfo: string;
  rootIsPurelib: boolean;
  /** The `Requires-Python` specifier, or "" when absent. */
  requiresPython: string;
  filename: WheelName;
  /** Every file to install except RECORD (and its signatures), in archive order. */
  files: WheelFile[];
  /** `console_scripts` and `gui_scripts` from `entry_points.txt`. */
  consoleScripts: EntryPoint[];
  guiScripts: EntryPoint[];
}

/** The most a seed wheel may unpack to: pip's unpacks to 9 MB, and all of it is held in memory. */
const UNPACKED_LIMIT = 512 * 1024 * 1024;

const SCHEMES = new Set<WheelCategory>(["purelib", "platlib", "scripts", "headers", "data"]);

function unsafePath(path: string): boolean {
  return path === "" || path.startsWith("/") || path.includes("\\") || /^[A-Za-z]:/.test(path) ||
    path.split("/").some((part) => part === ".." || part === ".") || path.includes("\0");
}

/**
 * Read the wheel `bytes` (called `label` in messages) and check it as an installer must:
 * one `.dist-info` matching the file name, a supported `Wheel-Version`, no path escaping the
 * install directories, and every file listed in RECORD with a matching hash and size.
 * Returns the wheel and the contents of each file by archive path.
 * Throws `BuildError` naming the wheel and the defect.
 */
export async function readWheel(
  bytes: Uint8Array,
  label: string,
): Promise<{ wheel: Wheel; contents: Map<string, Uint8Array> }> {
  const fail = (why: string): never => {
    throw new BuildError(
      `Cannot use the wheel ${q(label)}: ${why}; download the wheel again or pass another one`,
    );
  };
  const base = label.split(/[\\/]/).pop() ?? label;
  const filename = parseWheelFilename(base) ??
    fail("the file name is not {name}-{version}-{python}-{abi}-{platform}.whl");
  const contents = new Map<string, Uint8Array>();
  const modes = new Map<string, number | null>();
  try {
    const entries = readZipEntries(bytes);
    const unpacked = entries.reduce((sum, entry) => sum + entry.size, 0);
    if (unpacked > UNPACKED_LIMIT) {
      fail(`it unpacks to ${unpacked} bytes, more than the ${UNPACKED_LIMIT} mkvenv unpacks`);
    }
    for (const entry of entries) {
      if (entry.name.endsWith("/")) continue;
      if (unsafePath(entry.name)) fail(`it holds the unsafe path ${q(entry.name)}`);
      if (contents.has(entry.name)) fail(`it holds ${q(entry.name)} twice`);
      contents.set(entry.name, await readZipEntry(bytes, entry));
      modes.set(entry.name, entry.mode);
    }
  } catch (e: unknown) {
    if (e instanceof ZipError) fail(`it is not a valid ZIP archive: ${e.message}`);
    throw e;
  }
  for (const name of contents.keys()) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (contents.has(parent)) fail(`it holds ${q(parent)} both as a file and as a directory`);
    }
  }
  const decoder = new TextDecoder();
  const distInfos = new Set(
    [...contents.keys()]
      .map((p) => p.split("/")[0]!)
      .filter((top) => top.endsWith(".dist-info") && contents.has(`${top}/WHEEL`)),
  );
  if (distInfos.size !== 1) {
    fail(distInfos.size === 0 ? "it has no .dist-info directory" : "it has several .dist-info");
  }
  const distInfo = [...distInfos][0]!;
  const want = normalizeName(filename.distribution);
  if (normalizeName(distInfo.slice(0, -".dist-info".length).split("-")[0]!) !== want) {
    fail(`its metadata directory ${q(distInfo)} does not match the file name`);
  }
  const text = (path: string) => {
    const data = contents.get(`${distInfo}/${path}`);
    return data === undefined ? null : decoder.decode(data);
  };
  const wheelFields = parseHeaders(text("WHEEL")!);
  const wheelVersion = wheelFields.get("wheel-version")?.[0] ?? "";
  if (!/^1\.\d+$/.test(wheelVersion)) {
    fail(`its Wheel-Version is ${q(wheelVersion)}; mkvenv installs version 1.x`);
  }
  const metadataText = text("METADATA") ?? fail("it has no METADATA");
  const metadata = parseHeaders(metadataText);
  const name = metadata.get("name")?.[0] ?? fail("its METADATA has no Name");
  const version = metadata.get("version")?.[0] ?? fail("its METADATA has no Version");
  if (normalizeName(name) !== want) fail(`its METADATA names the project ${q(name)}`);
  const recordText = text("RECORD") ?? fail("it has no RECORD");
  const record = new Map(parseRecord(recordText).map((r) => [r.path, r]));
  const entryPoints = parseEntryPoints(text("entry_points.txt") ?? "");
  for (const group of ["console_scripts", "gui_scripts"]) {
    for (const entry of entryPoints.get(group) ?? []) {
      const why = scriptNameProblem(entry.name);
      if (why !== null) fail(`the name of its ${group} entry ${q(entry.name)} ${why}`);
    }
  }
  const rootIsPurelib = (wheelFields.get("root-is-purelib")?.[0] ?? "true").toLowerCase() ===
    "true";
  const dataDir = `${distInfo.slice(0, -".dist-info".length)}.data`;
  const skipped = new Set(["RECORD", "RECORD.jws", "RECORD.p7s"].map((f) => `${distInfo}/${f}`));

  const files: WheelFile[] = [];
  // Every file's hash at once (Web Crypto runs them in parallel), then checked in order.
  const hashes = await Promise.all(
    [...contents].map(([archivePath, data]) => {
      const algorithm = record.get(archivePath)?.hash.split("=", 1)[0];
      return skipped.has(archivePath) || algorithm === undefined
        ? null
        : recordHashWith(data, algorithm);
    }),
  );
  let index = -1;
  for (const [archivePath, data] of contents) {
    index++;
    if (skipped.has(archivePath)) continue;
    const row = record.get(archivePath) ?? fail(`RECORD does not list ${q(archivePath)}`);
    const actual = hashes[index] ?? null;
    if (actual === null) fail(`RECORD has no sha256 hash for ${q(archivePath)}`);
    if (actual !== row.hash) {
      fail(`the hash of ${q(archivePath)} does not match RECORD`);
    }
    if (row.size !== "" && Number(row.size) !== data.length) {
      fail(`the size of ${q(archivePath)} does not match RECORD`);
    }
    let category: WheelCategory = rootIsPurelib ? "purelib" : "platlib";
    let path = archivePath;
    if (archivePath.startsWith(`${dataDir}/`)) {
      const [scheme, ...rest] = archivePath.slice(dataDir.length + 1).split("/");
      if (!SCHEMES.has(scheme as WheelCategory) || rest.length === 0) {
        fail(`${q(archivePath)} is not in one of the .data directories of PEP 491`);
      }
      category = scheme as WheelCategory;
      path = rest.join("/");
    }
    const mode = modes.get(archivePath);
    const executable = mode !== null && mode !== undefined && (mode & 0o111) !== 0;
    files.push({
      archivePath,
      category,
      path,
      hash: row.hash.startsWith("sha256=") ? row.hash : recordHash(data),
      size: data.length,
      mode: executable || category === "scripts" ? 0o755 : 0o644,
      pythonScript: category === "scripts" &&
        new TextDecoder().decode(data.subarray(0, 8)) === "#!python",
    });
  }
  return {
    wheel: {
      name,
      version,
      distInfo,
      rootIsPurelib,
      requiresPython: metadata.get("requires-python")?.[0] ?? "",
      filename,
      files,
      consoleScripts: entryPoints.get("console_scripts") ?? [],
      guiScripts: entryPoints.get("gui_scripts") ?? [],
    },
    contents,
  };
}
