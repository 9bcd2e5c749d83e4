/**
 * Shared helpers for the tests: the real interpreters on this machine, running the mkvenv CLI
 * from source, and reading a directory tree.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** main.ts, the CLI. */
export const MAIN = join(ROOT, "main.ts");

/**
 * The words that run mkvenv: `deno run main.ts` from source, or the program `MKVENV_TEST_BIN`
 * names (a compiled release binary, or `deno run` of the bundle), so the same tests check the
 * artefact that ships.
 */
export const MKVENV_COMMAND: readonly string[] = (() => {
  const bin = Deno.env.get("MKVENV_TEST_BIN");
  if (bin) return bin.split(" ").filter((w) => w !== "");
  return [Deno.execPath(), "run", "--allow-all", "--quiet", MAIN];
})();

/** One real CPython from pyenv. */
export interface RealPython {
  /** `3.12.1` */
  version: string;
  /** `3.12` */
  xy: string;
  /** `/root/.pyenv/versions/3.12.1/bin/python3.12` */
  exe: string;
  prefix: string;
}

const PYENV_VERSIONS = Deno.env.get("PYENV_ROOT")
  ? join(Deno.env.get("PYENV_ROOT")!, "versions")
  : "/root/.pyenv/versions";

/** The pyenv CPythons 3.7-3.14 on this machine, oldest first. */
export function pyenvPythons(): RealPython[] {
  const found: RealPython[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(PYENV_VERSIONS)];
  } catch {
    return found;
  }
  for (const entry of entries) {
    const m = /^3\.(\d+)\.(\d+)$/.exec(entry.name);
    if (!m || Number(m[1]) < 7) continue;
    const xy = `3.${m[1]}`;
    const prefix = join(PYENV_VERSIONS, entry.name);
    const exe = join(prefix, "bin", `python${xy}`);
    try {
      Deno.statSync(exe);
    } catch {
      continue;
    }
    found.push({ version: entry.name, xy, exe, prefix });
  }
  return found.sort((a, b) => Number(a.xy.split(".")[1]) - Number(b.xy.split(".")[1]));
}

/** The pyenv CPython X.Y, or throw (the tests need it on this machine). */
export function pyenvPython(xy: string): RealPython {
  const found = pyenvPythons().find((p) => p.xy === xy);
  if (!found) throw new Error(`this test needs pyenv's CPython ${xy} under ${PYENV_VERSIONS}`);
  return found;
}

/** Result of a finished process. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, capturing its output. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean; stdin?: string } = {},
): Promise<Ran> {
  const child = new Deno.Command(cmd, {
    args: [...args],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.clearEnv ? { clearEnv: true } : {}),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Run the mkvenv CLI (`MKVENV_COMMAND`) with `args`, the shared cache unless `env` names one. */
export function mkvenv(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  const [cmd, ...words] = MKVENV_COMMAND;
  return run(cmd!, [...words, ...args], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE, ...options.env },
  });
}

/**
 * `mkvenv` killed after 60 s, for runs that could hang (a named pipe where a file belongs): a
 * hang then fails the test with exit 137 instead of stalling the suite.
 */
export function mkvenvBounded(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  return run("timeout", ["-s", "KILL", "60", ...MKVENV_COMMAND, ...args], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE, ...options.env },
  });
}

/** One cache for the whole test process, so interpreters are probed once per run. */
export const SHARED_TEST_CACHE: string = Deno.makeTempDirSync({ prefix: "mkvenv-test-cache-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(SHARED_TEST_CACHE, { recursive: true });
  } catch {
    // already gone
  }
});

/** `find -printf '%y %m %p -> %l'`-like listing of a tree, sorted, paths relative to `dir`. */
export function tree(dir: string, options: { skip?: (rel: string) => boolean } = {}): string[] {
  const lines: string[] = [];
  const walk = (rel: string) => {
    const abs = rel === "." ? dir : join(dir, rel);
    const st = Deno.lstatSync(abs);
    const mode = ((st.mode ?? 0) & 0o777).toString(8);
    if (st.isSymlink) {
      lines.push(`l ${rel} -> ${Deno.readLinkSync(abs)}`);
    } else if (st.isDirectory) {
      lines.push(`d ${mode} ${rel}`);
      for (const e of Deno.readDirSync(abs)) {
        const child = rel === "." ? e.name : `${rel}/${e.name}`;
        if (!options.skip?.(child)) walk(child);
      }
    } else {
      lines.push(`f ${mode} ${rel}`);
    }
  };
  walk(".");
  return lines.sort();
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(
  prefix = "mkvenv-test-",
): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Run `python -c code` and parse its stdout as JSON. */
export async function pyJson(
  python: string,
  code: string,
  env?: Record<string, string>,
): Promise<unknown> {
  const r = await run(python, ["-c", code], env ? { env } : {});
  if (r.code !== 0) throw new Error(`${python} -c failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The one `mkvenv: error:` line of `stderr`; fails unless there is exactly one. */
export function errorLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.startsWith("mkvenv: error:"));
  assertEquals(lines.length, 1, stderr);
  return lines[0]!;
}

/** Assert that the venv at `env` runs: its `bin/<python>` answers with `env` as sys.prefix. */
export async function venvWorks(env: string, python = "python"): Promise<void> {
  const r = await run(join(env, "bin", python), ["-c", "import sys; print(sys.prefix)"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim(), env);
}

/** Whether strace runs here (the tests that slow system calls down skip themselves if not). */
export async function hasStrace(): Promise<boolean> {
  try {
    const out = await new Deno.Command("strace", { args: ["-V"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * mkvenv with `args` under strace, each `syscall` delayed by `delayMicros`, with the shared test
 * cache and `env`; its stdout is dropped. The mkvenv process is the tracer's child (see `childOf` in the
 * tests that signal it).
 */
export function mkvenvSlowed(
  syscall: string,
  delayMicros: number,
  args: readonly string[],
  stderr: "piped" | "null" = "null",
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return new Deno.Command("strace", {
    args: [
      "-f",
      "--seccomp-bpf",
      "-o",
      "/dev/null",
      "-e",
      `trace=${syscall}`,
      "-e",
      `inject=${syscall}:delay_exit=${delayMicros}`,
      ...MKVENV_COMMAND,
      ...args,
    ],
    env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE, ...env },
    stdout: "null",
    stderr,
  }).spawn();
}

/**
 * The pid of the program strace (`pid`) runs, once it runs: with --seccomp-bpf, strace forks a
 * short-lived helper first.
 */
export async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 3000; i++) {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
    for (const word of text.trim().split(" ")) {
      const cmd = await Deno.readTextFile(`/proc/${word}/cmdline`).catch(() => "");
      if (word !== "" && cmd.split("\0")[0] === MKVENV_COMMAND[0]) return Number(word);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no child of ${pid}`);
}

/** Whether anything (a link to nothing too) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  return (await Deno.lstat(path).catch(() => null)) !== null;
}
