/**
 * Building a venv so that a failure or a kill leaves either nothing or the previous state:
 * the new venv is assembled in a staging directory, then committed by renames, `pyvenv.cfg`
 * last. A directory whose `pyvenv.cfg` exists is therefore complete.
 *
 * - The target is locked first (`lockTarget`): the directory itself, through its descriptor, so
 *   the lock needs no file anywhere. A target that does not exist is claimed by making it (empty)
 *   and locking that.
 * - A new venv is staged in a sibling directory and renamed over the claimed empty directory:
 *   all or nothing.
 * - An existing directory (re-use, `--clear`, `--upgrade`, a mount point) cannot be replaced by
 *   one rename; the stage is made inside it (so every rename stays on its file system), and only
 *   when it is complete are its entries moved in, one rename each. Whatever a move replaces
 *   (with `--clear`: every old entry) first goes into a trash directory, and goes back if the
 *   commit fails. The old `pyvenv.cfg` is the first thing moved aside and the new one the last
 *   thing moved in.
 * - A kill leaves names the next run recognises (`recoverLeftovers`): before the commit point
 *   (the new `pyvenv.cfg` set aside as `.mkvenv-cfg`) it rolls back, after it forward.
 * - The user's data wins over the layout: a directory (or a link to one) where the layout has a
 *   file or link is kept, with a warning; a file where the layout needs a directory is refused.
 *
 * Every helper name is short and fixed (or a fixed-length hash), so a target whose name is at
 * the file system's limit works.
 */
import { basename, dirname, join, sep } from "./paths.ts";
import { BuildError, q } from "../errors.ts";
import { environmentError, kindOf, lstatOrNull, osError, readRegularFile } from "./disk.ts";
import { currentUid } from "./cache.ts";
import { acquireLock, type Lock, lockDirectory, lockOwnDirectory } from "./lock.ts";

/**
 * Names of mkvenv's helper entries. Fixed, not unique: they are only used under the target's
 * lock, so one that exists when the lock is taken was left by a killed mkvenv.
 */
const STAGE = ".mkvenv-stage";
const TRASH = ".mkvenv-trash";
/**
 * The trash of a commit being undone: renamed from the trash before anything of the undo
 * happens, so a run killed in the middle leaves a name the next run finishes the undo from
 * (the trash alone is a finished build's, and is removed).
 */
const UNDO = ".mkvenv-undo";
/**
 * What the build being undone had moved in (paths relative to the venv, as JSON), written
 * before the trash becomes the undo and removed once those paths are gone, before anything is
 * put back: a run that finishes a killed undo and finds it removes exactly those paths, and one
 * that does not find it removes nothing (what is in the way then goes to .mkvenv-kept).
 */
const UNDO_LIST = ".mkvenv-undo-list";
/** The new `pyvenv.cfg`, set aside while the other entries move in: the commit point. */
const STAGED_CFG = ".mkvenv-cfg";
/** A copy on its way across file systems (into a directory that is a link to another disk). */
const CROSSING = ".mkvenv-tmp";
const OWN_ENTRY = /^\.mkvenv-(?:stage|trash|undo(?:-list)?|cfg|tmp|[0-9a-f]{16}(?:\.lock)?)$/;

export { checkpoint, onInterrupt, runInterruptCleanups } from "./interrupt.ts";

/** Remove a tree without following links. */
export function removeTree(path: string): void {
  const st = lstatOrNull(path);
  if (st === null) return;
  Deno.removeSync(path, { recursive: st.isDirectory });
}

