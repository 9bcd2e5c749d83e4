/**
 * SIGKILL at varied moments of a build with pip: the target is then absent, empty or a working
 * venv with pip, and a rerun succeeds. Bounded: a fixed number of kills, each within seconds.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { mkvenv, MKVENV_COMMAND, pyenvPython, run, tempDir } from "../_util.ts";

const PY = pyenvPython("3.12");
const KILLS = 8;

async function state(env: string): Promise<"absent" | "empty" | "working" | string> {
  const st = await Deno.lstat(env).catch(() => null);
  if (st === null) return "absent";
  const cfg = await Deno.lstat(join(env, "pyvenv.cfg")).catch(() => null);
  // A new target is made empty and locked first; the venv is renamed over it at the end.
  if (cfg === null && [...Deno.readDirSync(env)].length === 0) return "empty";
  if (cfg === null) {
    return `exists without pyvenv.cfg: ${[...Deno.readDirSync(env)].map((e) => e.name)}`;
  }
  const py = await run(join(env, "bin", "python"), ["-c", "import sys; print(sys.prefix)"]);
  if (py.code !== 0 || py.stdout.trim() !== env) return `python does not work: ${py.stderr}`;
  const pip = await run(join(env, "bin", "pip"), ["--version"]);
  if (pip.code !== 0) return `pip does not work: ${pip.stderr}`;
  return "working";
}

Deno.test("SIGKILL during a build leaves nothing or a working venv, and a rerun succeeds", async () => {
  await using tmp = await tempDir();
  const cache = join(tmp.path, "cache");
  // Time one full build to spread the kills over it.
  const t0 = performance.now();
  const first = await mkvenv(["-p", PY.exe, join(tmp.path, "timing")], {
    env: { MKVENV_CACHE_DIR: cache },
  });
  assertEquals(first.code, 0, first.stderr);
  const duration = performance.now() - t0;
  const seen = new Set<string>();
  for (let i = 0; i < KILLS; i++) {
    const env = join(tmp.path, `env${i}`);
    const child = new Deno.Command(MKVENV_COMMAND[0]!, {
      args: [...MKVENV_COMMAND.slice(1), "-p", PY.exe, env],
      env: { MKVENV_CACHE_DIR: i % 2 ? cache : join(tmp.path, `cache${i}`) },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const delay = (duration * (i + 0.5)) / KILLS;
    await new Promise((r) => setTimeout(r, delay));
    try {
      child.kill("SIGKILL");
    } catch {
      // it finished first
    }
    await child.status;
    const s = await state(env);
    assert(
      s === "absent" || s === "empty" || s === "working",
      `kill after ${delay.toFixed(0)} ms: ${s}`,
    );
    seen.add(s);
    const again = await mkvenv(["-p", PY.exe, env], { env: { MKVENV_CACHE_DIR: cache } });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await state(env), "working");
    const leftovers = [...Deno.readDirSync(tmp.path)].filter((e) => e.name.includes("mkvenv-"));
    assertEquals(leftovers.map((e) => e.name), [], "stale stages were removed by the rerun");
  }
  console.log(`states seen after kills: ${[...seen].join(", ")}`);
});
