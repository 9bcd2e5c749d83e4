import assert from "node:assert/strict";
import { join } from "node:path";
import { BuildError } from "../lib/errors.ts";
import { recordHash } from "../lib/seed/wheel.ts";
import {
  type CachedBytecode,
  cachedBytecode,
  type CachedWheel,
  cachedWheel,
  categoryDir,
  pycPath,
  storedBytecode,
} from "../lib/seed/wheel_cache.ts";
import { DEV_PYTHONS, PY312, run, writeWheel } from "./_wheel_fixture.ts";

const DEMO = {
  name: "demo",
  version: "1.0",
  files: {
    "demo/__init__.py": "VALUE = 42\n",
    "demo/sub/mod.py": "def f():\n    return 1\n",
    "demo/broken.py": "def (:\n",
    "demo/data.txt": "not code\n",
  },
  executables: ["demo/data.txt"],
};

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch((e: unknown) => {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  });
  for (const e of entries) {
    out.push(e.name);
    if (e.isDirectory) out.push(...(await tree(join(dir, e.name))).map((p) => `${e.name}/${p}`));
  }
  return out.sort();
}

/**
 * Python itself accepts each bytecode file for its source (magic number, flags, mtime and
 * size), and the code inside names the source where the cache keeps it.
 */
async function assertValidBytecode(cached: CachedWheel, bytecode: CachedBytecode): Promise<void> {
  const purelib = categoryDir(cached, "purelib");
  const pairs = bytecode.files.map((f) => [
    join(purelib, f.path.replace(/__pycache__\/(\w+)\.cpython-312\.pyc$/, "$1.py")),
    join(bytecode.dir, f.path),
  ]);
  for (const f of bytecode.files) {
    const data = await Deno.readFile(join(bytecode.dir, f.path));
    assert.equal(f.hash, recordHash(data));
    assert.equal(f.size, data.length);
  }
  const check = "import json, marshal, os, sys\n" +
    "from importlib._bootstrap_external import _classify_pyc, _validate_timestamp_pyc\n" +
    "for src, pyc in json.load(sys.stdin):\n" +
    "    data = open(pyc, 'rb').read()\n" +
    "    assert _classify_pyc(data, 'x', {}) == 0\n" +
    "    st = os.stat(src)\n" +
    "    _validate_timestamp_pyc(data, int(st.st_mtime), st.st_size, 'x', {})\n" +
    "    assert marshal.loads(data[16:]).co_filename == src, (marshal.loads(data[16:]).co_filename, src)\n" +
    "print('valid')\n";
  const out = await run(PY312, ["-c", check], { stdin: JSON.stringify(pairs) });
  assert.equal(out.stdout.trim(), "valid", out.stderr);
}

