/**
 * Where `python -m venv` refuses to build, mkvenv refuses with venv's own words first, then its
 * explanation and remedy: `Unable to create directory '/x/env/bin': it is a file; ...`. venv's
 * `ensure_directories` is re-enacted on the disk as it is (reads only), before anything is
 * touched; OS errors in making a new venv's directory are shown as Python shows them
 * (`[Errno 13] Permission denied: '/x/env'`), naming the directory venv would have named.
 */
import { BuildError, q } from "../errors.ts";
import { pathFor, type VenvLayout } from "./layout.ts";
import { pythonRepr } from "./pyvenv_cfg.ts";
import { kindOf } from "../disk/disk.ts";

/** The disk as venv's checks see it; replaced in tests. */
export interface DiskView {
  /** `os.stat`: follows links; null when it fails. */
  stat(path: string): Deno.FileInfo | null;
  /** `os.lstat`: null when nothing is there. */
  lstat(path: string): Deno.FileInfo | null;
  readLink(path: string): string;
}

function orNull(fn: () => Deno.FileInfo): Deno.FileInfo | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** The real disk. */
export const REAL_DISK: DiskView = {
  stat: (path) => orNull(() => Deno.statSync(path)),
  lstat: (path) => orNull(() => Deno.lstatSync(path)),
  readLink: (path) => Deno.readLinkSync(path),
};

const REMEDY = "move it away or choose another ENV_DIR";

/**
 * The error `python -m venv` would raise making the directories of `layout` (in its order:
 * the venv, include, site-packages, lib64, bin) on the disk as `disk` shows it, with mkvenv's
 * explanation; null when venv would go ahead. With `clear`, only the venv directory itself is
 * checked: its contents are cleared first. Reads only.
 */
export function venvDirectoryRefusal(
  layout: VenvLayout,
  options: { clear: boolean },
  disk: DiskView = REAL_DISK,
): BuildError | null {
  const path = pathFor(layout.platform);
  const exists = (p: string) => disk.stat(p) !== null;

  /** What `os.makedirs(d)` would fail with, for the reasons the disk shows. */
  const makedirs = (d: string): BuildError | null => {
    const head = path.dirname(d);
    if (head !== d && !exists(head)) {
      const above = makedirs(head);
      if (above !== null) return above;
    }
    // Not there for stat, there for lstat: a link to nothing. Only a link counts, and only while
    // stat still fails: another mkvenv may make `d` between the two calls (this check runs
    // before the target's lock), and a directory made meanwhile is no refusal.
    if (disk.lstat(d)?.isSymlink && !exists(d)) {
      let target = "";
      try {
        target = disk.readLink(d);
      } catch {
        // unreadable: say less
      }
      return new BuildError(
        `[Errno 17] File exists: ${pythonRepr(d)}: it is a symbolic link${
          target ? ` to ${q(target)}` : ""
        }, which does not exist; remove it or choose another ENV_DIR`,
      );
    }
    const parent = disk.stat(head);
    if (parent !== null && !parent.isDirectory) {
      return new BuildError(
        `[Errno 20] Not a directory: ${pythonRepr(d)}: ${q(head)} is ${kindOf(parent)}; ${REMEDY}`,
      );
    }
    return null;
  };

  /**
   * venv's `create_if_needed(d)`, but for a link to a directory inside the venv (`bin` or
   * `lib` moved to another disk), which venv refuses and mkvenv builds through (README).
   */
  const createIfNeeded = (d: string): BuildError | null => {
    if (!exists(d)) return makedirs(d);
    const st = disk.lstat(d);
    const linkedDir = st?.isSymlink && d !== layout.envDir && disk.stat(d)?.isDirectory;
    if ((st?.isSymlink && !linkedDir) || st?.isFile) {
      return new BuildError(
        `Unable to create directory ${pythonRepr(d)}: it is ${
          st.isSymlink
            ? d === layout.envDir
              ? "a symbolic link, which venv does not build through"
              : `a symbolic link to ${kindOf(disk.stat(d) ?? st)}`
            : "a file"
        }; ${REMEDY}`,
      );
    }
    return null;
  };

  // With --clear, venv lists the directory to empty it first: anything else fails there.
  const cleared = options.clear ? disk.lstat(layout.envDir) : null;
  if (cleared && !cleared.isDirectory && !cleared.isSymlink) {
    return new BuildError(
      `[Errno 20] Not a directory: ${pythonRepr(layout.envDir)}: it is ${
        kindOf(cleared)
      }; ${REMEDY}`,
    );
  }
  const first = createIfNeeded(layout.envDir);
  // A venv directory venv would make afresh has nothing in the way below it (and a failed
  // stat costs a thrown error in Deno: a new venv pays for one or two, not ten).
  if (first !== null || options.clear || disk.lstat(layout.envDir) === null) return first;
  for (const dir of [layout.includeDir, layout.purelibDir]) {
    const refusal = createIfNeeded(dir);
    if (refusal !== null) return refusal;
  }
  if (layout.lib64 !== null && !exists(layout.lib64.path)) {
    // venv links lib64 only where nothing resolves; a link to nothing stops its symlink().
    if (disk.lstat(layout.lib64.path) !== null) return makedirs(layout.lib64.path);
  }
  const bin = createIfNeeded(layout.binDir);
  if (bin !== null) return bin;
  // A named pipe, a socket or a device passes venv's check (not a file, not a link): its
  // first write into the bin directory, the interpreter, fails.
  const binSt = disk.stat(layout.binDir);
  if (binSt !== null && !binSt.isDirectory && !binSt.isFile) {
    return new BuildError(
      `[Errno 20] Not a directory: ${pythonRepr(layout.envExe)}: ${q(layout.binDir)} is ${
        kindOf(binSt)
      }; ${REMEDY}`,
    );
  }
  return null;
}

