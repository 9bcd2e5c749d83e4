/**
 * SIGKILL at varied moments of a build with pip: the target is then absent, empty or a working
 * venv with pip, and a rerun succeeds. Bounded: a fixed number of kills, each within seconds.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import {
  childOf,
  exists,
  hasStrace,
  mkvenv,
  MKVENV_COMMAND,
  mkvenvSlowed,
  pyenvPython,
  run,
  tempDir,
} from "../_util.ts";

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

Deno.test("SIGKILL during the commit into an existing venv: pyvenv.cfg means complete, and a plain rerun repairs it", async () => {
  if (!(await hasStrace())) {
    console.log("note: strace is not installed: test skipped");
    return;
  }
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  const seen: string[] = [];
  // Each rename of the commit (the old entries into the trash, the new ones in) is slowed to
  // 120 ms by strace, so that a kill lands inside the commit, at a different rename each time.
  const plans: [string[], number[]][] = [
    [["--clear"], [100, 450, 800, 1200]],
    [["--upgrade", "--prompt", "up"], [50, 200]],
  ];
  for (const [args, delays] of plans) {
    for (const delay of delays) {
      const first = await mkvenv(["-p", PY.exe, "--clear", env]);
      assertEquals(first.code, 0, first.stderr);
      const tracer = mkvenvSlowed("rename", 120000, ["-p", PY.exe, ...args, env]);
      const mkvenvPid = await childOf(tracer.pid);
      // The commit starts when the trash directory appears.
      for (let i = 0; i < 3000 && !(await exists(join(env, ".mkvenv-trash"))); i++) {
        await new Promise((r) => setTimeout(r, 2));
      }
      await new Promise((r) => setTimeout(r, delay));
      try {
        Deno.kill(mkvenvPid, "SIGKILL");
      } catch {
        seen.push(`${args[0]} +${delay} ms: finished before the kill`);
      }
      await tracer.status;
      const left = [...Deno.readDirSync(env)].map((e) => e.name).sort();
      seen.push(`${args[0]} +${delay} ms: ${left.join(" ")}`);
      if (left.includes("pyvenv.cfg")) {
        const s = await state(env);
        assertEquals(s, "working", `${args[0]} killed ${delay} ms into the commit: ${s}`);
      }
      const again = await mkvenv(["-p", PY.exe, env]);
      assertEquals(again.code, 0, `${args[0]} +${delay} ms: ${again.stderr}`);
      assertEquals(await state(env), "working");
      assertEquals([...Deno.readDirSync(env)].filter((e) => e.name.startsWith(".mkvenv")), []);
      assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name), ["env"]);
    }
  }
  console.log(`entries after each kill:\n${seen.join("\n")}`);
});

Deno.test("a re-use that starts while another run's --clear is moving entries waits for it, then builds", async () => {
  if (!(await hasStrace())) {
    console.log("note: strace is not installed: test skipped");
    return;
  }
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  const first = await mkvenv(["-p", PY.exe, "--without-pip", env]);
  assertEquals(first.code, 0, first.stderr);
  // The --clear moves each old entry into the trash, 300 ms a rename under strace: for a while
  // `lib` is in the trash and `lib64` still links to it, a link to nothing venv would refuse.
  const tracer = mkvenvSlowed("rename", 300000, ["-p", PY.exe, "--without-pip", "--clear", env]);
  const dangling = async () =>
    (await exists(join(env, ".mkvenv-trash", "lib"))) && (await exists(join(env, "lib64"))) &&
    !(await exists(join(env, "lib")));
  let seen = false;
  for (let i = 0; i < 3000 && !(seen = await dangling()); i++) {
    await new Promise((r) => setTimeout(r, 2));
  }
  assert(seen, "the --clear run never showed lib64 without lib");
  const reuse = await mkvenv(["-p", PY.exe, "--without-pip", env]);
  assertEquals((await tracer.status).code, 0);
  assertEquals(reuse.code, 0, reuse.stderr);
  const py = await run(join(env, "bin", "python"), ["-c", "import sys; print(sys.prefix)"]);
  assertEquals(py.stdout.trim(), env, py.stderr);
});
