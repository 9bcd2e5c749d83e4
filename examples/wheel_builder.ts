import { BuildError, EnvBuilder, type EnvBuilderOptions, type VenvContext } from "../lib/mod.ts";

/**
 * A builder that installs extra local wheels with the new venv's own pip once the venv is in
 * place, and reports pip's output, line by line, as progress.
 */
export class WheelBuilder extends EnvBuilder {
  readonly wheels: readonly string[];

  constructor(wheels: readonly string[], options: EnvBuilderOptions = {}) {
    super({ withPip: true, ...options });
    this.wheels = wheels;
  }

  override async postSetup(context: VenvContext): Promise<void> {
    await super.postSetup(context);
    for (const wheel of this.wheels) {
      this.progress({ step: "postSetup", message: `installing ${wheel}` });
      const child = new Deno.Command(context.envExe, {
        args: ["-m", "pip", "install", "--no-index", "--disable-pip-version-check", wheel],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
      let pending = "";
      for await (const chunk of lines) {
        const parts = (pending + chunk).split("\n");
        pending = parts.pop()!;
        for (const line of parts) this.progress({ step: "postSetup", message: line });
      }
      if (pending !== "") this.progress({ step: "postSetup", message: pending });
      const { success } = await child.status;
      if (!success) throw new BuildError(`Cannot install ${wheel}`, { detail: await stderr });
    }
  }
}
