/**
 * Putting pip into a new venv. For now by running the venv's own `ensurepip` the way CPython's
 * venv does (spec §8.1); `--upgrade-deps` runs the venv's pip (spec §8.5).
 */
import { BuildError, q } from "./errors.ts";
import type { InterpreterInfo } from "./interpreter.ts";
import { atLeast, type VenvLayout } from "./layout.ts";

/** The environment CPython's venv gives the new python (gh-98251): no PYTHONHOME/PYTHONPATH. */
export function venvChildEnv(layout: VenvLayout): Record<string, string> {
  const env = Deno.env.toObject();
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
  try {
    out = await new Deno.Command(layout.envExe, {
      args,
      cwd: layout.envDir,
      env: venvChildEnv(layout),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e: unknown) {
    throw new BuildError(`Cannot run the venv's python ${q(layout.envExe)} to ${what}: ${e}`, {
      cause: e,
    });
  }
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new BuildError(
      `Failed to ${what}: ${q(layout.envExe)} ${args.join(" ")} exited with status ${out.code}`,
      { detail: text },
    );
  }
}

/** The packages `ensurepip` installs and `--upgrade-deps` upgrades for this interpreter. */
export function coreDeps(info: InterpreterInfo): string[] {
  return atLeast(info.version, 3, 12) ? ["pip"] : ["pip", "setuptools"];
}

/** Install pip with the venv's `ensurepip`. Throws `BuildError` with its output on failure. */
export async function installPipWithEnsurepip(
  layout: VenvLayout,
  info: InterpreterInfo,
): Promise<void> {
  if (info.ensurepip === null || !info.ensurepip.hasMain) {
    throw new BuildError(
      `Cannot install pip: ${q(info.executable)} has no ensurepip module; install your ` +
        `distribution's venv package (for example python3-venv) or pass --without-pip`,
    );
  }
  const isolated = !atLeast(info.version, 3, 10);
  await runVenvPython(
    layout,
    [isolated ? "-Im" : "-m", "ensurepip", "--upgrade", "--default-pip"],
    "install pip",
  );
}

/** `--upgrade-deps`: upgrade pip (and setuptools before 3.12) with the venv's pip. */
export async function upgradeDeps(layout: VenvLayout, info: InterpreterInfo): Promise<void> {
  await runVenvPython(
    layout,
    ["-m", "pip", "install", "--upgrade", ...coreDeps(info)],
    "upgrade the core dependencies",
  );
}
