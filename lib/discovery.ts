/**
 * Finding the base interpreter a request names: a path, or a command on PATH.
 */
import { delimiter, isAbsolute, join, resolve } from "./paths.ts";
import { BuildError, q } from "./errors.ts";
import type { InterpreterInfo } from "./interpreter.ts";
import { probeCached } from "./interpreter_cache.ts";

/** Options for `findInterpreter`. */
export interface FindOptions {
  cwd?: string;
  env?: (name: string) => string | undefined;
  cacheDir?: string | null;
  log?: (line: string) => void;
}

/** The interpreter chosen for a build. */
export interface FoundInterpreter {
  /** The path it was found at (as invoked; not symlink-resolved). */
  path: string;
  info: InterpreterInfo;
}

function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && (Deno.build.os === "windows" || ((st.mode ?? 0o111) & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** The first executable called `name` on `PATH`, or null. */
export function whichOnPath(name: string, pathValue: string | undefined): string | null {
  const exts = Deno.build.os === "windows" ? ["", ".exe", ".bat", ".cmd"] : [""];
  for (const dir of (pathValue ?? "").split(delimiter)) {
    if (dir === "") continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

/**
 * Find and probe the interpreter for `request` (a path or command name; default `python3`,
 * then `python` on PATH). Throws `BuildError` naming the request when nothing usable is found.
 */
export async function findInterpreter(
  request: string | undefined,
  options: FindOptions = {},
): Promise<FoundInterpreter> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const cwd = options.cwd ?? Deno.cwd();
  const probeOptions = {
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.log === undefined ? {} : { log: options.log }),
  };
  if (request === undefined) {
    for (const name of ["python3", "python"]) {
      const path = whichOnPath(name, env("PATH"));
      if (path !== null) return { path, info: await probeCached(path, probeOptions) };
    }
    throw new BuildError(
      "No Python found: neither python3 nor python is on PATH; pass one with -p/--python",
    );
  }
  const looksLikePath = request.includes("/") || request.includes("\\") || isAbsolute(request);
  const path = looksLikePath ? resolve(cwd, request) : whichOnPath(request, env("PATH"));
  if (path === null || !isExecutableFile(path)) {
    throw new BuildError(
      `No Python found for ${q(request)}: ${
        looksLikePath ? "no executable file at that path" : "no such command on PATH"
      }; pass the path of a Python interpreter with -p/--python`,
    );
  }
  return { path, info: await probeCached(path, probeOptions) };
}
