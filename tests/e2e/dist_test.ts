/**
 * The program the release binaries are compiled from (dist/mkvenv.js, scripts/build.ts) stands
 * alone: built into an empty directory and run from there with exactly the permissions
 * `deno compile` bakes in (scripts/compile.ts) and with reading the source tree denied, it
 * makes a venv with pip whose python, pip and activation script work, lists the Pythons and
 * prints its help: its templates and probe are inside it.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { build, ENTRY } from "../../scripts/build.ts";
import { PERMISSIONS } from "../../scripts/compile.ts";
import { testPythons } from "../_test_pythons.ts";
import { ROOT, run, tempDir } from "../_util.ts";

const WINDOWS = Deno.build.os === "windows";

Deno.test("the built program runs from an empty directory with the release's permissions only", async () => {
  const [py] = await testPythons();
  await using tmp = await tempDir();
  const alone = join(tmp.path, "alone");
  await Deno.mkdir(alone);
  assertEquals(await build(alone), join(alone, ENTRY));
  // One file: a chunk imported later would miss the compiled binary's code cache.
  assertEquals([...Deno.readDirSync(alone)].map((e) => e.name), [ENTRY]);
  const cache = join(tmp.path, "cache");
  const mk = (args: string[]) =>
    run(
      Deno.execPath(),
      [
        "run",
        "--quiet",
        "--no-prompt",
        ...PERMISSIONS,
        `--deny-read=${ROOT}`,
        "mkvenv.js",
        ...args,
      ],
      { cwd: alone, env: { MKVENV_CACHE_DIR: cache, NO_COLOR: "1" } },
    );

  // The source tree really is out of reach: a read of it fails.
  const reader = join(tmp.path, "read_source.js");
  await Deno.writeTextFile(
    reader,
    `Deno.readTextFileSync(${JSON.stringify(join(ROOT, "templates", "probe.py"))});`,
  );
  const probe = await run(Deno.execPath(), [
    "run",
    "--no-prompt",
    ...PERMISSIONS,
    `--deny-read=${ROOT}`,
    reader,
  ]);
  assert(
    probe.code !== 0 && /NotCapable|PermissionDenied|denied/i.test(probe.stderr),
    probe.stderr,
  );

  const env = join(tmp.path, "env");
  const made = await mk(["-p", py!.exe, env]);
  assertEquals(made.code, 0, made.stderr);
  assertEquals(made.stderr, "");
  const scripts = join(env, WINDOWS ? "Scripts" : "bin");
  const python = join(scripts, WINDOWS ? "python.exe" : "python");
  const prefix = await run(python, ["-c", "import sys; print(sys.prefix)"]);
  assertEquals(Deno.realPathSync(prefix.stdout.trim()), Deno.realPathSync(env));
  const pip = await run(python, ["-m", "pip", "--version"]);
  assertEquals(pip.code, 0, pip.stderr);
  if (!WINDOWS) {
    const activated = await run("sh", [
      "-c",
      '. "$1/bin/activate" && command -v python',
      "sh",
      env,
    ]);
    assertEquals(activated.stdout.trim(), join(env, "bin", "python"));
    for (const name of ["activate", "activate.fish", "activate.csh", "Activate.ps1"]) {
      const text = await Deno.readTextFile(join(scripts, name));
      assert(text.includes(env), `${name} names the venv`);
    }
  }

  const list = await mk(["--list-pythons", "-p", py!.exe]);
  assertEquals(list.code, 0, list.stderr);
  assert(list.stdout.includes(py!.exe) || list.stdout.includes("*"), list.stdout);
  const help = await mk(["--help"]);
  assertEquals(help.code, 0, help.stderr);
  assert(help.stdout.startsWith("usage: mkvenv"), help.stdout);
  // The permissions are what they are: no network.
  const fetcher = join(tmp.path, "fetch.js");
  await Deno.writeTextFile(fetcher, "await fetch('http://127.0.0.1:65535/');");
  const net = await run(Deno.execPath(), ["run", "--no-prompt", ...PERMISSIONS, fetcher]);
  assert(/NotCapable|PermissionDenied|net access/i.test(net.stderr), net.stderr);
});
