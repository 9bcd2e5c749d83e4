/**
 * The small layer that touches the disk: make directories, place links and copies, write
 * files. Replacing an entry never writes through an existing link (spec §11 #20).
 */
import { basename, dirname, join } from "./paths.ts";
import { BuildError, errorText, q } from "../errors.ts";

/** Metadata of `path` without following a final link, or null when nothing is there. */
export function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e: unknown) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** What a file-system entry is, for a message: "a file", "a named pipe", "a symbolic link", ... */
export function kindOf(
  st: Pick<Deno.FileInfo, "isFile" | "isDirectory" | "isSymlink"> & {
    isFifo?: boolean | null;
    isSocket?: boolean | null;
    isCharDevice?: boolean | null;
    isBlockDevice?: boolean | null;
  },
): string {
  if (st.isSymlink) return "a symbolic link";
  if (st.isDirectory) return "a directory";
  if (st.isFile) return "a file";
  if (st.isFifo) return "a named pipe";
  if (st.isSocket) return "a socket";
  if (st.isCharDevice || st.isBlockDevice) return "a device";
  return "neither a file nor a directory";
}

/** Why `readRegularFile` did not read a path: what it is instead, or how large. */
export class NotRegularFileError extends Error {
  /** `"NotRegularFileError"`. */
  override name = "NotRegularFileError";

  /** `why` as a clause: `it is a named pipe`, `it holds more than 1048576 bytes`. */
  constructor(readonly path: string, readonly why: string) {
    super(`${q(path)}: ${why}`);
  }
}

/** Whether two stats are of one file, where the system says (Windows may give no inode). */
function sameInode(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  if (a.ino === null || b.ino === null) return true;
  return a.ino === b.ino && a.dev === b.dev;
}

/** A regular file's bytes. */
export interface RegularFileRead {
  bytes: Uint8Array;
}

/** What `readRegularFile` reads: at most `limit` bytes, or with `head` the first `limit`. */
export interface ReadLimit {
  limit: number;
  head?: boolean;
}

/** The regular file `path` is (links followed), or why it is not read. */
function regularFileStat(path: string, { limit, head = false }: ReadLimit): Deno.FileInfo {
  const seen = Deno.statSync(path);
  if (!seen.isFile) throw new NotRegularFileError(path, `it is ${kindOf(seen)}`);
  if (!head && seen.size > limit) throw tooLarge(path, limit);
  return seen;
}

function tooLarge(path: string, limit: number): NotRegularFileError {
  return new NotRegularFileError(path, `it holds more than ${limit} bytes`);
}

