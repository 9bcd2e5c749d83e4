/**
 * The machine as interpreter discovery sees it (`DiscoveryHost`: files, environment, commands,
 * the cached probe), the Deno-backed default, and the state one search shares. Tests replace the
 * host to run Windows discovery on any OS.
 */
import { type PathApi, posix, win32 } from "../disk/paths.ts";
import { type InterpreterInfo, type Platform, runProbe } from "./interpreter.ts";
import { cachedBaseFacts, probeCached } from "./interpreter_cache.ts";
import { currentDir, envVar } from "../disk/process_env.ts";
import { fsReason, readRegularFileAsync } from "../disk/disk.ts";
import { currentUid } from "../disk/cache.ts";
import { q } from "../errors.ts";

/** What discovery needs from the machine; the default uses Deno, tests may fake it. */
export interface DiscoveryHost {
  os: Platform;
  cwd: string;
  env(name: string): string | undefined;
  /** Follows links; null when nothing is there. */
  stat(
    path: string,
  ): Promise<{ isFile: boolean; isDirectory: boolean; executable: boolean } | null>;
  /** Why `stat(path)` found nothing, for a message: `no such file` unless the host knows more. */
  whyMissing?(path: string): string;
  /** Entry names, or null when `path` is not a readable directory. */
  readDir(path: string): Promise<string[] | null>;
  /**
   * At most `limit` bytes of the regular file as text, or null when it cannot be read. With
   * `mine`, a file another user left in a directory they do not own (`/tmp/.python-version`)
   * is not read either: it is found by looking upward and may name a program to run. A
   * warning says so.
   */
  readText(path: string, limit: number, options?: { mine?: boolean }): Promise<string | null>;
  /** The path with links resolved, or `path` itself when that fails. */
  realPath(path: string): Promise<string>;
  /** Run a command; its stdout when it exits 0, else null. */
  run(command: string, args: readonly string[]): Promise<string | null>;
  /**
   * The interpreter's facts; `cache: false` for shims, `base: true` once `path` is known to be
   * a base interpreter (not a shim, not in a venv). Throws `BuildError` as `runProbe`.
   */
  probe(path: string, options: { cache: boolean; base?: boolean }): Promise<InterpreterInfo>;
  /**
   * The facts of `path` when an earlier `probe(path, { base: true })` is still current, so
   * `path` need not be followed again; null otherwise.
   */
  cachedBase?(path: string): Promise<InterpreterInfo | null>;
}

/** Where the default host looks and logs. */
export interface HostOptions {
  cwd?: string;
  env?: (name: string) => string | undefined;
  /** The cache root; `null` disables the cache. Default: `cacheRoot()`. */
  cacheDir?: string | null;
  log?: (line: string) => void;
  /** Shows a warning to the user (a version file that is not read). */
  warn?: (line: string) => void;
}

function platformOf(os: typeof Deno.build.os): Platform {
  return os === "windows" ? "windows" : os === "darwin" ? "darwin" : "linux";
}

/**
 * Why a version file found by looking upward is not followed: it, or a link on the way to it
 * (the file itself, a link to it, a link within a link's target), belongs to another user who
 * does not own the directory it is in (one left in /tmp); null when it may be followed (this
 * user's or root's, or its directory's owner's: a workspace of theirs this user works in, as a
 * root container building a bind-mounted checkout does). The path is resolved one name at a
 * time, each link judged, before the file is opened. Throws what `lstat` throws.
 */
function foreignOwner(path: string): string | null {
  const me = currentUid();
  if (me === null) return null;
  // Looking upward, most places have no such file: one failed lstat, not a walk from the root.
  Deno.lstatSync(path);
  const judge = (entry: string, st: Deno.FileInfo, what: string): string | null => {
    const uid = st.uid;
    if (uid === null || uid === me || uid === 0) return null;
    const dir = posix.dirname(entry);
    let owner: number | null = null;
    try {
      owner = Deno.statSync(dir).uid;
    } catch {
      // no owner to compare with
    }
    return owner === uid ? null : `${what} belongs to user ${uid}, who does not own ${q(dir)}`;
  };
  // The names still to walk, and the directory reached so far (already judged, links resolved).
  let pending = posix.resolve(path).split("/").filter((n) => n !== "");
  let reached = "/";
  for (let links = 0; pending.length > 0;) {
    const name = pending.shift()!;
    const entry = name === ".." ? posix.dirname(reached) : posix.join(reached, name);
    if (name === "." || name === "..") {
      reached = entry;
      continue;
    }
    const st = Deno.lstatSync(entry);
    const last = pending.length === 0;
    if (!st.isSymlink) {
      if (last) return judge(entry, st, entry === posix.resolve(path) ? "it" : q(entry));
      reached = entry;
      continue;
    }
    const why = judge(entry, st, `the link ${q(entry)}`);
    if (why !== null) return why;
    if (++links > 40) return null; // a loop: the open fails, there is nothing to judge
    const target = Deno.readLinkSync(entry);
    pending = [...target.split("/").filter((n) => n !== ""), ...pending];
    if (target.startsWith("/")) reached = "/";
  }
  return null;
}

