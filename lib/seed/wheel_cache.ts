/**
 * Unpacked wheels in mkvenv's cache, so each wheel is read, checked and unpacked once and every
 * later venv only links its files. Layout under the cache root:
 *
 *   wheels/<sha256>/wheel.json          the checked `Wheel` (files, hashes, entry points)
 *   wheels/<sha256>/summary.json        the same without the file list: all a warm run reads
 *   wheels/<sha256>/files/<category>/…  the files, by install category (purelib, scripts, …)
 *   wheels/<sha256>/pyc/<cache_tag>/    bytecode for one interpreter family, with pyc.json
 *   wheels/<sha256>/plans/<key>.json    the install plan for one interpreter family and venv
 *                                       shape (`CachedInstall`), so a run computes nothing
 *   wheels/by-file/<key>                the sha256 of the wheel file with that path, size,
 *                                       mtime and inode (so a warm run never reads the wheel)
 *
 * Every entry is built in a temporary sibling and renamed into place: a reader sees a whole
 * entry or none. Two processes racing build it twice and one rename wins; the loser's copy is
 * removed. Cached files are never written again once published, and are read-only
 * (`readOnlyMode`): venvs hard-link them, so an edit in place through one venv would reach all.
 * Everything read goes through lib/disk/cache.ts's trust rules; an entry that is damaged (of the
 * wrong type, its JSON missing or garbage) or that mkvenv does not trust is set aside and built
 * again.
 */
import { dirname, join } from "../disk/paths.ts";
import {
  digest,
  discardCachePath,
  ensureCacheDir,
  inspectCachePath,
  readCacheText,
  readOnlyMode,
  tempSibling,
  writeFileAtomic,
} from "../disk/cache.ts";
import { BuildError, errorText, q } from "../errors.ts";
import { fsReason, NotRegularFileError, readRegularFile } from "../disk/disk.ts";
import { acquireLock } from "../disk/lock.ts";
import { onInterrupt } from "../disk/interrupt.ts";
import { readWheel, type Wheel, type WheelFile } from "./wheel.ts";
import { type CompiledFile, Compilers, recordBytecode } from "./bytecode.ts";
import {
  bytecodeInEntry,
  type CachedInstall,
  type InstallShape,
  placedCount,
  planCachedInstall,
  shapeKey,
} from "./wheel_install.ts";

/** Bump when the layout or `wheel.json` changes shape: older entries are then ignored. */
export const WHEEL_CACHE_FORMAT = 2;

/** The largest wheel mkvenv reads: pip's is 2 MB, and the file is read whole into memory. */
const WHEEL_LIMIT = 256 * 1024 * 1024;

/** A wheel's facts without its file list: all that choosing a seed wheel needs. */
export type WheelSummary = Omit<Wheel, "files">;

/** A wheel unpacked in the cache. */
export interface CachedWheel {
  /** `wheels/<sha256>`. */
  dir: string;
  sha256: string;
  summary: WheelSummary;
  /**
   * The whole checked wheel, read from the entry's `wheel.json` on first use (a warm run with
   * a stored plan never does). Throws `BuildError` when that file is damaged.
   */
  readonly wheel: Wheel;
}

/** One bytecode file in the cache, by its path relative to the wheel's root category. */
export interface CachedPycFile {
  /** e.g. `pip/__pycache__/__init__.cpython-312.pyc`. */
  path: string;
  hash: string;
  size: number;
}

/** The bytecode of a cached wheel for one `cache_tag`. */
export interface CachedBytecode {
  /** The directory the `path`s are relative to. */
  dir: string;
  files: CachedPycFile[];
}

interface WheelJson {
  format: number;
  sha256: string;
  wheel: Wheel;
}

interface SummaryJson {
  format: number;
  sha256: string;
  summary: WheelSummary;
}

function summaryOf(wheel: Wheel): WheelSummary {
  const { files: _, ...summary } = wheel;
  return summary;
}

function damaged(dir: string): BuildError {
  return new BuildError(`The cache entry ${q(dir)} is damaged: remove it and run mkvenv again`);
}