/** Read the opened `file`, which must still be the regular file `seen` describes. */
function readOpened(
  file: Deno.FsFile,
  path: string,
  seen: Deno.FileInfo,
  { limit, head = false }: ReadLimit,
): RegularFileRead {
  const opened = file.statSync();
  if (!opened.isFile || !sameInode(opened, seen)) {
    throw new NotRegularFileError(path, "it was replaced while mkvenv opened it");
  }
  // One byte more than allowed tells a file that grew past the limit from one that did not.
  const cap = head ? limit : limit + 1;
  let buffer = new Uint8Array(Math.min(cap, opened.size + 1));
  let filled = 0;
  for (;;) {
    if (filled === buffer.length) {
      if (buffer.length === cap) break;
      const larger = new Uint8Array(Math.min(cap, buffer.length * 2));
      larger.set(buffer);
      buffer = larger;
    }
    const n = file.readSync(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  if (filled > limit) throw tooLarge(path, limit);
  return { bytes: buffer.subarray(0, filled) };
}

/**
 * Read the regular file at `path` (links followed): at most `limit` bytes, or with `head` its
 * first `limit` bytes whatever its size. Nothing else is ever opened: a named pipe would block
 * the open (and Ctrl-C with it, for a synchronous call), a device such as /dev/zero would never
 * end, and an entry swapped in between the check and the open is caught by its inode. Only a
 * user who can write the file's directory can swap it at all: for a file such a user may
 * control, use `readRegularFileAsync`. Throws `NotRegularFileError` for those, else what the
 * file system throws.
 */
export function readRegularFile(path: string, options: ReadLimit): RegularFileRead {
  const seen = regularFileStat(path, options);
  const file = Deno.openSync(path);
  try {
    return readOpened(file, path, seen, options);
  } finally {
    file.close();
  }
}

let abandoned = false;

/**
 * Whether an open was given up (`readRegularFileAsync`): its thread still waits, so the process
 * must end with `Deno.exit`, which does not wait for it.
 */
export function openWasAbandoned(): boolean {
  return abandoned;
}

/**
 * `readRegularFile` for a file in a directory another user may write: a named pipe they swap
 * in between the check and the open would block that open until a writer comes. The open runs
 * off the main thread and is given up after `wait` ms (default 2000), so the run goes on (and
 * Ctrl-C still works meanwhile). Throws as `readRegularFile`.
 */
export async function readRegularFileAsync(
  path: string,
  options: ReadLimit & { wait?: number },
): Promise<RegularFileRead> {
  const seen = regularFileStat(path, options);
  const opening = Deno.open(path);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), options.wait ?? 2000);
  });
  const file = await Promise.race([opening, gaveUp]).finally(() => clearTimeout(timer));
  if (file === null) {
    abandoned = true;
    opening.then((late) => late.close(), () => {});
    throw new NotRegularFileError(path, "it did not open in time (a named pipe swapped in?)");
  }
  try {
    return readOpened(file, path, seen, options);
  } finally {
    file.close();
  }
}

/**
 * Create `path` and its parents (mode 0777 & ~umask). Throws `BuildError` when `path` or a
 * parent exists and is not a directory (a symlink counts as in the way, as in CPython).
 */
export function makeDirs(path: string): void {
  const existing = lstatOrNull(path);
  if (existing?.isDirectory) return;
  if (existing !== null) {
    throw new BuildError(
      `Cannot create the directory ${q(path)}: it exists and is ${
        kindOf(existing)
      }; move it away or choose another ENV_DIR`,
    );
  }
  const parent = dirname(path);
  if (parent !== path) makeDirs(parent);
  try {
    Deno.mkdirSync(path);
  } catch (e: unknown) {
    if (e instanceof Deno.errors.AlreadyExists && lstatOrNull(path)?.isDirectory) return;
    throw osError(`Cannot create the directory ${q(path)}`, e);
  }
}

/**
 * `path` with every link resolved, as far as it exists; the rest appended as written (POSIX).
 * Used to compare places, never to open them.
 */
export function resolvedPath(path: string): string {
  const rest: string[] = [];
  for (let dir = path;; dir = dirname(dir)) {
    try {
      return [Deno.realPathSync(dir), ...rest].join("/");
    } catch {
      if (dirname(dir) === dir) return path;
      rest.unshift(basename(dir));
    }
  }
}

/** Wrap a file-system error into a one-line `BuildError`. */
export function osError(what: string, e: unknown): BuildError {
  const why = e instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : e instanceof Deno.errors.NotFound
    ? "a parent directory does not exist"
    : fsReason(e);
  return new BuildError(`${what}: ${why}`, { cause: e });
}

/**
 * Why a file-system call failed, for a message that names the operation and the paths itself:
 * what a path is instead of a regular file (`readRegularFile`), the meaning and the remedy of the operating system's error where input can cause it (a full
 * disk, a name too long, ...), else Deno's text without the operation and paths it appends.
 */
export function fsReason(e: unknown): string {
  if (e instanceof NotRegularFileError) return e.why;
  const text = errorText(e);
  const m = /^(.*?) \(os error (\d+)\)/s.exec(text);
  if (m === null) return text;
  const [, said, code] = m;
  return `${ENVIRONMENT_ERRORS.get(Number(code)) ?? said} (os error ${code})`;
}

