/**
 * Building a venv so that a failure or a kill leaves either nothing or the previous state:
 * the new venv is assembled in a staging directory, then committed by renames, `pyvenv.cfg`
 * last. A directory whose `pyvenv.cfg` exists is therefore complete.
 *
 * - A new venv is staged in a sibling directory and renamed into place: all or nothing.
 * - An existing directory (re-use, `--clear`, `--upgrade`, a mount point) cannot be replaced by
 *   one rename; the stage is made inside it (so every rename stays on its file system), and only
 *   when it is complete are its entries moved in, one rename each. `--clear` first moves the old
 *   entries into a trash directory in the same place, and moves them back if the commit fails.
 */
import { basename, dirname, join } from "./paths.ts";
import { BuildError, q } from "../errors.ts";
import { lstatOrNull, osError } from "./disk.ts";

/**
 * Names of the staging and trash directories. They are fixed, not unique: they are only used
 * under the target's lock (lib/disk/lock.ts), so one that exists when the lock is taken was left by
 * a killed mkvenv and can go, without a scan of the parent directory.
 */
const STAGE = "mkvenv-stage";
const TRASH = "mkvenv-trash";
const OWN_ENTRY = /^\.(?:.+\.)?mkvenv-(stage|trash)$/;

/** Cleanups to run if the process is interrupted (Ctrl-C, SIGTERM). */
const cleanups = new Set<() => void>();

/** Register `cleanup` to run on interruption; returns a function that unregisters it. */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Run every registered cleanup (newest first); for the signal handlers in main.ts. */
export function runInterruptCleanups(): void {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup();
    } catch {
      // best effort while exiting
    }
  }
  cleanups.clear();
}

/** Remove a tree without following links. */
export function removeTree(path: string): void {
  const st = lstatOrNull(path);
  if (st === null) return;
  Deno.removeSync(path, { recursive: st.isDirectory });
}

function siblingStage(envDir: string): string {
  return join(dirname(envDir), `.${basename(envDir)}.${STAGE}`);
}

/**
 * Remove the staging and trash directories a killed mkvenv left for `envDir`. Call only while
 * holding the target's lock.
 */
export function removeLeftovers(envDir: string, log?: (line: string) => void): void {
  for (const path of [siblingStage(envDir), join(envDir, `.${STAGE}`), join(envDir, `.${TRASH}`)]) {
    if (lstatOrNull(path) === null) continue;
    log?.(`removing ${path}, left by an interrupted mkvenv`);
    removeTree(path);
  }
}

/** Whether `name` is a staging or trash directory of mkvenv's. */
export function isOwnEntry(name: string): boolean {
  return OWN_ENTRY.test(name);
}

/** A staging directory for the venv at `envDir`. */
export interface Stage {
  /** Where the new venv is assembled. */
  root: string;
  /** Whether `envDir` existed (the stage is then inside it). */
  intoExisting: boolean;
  /** Map a path of the final venv to its place in the stage. */
  at(path: string): string;
  /** Remove the stage (after a failure). */
  discard(): void;
}

/** Create the staging directory for `envDir`. Throws `BuildError` if it cannot be made. */
export function createStage(envDir: string, intoExisting: boolean): Stage {
  const root = intoExisting ? join(envDir, `.${STAGE}`) : siblingStage(envDir);
  try {
    Deno.mkdirSync(root, { mode: 0o777 });
  } catch (e: unknown) {
    throw osError(`Cannot create a virtual environment in ${q(envDir)}`, e);
  }
  const stage: Stage = {
    root,
    intoExisting,
    at: (path) => {
      if (path !== envDir && !path.startsWith(envDir + "/") && !path.startsWith(envDir + "\\")) {
        throw new Error(`internal: ${path} is outside ${envDir}`);
      }
      return root + path.slice(envDir.length);
    },
    discard: () => removeTree(root),
  };
  return stage;
}

function kindOf(st: Deno.FileInfo): "dir" | "other" {
  return st.isDirectory && !st.isSymlink ? "dir" : "other";
}

/**
 * Entries of the stage that would replace something in `envDir` which is not a directory
 * merged into: the user's files a commit would overwrite (relative paths).
 */
export function conflicts(stage: Stage, envDir: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const entry of Deno.readDirSync(join(stage.root, rel))) {
      const child = rel === "" ? entry.name : join(rel, entry.name);
      const target = lstatOrNull(join(envDir, child));
      if (target === null) continue;
      const staged = Deno.lstatSync(join(stage.root, child));
      if (kindOf(staged) === "dir" && kindOf(target) === "dir") walk(child);
      else found.push(child);
    }
  };
  walk("");
  return found;
}

/**
 * Files `-m venv` rewrites in place (`open(path, "w")`) when it builds into an existing venv:
 * one the user gave another mode keeps it.
 */
const REWRITTEN_IN_PLACE = ["pyvenv.cfg", ".gitignore"];

/** Give the staged file `staged` the mode of the file it replaces, if there is one. */
function keepMode(staged: string, replaced: string): void {
  if (Deno.build.os === "windows") return;
  const old = lstatOrNull(replaced);
  const fresh = lstatOrNull(staged);
  if (old?.isFile && fresh?.isFile && old.mode !== null && old.mode !== fresh.mode) {
    try {
      Deno.chmodSync(staged, old.mode & 0o7777);
    } catch {
      // a file system without modes: the umask's mode is as good as any
    }
  }
}

/**
 * Move the entries of `from` into `to`, merging directories that both have. An entry of `to`
 * that a staged one replaces is moved into `backup` at the same relative path (kept until the
 * build is finished, so that it can be put back), or removed when `backup` is null.
 */