/** The cached wheel in `dir`, its whole `Wheel` read when first asked for unless given. */
function entryOf(dir: string, sha256: string, summary: WheelSummary, wheel?: Wheel): CachedWheel {
  let whole = wheel;
  return {
    dir,
    sha256,
    summary,
    get wheel(): Wheel {
      if (whole === undefined) {
        const json = readJsonOrNull(join(dir, "wheel.json"));
        if (!isWheelJson(json, sha256)) throw damaged(dir);
        whole = json.wheel;
      }
      return whole;
    },
  };
}

/** The entry in `dir` when it is trusted and its `wheel.json` and `summary.json` are whole. */
function wholeEntry(dir: string, sha256: string): CachedWheel | null {
  if (!isTrustedDir(dir)) return null;
  const json = readJsonOrNull(join(dir, "wheel.json"));
  const summary = readJsonOrNull(join(dir, "summary.json"));
  if (!isWheelJson(json, sha256) || !isSummaryJson(summary, sha256)) return null;
  return entryOf(dir, sha256, summary.summary, json.wheel);
}

/** The directory holding a cached wheel's files of one install category. */
export function categoryDir(cached: CachedWheel, category: string): string {
  return join(cached.dir, "files", category);
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch {
    // never made, or already gone
  }
}

/** Temporary entries older than this were left by a killed mkvenv. */
const STALE_MS = 60 * 60 * 1000;

/**
 * Remove the temporary siblings a killed mkvenv left in `dir` (only on the slow paths: before
 * unpacking into `wheels/`, compiling into `pyc/`, storing into `plans/`).
 */
function sweepStale(dir: string): void {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.name.startsWith(".tmp-")) continue;
      const path = join(dir, entry.name);
      const age = Date.now() - (Deno.lstatSync(path).mtime?.getTime() ?? Date.now());
      if (age > STALE_MS) Deno.removeSync(path, { recursive: true });
    }
  } catch {
    // best effort: another process may be sweeping too
  }
}

