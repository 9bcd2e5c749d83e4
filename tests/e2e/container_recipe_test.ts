/**
 * The README's Dockerfile, without Docker: its final stage is checked for what the README says
 * (a slim Python base, only the mkvenv binary copied in, the venv made by a non-root user),
 * and its RUN lines are run here, as the unprivileged user `nobody`, with the image's paths
 * moved under a temporary directory and `mkvenv` being the built program with the release's
 * permissions: the venv is made, mkvenv's cache is removed in the same step, and the venv's pip
 * (hard links into that cache) still installs the requirements.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { PERMISSIONS } from "../../scripts/compile.ts";
import { which } from "../_shells.ts";
import { ROOT, run, tempDir } from "../_util.ts";
import { writeWheel } from "../_wheel_fixture.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const README = await Deno.readTextFile(join(ROOT, "README.md"));
const DOCKERFILE = /```dockerfile\n([\s\S]*?)```/.exec(README)?.[1] ?? "";

/** The instructions of the Dockerfile's last stage, continuation lines joined. */
function finalStage(): { op: string; args: string }[] {
  const joined = DOCKERFILE.replace(/\\\n\s*/g, "");
  const lines = joined.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const stages: { op: string; args: string }[][] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(" ");
    if (op === "FROM") stages.push([]);
    stages.at(-1)!.push({ op: op!, args: rest.join(" ") });
  }
  return [
    { op: "FROM", args: lines.filter((l) => l.startsWith("FROM")).at(-1)!.slice(5) },
    ...stages.at(-1)!.slice(1),
  ];
}

Deno.test("the README's Dockerfile: slim base, only the binary copied in, venv made by a non-root user", async () => {
  assert(DOCKERFILE !== "", "the README has a dockerfile block");
  const stage = finalStage();
  assert(/^python:[\d.]+-slim$/.test(stage[0]!.args), stage[0]!.args);
  const copies = stage.filter((i) => i.op === "COPY" && i.args.startsWith("--from="));
  assertEquals(copies.map((c) => c.args), [
    "--from=mkvenv /opt/mkvenv/mkvenv /usr/local/bin/mkvenv",
  ]);
  const user = stage.findIndex((i) => i.op === "USER");
  const make = stage.findIndex((i) => i.op === "RUN" && /\bmkvenv \//.test(i.args));
  assert(user > 0 && stage[user]!.args !== "root" && user < make, "USER before the venv is made");
  // The download stage goes through install.sh, which checks SHA256SUMS.
  assert(/MKVENV_INSTALL_DIR=\/opt\/mkvenv sh install\.sh/.test(DOCKERFILE));
  if (which("shellcheck") !== null) {
    for (const line of DOCKERFILE.replace(/\\\n\s*/g, "").split("\n")) {
      if (!line.startsWith("RUN ")) continue;
      const r = await run("shellcheck", ["--shell=sh", "-"], { stdin: `${line.slice(4)}\n` });
      assertEquals(r.code, 0, `${line}\n${r.stdout}`);
    }
  }
});

Deno.test({
  name:
    "the README's Dockerfile steps, run as nobody: venv made, cache removed, pip still installs",
  // The image's Python is a system one, found by mkvenv as python3 on PATH: /usr/bin/python3
  // plays it here (nobody cannot reach pyenv's under /root).
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0 || which("setpriv") === null ||
    !exists("/usr/bin/python3"),
  async fn() {
    await using tmp = await tempDir();
    await Deno.chmod(tmp.path, 0o755);
    const root = join(tmp.path, "image");
    const bin = join(root, "usr", "local", "bin");
    await Deno.mkdir(bin, { recursive: true });
    await Deno.mkdir(join(root, "home", "app"), { recursive: true });
    await Deno.mkdir(join(root, "tmp"), { mode: 0o1777 });
    await Deno.chmod(join(root, "tmp"), 0o1777);
    // mkvenv: the built program, run by deno with the release permissions.
    const program = await build(join(root, "opt", "mkvenv"));
    const words = [Deno.execPath(), "run", "--quiet", "--no-prompt", ...PERMISSIONS, program];
    await Deno.writeTextFile(
      join(bin, "mkvenv"),
      `#!/bin/sh\nexec ${words.map((w) => `'${w}'`).join(" ")} "$@"\n`,
      { mode: 0o755 },
    );
    const wheel = await writeWheel(join(root, "home", "app"), {
      name: "hello-app",
      version: "1.0",
      files: { "hello_app.py": "GREETING = 'hi'\n" },
    });
    await Deno.writeTextFile(
      join(root, "home", "app", "requirements.txt"),
      `--no-index\n${wheel}\n`,
    );
    const chown = await run("chown", ["-R", "nobody:nogroup", join(root, "home", "app")]);
    assertEquals(chown.code, 0, chown.stderr);

    const moved = (text: string) => text.replace(/(?<![\w.])\/(home\/app|tmp)\b/g, `${root}/$1`);
    let env: Record<string, string> = {
      PATH: `${bin}:/usr/bin:/bin`,
      HOME: join(root, "home", "app"),
      DENO_DIR: join(root, "tmp", "deno"),
    };
    const stage = finalStage();
    const ran: string[] = [];
    for (const { op, args } of stage.slice(stage.findIndex((i) => i.op === "USER") + 1)) {
      if (op === "ENV") {
        for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) {
          env = { ...env, [k!]: moved(v!).replace("$PATH", env.PATH!) };
        }
      } else if (op === "RUN") {
        const r = await run("setpriv", [
          "--reuid=nobody",
          "--regid=nogroup",
          "--clear-groups",
          "sh",
          "-c",
          moved(args),
        ], { cwd: join(root, "home", "app"), env, clearEnv: true });
        assertEquals(r.code, 0, `${args}\n${r.stderr}`);
        ran.push(args);
      }
    }
    assertEquals(ran.length, 2, "the venv step and the pip step");
    const venv = join(root, "home", "app", "venv");
    assert(!(await Deno.stat(join(root, "tmp", "mkvenv-cache")).then(() => true, () => false)));
    const st = await Deno.stat(join(venv, "pyvenv.cfg"));
    assert(st.uid !== 0, "the venv belongs to the non-root user");
    const hello = await run(join(venv, "bin", "python"), [
      "-c",
      "import hello_app; print(hello_app.GREETING)",
    ]);
    assertEquals(hello.stdout.trim(), "hi", hello.stderr);
  },
});