function moveInto(from: string, to: string, journal: Journal, backup: string | null): void {
  for (const entry of Deno.readDirSync(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const target = lstatOrNull(dst);
    const staged = Deno.lstatSync(src);
    if (target !== null && kindOf(target) === "dir" && kindOf(staged) === "dir") {
      moveInto(src, dst, journal, backup === null ? null : join(backup, entry.name));
      continue;
    }
    if (target !== null) {
      if (backup === null) {
        if (kindOf(target) === "dir") removeTree(dst);
      } else {
        Deno.mkdirSync(backup, { recursive: true });
        Deno.renameSync(dst, join(backup, entry.name));
        journal.replaced.push([dst, join(backup, entry.name)]);
      }
    }
    Deno.renameSync(src, dst);
    journal.moved.push(dst);
  }
}

/** What a commit into an existing directory changed, to undo it. */
interface Journal {
  /** Entries moved in from the stage, in order. */
  moved: string[];
  /** `[path, where the entry it replaced was put]`, in order. */
  replaced: [string, string][];
  /** With `--clear`: the old entries' names, moved into the trash directory. */
  cleared: string[];
}

/** A committed venv whose build is not over yet: it can still be undone. */
export interface Commit {
  /** Undo the commit: a new venv is removed; an existing directory gets its old entries back. */
  undo(): void;
  /**
   * The directory holding what the commit moved aside (old entries, replaced files), or null.
   * Emptied and removed by `finish`.
   */
  readonly aside: string | null;
  /** The build is over: remove what `undo` would have needed. */
  finish(): void;
}

/**
 * Commit a complete stage as the venv at `envDir`, `pyvenv.cfg` last. With `clear`, the old
 * entries of `envDir` are moved aside first; entries the stage replaces are moved aside too.
 * If the commit fails, everything is put back; after it, the returned `Commit` can still undo
 * it until `finish` removes what was moved aside. Throws `BuildError`.
 */
export function commitStage(stage: Stage, envDir: string, options: { clear: boolean }): Commit {
  if (!stage.intoExisting) {
    try {
      Deno.renameSync(stage.root, envDir);
    } catch (e: unknown) {
      throw osError(`Cannot move the new virtual environment into ${q(envDir)}`, e);
    }
    return { undo: () => removeTree(envDir), aside: null, finish: () => {} };
  }
  const stageName = basename(stage.root);
  const trash = join(envDir, `.${TRASH}`);
  const journal: Journal = { moved: [], replaced: [], cleared: [] };
  const undo = () => undoCommit(envDir, trash, stageName, journal);
  try {
    Deno.mkdirSync(trash);
    if (options.clear) {
      for (const entry of Deno.readDirSync(envDir)) {
        if (entry.name === stageName || entry.name === basename(trash)) continue;
        Deno.renameSync(join(envDir, entry.name), join(trash, entry.name));
        journal.cleared.push(entry.name);
      }
    }
    for (const name of REWRITTEN_IN_PLACE) keepMode(join(stage.root, name), join(envDir, name));
    const cfg = join(stage.root, "pyvenv.cfg");
    const cfgAside = join(dirname(stage.root), `${stageName}.cfg`);
    Deno.renameSync(cfg, cfgAside);
    try {
      moveInto(stage.root, envDir, journal, options.clear ? null : trash);
    } finally {
      const finalCfg = join(envDir, "pyvenv.cfg");
      if (!options.clear && lstatOrNull(finalCfg) !== null) {
        const aside = join(trash, "pyvenv.cfg");
        Deno.renameSync(finalCfg, aside);
        journal.replaced.push([finalCfg, aside]);
      }
      Deno.renameSync(cfgAside, finalCfg);
      journal.moved.push(finalCfg);
    }
  } catch (e: unknown) {
    undo();
    throw e instanceof BuildError
      ? e
      : osError(`Cannot commit the virtual environment ${q(envDir)}`, e);
  } finally {
    removeTree(stage.root);
  }
  return { undo, aside: trash, finish: () => removeTree(trash) };
}

/**
 * Put `envDir` back as it was before a commit: what was moved in goes (`pyvenv.cfg` first, so
 * the directory stops looking like a complete venv at once), what was moved aside comes back.
 * Best effort: what cannot be restored stays in the trash directory.
 */
function undoCommit(envDir: string, trash: string, stageName: string, journal: Journal): void {
  const attempt = (what: () => void) => {
    try {
      what();
    } catch {
      // best effort
    }
  };
  attempt(() => removeTree(join(envDir, "pyvenv.cfg")));
  if (journal.cleared.length > 0) {
    // With --clear, everything now in envDir is the new build's (or a later step's).
    for (const entry of Deno.readDirSync(envDir)) {
      if (entry.name === stageName || entry.name === basename(trash)) continue;
      attempt(() => removeTree(join(envDir, entry.name)));
    }
  } else {
    for (const path of [...journal.moved].reverse()) attempt(() => removeTree(path));
  }
  for (const [path, aside] of [...journal.replaced].reverse()) {
    attempt(() => Deno.renameSync(aside, path));
  }
  for (const name of journal.cleared) {
    attempt(() => Deno.renameSync(join(trash, name), join(envDir, name)));
  }
  attempt(() => removeEmptyDirs(trash));
}

/** Remove `dir` and the directories below it that are (or become) empty; keep anything else. */
function removeEmptyDirs(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory && !entry.isSymlink) removeEmptyDirs(join(dir, entry.name));
  }
  try {
    Deno.removeSync(dir);
  } catch {
    // not empty: what could not be put back stays here
  }
}
