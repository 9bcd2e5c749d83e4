/**
 * The release program (`deno task build`: dist/mkvenv.js, which the binaries are compiled from
 * and the benchmark times): it builds, and the venvs it makes, with and without pip, are the
 * ones `deno run main.ts` makes, file for file. It carries the text-imported templates, and it
 * was trained on a Python (scripts/build.ts: which functions are compiled eagerly).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { parsePyvenvCfg } from "../../lib/venv/pyvenv_cfg.ts";
import { build } from "../../scripts/build.ts";
import { mkvenv, pyenvPython, run, SHARED_TEST_CACHE, tempDir, tree } from "../_util.ts";

const PY = pyenvPython("3.12");

/**
 * A venv's tree and the contents of its files (byte-compiled files left out), with
 * pyvenv.cfg's `command`, which names the program that made it, left out.
 */
async function snapshot(env: string): Promise<{ tree: string[]; files: Map<string, string> }> {
  const listing = tree(env, { skip: (rel) => rel.endsWith("__pycache__") });
  const files = new Map<string, string>();
  for (const line of listing.filter((l) => l.startsWith("f "))) {
    const rel = line.slice(line.indexOf(" ", 2) + 1);
    const text = await Deno.readTextFile(join(env, rel));
    files.set(
      rel,
      rel === "pyvenv.cfg"
        ? [...parsePyvenvCfg(text)].filter(([k]) => k !== "command").join("\n")
        : text,
    );
  }
  return { tree: listing, files };
}

Deno.test("the built program makes the same venvs as the source", async () => {
  await using tmp = await tempDir();
  const said: string[] = [];
  const program = await build(join(tmp.path, "program"), { log: (line) => said.push(line) });
  // Trained on this machine's Python: the functions everyday runs call are the eager ones.
  assert(said.some((line) => /^trained on .+: \d+ functions ran/.test(line)), said.join("\n"));
  // Both venvs at the same path, one after the other: the scripts in them name their place.
  const env = join(tmp.path, "env");
  for (const extra of [["--without-pip"], []]) {
    const a = await mkvenv(["-p", PY.exe, ...extra, env]);
    assertEquals(a.code, 0, a.stderr);
    const fromSource = await snapshot(env);
    assertEquals(fromSource.files.has("bin/activate"), true);
    await Deno.remove(env, { recursive: true });
    const b = await run(
      Deno.execPath(),
      ["run", "--allow-all", "--quiet", program, "-p", PY.exe, ...extra, env],
      { env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE } },
    );
    assertEquals(b.code, 0, b.stderr);
    const fromProgram = await snapshot(env);
    assertEquals(fromProgram.tree, fromSource.tree);
    assertEquals(fromProgram.files, fromSource.files);
    const pip = await run(join(env, "bin", "python"), ["-m", "pip", "--version"]);
    assertEquals(pip.code === 0, extra.length === 0, pip.stderr);
    await Deno.remove(env, { recursive: true });
  }
});

Deno.test("without a Python to train on, the program is built with every function eager", async () => {
  await using tmp = await tempDir();
  const said: string[] = [];
  const program = await build(join(tmp.path, "program"), {
    python: join(tmp.path, "no-such-python"),
    log: (line) => said.push(line),
  });
  assert(
    said.some((line) => line.startsWith("no Python to train the program with")),
    said.join("\n"),
  );
  const env = join(tmp.path, "env");
  const made = await run(
    Deno.execPath(),
    ["run", "--allow-all", "--quiet", program, "-p", PY.exe, "--without-pip", env],
    { env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE } },
  );
  assertEquals(made.code, 0, made.stderr);
  assertEquals(
    parsePyvenvCfg(await Deno.readTextFile(join(env, "pyvenv.cfg"))).get("home"),
    join(PY.prefix, "bin"),
  );
});
