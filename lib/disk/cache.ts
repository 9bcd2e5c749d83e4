/**
 * mkvenv's on-disk cache: where it lives, what of it mkvenv trusts, and how entries are made so
 * that a concurrent reader never sees half of one. The interpreter cache
 * (lib/discovery/interpreter_cache.ts) and the wheel cache (lib/seed/wheel_cache.ts) both go
 * through here.
 *
 * Trust (README, "Safety"): another user must not be able to put code or facts in front of the
 * next mkvenv. So the cache root is used only when it is a directory owned by this user (or
 * root) that neither group nor others can write; below it, every directory and file mkvenv reads
 * must be of the expected type (never a symbolic link), owned by this user or root, and not
 * writable by group or others. A root that fails is not used at all (a private temporary cache
 * instead); an entry inside a trusted root that fails is set aside and built again. What mkvenv
 * creates is private whatever the umask: the root 0700, directories 0755, files 0644 or
 * read-only (see `readOnlyMode`).
 */
import { BuildError, errorText, q } from "../errors.ts";
import { posix, win32 } from "./paths.ts";
import { currentDir, envVar } from "./process_env.ts";
import { onInterrupt } from "./interrupt.ts";
import { kindOf, NotRegularFileError, readRegularFile } from "./disk.ts";

/** Environment lookup, injectable for tests. */
export type Env = (name: string) => string | undefined;

/**
 * The cache root: `MKVENV_CACHE_DIR` made absolute (a leading `~` or `~/` is the home
 * directory, a relative path is taken from the working directory), else the platform's user
 * cache directory + `mkvenv`. Returns `null` when no home directory is known (the cache is then
 * skipped). Throws `BuildError` when `MKVENV_CACHE_DIR` cannot name a directory: not UTF-8,
 * `~user`, or relative while the working directory cannot be named.
 */
export function cacheRoot(
  platform: typeof Deno.build.os = Deno.build.os,
  env: Env = envVar,
  cwd: () => string | null = currentDir,
): string | null {
  const path = platform === "windows" ? win32 : posix;
  const explicit = env("MKVENV_CACHE_DIR");
  if (explicit) return absoluteCacheDir(explicit, platform, env, cwd);
  if (platform === "windows") {
    const local = env("LOCALAPPDATA");
    return local && !local.includes("\uFFFD") ? path.join(local, "mkvenv", "Cache") : null;
  }
  const home = env("HOME");
  const usable = (dir: string | undefined): dir is string =>
    dir !== undefined && dir.startsWith("/") && !dir.includes("\uFFFD");
  if (platform === "darwin") {
    return usable(home) ? path.join(home, "Library", "Caches", "mkvenv") : null;
  }
  const xdg = env("XDG_CACHE_HOME");
  if (usable(xdg)) return path.join(xdg, "mkvenv");
  return usable(home) ? path.join(home, ".cache", "mkvenv") : null;
}

function absoluteCacheDir(
  value: string,
  platform: typeof Deno.build.os,
  env: Env,
  cwd: () => string | null,
): string {
  const path = platform === "windows" ? win32 : posix;
  const refuse = (why: string) =>
    new BuildError(`Cannot use the cache directory MKVENV_CACHE_DIR=${q(value)}: ${why}`);
  if (value.includes("\uFFFD")) {
    throw refuse("it is not valid UTF-8; set it to a UTF-8 path, or unset it");
  }
  if (value.includes("\0")) throw refuse("it contains a NUL character");
  if (value.startsWith("~")) {
    const rest = value.slice(1);
    if (rest !== "" && !/^[\\/]/.test(rest)) {
      throw refuse('only "~" and "~/" are expanded; give the directory as an absolute path');
    }
    const home = env(platform === "windows" ? "USERPROFILE" : "HOME");
    if (!home || !path.isAbsolute(home) || home.includes("\uFFFD")) {
      throw refuse("the home directory is not known; give the directory as an absolute path");
    }
    return path.join(home, rest);
  }
  if (path.isAbsolute(value)) return path.resolve(value);
  const here = cwd();
  if (here === null) {
    throw refuse(
      "it is relative and the working directory cannot be named (not UTF-8, or removed); " +
        "give the directory as an absolute path",
    );
  }
  return path.resolve(here, value);
}

