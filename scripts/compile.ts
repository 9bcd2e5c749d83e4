/**
 * `deno task compile`: the release binary, `deno compile` of dist/mkvenv.js (scripts/build.ts)
 * with the permissions below baked in.
 *
 *     deno run -A scripts/compile.ts [--target TARGET] [--output PATH]
 *
 * `deno compile` downloads the Deno runtime for the target, so it runs on GitHub's runners
 * (.github/workflows/release.yml, ci.yml), not on a machine without that network.
 */
import { build } from "./build.ts";
import { isTarget, TARGETS } from "./package.ts";

/**
 * The permissions the binary runs with, the narrowest that mkvenv's work allows; the tests run
 * the built program with exactly these (tests/e2e/dist_test.ts), so a missing one fails there.
 *
 * - read, write: the interpreter, the cache and the venv can be anywhere the user names.
 * - run: the interpreter (probe, byte-compiling, `--upgrade-deps`), `py` and `reg` on Windows;
 *   the interpreter is any path, so the list cannot be narrowed.
 * - env: `MKVENV_*`, `PATH`, `HOME`, `XDG_CACHE_HOME`, `LOCALAPPDATA`, `VIRTUAL_ENV`, pyenv's
 *   and uv's variables, and the environment handed to the interpreter.
 * - sys: `Deno.umask()` (the modes pip would give), which asks for sys access to "umask", a
 *   name Deno 2.9's `--allow-sys=` does not accept ("unknown sys descriptor"), so sys is whole.
 * - no net, no ffi: mkvenv never opens a socket (pip does, in its own process).
 *
 * The price: Deno reads files under /proc only with all permissions, so the binary cannot read
 * /proc/locks, where Linux names the holder of a lock; a run waiting on a target's lock names
 * the pid its holder wrote into the lock file instead, or "unknown" when none was written
 * (tests/e2e/safety_test.ts's fake holder writes none: that test fails against the binary).
 */
export const PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
];

/** Build dist/mkvenv.js and compile it to `output` for `target` (default: this machine). */
export async function compile(options: { target?: string; output: string }): Promise<void> {
  if (options.target !== undefined && !isTarget(options.target)) {
    throw new Error(`Cannot compile for ${JSON.stringify(options.target)}: one of ${TARGETS}`);
  }
  const program = await build();
  const args = ["compile", "--no-prompt", ...PERMISSIONS, "--output", options.output];
  if (options.target !== undefined) args.push("--target", options.target);
  const out = await new Deno.Command(Deno.execPath(), { args: [...args, program] }).output();
  if (!out.success) throw new Error(`deno compile failed (exit ${out.code})`);
}

if (import.meta.main) {
  const flag = (name: string) => {
    const at = Deno.args.indexOf(name);
    return at >= 0 ? Deno.args[at + 1] : undefined;
  };
  const target = flag("--target");
  const output = flag("--output") ?? "dist/mkvenv";
  await compile(target === undefined ? { output } : { target, output });
  console.log(output);
}