/** The host backed by Deno: real files, real subprocesses, the probe cache. */
export function denoHost(options: HostOptions = {}): DiscoveryHost {
  const probeOptions = {
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.log === undefined ? {} : { log: options.log }),
  };
  const os = platformOf(Deno.build.os);
  const warned = new Set<string>();
  return {
    os,
    cwd: options.cwd ?? currentDir() ?? "/",
    env: options.env ?? envVar,
    // The file operations are synchronous on purpose: each asynchronous one is a round trip
    // through Deno's thread pool, and discovery for an explicit path makes about eight.
    stat(path) {
      try {
        const st = Deno.statSync(path);
        const executable = st.isFile && (os === "windows" || ((st.mode ?? 0o111) & 0o111) !== 0);
        return Promise.resolve({ isFile: st.isFile, isDirectory: st.isDirectory, executable });
      } catch {
        return Promise.resolve(null);
      }
    },
    whyMissing(path) {
      try {
        Deno.statSync(path);
        return "no such file";
      } catch (e: unknown) {
        return e instanceof Deno.errors.PermissionDenied
          ? "permission denied (a directory on the way is closed to this user)"
          : e instanceof Deno.errors.NotFound
          ? "no such file"
          : fsReason(e);
      }
    },
    readDir(path) {
      // Synchronous on purpose: a PATH directory holds thousands of entries, and the async
      // iterator costs one operation per entry (3 ms for /usr/bin against 0.5 ms).
      try {
        return Promise.resolve(Array.from(Deno.readDirSync(path), (entry) => entry.name));
      } catch {
        return Promise.resolve(null);
      }
    },
    async readText(path, limit, { mine = false } = {}) {
      try {
        const owner = mine ? foreignOwner(path) : null;
        if (owner !== null) {
          if (!warned.has(path)) {
            warned.add(path);
            (options.warn ?? options.log)?.(
              `not reading ${q(path)}: ${owner}, and could make mkvenv run a program of ` +
                `theirs; remove it, or choose the interpreter with -p/--python or MKVENV_PYTHON`,
            );
          }
          return null;
        }
        // Off the main thread and given up after a while: a file in a directory another user
        // can write may become a named pipe between the check and the open.
        const { bytes } = await readRegularFileAsync(path, { limit, head: true });
        return new TextDecoder().decode(bytes);
      } catch {
        return null;
      }
    },
    realPath(path) {
      try {
        return Promise.resolve(Deno.realPathSync(path));
      } catch {
        return Promise.resolve(path);
      }
    },
    async run(command, args) {
      try {
        const out = await new Deno.Command(command, {
          args: [...args],
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).output();
        return out.success ? new TextDecoder().decode(out.stdout) : null;
      } catch {
        return null;
      }
    },
    probe(path, { cache, base }) {
      return cache ? probeCached(path, { ...probeOptions, base: base === true }) : runProbe(path);
    },
    cachedBase(path) {
      return Promise.resolve(cachedBaseFacts(path, probeOptions));
    },
  };
}

/** A candidate turned down, with the reason shown under `--verbose` and in the final error. */
export class Rejected extends Error {
  override name = "Rejected";
}

export interface Candidate {
  path: string;
  /** `PATH`, `pyenv`, ... */
  source: string;
}

export interface Source {
  name: string;
  /** How the error message names the place, e.g. `pyenv (/root/.pyenv/versions)`. */
  where: string;
  candidates(): AsyncGenerator<Candidate>;
}

/** Everything one search shares: the host, the log, what was seen and rejected. */
export class Search {
  readonly path: PathApi;
  /** Real paths already checked, to the path they were first seen at. */
  readonly seen = new Map<string, string>();
  readonly rejected: string[] = [];

  constructor(readonly host: DiscoveryHost, readonly log: (line: string) => void) {
    this.path = host.os === "windows" ? win32 : posix;
  }

  home(): string | null {
    return (this.host.os === "windows" ? this.host.env("USERPROFILE") : this.host.env("HOME")) ??
      null;
  }

  pathDirs(): string[] {
    const sep = this.host.os === "windows" ? ";" : ":";
    return (this.host.env("PATH") ?? "").split(sep).filter((d) => d !== "");
  }

  exeName(name: string): string {
    return this.host.os === "windows" ? `${name}.exe` : name;
  }

  async isExecutable(path: string): Promise<boolean> {
    return (await this.host.stat(path))?.executable ?? false;
  }

  /** The first executable called `name` in `dirs` (default: PATH). */
  async which(name: string, dirs: readonly string[] = this.pathDirs()): Promise<string | null> {
    for (const dir of dirs) {
      const candidate = this.path.join(dir, this.exeName(name));
      if (await this.isExecutable(candidate)) return candidate;
    }
    return null;
  }

  pyenvRoot(): string | null {
    const explicit = this.host.env("PYENV_ROOT");
    if (explicit) return explicit;
    const home = this.home();
    if (home === null) return null;
    return this.host.os === "windows"
      ? this.path.join(home, ".pyenv", "pyenv-win")
      : this.path.join(home, ".pyenv");
  }

  uvPythonDir(): string | null {
    const explicit = this.host.env("UV_PYTHON_INSTALL_DIR");
    if (explicit) return explicit;
    if (this.host.os === "windows") {
      const appData = this.host.env("APPDATA");
      return appData ? this.path.join(appData, "uv", "data", "python") : null;
    }
    const xdg = this.host.env("XDG_DATA_HOME");
    if (xdg && xdg.startsWith("/")) return this.path.join(xdg, "uv", "python");
    const home = this.home();
    return home === null ? null : this.path.join(home, ".local", "share", "uv", "python");
  }

  /** The nearest file called `name` in `start` or its parents: its path and text. */
  async findUpward(start: string, name: string): Promise<{ file: string; text: string } | null> {
    let dir = this.path.resolve(start);
    for (;;) {
      const file = this.path.join(dir, name);
      const text = await this.host.readText(file, 64 * 1024, { mine: true });
      if (text !== null) return { file, text };
      const parent = this.path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  }
}
