/**
 * End to end: how seeding does its work — once per command for all its ENV_DIRs, and from the
 * cache — while every venv gets the same files, modes and RECORD.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PY312 } from "../_wheel_fixture.ts";
import { mkvenv, run, tree } from "../_util.ts";

const ROOT = await Deno.makeTempDir({ prefix: "mkvenv-seedplan-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

function count(text: string, pattern: RegExp): number {
  return text.split("\n").filter((line) => pattern.test(line)).length;
}

Deno.test("several ENV_DIRs in one command: the seed is chosen and compiled once, each venv works", async () => {
  const cache = join(ROOT, "cache-many");
  const dirs = ["a", "b", "c"].map((name) => join(ROOT, "many", name));
  const made = await mkvenv(["-v", "-p", PY312, ...dirs], { env: { MKVENV_CACHE_DIR: cache } });
  assert.equal(made.code, 0, made.stderr);
  assert.equal(count(made.stderr, /seeding pip /), 1, made.stderr);
  assert.equal(count(made.stderr, /compiling \d+ files of pip/), 1, made.stderr);
  assert.equal(count(made.stderr, /installed pip /), 3, made.stderr);
  const trees = dirs.map((dir) => tree(dir).join("\n"));
  assert.equal(trees[1], trees[0]);
  assert.equal(trees[2], trees[0]);
  for (const dir of dirs) {
    const out = await run(join(dir, "bin", "pip"), ["--version"], {
      env: { PATH: "/usr/bin:/bin", PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    });
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.startsWith("pip 23.2.1 from " + dir), out.stdout);
  }
});
