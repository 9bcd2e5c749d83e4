/**
 * The install plan stored with a cached wheel (lib/seed/wheel_cache.ts `makeInstall`,
 * `storedInstall`) and carried out by `seedPip`: made once, read alone on later runs, remade
 * when damaged, and placing exactly what the plan computed in full does.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { InterpreterInfo } from "../lib/discovery/interpreter.ts";
import { probeCached } from "../lib/discovery/interpreter_cache.ts";
import { FilePlacer } from "../lib/disk/file_links.ts";
import { prepareSeed, seedPip, type SeedPlan, seedShape } from "../lib/seed/pip_seed.ts";
import {
  cachedBytecode,
  cachedWheel,
  categoryDir,
  makeInstall,
  storedInstall,
} from "../lib/seed/wheel_cache.ts";
import {
  carryOutInstall,
  installSchemeOf,
  planWheelInstall,
  shapeKey,
} from "../lib/seed/wheel_install.ts";
import { computeLayout, defaultBuildOptions, type VenvLayout } from "../lib/venv/layout.ts";
import { directoriesUnder } from "../lib/venv/target.ts";
import { bundledWheel, DEV_PYTHONS, PY312, writeWheel } from "./_wheel_fixture.ts";
import { tree } from "./_util.ts";

const PY39 = "/root/.pyenv/versions/3.9.18/bin/python3.9";

async function info(path: string): Promise<InterpreterInfo> {
  return await probeCached(path, { cacheDir: null });
}

/** A wheel with every kind of file: modules, `.data` scripts (one `#!python`), headers, data. */
async function demoWheel(dir: string): Promise<string> {
  return await writeWheel(dir, {
    name: "demo",
    version: "2.0",
    files: {
      "demo/__init__.py": "X = 1\n",
      "demo/sub/mod.py": "Y = 2\n",
      "demo-2.0.data/scripts/run-demo": "#!python -u\nprint('hi')\n",
      "demo-2.0.data/scripts/tool.sh": "#!/bin/sh\necho hi\n",
      "demo-2.0.data/headers/demo.h": "int x;\n",
      "demo-2.0.data/data/share/demo/readme.txt": "data\n",
    },
    consoleScripts: { "demo-cli": "demo:main" },
  });
}

/** A fresh venv skeleton at `dir` for `py`, as the builder makes it before seeding. */
function skeleton(py: InterpreterInfo, dir: string): VenvLayout {
  const layout = computeLayout(py, dir, { ...defaultBuildOptions("linux"), cwd: "/" });
  Deno.mkdirSync(dir, { recursive: true });
  for (const d of directoriesUnder(layout)) Deno.mkdirSync(d);
  return layout;
}

/** Each cache entry's stored plans. */
function plans(cacheDir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(cacheDir, "wheels"))) {
    if (!/^[0-9a-f]{64}$/.test(e.name)) continue;
    try {
      for (const p of Deno.readDirSync(join(cacheDir, "wheels", e.name, "plans"))) {
        out.push(join(cacheDir, "wheels", e.name, "plans", p.name));
      }
    } catch {
      // no plan in this entry
    }
  }
  return out.sort();
}