/**
 * Python's text of the OS error in `e` (or in its causes) for `path`:
 * `[Errno 13] Permission denied: '/x'`; null when `e` holds no OS error.
 */
export function pythonOsErrorText(e: unknown, path: string): string | null {
  // Deno's text of an OS error is `<strerror> (os error <errno>): <call> '<path>'`, maybe
  // quoted inside one of mkvenv's messages; strerror holds no colon. The innermost cause has
  // the system's own words (mkvenv's messages say what an error means in theirs).
  let found: string | null = null;
  for (let cause = e; cause instanceof Error; cause = cause.cause) {
    const m = /(?:^|: )([^:]+?) \(os error (\d+)\)/.exec(cause.message);
    if (m) found = `[Errno ${m[2]}] ${m[1]}: ${pythonRepr(path)}`;
  }
  return found;
}

/**
 * For a failure to start a venv at `envDir`, which does not exist yet (making its parents,
 * its lock or its stage beside it): the error venv's `os.makedirs(envDir)` would have met, in
 * Python's words, naming the directory it would have failed to make. Null when `envDir`
 * exists or `e` holds no OS error.
 */
export function newVenvDirError(
  envDir: string,
  platform: VenvLayout["platform"],
  e: unknown,
  disk: DiskView = REAL_DISK,
): BuildError | null {
  if (disk.lstat(envDir) !== null) return null;
  const path = pathFor(platform);
  // makedirs creates from the deepest existing ancestor down: the first mkdir names its child.
  let child = envDir;
  for (let head = path.dirname(child); head !== child; head = path.dirname(child)) {
    if (disk.stat(head) !== null) break;
    child = head;
  }
  const text = pythonOsErrorText(e, child);
  if (text === null) return null;
  // A full disk or quota is no reason to choose another place: freeing space is the remedy.
  const remedy = /^\[Errno (28|69|122)\]/.test(text)
    ? "free some space and run mkvenv again"
    : "choose another ENV_DIR";
  return new BuildError(
    `${text}: cannot create the virtual environment ${q(envDir)} there; ${remedy}`,
    { cause: e },
  );
}
