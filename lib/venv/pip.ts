/**
 * Running the venv's own python and pip after the build: `--upgrade-deps` (spec §8.5). Seeding
 * pip itself does not run Python in the venv (see `pip_seed.ts`).
 */
import { BuildError, q } from "../errors.ts";
import type { InterpreterInfo } from "../discovery/interpreter.ts";
import { atLeast, type VenvLayout } from "./layout.ts";
import { envObject } from "../disk/process_env.ts";
import { pythonRepr } from "./pyvenv_cfg.ts";
import { onInterrupt } from "../disk/interrupt.ts";

/** The environment CPython's venv gives the new python (gh-98251): no PYTHONHOME/PYTHONPATH. */
export function venvChildEnv(layout: VenvLayout): Record<string, string> {
  const env = envObject();
  delete env.PYTHONHOME;
  delete env.PYTHONPATH;
  delete env.ENSUREPIP_OPTIONS;
  env.VIRTUAL_ENV = layout.envDir;
  return env;
}

/** Run the venv's python with `args`; throws `BuildError` with the output when it fails. */
export async function runVenvPython(
  layout: VenvLayout,
  args: string[],
  what: string,
): Promise<void> {
  let out: Deno.CommandOutput;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(layout.envExe, {
      args,
      cwd: layout.envDir,
      env: venvChildEnv(layout),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e: unknown) {
    throw new BuildError(`Cannot run the venv's python ${q(layout.envExe)} to ${what}: ${e}`, {
      cause: e,
    });
  }
  // Ctrl-C or SIGTERM stops pip too: mkvenv exits at once, and a pip left running would go on
  // changing the venv behind the user's back.
  const unregister = onInterrupt(() => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already ended
    }
  });
  try {
    out = await child.output();
  } finally {
    unregister();
  }
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    // venv's words (its CalledProcessError), then what failed; the output follows.
    const command = `[${[layout.envExe, ...args].map(pythonRepr).join(", ")}]`;
    throw new BuildError(
      `Command '${command}' returned non-zero exit status ${out.code}: the venv's python ` +
        `failed to ${what}${text.trim() ? "; its output follows" : ""}`,
      { detail: text },
    );
  }
}

/** The packages `ensurepip` installs and `--upgrade-deps` upgrades for this interpreter. */
export function coreDeps(info: InterpreterInfo): string[] {
  return atLeast(info.version, 3, 12) ? ["pip"] : ["pip", "setuptools"];
}

/** `--upgrade-deps`: upgrade pip (and setuptools before 3.12) with the venv's pip. */
export async function upgradeDeps(layout: VenvLayout, info: InterpreterInfo): Promise<void> {
  await runVenvPython(
    layout,
    ["-m", "pip", "install", "--upgrade", ...coreDeps(info)],
    "upgrade the core dependencies",
  );
}
