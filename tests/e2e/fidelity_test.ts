/**
 * Fidelity with `python -m venv` (issue 15): its error texts, pip on re-use and `--upgrade`, the
 * interpreter aliases a user put in place, and the versions mkvenv says it supports. Each test
 * runs the same case through `python -m venv` of the same interpreter where one applies.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { mkvenv, run, tempDir } from "../_util.ts";

const PYENV = Deno.env.get("PYENV_ROOT") ?? "/root/.pyenv";

/** The pyenv CPython 3.6 of this machine (the oldest mkvenv supports). */
function python36(): string {
  const dir = join(PYENV, "versions");
  const name = [...Deno.readDirSync(dir)].map((e) => e.name).find((n) => n.startsWith("3.6."));
  if (name === undefined) throw new Error(`this test needs pyenv's CPython 3.6 under ${dir}`);
  return join(dir, name, "bin", "python3.6");
}

Deno.test("Python 3.6, the oldest mkvenv supports, gets a working venv with pip", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env36");
  const r = await mkvenv(["-p", python36(), env]);
  assertEquals(r.code, 0, r.stderr);
  const pip = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(pip.code, 0, pip.stderr);
  assert(pip.stdout.includes("(python 3.6)"), pip.stdout);
});
