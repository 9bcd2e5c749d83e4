/**
 * Exclusive locks held by one mkvenv process at a time: advisory file-system locks (flock /
 * LockFileEx) that the kernel drops when their holder dies, even by SIGKILL, so a stale lock
 * cannot exist.
 *
 * - `lockDirectory` locks a directory through its own descriptor: nothing is created, so it
 *   works in a directory whose parent the user cannot write, and there is no file for another
 *   user to plant a link at.
 * - `acquireLock` locks a lock file. A file that exists is opened read-only, never through a
 *   link, and never truncated: a link planted at its name is refused, its target left as it was.
 */
import { BuildError, errorText, q } from "../errors.ts";
import { kindOf, readRegularFile } from "./disk.ts";

/** A held lock; `release()` unlocks it (and removes a lock file). */
export interface Lock {
  path: string;
  release(): void;
}

/** Options for `acquireLock` and `lockDirectory`. */
export interface LockOptions {
  /** Give up after this many ms (default: MKVENV_LOCK_TIMEOUT seconds, else 120 s). */
  timeoutMs?: number;
  /** What the lock protects, for the error message. */
  what: string;
  log?: (line: string) => void;
}

/** The process holding a flock on the file `st` describes, from Linux's /proc/locks. */
function flockHolder(st: Deno.FileInfo | null): number | null {
  if (st === null || st.ino === null || Deno.build.os !== "linux") return null;
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/locks");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    // `1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF` (a "->" marks a waiter)
    const m = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m && Number(m[2]) === st.ino) return Number(m[1]);
  }
  return null;
}

function holderOf(path: string, st: Deno.FileInfo | null): string {
  const pid = flockHolder(st);
  if (pid !== null) return `pid ${pid}`;
  try {
    const head = readRegularFile(path, { limit: 64, head: true }).bytes;
    const recorded = Number(new TextDecoder().decode(head).trim());
    return Number.isInteger(recorded) && recorded > 0 ? `pid ${recorded}` : "unknown";
  } catch {
    return "unknown";
  }
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

function sameInode(a: Deno.FileInfo | null, b: Deno.FileInfo | null): boolean {
  return a !== null && b !== null && a.ino === b.ino && a.dev === b.dev;
}

function defaultTimeoutMs(): number {
  const seconds = Number(Deno.env.get("MKVENV_LOCK_TIMEOUT"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 120_000;
}

/**
 * One attempt: a descriptor locked on what is at `path` now; "busy" (another holds it);
 * "retry" (the file changed under us); "gone" (nothing to lock there any more).
 */
type Attempt = { file: Deno.FsFile; st: Deno.FileInfo } | "busy" | "retry" | "gone";

async function waitFor(
  path: string,
  options: LockOptions,
  attempt: () => Attempt,
): Promise<Deno.FsFile | null> {
  const deadline = Date.now() + (options.timeoutMs ?? defaultTimeoutMs());
  let waited = false;
  for (;;) {
    const got = attempt();
    if (typeof got !== "string") return got.file;
    if (got === "gone") return null;
    if (got === "busy" && Date.now() >= deadline) {
      throw new BuildError(
        `Cannot build ${q(options.what)}: another mkvenv (${
          holderOf(path, lstatOrNull(path))
        }) is building it; wait for it to finish and run mkvenv again`,
      );
    }
    if (got === "busy" && !waited) {
      options.log?.(`waiting for another mkvenv to finish with ${options.what}`);
      waited = true;
    }
    if (got === "busy") await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Lock the directory `dir` itself (POSIX), waiting while another process holds it. Returns
 * null when `dir` is no longer a directory (removed or replaced by a link meanwhile): the
 * caller looks again. Throws `BuildError` when the wait times out or `dir` cannot be opened.
 */
export async function lockDirectory(dir: string, options: LockOptions): Promise<Lock | null> {
  const file = await waitFor(dir, options, () => {
    const before = lstatOrNull(dir);
    if (before === null || !before.isDirectory || before.isSymlink) return "gone";
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(dir, { read: true });
    } catch (e: unknown) {
      if (e instanceof Deno.errors.NotFound) return "gone";
      throw new BuildError(`Cannot lock ${q(dir)}: ${errorText(e)}`, { cause: e });
    }
    let locked = false;
    try {
      locked = file.tryLockSync(true);
    } catch (e: unknown) {
      // A file system without flock on directories (NFS emulates it with POSIX locks, which
      // need a descriptor open for writing): build unlocked, as `python -m venv` always does.
      options.log?.(`cannot lock ${dir} (${errorText(e)}): building without a lock`);
      return { file, st: file.statSync() };
    }
    // The previous holder may have replaced the directory (a new venv renamed over it), or
    // removed it: the lock only counts on what is at `dir` now.
    const st = file.statSync();
    if (locked && sameInode(st, lstatOrNull(dir))) return { file, st };
    if (locked) file.unlockSync();
    file.close();
    return locked ? "retry" : "busy";
  });
  if (file === null) return null;
  return heldLock(dir, file, false);
}

/**
 * Lock the descriptor of a directory this process just made (a stage about to be renamed into
 * place), so that the lock moves with it. Returns null if another process holds it.
 */
export function lockOwnDirectory(dir: string): Lock | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(dir, { read: true });
  } catch {
    return null;
  }
  try {
    if (file.tryLockSync(true)) return heldLock(dir, file, false);
  } catch {
    // no flock on directories here
  }
  file.close();
  return null;
}

function heldLock(path: string, file: Deno.FsFile, removeFile: boolean): Lock {
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      if (removeFile) {
        try {
          Deno.removeSync(path);
        } catch {
          // already gone
        }
      }
      try {
        file.unlockSync();
      } catch {
        // closing unlocks too
      } finally {
        file.close();
      }
    },
  };
}