/** What the operating system's error numbers (Linux, macOS) that input can cause mean, and the remedy. */
const ENVIRONMENT_ERRORS = new Map<number, string>([
  [1, "operation not permitted"],
  [13, "permission denied"],
  [20, "a part of the path is not a directory"],
  [21, "it is a directory"],
  [28, "no space left on the device; free some space and run mkvenv again"],
  [30, "the file system is read-only"],
  [31, "too many links"],
  [36, "the name is too long; choose a shorter path"],
  [40, "too many levels of symbolic links"],
  [62, "too many levels of symbolic links"],
  [63, "the name is too long; choose a shorter path"],
  [69, "the disk quota is exceeded; free some space and run mkvenv again"],
  [122, "the disk quota is exceeded; free some space and run mkvenv again"],
]);

/**
 * A file-system failure that the machine or the input caused (a full disk, a name too long, a
 * read-only file system, ...) as a one-line `BuildError` naming the operation and the path, or
 * null when `e` is not one. For the last line of defence in main.ts: such a failure is never an
 * internal error.
 */
export function environmentError(e: unknown): BuildError | null {
  if (!(e instanceof Error)) return null;
  if (e instanceof Deno.errors.InvalidData && /not valid (unicode|UTF-8)/i.test(e.message)) {
    // A name or variable Deno cannot read as text, wherever it was read.
    return new BuildError(
      `Cannot read a value that is not valid UTF-8 (${e.message}); make the environment ` +
        `variable or the path UTF-8`,
      { cause: e },
    );
  }
  const m = /^(.*) \(os error (\d+)\)(?:: (\w+) '(.*?)'(?: -> '(.*)')?)?$/s.exec(e.message);
  const why = m === null ? undefined : ENVIRONMENT_ERRORS.get(Number(m[2]));
  if (m === null || why === undefined) return null;
  const [, , code, op, path, to] = m;
  const what = op === undefined
    ? "Cannot carry out a file-system operation"
    : `Cannot ${op} ${q(path!)}${to === undefined ? "" : ` to ${q(to)}`}`;
  return new BuildError(`${what}: ${why} (os error ${code})`, { cause: e });
}

/** Copy the file `from` (following links) to `path`, replacing what is there, mode 0755. */
export function copyExecutable(from: string, path: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.mkvenv-${Deno.pid}.tmp`);
  try {
    Deno.copyFileSync(from, tmp);
    Deno.chmodSync(tmp, 0o755);
    Deno.renameSync(tmp, path);
  } catch (e: unknown) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing to clean
    }
    throw osError(`Cannot copy ${q(from)} to ${q(path)}`, e);
  }
}

/**
 * Write a new file at `path` (it must not exist, as in a fresh staging directory). Without
 * `mode` it gets 0666 & ~umask, as Python's `open()` gives; with `mode`, exactly that mode, as
 * `shutil.copymode` gives.
 */
export function writeNewFile(path: string, data: string | Uint8Array, mode?: number): void {
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    Deno.writeFileSync(
      path,
      bytes,
      mode === undefined ? { createNew: true } : { mode, createNew: true },
    );
  } catch (e: unknown) {
    throw osError(`Cannot write ${q(path)}`, e);
  }
}

/**
 * Write `path` whether or not something is there: a fresh file is written beside it and
 * renamed over it, so an existing file or link is replaced, never written through. Mode as
 * `writeNewFile`.
 */
export function replaceFile(path: string, data: string | Uint8Array, mode?: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.mkvenv-${Deno.pid}.tmp`);
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    Deno.writeFileSync(
      tmp,
      bytes,
      mode === undefined ? { createNew: true } : { mode, createNew: true },
    );
    Deno.renameSync(tmp, path);
  } catch (e: unknown) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing to clean
    }
    throw osError(`Cannot write ${q(path)}`, e);
  }
}