/** The JSON of a cache file mkvenv trusts (lib/disk/cache.ts), else null. */
function readJsonOrNull(path: string): unknown {
  const text = readCacheText(path);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Whether `dir` is a directory of the cache mkvenv trusts. */
function isTrustedDir(dir: string): boolean {
  return inspectCachePath(dir, "dir") === null;
}

function isSummaryJson(value: unknown, sha256: string): value is SummaryJson {
  const v = value as Partial<SummaryJson> | null;
  return v !== null && typeof v === "object" && v.format === WHEEL_CACHE_FORMAT &&
    v.sha256 === sha256 && typeof v.summary === "object" && v.summary !== null;
}

function isWheelJson(value: unknown, sha256: string): value is WheelJson {
  const v = value as Partial<WheelJson> | null;
  return v !== null && typeof v === "object" && v.format === WHEEL_CACHE_FORMAT &&
    v.sha256 === sha256 && typeof v.wheel === "object";
}

/**
 * Publish the directory `tmp` as `target` by renaming it. When another process published
 * `target` first, `tmp` is removed and `false` returned.
 */
function publish(tmp: string, target: string): boolean {
  try {
    Deno.renameSync(tmp, target);
    return true;
  } catch (e: unknown) {
    Deno.removeSync(tmp, { recursive: true });
    // rename(2) refuses to replace a non-empty directory: the other process won the race.
    if (isDirectory(target)) return false;
    throw e;
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function fileKey(path: string): { key: string; real: string } | null {
  try {
    const real = Deno.realPathSync(path);
    const st = Deno.statSync(real);
    const stamp = [WHEEL_CACHE_FORMAT, real, st.size, st.mtime?.getTime() ?? 0, st.ino, st.dev];
    return { key: digest(JSON.stringify(stamp)), real };
  } catch {
    return null;
  }
}

/** Bytecode to compile while a wheel is unpacked (see `cachedWheel`). */
export interface UnpackBytecode {
  /** The interpreter that compiles (the base interpreter of the venvs). */
  python: string;
  /** Its `sys.implementation.cache_tag`, e.g. `cpython-312`. */
  cacheTag: string;
  /** Whether the wheel will be used with that interpreter (only then is it compiled). */
  wanted: (summary: WheelSummary) => boolean;
}

/** Whether `file` is a module that bytecode is made for. */
function isSource(file: WheelFile): boolean {
  return (file.category === "purelib" || file.category === "platlib") &&
    file.path.endsWith(".py");
}

async function unpack(
  root: string,
  sha256: string,
  bytes: Uint8Array,
  label: string,
  options: { log?: (line: string) => void; bytecode?: UnpackBytecode },
): Promise<CachedWheel> {
  const { log, bytecode } = options;
  const { wheel, contents } = await readWheel(bytes, label);
  const dir = join(root, "wheels", sha256);
  ensureCacheDir(root, dirname(dir));
  sweepStale(dirname(dir));
  const tmp = tempSibling(dir);
  // The sources are compiled as they are written, into the entry's own pyc directory: one
  // rename publishes both.
  const sources = bytecode !== undefined && bytecode.wanted(summaryOf(wheel))
    ? wheel.files.filter(isSource)
    : [];
  let compilers: Compilers | null = null;
  if (sources.length > 0) {
    try {
      compilers = new Compilers(bytecode!.python, {
        files: sources.length,
        what: `${wheel.name} for ${bytecode!.cacheTag}`,
        log,
      });
    } catch (e: unknown) {
      log?.(`bytecode compilation failed: ${errorText(e)}`);
    }
  }
  // Interrupted, the compilers stop with mkvenv rather than write on into a removed `tmp`.
  const forget = onInterrupt(() => {
    compilers?.kill();
    removeQuietly(tmp);
  });
  const pycRoot = join(tmp, "pyc", bytecode?.cacheTag ?? "");
  const pycFiles: { path: string; target: string }[] = [];
  try {
    // Made here, not by Python: the umask must not leave the cache's directories open.
    if (compilers !== null) Deno.mkdirSync(pycRoot, { recursive: true, mode: 0o755 });
    const made = new Set<string>();
    let unsent = 0;
    for (const file of wheel.files) {
      const rel = ["files", file.category, ...file.path.split("/")];
      const path = join(tmp, ...rel);
      const parent = dirname(path);
      if (!made.has(parent)) {
        Deno.mkdirSync(parent, { recursive: true, mode: 0o755 });
        made.add(parent);
      }
      // Deno sets the mode given exactly, whatever the umask. Windows keeps the wheel's modes:
      // a read-only attribute would stop removing the entry.
      const mode = Deno.build.os === "windows" ? file.mode : readOnlyMode(file.mode);
      Deno.writeFileSync(path, contents.get(file.archivePath)!, { mode });
      if (compilers !== null && isSource(file)) {
        const pyc = pycPath(file.path, bytecode!.cacheTag);
        const target = join(pycRoot, ...pyc.split("/"));
        compilers.add(path, target, join(dir, ...rel), file.size);
        pycFiles.push({ path: pyc, target });
        // In batches: each send waits for the event loop.
        if (++unsent === 16) {
          unsent = 0;
          await compilers.send();
        }
      }
    }
    const json: WheelJson = { format: WHEEL_CACHE_FORMAT, sha256, wheel };
    Deno.writeTextFileSync(join(tmp, "wheel.json"), JSON.stringify(json), { mode: 0o444 });
    const summary: SummaryJson = { format: WHEEL_CACHE_FORMAT, sha256, summary: summaryOf(wheel) };
    Deno.writeTextFileSync(join(tmp, "summary.json"), JSON.stringify(summary), { mode: 0o444 });
    if (compilers !== null) {
      let written: Map<string, CompiledFile> | null = null;
      try {
        written = await compilers.finish();
      } catch (e: unknown) {
        log?.(`bytecode compilation failed: ${errorText(e)}`);
        removeQuietly(join(tmp, "pyc"));
      }
      if (written !== null) recordBytecode(pycRoot, pycFiles, written);
    }
  } catch (e: unknown) {
    await compilers?.stop();
    removeQuietly(tmp);
    throw e;
  } finally {
    forget();
  }
  publish(tmp, dir);
  return wholeEntry(dir, sha256) ?? (() => {
    throw damaged(dir);
  })();
}

/**
 * Replace the entry of `sha256` whose `wheel.json` is missing or of another format. Only here
 * is a published entry ever removed, and only under the entry's lock after reading it again:
 * the entry may have been published since the caller looked, and other processes may be
 * compiling into it. Without the lock, two processes could each move aside what the other
 * had just published.
 */
async function rebuild(
  root: string,
  sha256: string,
  bytes: Uint8Array,
  label: string,
  options: CachedWheelOptions,
): Promise<CachedWheel> {
  const dir = join(root, "wheels", sha256);
  const lock = await acquireLock(`${dir}.lock`, { ...options, what: `the cache entry ${dir}` });
  try {
    const whole = wholeEntry(dir, sha256);
    if (whole !== null) return whole;
    const problem = inspectCachePath(dir, "dir");
    const why = problem === null ? "its JSON is missing, damaged or old" : problem.why;
    options.log?.(`replacing the cache entry ${dir} (${why}) with ${label}`);
    if (problem?.kind !== "missing") discardCachePath(dir);
    return await unpack(root, sha256, bytes, label, options);
  } finally {
    lock.release();
  }
}

/** Options of `cachedWheel`. */
export interface CachedWheelOptions {
  log?: (line: string) => void;
  /** Bytecode to compile if the wheel is unpacked now (`storedBytecode` then has it). */
  bytecode?: UnpackBytecode;
}

/**
 * The cache entry of the wheel file `wheelPath` under the cache `root`, unpacking it (after
 * checking it: see `readWheel`) the first time. Throws `BuildError` when the wheel cannot be
 * read or is damaged, or the cache cannot be written.
 */
export async function cachedWheel(
  root: string,
  wheelPath: string,
  options: CachedWheelOptions = {},
): Promise<CachedWheel> {
  const log = options.log;
  const stamp = fileKey(wheelPath);
  ensureCacheDir(root, join(root, "wheels", "by-file"), log);
  const indexPath = stamp === null ? null : join(root, "wheels", "by-file", stamp.key);
  if (indexPath !== null) {
    const sha256 = readCacheText(indexPath, log)?.trim() ?? null; // null: not indexed yet
    if (sha256 !== null && /^[0-9a-f]{64}$/.test(sha256)) {
      // The warm path: the summary only (the rest is read if a plan must be made).
      const dir = join(root, "wheels", sha256);
      const json = isTrustedDir(dir) ? readJsonOrNull(join(dir, "summary.json")) : null;
      if (isSummaryJson(json, sha256)) return entryOf(dir, sha256, json.summary);
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(wheelPath, { limit: WHEEL_LIMIT }).bytes;
  } catch (e: unknown) {
    const why = e instanceof NotRegularFileError
      ? `${e.why}; pass the path of a .whl file`
      : e instanceof Deno.errors.NotFound
      ? "no such file; pass the path of a .whl file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied; make it readable to this user or pass another wheel"
      : fsReason(e);
    throw new BuildError(`Cannot read the wheel ${q(wheelPath)}: ${why}`, { cause: e });
  }
  const sha256 = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const dir = join(root, "wheels", sha256);
  let cached = wholeEntry(dir, sha256);
  if (cached !== null) {
    // whole: only the index was missing
  } else if (inspectCachePath(dir, "dir")?.kind !== "missing") {
    cached = await rebuild(root, sha256, bytes, wheelPath, options);
  } else {
    log?.(`unpacking ${wheelPath} into ${dir}`);
    cached = await unpack(root, sha256, bytes, wheelPath, options);
  }
  if (indexPath !== null) await writeFileAtomic(indexPath, `${sha256}\n`);
  return cached;
}

function isPycJson(value: unknown): value is { files: CachedPycFile[] } {
  const v = value as { files?: unknown } | null;
  return v !== null && typeof v === "object" && Array.isArray(v.files);
}

/** The bytecode of `cached` for `cacheTag` when it is in the cache; never compiles. */
export function storedBytecode(cached: CachedWheel, cacheTag: string): CachedBytecode | null {
  const dir = join(cached.dir, "pyc", cacheTag);
  const json = isTrustedDir(dir) ? readJsonOrNull(join(dir, "pyc.json")) : null;
  return isPycJson(json) ? { dir, files: json.files } : null;
}

/** The bytecode file of `source` (a `/`-separated `.py` path) for `cacheTag`. */
export function pycPath(source: string, cacheTag: string): string {
  const slash = source.lastIndexOf("/");
  const dir = source.slice(0, slash + 1);
  const stem = source.slice(slash + 1, -".py".length);
  return `${dir}__pycache__/${stem}.${cacheTag}.pyc`;
}

/** Options of `cachedBytecode`. */
export interface BytecodeOptions {
  /** The interpreter that compiles (the base interpreter of the venvs). */
  python: string;
  /** Its `sys.implementation.cache_tag`, e.g. `cpython-312`. */
  cacheTag: string;
  log?: (line: string) => void;
}

/**
 * The bytecode of the cached wheel's importable `.py` files (categories purelib and platlib)
 * for interpreters with `cacheTag`, compiled once by `python` (the base interpreter) into
 * the cache. Returns null when nothing could be compiled (the venv then works, only slower at
 * first). Throws `BuildError` when the cache cannot be written.
 */
export async function cachedBytecode(
  cached: CachedWheel,
  options: BytecodeOptions,
): Promise<CachedBytecode | null> {
  const { python, cacheTag, log } = options;
  const dir = join(cached.dir, "pyc", cacheTag);
  const stored = storedBytecode(cached, cacheTag);
  if (stored !== null) return stored;
  const problem = inspectCachePath(dir, "dir");
  if (problem?.kind !== "missing") {
    // Published whole or not at all: one without a readable pyc.json is damaged.
    log?.(`replacing the bytecode cache ${dir}: ${problem?.why ?? "its pyc.json is damaged"}`);
    discardCachePath(join(cached.dir, "plans")); // they name its files
    discardCachePath(dir);
  }

  const sources = cached.wheel.files.filter(isSource);
  if (sources.length === 0) return null;
  ensureCacheDir(dirname(dirname(cached.dir)), dirname(dir), log);
  sweepStale(dirname(dir));
  const tmp = tempSibling(dir);
  const files = sources.map((f) => {
    const path = pycPath(f.path, cacheTag);
    return { path, target: join(tmp, ...path.split("/")) };
  });
  let written: Map<string, CompiledFile>;
  let compilers: Compilers | null = null;
  const forget = onInterrupt(() => {
    compilers?.kill();
    removeQuietly(tmp);
  });
  try {
    compilers = new Compilers(python, {
      files: sources.length,
      what: `${cached.wheel.name} for ${cacheTag}`,
      log,
    });
    // Largest first, each to the least loaded process: the shares end together.
    const order = sources.map((_, i) => i).sort((a, b) => sources[b]!.size - sources[a]!.size);
    for (const i of order) {
      const source = join(
        categoryDir(cached, sources[i]!.category),
        ...sources[i]!.path.split("/"),
      );
      compilers.add(source, files[i]!.target, source, sources[i]!.size);
    }
    written = await compilers.finish();
  } catch (e: unknown) {
    log?.(`bytecode compilation failed: ${errorText(e)}`);
    removeQuietly(tmp);
    return null;
  } finally {
    forget();
  }
  let listed: CachedPycFile[];
  try {
    listed = recordBytecode(tmp, files, written);
  } catch (e: unknown) {
    removeQuietly(tmp);
    throw e;
  }
  if (!publish(tmp, dir)) {
    const theirs = readJsonOrNull(join(dir, "pyc.json"));
    if (isPycJson(theirs)) return { dir, files: theirs.files };
    return null;
  }
  return { dir, files: listed };
}

/** Bump when `CachedInstall` or its file changes shape: older plans are then made again. */
export const PLAN_FORMAT = 2;

/** The first line of a stored plan: what it was made for, and its size. */
interface PlanHeader {
  format: number;
  sha256: string;
  shape: string;
  cacheTag: string;
  /** The length of the rest of the file (the plan's JSON), in UTF-16 code units. */
  length: number;
  /** How many cached files it places. */
  placed: number;
}

function planPath(cached: CachedWheel, shape: InstallShape, cacheTag: string): string {
  const key = digest(JSON.stringify([PLAN_FORMAT, shapeKey(shape), cacheTag]));
  return join(cached.dir, "plans", `${key}.json`);
}

function isCachedInstall(value: unknown): value is CachedInstall {
  const v = value as Partial<CachedInstall> | null;
  return v !== null && typeof v === "object" && typeof v.name === "string" &&
    typeof v.version === "string" && Array.isArray(v.dirs) && Array.isArray(v.links) &&
    v.links.every((g) => Array.isArray(g?.paths)) && Array.isArray(v.pythonScripts) &&
    Array.isArray(v.record) && v.record.length === v.pythonScripts.length + 1 &&
    Array.isArray(v.consoleScripts) && Array.isArray(v.guiScripts) &&
    typeof v.distInfo === "string" && typeof v.scriptsInRecord === "string" &&
    typeof v.longest === "string";
}

/**
 * The stored install plan of `cached` for venvs of `shape` and bytecode of `cacheTag`, or null
 * when there is none or it is damaged (its first line does not describe the rest: cut short,
 * grown, garbage, or made for something else).
 */
export function storedInstall(
  cached: CachedWheel,
  shape: InstallShape,
  cacheTag: string,
): CachedInstall | null {
  const path = planPath(cached, shape, cacheTag);
  // A plan names what is linked where: it counts only from a directory no one else can write.
  const text = isTrustedDir(dirname(path)) ? readCacheText(path) : null;
  if (text === null) return null;
  try {
    const newline = text.indexOf("\n");
    const header = JSON.parse(text.slice(0, newline)) as Partial<PlanHeader>;
    const body = text.slice(newline + 1);
    if (
      header.format !== PLAN_FORMAT || header.sha256 !== cached.sha256 ||
      header.shape !== shapeKey(shape) || header.cacheTag !== cacheTag ||
      header.length !== body.length
    ) return null;
    const install: unknown = JSON.parse(body);
    if (!isCachedInstall(install) || placedCount(install) !== header.placed) return null;
    return install;
  } catch {
    return null;
  }
}

/**
 * The install plan of `cached` with `bytecode` (compiled for `cacheTag`) for venvs of `shape`,
 * made now and stored for the next runs (when there is bytecode to go with it, and the cache
 * can be written: otherwise it is only returned).
 */
export async function makeInstall(
  cached: CachedWheel,
  shape: InstallShape,
  cacheTag: string,
  bytecode: CachedBytecode | null,
  options: { log?: (line: string) => void } = {},
): Promise<CachedInstall> {
  const install = planCachedInstall(shape, cached.wheel, bytecodeInEntry(cached, bytecode));
  if (bytecode === null) return install;
  const body = JSON.stringify(install);
  const header: PlanHeader = {
    format: PLAN_FORMAT,
    sha256: cached.sha256,
    shape: shapeKey(shape),
    cacheTag,
    length: body.length,
    placed: placedCount(install),
  };
  try {
    const path = planPath(cached, shape, cacheTag);
    ensureCacheDir(dirname(dirname(cached.dir)), dirname(path), options.log);
    sweepStale(dirname(path));
    await writeFileAtomic(path, `${JSON.stringify(header)}\n${body}`);
  } catch (e: unknown) {
    options.log?.(`cannot store the install plan of ${cached.wheel.name} (${String(e)})`);
  }
  return install;
}