// ---------------------------------------------------------------------------------------------
// Trust

/** The facts about a cache path that decide whether mkvenv uses it (from `Deno.lstat`). */
export interface CacheStat {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** The owner; null where the platform has none (Windows). */
  uid: number | null;
  /** The permission bits; null where the platform has none (Windows). */
  mode: number | null;
}

/** Why mkvenv does not use a path in its cache. */
export interface CacheProblem {
  /**
   * `missing`: nothing there. `damaged`: something of the wrong type (a file where a directory
   * belongs, a symbolic link). `untrusted`: another user owns it or could have written it.
   */
  kind: "missing" | "damaged" | "untrusted";
  /** e.g. `it is writable by group and others (mode 777)`. */
  why: string;
}

/** What a cache path must be. */
export type CacheKind = "file" | "dir";

let processUid: number | null | undefined;

/** This process's user id; null on Windows. */
export function currentUid(): number | null {
  if (processUid === undefined) processUid = Deno.build.os === "windows" ? null : Deno.uid();
  return processUid;
}

/**
 * Whether mkvenv may use a cache path with the status `st` (null: it does not exist) as a
 * `kind`, when running as `uid` (pure). Returns null when it may, else why not.
 */
export function judgeCacheStat(
  st: CacheStat | null,
  kind: CacheKind,
  uid: number | null,
): CacheProblem | null {
  if (st === null) return { kind: "missing", why: "it does not exist" };
  const wanted = kind === "dir" ? "a directory" : "a file";
  const is = kindOf(st);
  if (is !== wanted) return { kind: "damaged", why: `it is ${is}, not ${wanted}` };
  if (uid !== null && st.uid !== null && st.uid !== uid && st.uid !== 0) {
    return {
      kind: "untrusted",
      why: `it belongs to another user (uid ${st.uid}; this is uid ${uid})`,
    };
  }
  if (st.mode !== null && (st.mode & 0o022) !== 0) {
    const who = (st.mode & 0o022) === 0o022
      ? "group and others"
      : st.mode & 0o020
      ? "group"
      : "others";
    return {
      kind: "untrusted",
      why: `it is writable by ${who} (mode ${(st.mode & 0o7777).toString(8)})`,
    };
  }
  return null;
}