/** The venv's tree with contents: every file's mode and text, so RECORDs compare too. */
function contents(dir: string): string[] {
  return tree(dir).map((line) => {
    const m = /^f \d+ (.*)$/.exec(line);
    if (!m) return line;
    const data = Deno.readFileSync(join(dir, m[1]!));
    return `${line} ${data.length} ${new TextDecoder().decode(data.subarray(0, 4096))}`;
  });
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function seed(plan: SeedPlan, layout: VenvLayout) {
  await seedPip(layout, plan, { skipInstalled: false });
}

Deno.test(
  "a seed's install plan is stored once, then a run reads it alone: no wheel.json, no pyc.json",
  DEV_PYTHONS,
  async () => {
    await withDir(async (dir) => {
      const cacheDir = join(dir, "cache");
      const py = await info(PY39);
      const venv = join(dir, "venv");
      const first = await prepareSeed(py, { cacheDir });
      await seed(first, skeleton(py, venv));
      const before = contents(venv);
      Deno.removeSync(venv, { recursive: true });
      const stored = plans(cacheDir);
      assert.equal(stored.length, 2, "one plan for pip, one for setuptools");
      const texts = stored.map((p) => Deno.readTextFileSync(p));
      // Without the files a plan replaces, a warm run still seeds the same venv.
      for (const pkg of first.packages) {
        Deno.removeSync(join(pkg.cached.dir, "wheel.json"));
        Deno.removeSync(join(pkg.cached.dir, "pyc", py.cacheTag, "pyc.json"));
      }
      const warm = await prepareSeed(py, { cacheDir });
      await seed(warm, skeleton(py, venv));
      assert.deepEqual(stored.map((p) => Deno.readTextFileSync(p)), texts, "plans not rewritten");
      assert.deepEqual(contents(venv), before);
    });
  },
);

Deno.test(
  "a damaged stored plan (cut short, grown, garbage, another wheel's) is made again",
  DEV_PYTHONS,
  async () => {
    await withDir(async (dir) => {
      const cacheDir = join(dir, "cache");
      const py = await info(PY312);
      const first = await prepareSeed(py, { cacheDir });
      const pkg = first.packages[0]!;
      const [path] = plans(cacheDir);
      const good = Deno.readTextFileSync(path!);
      const shape = seedShape(py);
      assert.deepEqual(storedInstall(pkg.cached, shape, py.cacheTag), pkg.install);
      const newline = good.indexOf("\n");
      const damages = {
        "cut short": good.slice(0, -40),
        "grown": good + "\n",
        "garbage": good.slice(0, newline + 1) + "x".repeat(good.length - newline - 1),
        "another wheel's": good.replace(pkg.cached.sha256, "0".repeat(64)),
        "no header": good.slice(newline + 1),
      };
      for (const [what, text] of Object.entries(damages)) {
        Deno.writeTextFileSync(path!, text);
        assert.equal(storedInstall(pkg.cached, shape, py.cacheTag), null, what);
        const again = await prepareSeed(py, { cacheDir });
        assert.deepEqual(again.packages[0]!.install, pkg.install, what);
        assert.equal(Deno.readTextFileSync(path!), good, `${what}: stored again`);
        await seed(again, skeleton(py, join(dir, what)));
        assert.ok(Deno.statSync(join(dir, what, "bin", "pip")).isFile, what);
      }
    });
  },
);

Deno.test(
  "carrying out a stored plan places the same files, modes and RECORD as the full plan",
  DEV_PYTHONS,
  async () => {
    await withDir(async (dir) => {
      const cacheDir = join(dir, "cache");
      const py = await info(PY312);
      for (const wheelPath of [bundledWheel("3.12.1", "pip"), await demoWheel(dir)]) {
        const name = wheelPath.includes("demo") ? "demo" : "pip";
        // Both at the same path (scripts and RECORD name it), one after the other.
        const venv = join(dir, name, "venv");
        const cached = await cachedWheel(cacheDir, wheelPath);
        const bytecode = await cachedBytecode(cached, { python: PY312, cacheTag: py.cacheTag });
        const install = await makeInstall(cached, seedShape(py), py.cacheTag, bytecode);
        const shape = shapeKey(seedShape(py));
        await seedPip(skeleton(py, venv), {
          info: py,
          packages: [{ cached, bytecode, origin: "test", install, shape }],
          temporary: false,
          dispose: () => {},
        }, { skipInstalled: false });
        const pythonScripts = new Map(
          cached.wheel.files.filter((f) => f.pythonScript).map((f) => [
            f.path,
            Deno.readFileSync(join(categoryDir(cached, f.category), f.path)),
          ]),
        );
        const fast = contents(venv);
        const byBytes = (a: string, b: string) =>
          new TextEncoder().encode(b).length - new TextEncoder().encode(a).length;
        const paths = tree(venv).map((line) =>
          line.replace(/^[dfl] (\d+ )?/, "").split(" -> ")[0]!
        );
        assert.equal(install.longest, paths.sort(byBytes)[0], "the plan knows its longest path");
        Deno.removeSync(venv, { recursive: true });
        const reference = planWheelInstall(installSchemeOf(skeleton(py, venv)), {
          cached,
          bytecode,
          pythonScripts,
          launchers: null,
        });
        await carryOutInstall(reference, new FilePlacer("hardlink"));
        assert.deepEqual(fast, contents(venv), name);
        if (name === "demo") {
          assert.equal(
            Deno.readTextFileSync(join(venv, "include", "site", "python3.12", "demo", "demo.h")),
            "int x;\n",
            "headers are installed (their directory is made)",
          );
          assert.equal(
            Deno.readTextFileSync(join(venv, "bin", "run-demo")),
            `#!${venv}/bin/python3.12\nprint('hi')\n`,
          );
        }
      }
    });
  },
);
