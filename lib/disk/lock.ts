/**
 * An exclusive lock on a path, held by one mkvenv process at a time: an advisory file-system
 * lock (flock / LockFileEx) on a lock file. The kernel drops it when its holder dies, even by
 * SIGKILL, so a stale lock cannot exist; the file records its holder for the error message.
 */
import { BuildError, q } from "../errors.ts";

/** A held lock; `release()` removes the lock file and unlocks it. */
export interface Lock {
  path: string;
  release(): void;
}

/** Options for `acquireLock`. */
export interface LockOptions {
  /** Give up after this many ms (default: MKVENV_LOCK_TIMEOUT seconds, else 120 s). */
  timeoutMs?: number;
  /** What the lock protects, for the error message. */
  what: string;
  log?: (line: string) => void;
}

function holderOf(path: string): string {
  try {
    const pid = Number(Deno.readTextFileSync(path).trim());
    return Number.isInteger(pid) && pid > 0 ? `pid ${pid}` : "unknown";
  } catch {
    return "unknown";
  }
}

function sameFile(file: Deno.FsFile, path: string): boolean {
  try {
    const a = file.statSync();
    const b = Deno.statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

function defaultTimeoutMs(): number {
  const seconds = Number(Deno.env.get("MKVENV_LOCK_TIMEOUT"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 120_000;
}

/**
 * Take the lock at `path`, waiting while another process holds it. Throws `BuildError` naming
 * the holder when the wait times out, or when the lock file cannot be created.
 */
export async function acquireLock(path: string, options: LockOptions): Promise<Lock> {
  const deadline = Date.now() + (options.timeoutMs ?? defaultTimeoutMs());
  let waited = false;
  for (;;) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o644 });
    } catch (e: unknown) {
      throw new BuildError(
        `Cannot lock ${q(options.what)}: cannot create ${q(path)}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
    if (file.tryLockSync(true)) {
      // The holder before us removes the file when it is done: make sure we locked the file
      // that is at `path` now, not one that was unlinked while we waited.
      if (sameFile(file, path)) {
        file.truncateSync(0);
        file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
        return {
          path,
          release() {
            try {
              Deno.removeSync(path);
            } catch {
              // already gone
            }
            try {
              file.unlockSync();
            } finally {
              file.close();
            }
          },
        };
      }
      file.unlockSync();
    }
    file.close();
    if (Date.now() >= deadline) {
      throw new BuildError(
        `Cannot build ${q(options.what)}: another mkvenv (${
          holderOf(path)
        }) is building it; wait for it to finish and run mkvenv again`,
      );
    }
    if (!waited) options.log?.(`waiting for another mkvenv to finish with ${options.what}`);
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
