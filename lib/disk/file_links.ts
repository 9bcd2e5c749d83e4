/**
 * Placing files from mkvenv's cache into a venv: a hard link (the default: no copy, no extra
 * disk), a copy, or a symbolic link. A hard link that the file system refuses (another device,
 * no support) falls back to a copy, once for the rest of the run.
 */
import { BuildError, errorText, q } from "../errors.ts";
import { fsReason } from "./disk.ts";

/** How cached files are placed into a venv (`--link-mode`). */
export type LinkMode = "hardlink" | "copy" | "symlink";

/** The link modes, in the order `--help` lists them. */
export const LINK_MODES: readonly LinkMode[] = ["hardlink", "copy", "symlink"];

/** Parse a `--link-mode` value, or return null when it is not one of `LINK_MODES`. */
export function parseLinkMode(value: string): LinkMode | null {
  return (LINK_MODES as readonly string[]).includes(value) ? value as LinkMode : null;
}

/**
 * The modes pip gives what it installs under a umask: plain files 0666 & ~umask, executable
 * files (0777 & ~umask) | 0111, console scripts (0666 & ~umask) | 0555 (distlib adds read and
 * execute for everyone).
 */
export interface InstallModes {
  file: number;
  executable: number;
  script: number;
}

/** The modes pip gives under `umask`. */
export function installModes(umask: number): InstallModes {
  return {
    file: 0o666 & ~umask,
    executable: (0o777 & ~umask) | 0o111,
    script: (0o666 & ~umask) | 0o555,
  };
}

/**
 * The modes pip gives under the usual umask 022 (0644, and 0755 for executables). Under this
 * umask cached files are hard-linked, and keep the cache's read-only modes (0444, 0555: see
 * `readOnlyMode` in lib/disk/cache.ts); under another umask they are copied and given
 * `installModes`.
 */
export const CACHED_MODES: InstallModes = installModes(0o022);

/** The process's umask; 022 on Windows, where file modes mean nothing. */
export function processUmask(): number {
  return Deno.build.os === "windows" ? 0o022 : Deno.umask();
}

/** Places files in one mode, remembering a fallback from hard links to copies. */
export class FilePlacer {
  #mode: LinkMode;
  readonly #log: ((line: string) => void) | undefined;
  /** The modes copies get (the cached files are read-only). */
  readonly #modes: InstallModes;

  constructor(mode: LinkMode, log?: (line: string) => void, modes: InstallModes = CACHED_MODES) {
    this.#mode = mode;
    this.#log = log;
    const same = modes.file === CACHED_MODES.file && modes.executable === CACHED_MODES.executable;
    this.#modes = modes;
    if (!same && mode === "hardlink") {
      // A hard link shares the cached file's mode: copy, so each file gets the mode pip gives.
      this.#log?.(`the umask asks for modes ${modes.file.toString(8)}: copying instead of linking`);
      this.#mode = "copy";
    }
  }

  /** The mode in use now (a hard-link run may have fallen back to copies). */
  get mode(): LinkMode {
    return this.#mode;
  }

  /**
   * Place the file `from` at `to` (which must not exist). A copy keeps the modification time,
   * so the cached bytecode stays valid for it. Throws `BuildError` when it cannot.
   */
  place(from: string, to: string): void {
    try {
      this.#placeOnce(from, to);
    } catch (e: unknown) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw placeError(from, to, e);
      // Left by an interrupted earlier seeding: replace it (never write into it: it may be a
      // hard link to a cached file).
      try {
        Deno.removeSync(to);
        this.#placeOnce(from, to);
      } catch (again: unknown) {
        throw placeError(from, to, again);
      }
    }
  }

  /**
   * Place `fromDir + path` at `toDir + path` for each of `paths` from `start` up to `end`, as
   * `place` does; hard links go straight to the system call. Throws `BuildError` when one
   * cannot be placed.
   */
  placeAll(
    fromDir: string,
    toDir: string,
    paths: readonly string[],
    start = 0,
    end = paths.length,
  ): void {
    const stop = Math.min(end, paths.length);
    let i = start;
    if (this.#mode === "hardlink") {
      try {
        for (; i < stop; i++) Deno.linkSync(fromDir + paths[i], toDir + paths[i]);
        return;
      } catch {
        // this one again the slow way, which says why or falls back to copies
      }
    }
    for (; i < stop; i++) this.place(fromDir + paths[i], toDir + paths[i]);
  }

  #placeOnce(from: string, to: string): void {
    if (this.#mode === "hardlink") {
      try {
        Deno.linkSync(from, to);
        return;
      } catch (e: unknown) {
        if (e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotFound) throw e;
        this.#log?.(`hard links from ${from} fail (${errorText(e)}): copying instead`);
        this.#mode = "copy";
      }
    }
    if (this.#mode === "symlink") {
      // A link to nothing would make a venv that looks whole: the cached file must be there.
      if (!Deno.statSync(from).isFile) throw new Deno.errors.NotFound(`${from} is not a file`);
      Deno.symlinkSync(from, to);
      return;
    }
    // Copy to a fresh inode: copying over an existing file would write into it.
    try {
      Deno.lstatSync(to);
      throw new Deno.errors.AlreadyExists(`${to} exists`);
    } catch (e: unknown) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    Deno.copyFileSync(from, to);
    const st = Deno.statSync(from);
    if (Deno.build.os !== "windows") {
      Deno.chmodSync(to, (st.mode ?? 0) & 0o111 ? this.#modes.executable : this.#modes.file);
    }
    if (st.mtime !== null) Deno.utimeSync(to, st.atime ?? st.mtime, st.mtime);
  }
}

function placeError(from: string, to: string, e: unknown): BuildError {
  const why = e instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : e instanceof Deno.errors.AlreadyExists
    ? "the target exists"
    : fsReason(e);
  return new BuildError(`Cannot place ${q(from)} at ${q(to)}: ${why}`, { cause: e });
}
