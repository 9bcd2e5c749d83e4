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

function moveInto(from: string, to: string, moved: string[]): void {
  for (const entry of Deno.readDirSync(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const target = lstatOrNull(dst);
    const staged = Deno.lstatSync(src);
    if (target !== null && kindOf(target) === "dir" && kindOf(staged) === "dir") {
      moveInto(src, dst, moved);
      continue;
    }
    if (target !== null && kindOf(target) === "dir") removeTree(dst);
    Deno.renameSync(src, dst);
    moved.push(dst);
  }
}

/**
 * Commit a complete stage as the venv at `envDir`, `pyvenv.cfg` last. With `clear`, the old
 * entries of `envDir` are moved aside first and restored if the commit fails. Throws
 * `BuildError`.
 */
export function commitStage(stage: Stage, envDir: string, options: { clear: boolean }): void {
  if (!stage.intoExisting) {
    try {
      Deno.renameSync(stage.root, envDir);
      return;
    } catch (e: unknown) {
      throw osError(`Cannot move the new virtual environment into ${q(envDir)}`, e);
    }
  }
  const stageName = basename(stage.root);
  let trash: string | null = null;
  const moved: string[] = [];
  try {
    if (options.clear) {
      trash = join(envDir, `.${TRASH}`);
      Deno.mkdirSync(trash);
      for (const entry of Deno.readDirSync(envDir)) {
        if (entry.name === stageName || entry.name === basename(trash)) continue;
        Deno.renameSync(join(envDir, entry.name), join(trash, entry.name));
      }
    }
    for (const name of REWRITTEN_IN_PLACE) keepMode(join(stage.root, name), join(envDir, name));
    const cfg = join(stage.root, "pyvenv.cfg");
    const cfgAside = join(dirname(stage.root), `${stageName}.cfg`);
    Deno.renameSync(cfg, cfgAside);
    try {
      moveInto(stage.root, envDir, moved);
    } finally {
      Deno.renameSync(cfgAside, join(envDir, "pyvenv.cfg"));
    }
  } catch (e: unknown) {
    if (trash !== null) restoreFromTrash(trash, envDir, stageName, moved);
    throw e instanceof BuildError
      ? e
      : osError(`Cannot commit the virtual environment ${q(envDir)}`, e);
  } finally {
    removeTree(stage.root);
  }
  if (trash !== null) removeTree(trash);
}

function restoreFromTrash(trash: string, envDir: string, stageName: string, moved: string[]): void {
  for (const path of moved.reverse()) {
    try {
      removeTree(path);
    } catch {
      // best effort
    }
  }
  for (const entry of Deno.readDirSync(trash)) {
    const dst = join(envDir, entry.name);
    if (entry.name === stageName) continue;
    try {
      removeTree(dst);
      Deno.renameSync(join(trash, entry.name), dst);
    } catch {
      // best effort: what could not be restored stays in the trash directory
    }
  }
  try {
    Deno.removeSync(trash);
  } catch {
    // not empty: keep what could not be moved back
  }
}