function statOrNull(path: string, follow: boolean): CacheStat | null {
  try {
    return follow ? Deno.statSync(path) : Deno.lstatSync(path);
  } catch (e: unknown) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/**
 * Whether mkvenv may use the path `path` inside its cache as a `kind` (not following a
 * symbolic link): null when it may, else why not. A path that cannot even be looked at (no
 * permission, a name too long) is `untrusted`. Never throws.
 */
export function inspectCachePath(path: string, kind: CacheKind): CacheProblem | null {
  try {
    return judgeCacheStat(statOrNull(path, false), kind, currentUid());
  } catch (e: unknown) {
    return { kind: "untrusted", why: `it cannot be looked at (${errorText(e)})` };
  }
}

const rootVerdicts = new Map<string, CacheProblem | null>();

/**
 * Whether the cache root `root` may be used (it is followed if it is a symbolic link, as a
 * `~/.cache` on another disk may be): null when it may, else why not. Answered once per process.
 * Never throws.
 */
export function cacheRootProblem(root: string): CacheProblem | null {
  let verdict = rootVerdicts.get(root);
  if (verdict === undefined) {
    try {
      // A link another user made (in /tmp, say) could lead anywhere: only one of this user's
      // or root's is followed.
      const link = statOrNull(root, false);
      const uid = currentUid();
      verdict = link?.isSymlink && uid !== null && link.uid !== null && link.uid !== uid &&
          link.uid !== 0
        ? {
          kind: "untrusted",
          why: `it is a symbolic link that belongs to another user (uid ${link.uid})`,
        }
        : judgeCacheStat(statOrNull(root, true), "dir", uid);
    } catch (e: unknown) {
      verdict = { kind: "untrusted", why: `it cannot be looked at (${errorText(e)})` };
    }
    rootVerdicts.set(root, verdict);
  }
  return verdict;
}

/** Forget what `cacheRootProblem` found (for tests, and after creating a root). */
export function forgetCacheRoot(root: string): void {
  rootVerdicts.delete(root);
}

/**
 * The mode of a file mkvenv publishes in its wheel cache: read-only (0444, or 0555 when
 * executable). Venvs hard-link these files, so an edit made in place through one venv would
 * change every venv: the missing write bit makes such an edit fail instead (`--link-mode copy`
 * gives a venv its own writable files).
 */
export function readOnlyMode(mode: number): number {
  return (mode & 0o111) !== 0 ? 0o555 : 0o444;
}

/** The cache in use by one build: its root, and whether it is a private temporary one. */
export interface OpenedCache {
  root: string;
  temporary: boolean;
}

/**
 * A cache to build in: the root `preferred`, created private (0700) when missing, if mkvenv can
 * create and trust it; else (and when `preferred` is null) a new private temporary directory,
 * said with `log`. Throws `BuildError` when not even a temporary directory can be made.
 */
export function openCache(preferred: string | null, log?: (line: string) => void): OpenedCache {
  if (preferred !== null) {
    let problem: CacheProblem | null;
    try {
      Deno.mkdirSync(preferred, { recursive: true, mode: 0o700 });
      forgetCacheRoot(preferred); // it may have been missing when first looked at
      problem = cacheRootProblem(preferred);
    } catch (e: unknown) {
      problem = { kind: "missing", why: `it cannot be created (${errorText(e)})` };
    }
    if (problem === null) return { root: preferred, temporary: false };
    log?.(`the cache ${preferred} is not used: ${problem.why}; using a private temporary one`);
  }
  return { root: temporaryCache(), temporary: true };
}

/** A new private (0700) temporary cache root. Throws `BuildError` when it cannot be made. */
export function temporaryCache(): string {
  try {
    return Deno.makeTempDirSync({ prefix: "mkvenv-cache-" });
  } catch (e: unknown) {
    throw new BuildError(
      `Cannot create a temporary cache directory: ${errorText(e)}; free some space in the ` +
        `temporary directory (TMPDIR) or set MKVENV_CACHE_DIR to a writable directory`,
      { cause: e },
    );
  }
}

/** A name beside `path` for something on its way in or out: a killed mkvenv may leave it. */
export function tempSibling(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return `${path.slice(0, slash + 1)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Set aside and remove what is at `path` inside a trusted cache directory (a damaged or
 * untrusted entry): it is first renamed to a temporary name, so nothing ever reads a half-removed
 * entry. Throws what the file system throws when it cannot be renamed (not when it is already
 * gone); its removal is best effort (another user's directory may not be emptied; the name is then swept later).
 */
export function discardCachePath(path: string): void {
  const aside = tempSibling(path);
  try {
    Deno.renameSync(path, aside);
  } catch (e: unknown) {
    if (e instanceof Deno.errors.NotFound) return; // set aside by a concurrent mkvenv
    throw e;
  }
  try {
    Deno.removeSync(aside, { recursive: true });
  } catch {
    // left for the next sweep of temporary names
  }
}

const trustedDirs = new Set<string>();

/** What mkvenv puts directly in a cache root (and temporary names beginning `.tmp-`). */
const ROOT_NAMES = new Set(["interpreters", "wheels", "CACHEDIR.TAG"]);

/** A cache directory tag (https://bford.info/cachedir/): backup tools skip the directory. */
const CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n" +
  "# This file is a cache directory tag created by mkvenv.\n" +
  "# For information about cache directory tags see https://bford.info/cachedir/\n";

/**
 * Whether `root` is mkvenv's own cache, whose entries mkvenv may replace: it holds mkvenv's
 * `CACHEDIR.TAG`, or nothing but what mkvenv puts there (then it is tagged now). A root that holds
 * anything else (`MKVENV_CACHE_DIR=~`) is the user's: nothing directly in it is ever removed.
 */
function isOwnCache(root: string): boolean {
  const tag = `${root}/CACHEDIR.TAG`;
  if (readCacheText(tag) === CACHEDIR_TAG) return true;
  try {
    for (const entry of Deno.readDirSync(root)) {
      if (!ROOT_NAMES.has(entry.name) && !entry.name.startsWith(".tmp-")) return false;
    }
    Deno.writeTextFileSync(tag, CACHEDIR_TAG, { mode: 0o644 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Make sure `dir`, inside the cache root `root`, is a directory mkvenv can trust. The root is
 * created (0700) when missing and must pass `cacheRootProblem`; below it, each missing
 * directory is created (0755 whatever the umask), and each damaged or untrusted one is set
 * aside and created afresh (said with `log`). Throws an `Error` naming the root when it is not
 * trusted, else what the file system throws (a full disk, no permission).
 */
export function ensureCacheDir(root: string, dir: string, log?: (line: string) => void): void {
  if (trustedDirs.has(dir)) return;
  if (!trustedDirs.has(root)) {
    if (cacheRootProblem(root)?.kind === "missing") {
      Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
      forgetCacheRoot(root);
    }
    const problem = cacheRootProblem(root);
    if (problem !== null) throw new Error(`the cache ${root} is not used: ${problem.why}`);
    trustedDirs.add(root);
  }
  const sep = dir.includes("\\") && !dir.includes("/") ? "\\" : "/";
  const rest = dir.slice(root.length).split(/[\\/]/).filter((p) => p !== "");
  let current = root;
  for (const [i, part] of rest.entries()) {
    current = `${current}${current.endsWith(sep) ? "" : sep}${part}`;
    if (trustedDirs.has(current)) continue;
    const problem = inspectCachePath(current, "dir");
    if (problem !== null && problem.kind !== "missing") {
      if (i === 0) {
        // Directly in the root, which may be a directory of the user's (MKVENV_CACHE_DIR=~).
        if (!isOwnCache(root)) {
          throw new Error(
            `the cache directory ${current} is not used: ${problem.why}; it is left alone, as ` +
              `${root} holds more than mkvenv's cache`,
          );
        }
      }
      log?.(`the cache directory ${current} is not used: ${problem.why}; making it afresh`);
      discardCachePath(current);
    }
    if (problem !== null) {
      try {
        Deno.mkdirSync(current, { mode: 0o755 });
      } catch (e: unknown) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        const again = inspectCachePath(current, "dir"); // made by a concurrent mkvenv?
        if (again !== null) throw new Error(`${current}: ${again.why}`);
      }
    }
    trustedDirs.add(current);
  }
}

