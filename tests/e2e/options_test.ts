/**
 * The venv options, each looked at on the result: re-use, --clear, --upgrade, several ENV_DIRs,
 * --prompt (including "."), --copies.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { parsePyvenvCfg } from "../../lib/venv/pyvenv_cfg.ts";
import { mkvenv, pyenvPython, pyJson, run, tempDir } from "../_util.ts";

const PY = pyenvPython("3.12");

async function cfgOf(env: string): Promise<Map<string, string>> {
  return parsePyvenvCfg(await Deno.readTextFile(join(env, "pyvenv.cfg")));
}

async function made(args: string[], cwd?: string): Promise<void> {
  const r = await mkvenv(["-p", PY.exe, "--without-pip", ...args], cwd ? { cwd } : {});
  assertEquals(r.code, 0, r.stderr);
}

Deno.test("re-using an existing venv keeps unrelated files and re-creates missing parts", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  await made([env]);
  await Deno.writeTextFile(join(env, "notes.txt"), "mine");
  await Deno.remove(join(env, "bin", "python3.12"));
  await made([env]);
  assertEquals(await Deno.readTextFile(join(env, "notes.txt")), "mine");
  assertEquals(await Deno.readLink(join(env, "bin", "python3.12")), PY.exe);
  const prefix = await pyJson(
    join(env, "bin", "python"),
    "import json,sys;print(json.dumps(sys.prefix))",
  );
  assertEquals(prefix, env);
});

Deno.test("--clear empties an existing venv but keeps the directory itself", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  await made([env]);
  await Deno.writeTextFile(join(env, "lib", "python3.12", "site-packages", "old.py"), "x = 1\n");
  // Inside the venv's own directories: a foreign top-level entry would make --clear refuse.
  await Deno.writeTextFile(join(env, "bin", ".hidden"), "x");
  const outside = join(tmp.path, "outside");
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(outside, "keep.txt"), "keep");
  await Deno.symlink(outside, join(env, "bin", "link-out"));
  const inode = (await Deno.stat(env)).ino;
  await made(["--clear", env]);
  assertEquals((await Deno.stat(env)).ino, inode, "same directory");
  for (const gone of ["lib/python3.12/site-packages/old.py", "bin/.hidden", "bin/link-out"]) {
    assert((await Deno.lstat(join(env, gone)).catch(() => null)) === null, `${gone} removed`);
  }
  assertEquals(await Deno.readTextFile(join(outside, "keep.txt")), "keep", "link not followed");
  assert((await Deno.stat(join(env, "bin", "python"))).isFile);
});

Deno.test("--upgrade keeps site-packages, the prompt and the system-site setting", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  await made(["--prompt", "kept prompt", "--system-site-packages", env]);
  const pkg = join(env, "lib", "python3.12", "site-packages", "mine.py");
  await Deno.writeTextFile(pkg, "x = 1\n");
  // Point the interpreter link elsewhere, as if the base had moved; --upgrade re-links it.
  await Deno.remove(join(env, "bin", "python3.12"));
  await Deno.symlink("/nonexistent/python3.12", join(env, "bin", "python3.12"));
  await made(["--upgrade", env]);
  assertEquals(await Deno.readTextFile(pkg), "x = 1\n");
  const cfg = await cfgOf(env);
  assertEquals(cfg.get("prompt"), "'kept prompt'");
  assertEquals(cfg.get("include-system-site-packages"), "true");
  assertEquals(await Deno.readLink(join(env, "bin", "python3.12")), PY.exe);
  assert(cfg.get("command")?.includes("--upgrade"));
});

Deno.test("several ENV_DIRs build several identical venvs, each with its own prompt", async () => {
  await using tmp = await tempDir();
  const a = join(tmp.path, "a");
  const b = join(tmp.path, "b");
  await made([a, b]);
  for (const env of [a, b]) {
    const prefix = await pyJson(
      join(env, "bin", "python"),
      "import json,sys;print(json.dumps(sys.prefix))",
    );
    assertEquals(prefix, env);
  }
  const cfgA = await cfgOf(a);
  const cfgB = await cfgOf(b);
  for (const key of ["home", "version", "executable", "include-system-site-packages"]) {
    assertEquals(cfgA.get(key), cfgB.get(key));
  }
});

Deno.test("--prompt is written as Python repr, and --prompt . means the current directory", async () => {
  await using tmp = await tempDir();
  const work = join(tmp.path, "work dir");
  await Deno.mkdir(work);
  await made(["--prompt", `it's "q"`, join(tmp.path, "q")]);
  assertEquals((await cfgOf(join(tmp.path, "q"))).get("prompt"), `'it\\'s "q"'`);
  await made(["--prompt", ".", "../dot"], work);
  assertEquals((await cfgOf(join(tmp.path, "dot"))).get("prompt"), "'work dir'");
  assert((await cfgOf(join(tmp.path, "dot"))).get("command")?.includes("--prompt=."));
  await made([join(tmp.path, "none")]);
  assertEquals((await cfgOf(join(tmp.path, "none"))).get("prompt"), undefined);
});

Deno.test("--copies copies the interpreter instead of linking it, and the copy runs", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  await made(["--copies", env]);
  for (const name of ["python", "python3", "python3.12"]) {
    const st = await Deno.lstat(join(env, "bin", name));
    assert(st.isFile && !st.isSymlink, `${name} is a regular file`);
    assertEquals((st.mode ?? 0) & 0o777, 0o755);
  }
  const r = await run(join(env, "bin", "python"), ["-c", "import sys;print(sys.prefix)"]);
  assertEquals(r.stdout.trim(), env);
  assert((await cfgOf(env)).get("command")?.includes("--copies"));
});

Deno.test("the command key of pyvenv.cfg re-runs as a shell command line", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "it's a $HOME dir");
  await made(["--prompt", "p q", env]);
  const command = (await cfgOf(env)).get("command")!;
  await Deno.remove(env, { recursive: true });
  const r = await run("sh", ["-c", command], {
    env: { MKVENV_CACHE_DIR: join(tmp.path, "cache") },
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals((await cfgOf(env)).get("prompt"), "'p q'");
});
