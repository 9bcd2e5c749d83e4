/**
 * Ctrl-C and SIGTERM stop a build at once: between targets of a long run and inside the loop that
 * links pip's files. The stage goes, the lock goes, the exit status is 130 / 143, and no target
 * after the signal is built.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import {
  childOf,
  exists,
  hasStrace,
  MKVENV_COMMAND,
  mkvenvSlowed,
  pyenvPython,
  run,
  SHARED_TEST_CACHE,
  tempDir,
  venvWorks,
} from "../_util.ts";

const PY = pyenvPython("3.12");
const SIGNALS: [Deno.Signal, number][] = [["SIGINT", 130], ["SIGTERM", 143]];

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const [signal, status] of SIGNALS) {
  Deno.test(`${signal} during a run with 60 ENV_DIRs stops it: exit ${status}, the rest not built`, async () => {
    await using tmp = await tempDir();
    const targets = Array.from({ length: 60 }, (_, i) => join(tmp.path, `env${i}`));
    const child = new Deno.Command(MKVENV_COMMAND[0]!, {
      args: [...MKVENV_COMMAND.slice(1), "-p", PY.exe, ...targets],
      env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await until(() => exists(join(targets[1]!, "pyvenv.cfg")), "the second venv");
    const sent = performance.now();
    child.kill(signal);
    const out = await child.output();
    const latency = performance.now() - sent;
    console.log(`${signal}: exited ${latency.toFixed(0)} ms after the signal`);
    assertEquals(out.code, status, new TextDecoder().decode(out.stderr));
    assert(new TextDecoder().decode(out.stderr).includes("mkvenv: interrupted"));
    const built = [...Deno.readDirSync(tmp.path)].map((e) => e.name).sort();
    assert(built.length < 20, `built after the signal: ${built.join(" ")}`);
    for (const name of built) {
      assert(/^env\d+$/.test(name), `left: ${name}`);
      const env = join(tmp.path, name);
      assert(await exists(join(env, "pyvenv.cfg")), `${name} is not complete`);
      await venvWorks(env);
    }
    // Nothing goes on after the exit.
    await new Promise((r) => setTimeout(r, 300));
    assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name).sort(), built);
  });
}

for (const [signal, status] of SIGNALS) {
  Deno.test(`${signal} inside the loop that links pip's files stops it: exit ${status}, nothing left`, async () => {
    if (!(await hasStrace())) {
      console.log("note: strace is not installed: test skipped");
      return;
    }
    await using tmp = await tempDir();
    await using warm = await tempDir();
    const warmed = await run(MKVENV_COMMAND[0]!, [
      ...MKVENV_COMMAND.slice(1),
      "-p",
      PY.exe,
      join(warm.path, "env"),
    ], { env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE } });
    assertEquals(warmed.code, 0, warmed.stderr);
    const env = join(tmp.path, "env");
    // Each hard link from the cache is slowed by 3 ms: pip's ~1000 files take seconds.
    const tracer = mkvenvSlowed("linkat", 3000, ["-p", PY.exe, env], "piped");
    const pid = await childOf(tracer.pid);
    await until(async () => {
      const stage = [...Deno.readDirSync(tmp.path)].find((e) => e.name.startsWith(".mkvenv-"));
      return stage !== undefined &&
        await exists(join(tmp.path, stage.name, "lib", "python3.12", "site-packages", "pip"));
    }, "pip's files in the stage");
    const sent = performance.now();
    Deno.kill(pid, signal);
    const out = await tracer.output();
    const latency = performance.now() - sent;
    console.log(`${signal} in the link loop: exited ${latency.toFixed(0)} ms after the signal`);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, status, stderr);
    assert(stderr.includes("mkvenv: interrupted"), stderr);
    assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name), [], "no stage, no target");
  });
}

/** The pids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let status = "";
    try {
      status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
    } catch {
      continue; // gone
    }
    if (new RegExp(`^PPid:\\s+${pid}$`, "m").test(status)) pids.push(Number(entry.name));
  }
  return pids;
}

/** Whether `pid` runs (a zombie waiting for a parent that never reaps it does not). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
}

for (const [signal, status] of SIGNALS) {
  Deno.test(`${signal} while a first run compiles pip stops the compilers: nothing left in the cache`, async () => {
    await using tmp = await tempDir();
    const cache = join(tmp.path, "cache");
    const env = join(tmp.path, "env");
    const child = new Deno.Command(MKVENV_COMMAND[0]!, {
      args: [...MKVENV_COMMAND.slice(1), "-p", PY.exe, env],
      env: { MKVENV_CACHE_DIR: cache },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const wheels = join(cache, "wheels");
    const entry = () => [...Deno.readDirSync(wheels)].find((e) => e.name.startsWith(".tmp-"));
    let compilers: number[] = [];
    await until(async () => {
      const found = await exists(wheels) ? entry() : undefined;
      if (found === undefined || !(await exists(join(wheels, found.name, "pyc")))) return false;
      compilers = childrenOf(child.pid);
      return compilers.length > 0;
    }, "the compilers");
    child.kill(signal);
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, status, stderr);
    assert(stderr.includes("mkvenv: interrupted"), stderr);
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(compilers.filter(running), [], "compilers still running");
    assertEquals(entry(), undefined, "a temporary cache entry is left");
    assert(!(await exists(env)), "the venv was made");
  });
}

/** The pids whose command line names `path`. */
async function processesNaming(path: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmd = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmd.includes(path)) pids.push(Number(entry.name));
  }
  return pids;
}

Deno.test("SIGTERM while --upgrade-deps runs pip stops pip too", async () => {
  await using tmp = await tempDir();
  // An index that accepts connections and never answers: pip waits on it until it is stopped.
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  let connected = false;
  const accepting = (async () => {
    for await (const conn of server) {
      connected = true;
      held.push(conn);
    }
  })();
  const env = join(tmp.path, "env");
  try {
    const child = new Deno.Command(MKVENV_COMMAND[0]!, {
      args: [...MKVENV_COMMAND.slice(1), "-p", PY.exe, "--upgrade-deps", env],
      env: {
        MKVENV_CACHE_DIR: SHARED_TEST_CACHE,
        PIP_INDEX_URL: `http://127.0.0.1:${server.addr.port}/simple/`,
        PIP_RETRIES: "0",
        PIP_TIMEOUT: "60",
      },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await until(() => Promise.resolve(connected), "pip to reach the index");
    assert((await processesNaming(env)).length > 0, "pip is not running");
    child.kill("SIGTERM");
    const out = await child.output();
    assertEquals(out.code, 143, new TextDecoder().decode(out.stderr));
    await until(async () => (await processesNaming(env)).length === 0, "pip to end");
  } finally {
    server.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});
