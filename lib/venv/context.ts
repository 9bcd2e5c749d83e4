/**
 * The context of one venv build: what CPython's `EnvBuilder` passes from step to step (its
 * paths, all of them the venv's final paths), mkvenv's interpreter facts, and the one door to
 * the disk a step writes through, `files`, which puts a file meant for a final path into the
 * staging directory until the venv is committed (lib/disk/staging.ts), and at that path after.
 */
import type { InterpreterInfo } from "../discovery/interpreter.ts";
import { copyExecutable, lstatOrNull, osError, replaceFile } from "../disk/disk.ts";
import { removeTree } from "../disk/staging.ts";
import { BuildError, q } from "../errors.ts";
import type { PathApi } from "../disk/paths.ts";
import { pathFor, type VenvLayout } from "./layout.ts";

/**
 * Writing into a venv under construction. Every path is a final path of the venv (inside
 * `envDir`); until the commit it is carried out in the staging directory, so that a step that
 * fails leaves nothing behind. Replacing never writes through an existing link.
 */
export interface VenvFiles {
  /**
   * Where the final path `path` is to be written now: inside the staging directory before the
   * commit, `path` itself after it. Throws `Error` for a path outside the venv.
   */
  stagePath(path: string): string;
  /**
   * Write `data` to `path`, replacing what is there. Without `mode` the file gets
   * 0666 & ~umask (as Python's `open()`), with it exactly `mode`. Throws `BuildError`.
   */
  writeFile(path: string, data: string | Uint8Array, mode?: number): void;
  /** Create the directory `path` and its parents inside the venv. Throws `BuildError`. */
  mkdir(path: string): void;
  /** Make `path` a symbolic link to `target`, replacing what is there. Throws `BuildError`. */
  symlink(target: string, path: string): void;
  /** Copy the file `from` (outside the venv) to `path` as an executable. Throws `BuildError`. */
  copyExecutable(from: string, path: string): void;
  /** Whether anything (a link included) is at `stagePath(path)`. */
  exists(path: string): boolean;
}

/**
 * The context `EnvBuilder.ensureDirectories` returns and every later step receives: CPython's
 * attributes in camelCase, plus mkvenv's facts. Every path is the venv's final, absolute path,
 * in the target platform's syntax; write through `files` to reach it before the commit.
 */
export interface VenvContext {
  /** The venv's directory, absolute, links not resolved. */
  readonly envDir: string;
  /** The last component of `envDir`. */
  readonly envName: string;
  /** The prompt the activation scripts show, bare (without parentheses, as CPython 3.13+). */
  readonly prompt: string;
  /** The base interpreter (`sys._base_executable`). */
  readonly executable: string;
  /** The directory of `executable`. */
  readonly pythonDir: string;
  /** The interpreter's file name in the venv (`python.exe` on Windows from 3.13). */
  readonly pythonExe: string;
  /** The venv's include directory. */
  readonly incPath: string;
  /** The venv's site-packages directory. */
  readonly libPath: string;
  /** The venv's scripts directory (`bin` or `Scripts`). */
  readonly binPath: string;
  /** The name of `binPath` inside `envDir`. */
  readonly binName: string;
  /** The venv's own interpreter. */
  readonly envExe: string;
  /** The command that runs the venv's interpreter (the same path as `envExe`). */
  readonly envExecCmd: string;
  /** The venv's `pyvenv.cfg`. */
  readonly cfgPath: string;
  /** The base interpreter's facts, from mkvenv's probe. */
  readonly interpreter: InterpreterInfo;
  /** The whole computed layout of the venv (lib/venv/layout.ts). */
  readonly layout: VenvLayout;
  /**
   * Whether the venv is committed, that is in place at `envDir` (true in `postSetup` and
   * `upgradeDependencies`, false in the steps before them).
   */
  readonly committed: boolean;
  /** The way to write into the venv, staged until the commit. */
  readonly files: VenvFiles;
}

/** Where a build writes: a function mapping a final path to its place now. */
export type PathMapper = (path: string) => string;

/**
 * The context for `layout` built with `info`; `where` maps a final path to the place it is
 * written now (the stage until the commit), and `committed` tells whether the commit is done.
 */
export function makeContext(
  info: InterpreterInfo,
  layout: VenvLayout,
  where: { map: PathMapper; committed: () => boolean },
): VenvContext {
  const path = pathFor(layout.platform);
  const files = venvFiles(layout.envDir, where.map, path);
  return {
    envDir: layout.envDir,
    envName: layout.envName,
    prompt: layout.prompt,
    executable: info.baseExecutable,
    pythonDir: path.dirname(info.baseExecutable),
    pythonExe: path.basename(layout.envExe),
    incPath: layout.includeDir,
    libPath: layout.purelibDir,
    binPath: layout.binDir,
    binName: layout.binName,
    envExe: layout.envExe,
    envExecCmd: layout.envExe,
    cfgPath: layout.cfgPath,
    interpreter: info,
    layout,
    get committed() {
      return where.committed();
    },
    files,
  };
}

function venvFiles(envDir: string, map: PathMapper, path: PathApi): VenvFiles {
  const at = (given: string) => {
    // Normalised first: "env/../elsewhere" is outside, however it starts.
    const full = path.isAbsolute(given) ? path.normalize(given) : given;
    const inside = full === envDir || full.startsWith(envDir + path.sep);
    if (!inside) throw new Error(`The path ${q(given)} is outside the venv ${q(envDir)}`);
    return map(full);
  };
  // Each write first tries the one call a fresh stage needs, and replaces only on a clash.
  const mkdir = (path: string) => {
    const real = at(path);
    try {
      try {
        Deno.mkdirSync(real);
      } catch (e: unknown) {
        if (e instanceof Deno.errors.NotFound) Deno.mkdirSync(real, { recursive: true });
        else if (!(e instanceof Deno.errors.AlreadyExists && lstatOrNull(real)?.isDirectory)) {
          throw e;
        }
      }
    } catch (e: unknown) {
      throw osError(`Cannot create the directory ${q(path)}`, e);
    }
  };
  const writeFile = (path: string, data: string | Uint8Array, mode?: number) => {
    const real = at(path);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    try {
      Deno.writeFileSync(
        real,
        bytes,
        mode === undefined ? { createNew: true } : {
          mode,
          createNew: true,
        },
      );
      return;
    } catch (e: unknown) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw osError(`Cannot write ${q(path)}`, e);
    }
    try {
      replaceFile(real, bytes, mode);
    } catch (e: unknown) {
      throw osError(`Cannot write ${q(path)}`, e instanceof BuildError ? e.cause : e);
    }
  };
  return {
    stagePath: at,
    writeFile,
    mkdir,
    symlink: (target, path) => {
      const real = at(path);
      try {
        try {
          Deno.symlinkSync(target, real);
        } catch (e: unknown) {
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
          removeTree(real);
          Deno.symlinkSync(target, real);
        }
      } catch (e: unknown) {
        throw osError(`Cannot link ${q(path)} to ${q(target)}`, e);
      }
    },
    copyExecutable: (from, path) => copyExecutable(from, at(path)),
    exists: (path) => lstatOrNull(at(path)) !== null,
  };
}