Deno.test("cachedWheel() unpacks a wheel once into wheels/<sha256> with its modes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wheelPath = await writeWheel(dir, DEMO);
    const root = join(dir, "cache");
    const first = await cachedWheel(root, wheelPath);
    const bytes = await Deno.readFile(wheelPath);
    const sha = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assert.equal(first.sha256, sha);
    assert.equal(first.dir, join(root, "wheels", sha));
    const purelib = categoryDir(first, "purelib");
    assert.equal(await Deno.readTextFile(join(purelib, "demo", "__init__.py")), "VALUE = 42\n");
    // Read-only, so that an edit in place through one venv's hard link fails.
    assert.equal((await Deno.stat(join(purelib, "demo", "data.txt"))).mode! & 0o777, 0o555);
    assert.equal((await Deno.stat(join(purelib, "demo", "__init__.py"))).mode! & 0o777, 0o444);
    const jsonIno = (await Deno.stat(join(first.dir, "wheel.json"))).ino;
    const again = await cachedWheel(root, wheelPath);
    assert.deepEqual(again, first);
    assert.equal((await Deno.stat(join(first.dir, "wheel.json"))).ino, jsonIno, "not rebuilt");
    // The same wheel under another name shares the entry.
    const copy = join(dir, "copy", "demo-1.0-py3-none-any.whl");
    await Deno.mkdir(join(dir, "copy"));
    await Deno.copyFile(wheelPath, copy);
    assert.equal((await cachedWheel(root, copy)).dir, first.dir);
    assert.deepEqual((await tree(join(root, "wheels"))).filter((p) => p.includes(".tmp-")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cachedWheel() leaves nothing behind for a damaged wheel", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wheelPath = await writeWheel(dir, {
      ...DEMO,
      editRecord: (rows) => (rows[0]!.hash = "sha256=" + "B".repeat(43)),
    });
    const root = join(dir, "cache");
    await assert.rejects(() => cachedWheel(root, wheelPath), BuildError);
    assert.deepEqual(await tree(join(root, "wheels")), ["by-file"]);
    await assert.rejects(
      () => cachedWheel(root, join(dir, "missing-1.0-py3-none-any.whl")),
      (e: unknown) => e instanceof BuildError && /no such file/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "cachedWheel() compiles a wheel it unpacks into the same entry, only for an interpreter that uses it",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const wheelPath = await writeWheel(dir, DEMO);
      const lines: string[] = [];
      const unpack = (name: string, python: string, wanted: boolean) =>
        cachedWheel(join(dir, name), wheelPath, {
          log: (line) => lines.push(line),
          bytecode: { python, cacheTag: "cpython-312", wanted: (s) => wanted && s.name === "demo" },
        });
      const cached = await unpack("cache", PY312, true);
      const bytecode = storedBytecode(cached, "cpython-312");
      assert.ok(bytecode !== null, lines.join("\n"));
      assert.equal(bytecode.dir, join(cached.dir, "pyc", "cpython-312"));
      assert.deepEqual(bytecode.files.map((f) => f.path).sort(), [
        "demo/__pycache__/__init__.cpython-312.pyc",
        "demo/sub/__pycache__/mod.cpython-312.pyc",
      ]);
      await assertValidBytecode(cached, bytecode);
      assert.deepEqual(
        await cachedBytecode(cached, { python: "/nonexistent/python", cacheTag: "cpython-312" }),
        bytecode,
        "cachedBytecode() finds it without running Python",
      );

      const unwanted = await unpack("cache2", PY312, false);
      assert.equal(storedBytecode(unwanted, "cpython-312"), null);
      assert.ok(!(await tree(unwanted.dir)).includes("pyc"), "nothing compiled for no use");

      lines.length = 0;
      const failed = await unpack("cache3", "/nonexistent/python", true);
      assert.equal(storedBytecode(failed, "cpython-312"), null);
      assert.ok(!(await tree(failed.dir)).includes("pyc"));
      assert.ok(lines.some((l) => l.startsWith("bytecode compilation failed")), lines.join("\n"));
      assert.equal(
        await Deno.readTextFile(join(categoryDir(failed, "purelib"), "demo/__init__.py")),
        "VALUE = 42\n",
        "the wheel is unpacked all the same",
      );

      // A compiler that succeeds but writes nothing (say it cannot open the paths) stores no
      // empty list, which would keep every later venv without bytecode.
      const idle = join(dir, "idle-python");
      await Deno.writeTextFile(idle, "#!/bin/sh\ncat >/dev/null\necho '[]'\n", { mode: 0o755 });
      lines.length = 0;
      const none = await unpack("cache4", idle, true);
      assert.equal(storedBytecode(none, "cpython-312"), null);
      assert.ok(
        lines.includes("bytecode compilation failed: no module compiled"),
        lines.join("\n"),
      );
      const later = await cachedBytecode(none, { python: PY312, cacheTag: "cpython-312" });
      assert.equal(later?.files.length, 2, "compiled by the next run");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "cachedBytecode() compiles valid timestamp .pyc files once, leaving out broken modules",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const root = join(dir, "cache");
      const cached = await cachedWheel(root, await writeWheel(dir, DEMO));
      // What a killed compile left an hour and more ago goes; a running one's stays.
      const stale = join(cached.dir, "pyc", ".tmp-1-stale");
      const fresh = join(cached.dir, "pyc", ".tmp-2-fresh");
      await Deno.mkdir(stale, { recursive: true });
      await Deno.mkdir(fresh);
      const old = new Date(Date.now() - 2 * 3600_000);
      await Deno.utime(stale, old, old);
      const bytecode = await cachedBytecode(cached, { python: PY312, cacheTag: "cpython-312" });
      assert.ok(bytecode !== null);
      assert.deepEqual((await tree(join(cached.dir, "pyc"))).filter((p) => p.startsWith(".tmp")), [
        ".tmp-2-fresh",
      ]);
      assert.deepEqual(bytecode.files.map((f) => f.path).sort(), [
        "demo/__pycache__/__init__.cpython-312.pyc",
        "demo/sub/__pycache__/mod.cpython-312.pyc",
      ]);
      for (const f of bytecode.files) {
        const data = await Deno.readFile(join(bytecode.dir, f.path));
        assert.equal(f.hash, recordHash(data));
        assert.equal(f.size, data.length);
      }
      await assertValidBytecode(cached, bytecode);
      const again = await cachedBytecode(cached, {
        python: "/nonexistent/python",
        cacheTag: "cpython-312",
      });
      assert.deepEqual(again, bytecode, "served from the cache without running Python");
      assert.equal(pycPath("a/b.py", "pypy39"), "a/__pycache__/b.pypy39.pyc");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "cachedBytecode() compiles a large wheel with one process per core, as one would",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const files: Record<string, string> = { "big/broken.py": "def (:\n" };
      for (let i = 0; i < 80; i++) files[`big/m${i}.py`] = `X = ${i}\n` + "Y = [1]\n".repeat(i);
      const cached = await cachedWheel(
        join(dir, "cache"),
        await writeWheel(dir, {
          name: "big",
          version: "1.0",
          files,
        }),
      );
      const lines: string[] = [];
      const bytecode = await cachedBytecode(cached, {
        python: PY312,
        cacheTag: "cpython-312",
        log: (line) => lines.push(line),
      });
      assert.ok(bytecode !== null);
      const cores = navigator.hardwareConcurrency;
      if (cores > 1) {
        assert.match(lines.join("\n"), new RegExp(`\\(${Math.min(cores, 5)} processes\\)`));
      }
      assert.deepEqual(
        bytecode.files.map((f) => f.path).sort(),
        Array.from({ length: 80 }, (_, i) => `big/__pycache__/m${i}.cpython-312.pyc`).sort(),
      );
      for (const f of bytecode.files) {
        const data = await Deno.readFile(join(bytecode.dir, f.path));
        assert.equal(f.hash, recordHash(data));
        assert.equal(f.size, data.length);
        // Read-only, as every file venvs hard-link from the cache.
        assert.equal((await Deno.stat(join(bytecode.dir, f.path))).mode! & 0o777, 0o444);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/**
 * Run `count` processes at once that each fill the cache `root` with the wheel at `wheelPath`
 * and compile its bytecode; assert they all succeed, agree, and leave one entry and no
 * temporary directory or lock behind.
 */
async function fillConcurrently(dir: string, root: string, wheelPath: string, count: number) {
  const script = join(dir, "fill.ts");
  const lib = new URL("../lib/seed/wheel_cache.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { cachedBytecode, cachedWheel } from ${JSON.stringify(lib)};\n` +
      `const c = await cachedWheel(Deno.args[0], Deno.args[1]);\n` +
      `const b = await cachedBytecode(c, { python: ${
        JSON.stringify(PY312)
      }, cacheTag: "cpython-312" });\n` +
      `console.log(JSON.stringify([c.dir, b?.files.length]));\n`,
  );
  const results = await Promise.all(
    Array.from(
      { length: count },
      () => run(Deno.execPath(), ["run", "-A", script, root, wheelPath]),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const answers = new Set(results.map((r) => r.stdout.trim()));
  assert.equal(answers.size, 1, [...answers].join(" | "));
  const entries = await tree(join(root, "wheels"));
  assert.deepEqual(entries.filter((p) => p.includes(".tmp-")), [], "no temporary directory left");
  assert.deepEqual(entries.filter((p) => p.endsWith(".lock")), [], "no lock file left");
  assert.equal(entries.filter((p) => /^[0-9a-f]{64}$/.test(p)).length, 1);
}

Deno.test(
  "concurrent processes filling the same cache entry all succeed and agree",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const wheelPath = await writeWheel(dir, DEMO);
      await fillConcurrently(dir, join(dir, "cache"), wheelPath, 4);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "a damaged cache entry is replaced once while concurrent processes use it",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const wheelPath = await writeWheel(dir, DEMO);
      const root = join(dir, "cache");
      const entry = (await cachedWheel(root, wheelPath)).dir;
      // An entry without its wheel.json, as a crash of an older mkvenv or a user's cleanup leaves.
      await Deno.remove(join(entry, "wheel.json"));
      await Deno.writeTextFile(join(entry, "stray"), "left from before\n");
      await Deno.remove(join(root, "wheels", "by-file"), { recursive: true });
      await fillConcurrently(dir, root, wheelPath, 6);
      const json = JSON.parse(await Deno.readTextFile(join(entry, "wheel.json")));
      assert.equal(json.sha256, entry.split("/").pop());
      await assert.rejects(Deno.stat(join(entry, "stray")), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
