import assert from "node:assert/strict";
import { join } from "node:path";
import type { InterpreterInfo } from "../lib/discovery/interpreter.ts";
import { probeCached } from "../lib/discovery/interpreter_cache.ts";
import { computeLayout, defaultBuildOptions } from "../lib/venv/layout.ts";
import { parseRecord, readWheel, recordHash } from "../lib/seed/wheel.ts";
import { cachedBytecode, cachedWheel, categoryDir } from "../lib/seed/wheel_cache.ts";
import { installSchemeOf, planWheelInstall } from "../lib/seed/wheel_install.ts";
import { bundledWheel, DEV_PYTHONS, PY312, writeWheel } from "./_wheel_fixture.ts";

function windowsInfo(linux: InterpreterInfo): InterpreterInfo {
  return {
    ...linux,
    osName: "nt",
    sysPlatform: "win32",
    platform: "windows",
    executable: "C:\\Python312\\python.exe",
    baseExecutable: "C:\\Python312\\python.exe",
    realpathExecutable: "C:\\Python312\\python.exe",
    stdlib: "C:\\Python312\\Lib",
    venvScheme: {
      scripts: "Scripts",
      purelib: "Lib\\site-packages",
      platlib: "Lib\\site-packages",
      include: "Include",
    },
    windows: { baseDirFiles: ["python.exe", "pythonw.exe"], venvNtScripts: ["python.exe"] },
  };
}

async function withCache(fn: (root: string, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(join(dir, "cache"), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "planWheelInstall() writes pip's Windows .exe scripts and a RECORD naming them",
  DEV_PYTHONS,
  async () => {
    await withCache(async (root) => {
      const info = windowsInfo(await probeCached(PY312, { cacheDir: null }));
      const layout = computeLayout(info, "C:\\work\\my env", {
        ...defaultBuildOptions("windows"),
        cwd: "C:\\work",
      });
      const cached = await cachedWheel(root, bundledWheel("3.12.1", "pip"));
      const launchers = await readWheel(
        await Deno.readFile(bundledWheel("3.12.1", "pip")),
        "pip-23.2.1-py3-none-any.whl",
      ).then(({ contents }) => ({
        console: contents.get("pip/_vendor/distlib/t64.exe")!,
        gui: contents.get("pip/_vendor/distlib/w64.exe")!,
      }));
      const plan = planWheelInstall(installSchemeOf(layout), {
        cached,
        bytecode: null,
        pythonScripts: new Map(),
        launchers,
      });
      const exes = plan.writes.filter((w) => w.path.endsWith(".exe")).map((w) => w.path);
      assert.deepEqual(exes, [
        "C:\\work\\my env\\Scripts\\pip.exe",
        "C:\\work\\my env\\Scripts\\pip3.exe",
        "C:\\work\\my env\\Scripts\\pip3.12.exe",
      ]);
      const pipExe = plan.writes[0]!.data;
      assert.deepEqual(pipExe.subarray(0, launchers.console.length), launchers.console);
      const tail = new TextDecoder().decode(pipExe.subarray(launchers.console.length));
      assert.ok(tail.startsWith('#!"C:\\work\\my env\\Scripts\\python.exe"\r\n'));
      assert.ok(plan.links.every((l) => l.to.startsWith("C:\\work\\my env\\Lib\\site-packages\\")));
      assert.ok(plan.links.some((l) => l.to.endsWith("\\pip\\_internal\\cli\\main.py")));
      const record = parseRecord(new TextDecoder().decode(plan.writes.at(-1)!.data));
      const byPath = new Map(record.map((r) => [r.path, r]));
      assert.equal(
        byPath.get("../../Scripts/pip3.12.exe")?.hash,
        recordHash(plan.writes[2]!.data),
      );
      assert.ok(byPath.has("pip/_internal/cli/main.py"));
      assert.equal(byPath.get("pip-23.2.1.dist-info/INSTALLER")?.size, "7");
      assert.deepEqual(record.at(-1), { path: "pip-23.2.1.dist-info/RECORD", hash: "", size: "" });
      assert.equal(record.length, cached.wheel.files.length + 3 + 3);
    });
  },
);

Deno.test(
  "planWheelInstall() puts .data files in the venv's scheme and rewrites #!python",
  DEV_PYTHONS,
  async () => {
    await withCache(async (root, dir) => {
      const info = await probeCached(PY312, { cacheDir: null });
      const layout = computeLayout(info, "/v/env", { ...defaultBuildOptions("linux"), cwd: "/" });
      const wheelPath = await writeWheel(dir, {
        name: "demo",
        version: "2.0",
        files: {
          "demo/__init__.py": "X = 1\n",
          "demo-2.0.data/scripts/run-demo": "#!python -u\nprint('hi')\n",
          "demo-2.0.data/scripts/tool.sh": "#!/bin/sh\necho hi\n",
          "demo-2.0.data/headers/demo.h": "int x;\n",
          "demo-2.0.data/data/share/demo/readme.txt": "data\n",
        },
        consoleScripts: { "demo-cli": "demo:main", "demo-obj": "demo.sub:obj.method" },
      });
      const cached = await cachedWheel(root, wheelPath);
      const bytecode = await cachedBytecode(cached, { python: PY312, cacheTag: info.cacheTag });
      const runDemo = cached.wheel.files.find((f) => f.path === "run-demo")!;
      const plan = planWheelInstall(installSchemeOf(layout), {
        cached,
        bytecode,
        pythonScripts: new Map([
          [
            "run-demo",
            await Deno.readFile(join(categoryDir(cached, runDemo.category), "run-demo")),
          ],
        ]),
        launchers: null,
      });
      const to = new Map(plan.links.map((l) => [l.to, l.from]));
      assert.ok(to.has("/v/env/bin/tool.sh"));
      assert.ok(to.has("/v/env/include/site/python3.12/demo/demo.h"));
      assert.ok(to.has("/v/env/share/demo/readme.txt"));
      assert.ok(
        to.has("/v/env/lib/python3.12/site-packages/demo/__pycache__/__init__.cpython-312.pyc"),
      );
      const written = new Map(plan.writes.map((w) => [w.path, new TextDecoder().decode(w.data)]));
      assert.equal(written.get("/v/env/bin/run-demo"), "#!/v/env/bin/python3.12\nprint('hi')\n");
      assert.match(
        written.get("/v/env/bin/demo-obj")!,
        /from demo\.sub import obj as _entry_point/,
      );
      assert.match(written.get("/v/env/bin/demo-obj")!, /sys\.exit\(_entry_point\.method\(\)\)/);
      assert.ok(plan.dirs.includes("/v/env/share/demo"));
      assert.ok(plan.dirs.indexOf("/v/env/share") < plan.dirs.indexOf("/v/env/share/demo"));
      const record = parseRecord(
        written.get("/v/env/lib/python3.12/site-packages/demo-2.0.dist-info/RECORD")!,
      );
      assert.deepEqual(record.map((r) => r.path).filter((p) => p.startsWith("..")).sort(), [
        "../../../bin/demo-cli",
        "../../../bin/demo-obj",
        "../../../bin/run-demo",
        "../../../bin/tool.sh",
        "../../../include/site/python3.12/demo/demo.h",
        "../../../share/demo/readme.txt",
      ]);
    });
  },
);