/** The largest cache text read: the biggest mkvenv writes (a wheel's file list) is 200 KB. */
const CACHE_TEXT_LIMIT = 64 * 1024 * 1024;

/**
 * The text of the cache file `path` (its directory already trusted) when mkvenv can trust it;
 * else null, with why said with `log` unless it is merely missing. Never throws.
 */
export function readCacheText(path: string, log?: (line: string) => void): string | null {
  const problem = inspectCachePath(path, "file");
  if (problem !== null) {
    if (problem.kind !== "missing") log?.(`the cache entry ${path} is not used: ${problem.why}`);
    return null;
  }
  try {
    return new TextDecoder().decode(readRegularFile(path, { limit: CACHE_TEXT_LIMIT }).bytes);
  } catch (e: unknown) {
    if (e instanceof NotRegularFileError) log?.(`the cache entry ${path} is not used: ${e.why}`);
    return null;
  }
}

/**
 * Write `data` to `path` atomically: a unique temporary sibling (mode `mode`, default 0644,
 * never more whatever the umask), then renamed over the target; a directory in the way (a
 * damaged entry) is set aside first. Creates the parent directory. Throws what the file system
 * throws.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const dir = path.slice(0, Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")));
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = tempSibling(path);
  // Its awaits let a signal in: interrupted, the temporary file goes with mkvenv.
  const forget = onInterrupt(() => {
    try {
      Deno.removeSync(tmp);
    } catch {
      // not made yet, or renamed into place
    }
  });
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data, { mode });
    else await Deno.writeFile(tmp, data, { mode });
    try {
      await Deno.rename(tmp, path);
    } catch (e: unknown) {
      if (inspectCachePath(path, "file")?.kind !== "damaged") throw e;
      discardCachePath(path);
      await Deno.rename(tmp, path);
    }
  } catch (e: unknown) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  } finally {
    forget();
  }
}

/**
 * A short stable hex digest of `text` for cache file names (two 32-bit FNV-1a lanes): not
 * cryptographic, and synchronous, which matters on the start-up path.
 */
export function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}