/** A 64-bit FNV-1a hash of `text`'s UTF-8 bytes, as 16 hex digits. */
function hash16(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

/** The sibling staging directory of a new venv: `.mkvenv-` and a hash of the target's name. */
function siblingStage(envDir: string): string {
  return join(dirname(envDir), `.mkvenv-${hash16(basename(envDir))}`);
}

/**
 * Every helper path a build of `envDir` may leave after a kill: the sibling stage of a new venv,
 * and, inside an existing directory, the stage, the trash and the set-aside `pyvenv.cfg`.
 */
export function helperPaths(envDir: string): string[] {
  return [
    siblingStage(envDir),
    ...[STAGE, TRASH, UNDO, UNDO_LIST, STAGED_CFG].map((name) => join(envDir, name)),
  ];
}

/** Whether `name` is a helper entry of mkvenv's (stage, trash, staged cfg, lock). */
export function isOwnEntry(name: string): boolean {
  return OWN_ENTRY.test(name);
}

/** The locked target of a build. */
export interface Target {
  /** Whether the directory existed before this run (else this run made it, empty). */
  readonly existed: boolean;
  /** Release the lock; a directory this run made and did not fill is removed. */
  release(): void;
}

interface TargetState extends Target {
  locks: Lock[];
  committed: boolean;
}

function isEmptyDir(path: string): boolean {
  for (const _ of Deno.readDirSync(path)) return false;
  return true;
}

function refuseNonDirectory(envDir: string, st: Deno.FileInfo): BuildError {
  return new BuildError(
    `Cannot create a virtual environment in ${q(envDir)}: it exists and is ${
      kindOf(st)
    }; remove it or choose another ENV_DIR`,
  );
}

/**
 * Lock the target `envDir`, waiting while another mkvenv builds it; a target that does not
 * exist is made (empty) and locked. Its parent must exist. Throws `BuildError` when the target
 * is not a directory, cannot be made, or the wait times out.
 */
export async function lockTarget(
  envDir: string,
  options: {
    log?: (line: string) => void;
    /** The caller has just made `envDir` (empty) with `Deno.mkdirSync`: it is claimed as made. */
    made?: boolean;
  },
): Promise<Target> {
  const lockOptions = { what: envDir, ...(options.log ? { log: options.log } : {}) };
  const lstatTarget = () => {
    try {
      return lstatOrNull(envDir);
    } catch (e: unknown) {
      throw osError(`Cannot create a virtual environment in ${q(envDir)}`, e);
    }
  };
  if (Deno.build.os === "windows") {
    // No descriptor for a directory: a lock file beside it, with a short name.
    const lock = await acquireLock(`${siblingStage(envDir)}.lock`, lockOptions);
    const st = lstatTarget();
    if (st !== null && !(st.isDirectory && !st.isSymlink)) {
      lock.release();
      throw refuseNonDirectory(envDir, st);
    }
    return targetState(envDir, st !== null, false, [lock]);
  }
  let made = options.made === true;
  for (;; made = false) {
    const st = made ? null : lstatTarget();
    if (st !== null && !(st.isDirectory && !st.isSymlink)) throw refuseNonDirectory(envDir, st);
    if (st === null && !made) {
      try {
        Deno.mkdirSync(envDir);
        made = true;
      } catch (e: unknown) {
        if (e instanceof Deno.errors.AlreadyExists) continue;
        throw osError(`Cannot create a virtual environment in ${q(envDir)}`, e);
      }
    }
    let lock: Lock | null;
    try {
      lock = await lockDirectory(envDir, lockOptions);
    } catch (e: unknown) {
      // What this run made, it takes back: a failed lock leaves no empty ENV_DIR.
      if (made) removeIfEmpty(envDir);
      throw e;
    }
    if (lock === null) continue;
    // Another run may have locked the directory we made first, and filled it.
    const claimed = made && isEmptyDir(envDir);
    return targetState(envDir, !claimed, claimed, [lock]);
  }
}

function removeIfEmpty(dir: string): void {
  try {
    Deno.removeSync(dir); // fails on a directory that is not empty
  } catch {
    // not empty, or gone
  }
}

function targetState(envDir: string, existed: boolean, claimed: boolean, locks: Lock[]) {
  const state: TargetState = {
    existed,
    locks,
    committed: false,
    release() {
      if (claimed && !state.committed) removeIfEmpty(envDir);
      for (const lock of state.locks.splice(0).reverse()) lock.release();
    },
  };
  return state;
}

function leftBehind(what: string, log?: (line: string) => void): void {
  log?.(`${what}, left by an interrupted mkvenv`);
}

/**
 * Remove the sibling stage of `envDir`, which a killed build of a new venv leaves. One that
 * cannot be removed (another user's, in a sticky directory such as /tmp) stays: the stage goes
 * inside the target instead (createStage), so a planted name cannot stop the build.
 */
function recoverSibling(envDir: string, log?: (line: string) => void): void {
  const sibling = siblingStage(envDir);
  const st = lstatOrNull(sibling);
  if (st === null) return;
  if (!isOwn(st)) {
    log?.(`${sibling} belongs to another user: staging inside`);
    return;
  }
  leftBehind(`removing ${sibling}`, log);
  try {
    removeTree(sibling);
  } catch (e: unknown) {
    log?.(`cannot remove ${sibling} (${osError("", e).message.slice(2)}): staging inside`);
  }
}

/**
 * Put right what a killed mkvenv left for `envDir`: remove a sibling stage; inside an existing
 * directory, finish a commit that passed its commit point, or undo one that did not, then
 * remove the stage and trash. Call only while holding the target's lock. A target this run
 * made (`claimed`) holds nothing, and its sibling stage is seen to when the stage is made
 * (createStage): nothing to look at, and no failed system call, which costs a thrown error in
 * Deno. Throws `BuildError` when a leftover cannot be removed.
 */
export function recoverLeftovers(
  envDir: string,
  options: {
    claimed: boolean;
    log?: (line: string) => void;
    warn?: (line: string) => void;
    /**
     * The first entry of a directory that no build stages (lib/venv/foreign_entries.ts), or
     * null: a stage holding one is not removed, it is no leftover of mkvenv's.
     */
    foreign?: (dir: string) => string | null;
  },
): void {
  if (options.claimed) return;
  const { log, warn } = options;
  const say = (what: string) => leftBehind(what, log);
  let current = siblingStage(envDir);
  try {
    recoverSibling(envDir, log);
    const stage = join(envDir, STAGE);
    const trash = join(envDir, TRASH);
    const stagedCfg = join(envDir, STAGED_CFG);
    current = envDir;
    // A stage holding what no build stages is not a killed run's: nothing is moved or removed.
    const strange = isRealDir(stage) ? options.foreign?.(stage) ?? null : null;
    if (strange !== null) {
      throw new BuildError(
        `Refusing to use ${q(stage)}, a name mkvenv keeps for its stage: it holds ${
          q(strange)
        }, which mkvenv does not stage; move it out of ${q(envDir)} and run again`,
      );
    }
    const undo = join(envDir, UNDO);
    const undoList = join(envDir, UNDO_LIST);
    for (const path of [undo, undoList]) {
      const st = lstatOrNull(path);
      if (st !== null && !isOwn(st)) {
        throw new BuildError(
          `Refusing to use ${q(path)}, a name mkvenv keeps for undoing a build: another user ` +
            `made it; move it out of ${q(envDir)} and run again`,
        );
      }
    }
    // Only what mkvenv makes is acted on: a link at one of these names is removed, not followed.
    // A list beside the trash: an undo was starting (killed before the trash became the undo).
    if (isRealDir(undo) || (isRealFile(undoList) && isRealDir(trash))) {
      say(`finishing the undo of a build of ${envDir}`);
      current = undo;
      if (!isRealDir(undo)) Deno.renameSync(trash, undo);
      if (isRealFile(stagedCfg)) removeTree(stagedCfg);
      // The undo removes the new pyvenv.cfg right after the rename, and puts the old one back
      // last: one the undo still holds means the one in place (if any) is the new one.
      if (lstatOrNull(join(undo, "pyvenv.cfg")) !== null) removeTree(join(envDir, "pyvenv.cfg"));
      const listed = isRealFile(undoList) ? movedIn(undoList, warn) : [];
      putBack(undo, envDir, listed.map((rel) => join(envDir, rel)), warn, (what) => what());
    } else if (isRealFile(stagedCfg)) {
      say(`completing the commit into ${envDir}`);
      const moves: Moves = { envDir, trash, moved: [], warn: log };
      try {
        if (isRealDir(stage)) moveInto(stage, envDir, "", moves);
        moves.at = join(envDir, "pyvenv.cfg");
        Deno.renameSync(stagedCfg, moves.at);
      } catch (e: unknown) {
        if (e instanceof BuildError || moves.at === undefined) throw e;
        const why = osError("", e).message.slice(2);
        throw new BuildError(
          `Cannot finish the commit an interrupted mkvenv left in ${q(envDir)}: ${
            q(moves.at)
          } cannot be put in place (${why}); make ${q(dirname(moves.at))} writable and run ` +
            `mkvenv again`,
          { cause: e },
        );
      }
    } else if (isRealDir(stage) && isRealFile(join(stage, "pyvenv.cfg")) && isRealDir(trash)) {
      say(`undoing the commit into ${envDir}`);
      restoreTree(trash, envDir, "pyvenv.cfg");
      keepWhatRemains(trash, warn);
    }
    for (const path of [stage, trash, undo, undoList, stagedCfg]) {
      if (lstatOrNull(path) === null) continue;
      say(`removing ${path}`);
      current = path;
      removeTree(path);
    }
  } catch (e: unknown) {
    if (e instanceof BuildError) throw e;
    const why = osError("", e).message.slice(2);
    throw new BuildError(
      `Cannot clean up ${q(current)}, left by an interrupted mkvenv: ${why}; remove it (or ask ` +
        `its owner to) and run mkvenv again`,
      { cause: e },
    );
  }
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

/**
 * Create the staging directory for `envDir`: inside it when it `existing`, else beside it (a
 * killed build's stage there is removed first; a name still taken after that means staging
 * inside the empty target). Throws `BuildError` if it cannot be made.
 */
export function createStage(
  envDir: string,
  options: { existing: boolean; log?: (line: string) => void },
): Stage {
  const makeStage = (root: string): boolean => {
    try {
      Deno.mkdirSync(root, { mode: 0o777 });
      return true;
    } catch (e: unknown) {
      if (e instanceof Deno.errors.AlreadyExists && root === siblingStage(envDir)) return false;
      throw osError(`Cannot create a virtual environment in ${q(envDir)}`, e);
    }
  };
  const sibling = siblingStage(envDir);
  let intoExisting = options.existing;
  if (!intoExisting && !makeStage(sibling)) {
    recoverSibling(envDir, options.log);
    intoExisting = !makeStage(sibling);
  }
  const root = intoExisting ? join(envDir, STAGE) : sibling;
  if (intoExisting) makeStage(root);
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

/**
 * The failure `e` of a build staged in `root`, its paths named as the venv's: a user knows
 * `env/lib/...`, not the hidden directory it was being built in (`root` ends up as `envDir`).
 * A file-system error Deno threw becomes the `BuildError` main.ts would have made of it.
 */
export function namedAsVenv(e: unknown, root: string, envDir: string): unknown {
  const error = e instanceof BuildError ? e : environmentError(e);
  // A subclass of BuildError carries more than its text: leave it as it is.
  if (error === null || error.constructor !== BuildError) return e;
  const named = (text: string) => namedInText(text, root, envDir);
  const message = named(error.message);
  const detail = error.detail === undefined ? undefined : named(error.detail);
  if (message === error.message && detail === error.detail) return error;
  return new BuildError(message, {
    cause: error.cause ?? e,
    ...(detail === undefined ? {} : { detail }),
  });
}

/**
 * `text` with the path `root` as `envDir`: inside a JSON string (as q() writes a path, a
 * Windows path's backslashes doubled) in that form, elsewhere as written. Where the two forms
 * of `root` differ (a `"` or a backslash in it), each is found by its own form; where they are
 * the same, by whether it stands inside a quoted string, so a `"` in `envDir` is escaped there
 * only.
 */
function namedInText(text: string, root: string, envDir: string): string {
  const quotedRoot = q(root).slice(1, -1);
  const quotedEnv = q(envDir).slice(1, -1);
  if (quotedRoot !== root) return swapPath(swapPath(text, quotedRoot, quotedEnv), root, envDir);
  let out = "";
  let done = 0;
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"/g)) {
    out += swapPath(text.slice(done, m.index), root, envDir) + swapPath(m[0], root, quotedEnv);
    done = m.index + m[0].length;
  }
  return out + swapPath(text.slice(done), root, envDir);
}

/** `text` with the path `from` as `to`, where no character of a longer name follows it. */
function swapPath(text: string, from: string, to: string): string {
  let out = "";
  let done = 0;
  for (let at = text.indexOf(from); at !== -1; at = text.indexOf(from, done)) {
    const next = text[at + from.length];
    out += text.slice(done, at) + (next === undefined || !/[\w.-]/.test(next) ? to : from);
    done = at + from.length;
  }
  return out + text.slice(done);
}

function dirOrOther(st: Deno.FileInfo): "dir" | "other" {
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
      if (dirOrOther(staged) === "dir" && dirOrOther(target) === "dir") walk(child);
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

/** Whether `path` is a directory or a link to one (the user's `lib` on another disk). */
function reachesDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** The state of one commit's moves. */
interface Moves {
  envDir: string;
  trash: string;
  /** Paths moved into the venv, in order (undone in reverse on failure). */
  moved: string[];
  /** The path being moved into place now (named when the move fails). */
  at?: string;
  warn: ((line: string) => void) | undefined;
}

/**
 * What to do with the staged entry `src` where `dst` exists: merge a directory into the user's
 * directory (or link to one); keep the user's directory (or link to one) where the stage has a
 * file or link, dropping the staged entry with a warning; replace a file or link. A staged
 * directory where the user has a file is refused.
 */
function settle(
  src: string,
  dst: string,
  target: Deno.FileInfo,
  moves: Moves,
): "merge" | "kept" | "replace" {
  const staged = Deno.lstatSync(src);
  const userDir = reachesDirectory(dst);
  if (dirOrOther(staged) === "dir") {
    if (userDir) return "merge";
    throw new BuildError(
      `Cannot build into ${q(moves.envDir)}: ${q(dst)} is ${
        kindOf(target)
      } where the virtual environment needs a directory; move it away and run again`,
    );
  }
  if (!userDir || sameLink(staged, src, target, dst)) return "replace";
  moves.warn?.(
    `kept ${q(dst)}: it is ${kindOf(target)}${
      target.isSymlink ? " to a directory" : ""
    } where mkvenv would put ${staged.isSymlink ? "a symbolic link" : "a file"}`,
  );
  removeTree(src);
  return "kept";
}

function sameLink(a: Deno.FileInfo, aPath: string, b: Deno.FileInfo, bPath: string): boolean {
  return a.isSymlink && b.isSymlink && Deno.readLinkSync(aPath) === Deno.readLinkSync(bPath);
}

/** Settle every disagreement between the stage and `envDir` before anything moves. */
function settleDisagreements(from: string, to: string, moves: Moves): void {
  for (const entry of Deno.readDirSync(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const target = lstatOrNull(dst);
    if (target !== null && settle(src, dst, target, moves) === "merge") {
      settleDisagreements(src, dst, moves);
    }
  }
}

/**
 * Move `src` to `dst` (replacing a file there). Across file systems (a directory of the venv
 * that is a link to another disk) the entry is copied beside `dst`, then renamed over it.
 */
function moveEntry(src: string, dst: string): void {
  try {
    Deno.renameSync(src, dst);
    return;
  } catch (e: unknown) {
    if ((e as { code?: string }).code !== "EXDEV") throw e;
  }
  const crossing = join(dirname(dst), CROSSING);
  removeTree(crossing);
  copyTree(src, crossing);
  Deno.renameSync(crossing, dst);
  removeTree(src);
}

/** Copy a tree, links as links, keeping modes and modification times. */
function copyTree(src: string, dst: string): void {
  const st = Deno.lstatSync(src);
  if (st.isSymlink) Deno.symlinkSync(Deno.readLinkSync(src), dst);
  else if (st.isDirectory) {
    Deno.mkdirSync(dst);
    for (const entry of Deno.readDirSync(src)) {
      copyTree(join(src, entry.name), join(dst, entry.name));
    }
    if (st.mode !== null) Deno.chmodSync(dst, st.mode & 0o7777);
  } else {
    Deno.copyFileSync(src, dst);
    if (st.mtime !== null) Deno.utimeSync(dst, st.atime ?? st.mtime, st.mtime);
  }
}

/**
 * Move the entries of `from` into `to` (relative path `rel` of the venv), merging into
 * directories; what a move replaces goes into the trash first. Staged entries that disagree
 * with the disk were settled before (`settleDisagreements`); one that disagrees now (the
 * recovery of a killed commit) is settled the same way.
 */
function moveInto(from: string, to: string, rel: string, moves: Moves): void {
  for (const entry of Deno.readDirSync(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const child = rel === "" ? entry.name : join(rel, entry.name);
    moves.at = dst;
    const target = lstatOrNull(dst);
    if (target !== null) {
      const action = settle(src, dst, target, moves);
      if (action === "merge") moveInto(src, dst, child, moves);
      if (action !== "replace") continue;
      const aside = join(moves.trash, child);
      Deno.mkdirSync(dirname(aside), { recursive: true });
      try {
        Deno.renameSync(dst, aside);
      } catch (e: unknown) {
        // Across file systems the new entry replaces the old one in one rename, unkept.
        if ((e as { code?: string }).code !== "EXDEV") throw e;
      }
    }
    moveEntry(src, dst);
    moves.moved.push(dst);
  }
}

/**
 * Move what the trash holds back into `envDir`, merging into directories that exist; the
 * entry called `last`, if any, goes back last.
 */
function restoreTree(from: string, to: string, last?: string): void {
  const names = [...Deno.readDirSync(from)].map((entry) => entry.name);
  if (last !== undefined && names.includes(last)) {
    names.push(...names.splice(names.indexOf(last), 1));
  }
  for (const name of names) {
    const src = join(from, name);
    const dst = join(to, name);
    const target = lstatOrNull(dst);
    try {
      if (target === null) moveEntry(src, dst);
      else if (Deno.lstatSync(src).isDirectory && reachesDirectory(dst)) restoreTree(src, dst);
    } catch {
      // best effort: what cannot go back stays in the trash
    }
  }
}

/** A committed venv whose build is not over yet: until `finish`, it can still be undone. */
export interface Commit {
  /**
   * Undo the commit (for a step after it that failed): a new venv is removed; an existing
   * directory loses `pyvenv.cfg` first, then what the commit moved in (with `clear`: every
   * entry), and gets back what the trash holds, its old `pyvenv.cfg` last. Best effort: what
   * cannot go back stays in the trash.
   */
  undo(): void;
  /** The trash directory: what the commit replaced or (with `clear`) removed; or null. */
  readonly aside: string | null;
  /** The build is over: remove the trash. */
  finish(): void;
}

/**
 * Commit a complete stage as the venv at `envDir`, `pyvenv.cfg` last. With `clear`, the old
 * entries of `envDir` are moved aside first. A failure puts back what was there. What the
 * commit replaced stays in the trash until the returned `Commit` is finished (or undone).
 * Throws `BuildError`.
 */
export function commitStage(
  stage: Stage,
  envDir: string,
  options: {
    clear: boolean;
    target: Target;
    warn?: (line: string) => void;
    /** Entries of `envDir` to remove with the commit (an outdated pip's files), kept on failure. */
    retire?: readonly string[];
  },
): Commit {
  const target = options.target as TargetState;
  if (!stage.intoExisting) {
    // The lock moves with the stage: a run waiting for the target then waits for this one.
    const stageLock = Deno.build.os === "windows" ? null : lockOwnDirectory(stage.root);
    if (stageLock !== null) target.locks.push(stageLock);
    try {
      Deno.renameSync(stage.root, envDir);
      target.committed = true;
      return { undo: () => removeTree(envDir), aside: null, finish: () => {} };
    } catch (e: unknown) {
      throw osError(`Cannot move the new virtual environment into ${q(envDir)}`, e);
    }
  }
  const trash = join(envDir, TRASH);
  const stagedCfg = join(envDir, STAGED_CFG);
  const moves: Moves = { envDir, trash, moved: [], warn: options.warn };
  let started = false;
  try {
    if (!options.clear) {
      settleDisagreements(stage.root, envDir, moves);
      for (const name of REWRITTEN_IN_PLACE) keepMode(join(stage.root, name), join(envDir, name));
    }
    Deno.mkdirSync(trash);
    started = true;
    if (options.clear) {
      for (const entry of Deno.readDirSync(envDir)) {
        if (isOwnEntry(entry.name)) continue;
        Deno.renameSync(join(envDir, entry.name), join(trash, entry.name));
      }
    } else if (lstatOrNull(join(envDir, "pyvenv.cfg")) !== null) {
      Deno.renameSync(join(envDir, "pyvenv.cfg"), join(trash, "pyvenv.cfg"));
    }
    for (const path of options.retire ?? []) {
      const rel = path.slice(envDir.length + 1);
      if (!path.startsWith(envDir + sep) || rel === "" || lstatOrNull(path) === null) continue;
      Deno.mkdirSync(dirname(join(trash, rel)), { recursive: true });
      Deno.renameSync(path, join(trash, rel));
    }
    Deno.renameSync(join(stage.root, "pyvenv.cfg"), stagedCfg);
    moveInto(stage.root, envDir, "", moves);
    Deno.renameSync(stagedCfg, join(envDir, "pyvenv.cfg"));
  } catch (e: unknown) {
    if (started) rollBack(moves, stagedCfg);
    throw e instanceof BuildError
      ? e
      : osError(`Cannot commit the virtual environment ${q(envDir)}`, e);
  } finally {
    removeTree(stage.root);
  }
  return {
    undo: () => undoCommit(moves, options.clear),
    aside: trash,
    finish: () => finishCommit(trash, options.warn),
  };
}

/**
 * `Commit.finish`: the build is over and the trash goes. What cannot be removed (a read-only
 * directory among the old files) is kept where no later run's cleanup looks, with a warning:
 * the new venv is in place and complete either way.
 */
function finishCommit(trash: string, warn?: (line: string) => void): void {
  try {
    removeTree(trash);
  } catch (e: unknown) {
    const why = osError("", e).message.slice(2);
    keepWhatRemains(
      trash,
      warn,
      (kept) =>
        `the virtual environment is built, but its old files could not all be removed (${why}); ` +
        `they are in ${q(kept)}: remove them yourself`,
    );
  }
}

/**
 * Before an undo changes anything: write what the build moved in (`movedIn`, full paths) to
 * UNDO_LIST, then rename the trash to UNDO (see both). Returns the name the undo works from.
 */
function startUndo(moves: Moves, movedIn: readonly string[]): string {
  const { envDir } = moves;
  const undo = join(envDir, UNDO);
  const list = join(envDir, UNDO_LIST);
  try {
    removeTree(list);
    const rels = movedIn.map((path) => path.slice(envDir.length + 1));
    Deno.writeTextFileSync(list, JSON.stringify(rels), { createNew: true, mode: 0o600 });
  } catch {
    // A full disk: no list, or none whole. Without one, a run finishing this undo after a kill
    // removes nothing and puts back what nothing blocks (the rest goes to .mkvenv-kept).
    try {
      removeTree(list);
    } catch {
      // a list cut short does not parse, and is not used
    }
  }
  try {
    Deno.renameSync(moves.trash, undo);
    return undo;
  } catch {
    return moves.trash; // best effort: the undo goes on from the trash
  }
}

/**
 * The paths an undo's list names (relative, inside the venv), or none, with a warning, when it
 * cannot be read whole or holds anything else: the undo then puts back only what nothing blocks.
 */
function movedIn(list: string, warn?: (line: string) => void): string[] {
  const fail = (why: string): string[] => {
    warn?.(`${q(list)} ${why}: what the interrupted build had moved in stays`);
    return [];
  };
  let rels: unknown;
  try {
    rels = JSON.parse(new TextDecoder().decode(readRegularFile(list, { limit: 64 << 20 }).bytes));
  } catch {
    return fail("cannot be read");
  }
  const inside = (rel: unknown): rel is string =>
    typeof rel === "string" && rel !== "" && !rel.includes("\0") && !rel.startsWith("/") &&
    rel.split(/[\\/]/).every((part) => part !== "" && part !== "." && part !== "..");
  if (!Array.isArray(rels) || !rels.every(inside)) return fail("is not an undo's list");
  return rels;
}

/** Run `what`, best effort: what cannot go back stays in the trash. */
function attempt(what: () => void): void {
  try {
    what();
  } catch {
    // best effort
  }
}

/**
 * The undo proper, shared by the undo of a commit, of a failed commit and the run finishing a
 * killed one: what the build moved in goes (`movedIn`, full paths), then UNDO_LIST, and only
 * then do the entries of `from` go back, pyvenv.cfg last; what cannot go back is kept. `step`
 * runs each removal and the putting back (best effort in a build, throwing in a recovery). A
 * list that cannot be removed stops the undo before anything goes back: a later run, finding
 * it, would remove what went back.
 */
function putBack(
  from: string,
  envDir: string,
  movedIn: readonly string[],
  warn: ((line: string) => void) | undefined,
  step: (what: () => void) => void,
): void {
  for (const path of movedIn) step(() => removeTree(path));
  removeTree(join(envDir, UNDO_LIST));
  step(() => restoreTree(from, envDir, "pyvenv.cfg"));
  step(() => keepWhatRemains(from, warn));
}

/** `Commit.undo` for a commit into an existing directory. */
function undoCommit(moves: Moves, clear: boolean): void {
  const { envDir } = moves;
  // With `clear`, every entry now in envDir came with the commit, or from a step after it.
  const movedIn = clear
    ? [...Deno.readDirSync(envDir)].filter((e) => !isOwnEntry(e.name)).map((e) =>
      join(envDir, e.name)
    )
    : [...moves.moved].reverse();
  const trash = startUndo(moves, movedIn);
  attempt(() => removeTree(join(envDir, "pyvenv.cfg")));
  attempt(() => putBack(trash, envDir, movedIn, moves.warn, attempt));
}

/** Undo a failed commit: remove what was moved in, put back what the trash holds. */
function rollBack(moves: Moves, stagedCfg: string): void {
  const movedIn = [...moves.moved].reverse();
  const trash = startUndo(moves, movedIn);
  attempt(() => removeTree(stagedCfg));
  attempt(() => putBack(trash, moves.envDir, movedIn, moves.warn, attempt));
}

/** A name no cleanup removes, for what an undo could not put back. */
const KEPT = ".mkvenv-kept";

/** Whether `name` is one under which mkvenv kept old files (`.mkvenv-kept`, `-2`, ...). */
export function isKeptEntry(name: string): boolean {
  return name === KEPT ||
    (name.startsWith(`${KEPT}-`) && /^\d+$/.test(name.slice(KEPT.length + 1)));
}

/**
 * After an undo: an empty trash goes; one still holding entries (the user's old files that could
 * not go back) is renamed where no later run's cleanup removes it, and named in a warning.
 */
function keepWhatRemains(
  trash: string,
  warn?: (line: string) => void,
  say = (kept: string) =>
    `could not put back everything the commit had moved aside; it is in ${q(kept)}`,
): void {
  if (lstatOrNull(trash) === null) return;
  if (isEmptyTree(trash)) {
    removeTree(trash);
    return;
  }
  let kept = join(dirname(trash), KEPT);
  for (let n = 2; lstatOrNull(kept) !== null; n++) kept = join(dirname(trash), `${KEPT}-${n}`);
  Deno.renameSync(trash, kept);
  warn?.(say(kept));
}

/** Whether the running user owns the entry (always, where the system has no user ids). */
function isOwn(st: Deno.FileInfo): boolean {
  const uid = currentUid();
  return uid === null || st.uid === null || st.uid === uid;
}

function isRealDir(path: string): boolean {
  const st = lstatOrNull(path);
  return st !== null && st.isDirectory && !st.isSymlink;
}

function isRealFile(path: string): boolean {
  return lstatOrNull(path)?.isFile === true;
}

/** Whether `dir` holds only (empty) directories. */
function isEmptyTree(dir: string): boolean {
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isDirectory || entry.isSymlink || !isEmptyTree(join(dir, entry.name))) return false;
  }
  return true;
}