/** Open the lock file at `path`: created afresh (then it records our pid), or an existing one. */
function openLockFile(path: string, what: string): Deno.FsFile | "retry" {
  const fail = (why: string, e?: unknown) =>
    new BuildError(`Cannot lock ${q(what)}: ${q(path)} ${why}`, e ? { cause: e } : undefined);
  try {
    // O_CREAT|O_EXCL does not follow a link at `path`: a fresh file, ours.
    const file = Deno.openSync(path, { read: true, write: true, createNew: true, mode: 0o644 });
    try {
      file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    } catch {
      // the pid is only for the message of a waiting run
    }
    return file;
  } catch (e: unknown) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      throw fail(`cannot be created: ${errorText(e)}`, e);
    }
  }
  const st = lstatOrNull(path);
  if (st === null) return "retry";
  if (!st.isFile) {
    throw fail(
      `is ${kindOf(st)}, not a lock file of mkvenv's; remove it and run again`,
    );
  }
  let file: Deno.FsFile;
  try {
    // Read-only: an existing lock file is never written, so a file swapped in between the
    // lstat and the open is at worst read.
    file = Deno.openSync(path, { read: true });
  } catch (e: unknown) {
    if (e instanceof Deno.errors.NotFound) return "retry";
    throw fail(`cannot be opened: ${errorText(e)}`, e);
  }
  if (!sameInode(file.statSync(), lstatOrNull(path))) {
    file.close();
    return "retry";
  }
  return file;
}

/**
 * Take the lock file at `path`, waiting while another process holds it. Throws `BuildError`
 * naming the holder when the wait times out, or when the lock file cannot be created or is not
 * a plain file (a link planted at its name).
 */
export async function acquireLock(path: string, options: LockOptions): Promise<Lock> {
  const file = await waitFor(path, options, () => {
    const file = openLockFile(path, options.what);
    if (file === "retry") return "retry";
    if (file.tryLockSync(true)) {
      // The holder before us removes the file when it is done: make sure we locked the file
      // that is at `path` now, not one that was unlinked while we waited.
      const st = file.statSync();
      if (sameInode(st, lstatOrNull(path))) return { file, st };
      file.unlockSync();
      file.close();
      return "retry";
    }
    file.close();
    return "busy";
  });
  if (file === null) throw new Error(`internal: the lock file ${path} was not taken`);
  return heldLock(path, file, true);
}
