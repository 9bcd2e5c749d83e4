import assert from "node:assert/strict";
import { join } from "node:path";
import { BuildError } from "../lib/errors.ts";
import type { InterpreterInfo } from "../lib/discovery/interpreter.ts";
import { probeCached } from "../lib/discovery/interpreter_cache.ts";
import {
  candidateWheels,
  incompatibility,
  prepareSeed,
  recordPaths,
  type SeedOptions,
  seedProjects,
} from "../lib/seed/pip_seed.ts";
import { readWheel } from "../lib/seed/wheel.ts";
import { bundledWheel, DEV_PYTHONS, PY312, writeWheel } from "./_wheel_fixture.ts";

const PY37 = "/root/.pyenv/versions/3.7.16/bin/python3.7";

async function info(path: string): Promise<InterpreterInfo> {
  return await probeCached(path, { cacheDir: null });
}

function variant(base: InterpreterInfo, over: Partial<InterpreterInfo>): InterpreterInfo {
  return { ...base, ...over };
}

const names = (cands: { path: string }[]) =>
  cands.map((c) => c.path.split("/").slice(-2).join("/"));

Deno.test(
  "seedProjects() is setuptools and pip before 3.12, pip alone from 3.12",
  DEV_PYTHONS,
  async () => {
    const py312 = await info(PY312);
    assert.deepEqual(seedProjects(py312), ["pip"]);
    assert.deepEqual(seedProjects(variant(py312, { version: [3, 11, 7] })), ["pip", "setuptools"]);
  },
);

Deno.test(
  "candidateWheels() takes the bundled wheel ensurepip pins (3.7-3.9)",
  DEV_PYTHONS,
  async () => {
    const base = await info(PY312);
    const py38 = variant(base, {
      version: [3, 8, 18],
      wheelPkgDir: null,
      ensurepip: {
        dir: "/py/ensurepip",
        hasMain: true,
        bundledDir: "/py/ensurepip/_bundled",
        // pyenv left an older pip behind when it upgraded 3.8: the pin decides.
        bundled: [
          "pip-22.0.4-py3-none-any.whl",
          "pip-23.0.1-py3-none-any.whl",
          "setuptools-56.0.0-py3-none-any.whl",
        ],
        pipVersion: "23.0.1",
        setuptoolsVersion: "56.0.0",
      },
    });
    const listings = {
      wheelPkgDir: null,
      systemDir: {
        path: "/sys",
        names: ["pip-9.0.1-py2.py3-none-any.whl", "pip-20.0-py3-none-any.whl"],
      },
    };
    assert.deepEqual(names(candidateWheels(py38, "pip", listings)), [
      "_bundled/pip-23.0.1-py3-none-any.whl",
      "sys/pip-20.0-py3-none-any.whl",
      "sys/pip-9.0.1-py2.py3-none-any.whl",
    ]);
    assert.deepEqual(candidateWheels(py38, "setuptools", listings)[0]?.origin, "ensurepip");
  },
);

Deno.test(
  "candidateWheels() prefers WHEEL_PKG_DIR from 3.10, only when it has every project",
  DEV_PYTHONS,
  async () => {
    const base = await info(PY312);
    const ensurepip = {
      dir: "/py/ensurepip",
      hasMain: true,
      bundledDir: "/b",
      bundled: ["pip-23.2.1-py3-none-any.whl", "setuptools-65.5.0-py3-none-any.whl"],
      pipVersion: "23.2.1",
      setuptoolsVersion: "65.5.0",
    };
    const py311 = variant(base, { version: [3, 11, 2], wheelPkgDir: "/w", ensurepip });
    const both = {
      wheelPkgDir: ["pip-23.0.1-py3-none-any.whl", "setuptools-66.1.1-py3-none-any.whl"],
      systemDir: null,
    };
    assert.deepEqual(names(candidateWheels(py311, "pip", both)).slice(0, 2), [
      "w/pip-23.0.1-py3-none-any.whl",
      "b/pip-23.2.1-py3-none-any.whl",
    ]);
    const pipOnly = { wheelPkgDir: ["pip-23.0.1-py3-none-any.whl"], systemDir: null };
    assert.deepEqual(
      names(candidateWheels(py311, "pip", pipOnly))[0],
      "b/pip-23.2.1-py3-none-any.whl",
    );
    // 3.12+: the last pip wheel in plain string order, so "pip-9..." beats "pip-23..." (as CPython).
    const py312 = variant(base, { wheelPkgDir: "/w", ensurepip });
    const two = {
      wheelPkgDir: ["pip-23.2.1-py3-none-any.whl", "pip-9.0.1-py3-none-any.whl"],
      systemDir: null,
    };
    assert.deepEqual(names(candidateWheels(py312, "pip", two))[0], "w/pip-9.0.1-py3-none-any.whl");
  },
);

Deno.test(
  "candidateWheels() falls back on the newest system wheel when ensurepip has none",
  DEV_PYTHONS,
  async () => {
    const base = await info(PY312);
    const debianPypy = variant(base, {
      implementation: "pypy",
      version: [3, 9, 16],
      wheelPkgDir: null,
      ensurepip: {
        dir: "/usr/lib/pypy3.9/ensurepip",
        hasMain: true,
        bundledDir: "/usr/lib/pypy3.9/ensurepip/_bundled",
        bundled: [],
        pipVersion: null,
        setuptoolsVersion: null,
      },
    });
    const listings = {
      wheelPkgDir: null,
      systemDir: {
        path: "/usr/share/python-wheels",
        names: [
          "pip-9.0.1-py2.py3-none-any.whl",
          "pip-23.0.1-py3-none-any.whl",
          "pipx-1.0-py3-none-any.whl",
        ],
      },
    };
    assert.deepEqual(names(candidateWheels(debianPypy, "pip", listings)), [
      "python-wheels/pip-23.0.1-py3-none-any.whl",
      "python-wheels/pip-9.0.1-py2.py3-none-any.whl",
    ]);
  },
);

Deno.test("incompatibility() reads Requires-Python and the wheel's tags", DEV_PYTHONS, async () => {
  const py37 = await info(PY37);
  const path = bundledWheel("3.13.0", "pip");
  const { wheel } = await readWheel(await Deno.readFile(path), path);
  assert.equal(incompatibility(wheel, py37), "it requires Python >=3.8");
  assert.equal(incompatibility(wheel, await info(PY312)), null);
  const binary = {
    ...wheel,
    filename: { ...wheel.filename, platformTags: ["manylinux_2_17_x86_64"] },
  };
  assert.match(incompatibility(binary, py37)!, /not pure Python/);
});

async function withCache(fn: (options: SeedOptions, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn({ cacheDir: join(dir, "cache") }, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function expectError(promise: Promise<unknown>, ...patterns: RegExp[]) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof BuildError, String(e));
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

Deno.test(
  "prepareSeed() refuses a --pip-wheel whose Requires-Python excludes the interpreter",
  DEV_PYTHONS,
  async () => {
    await withCache(async (options) => {
      await expectError(
        prepareSeed(await info(PY37), { ...options, pipWheels: [bundledWheel("3.13.0", "pip")] }),
        /^Cannot seed CPython 3\.7\.16 .* with the wheel ".*pip-24\.2-py3-none-any\.whl": it requires Python >=3\.8;/,
        /--without-pip$/,
      );
    });
  },
);

Deno.test("prepareSeed() refuses a --pip-wheel of another project", DEV_PYTHONS, async () => {
  await withCache(async (options, dir) => {
    const other = await writeWheel(dir, { name: "demo", version: "1.0", files: { "demo.py": "" } });
    await expectError(
      prepareSeed(await info(PY312), { ...options, pipWheels: [other] }),
      /it is demo, and .* is seeded with pip; pass a wheel of pip$/,
    );
  });
});

Deno.test(
  "prepareSeed() without any usable pip wheel says how to get one",
  DEV_PYTHONS,
  async () => {
    await withCache(async (options, dir) => {
      const bare = variant(await info(PY37), { ensurepip: null, wheelPkgDir: null });
      const empty = join(dir, "empty");
      await Deno.mkdir(empty);
      await expectError(
        prepareSeed(bare, { ...options, systemWheelDir: empty }),
        /^Cannot install pip for CPython 3\.7\.16 .*: no usable pip wheel in ".*empty"/,
        /--pip-wheel PATH or set MKVENV_PIP_WHEEL/,
        /--without-pip$/,
      );
      // A wheel that exists but does not fit is named with the reason.
      await Deno.copyFile(bundledWheel("3.13.0", "pip"), join(empty, "pip-24.2-py3-none-any.whl"));
      await expectError(
        prepareSeed(bare, { ...options, systemWheelDir: empty }),
        /\(pip-24\.2-py3-none-any\.whl: it requires Python >=3\.8\)/,
      );
    });
  },
);

Deno.test(
  "prepareSeed() skips wheels whose Requires-Python excludes the interpreter",
  DEV_PYTHONS,
  async () => {
    await withCache(async (options, dir) => {
      const bare = variant(await info(PY37), { ensurepip: null, wheelPkgDir: null });
      const wheels = join(dir, "wheels");
      await Deno.mkdir(wheels);
      for (
        const [v, p] of [["3.13.0", "pip"], ["3.7.16", "pip"], ["3.7.16", "setuptools"]] as const
      ) {
        const src = bundledWheel(v, p);
        await Deno.copyFile(src, join(wheels, src.split("/").pop()!));
      }
      const plan = await prepareSeed(bare, { ...options, systemWheelDir: wheels });
      try {
        assert.deepEqual(
          plan.packages.map((p) => `${p.cached.wheel.name} ${p.cached.wheel.version} ${p.origin}`),
          [`pip 22.0.4 ${wheels}`, `setuptools 47.1.0 ${wheels}`],
        );
        for (const p of plan.packages) {
          const sources = p.cached.wheel.files.filter((f) => f.path.endsWith(".py"));
          assert.equal(p.bytecode?.files.length, sources.length, "every module is compiled");
        }
      } finally {
        plan.dispose();
      }
    });
  },
);

Deno.test(
  "prepareSeed() warns and seeds pip alone when setuptools is missing before 3.12",
  DEV_PYTHONS,
  async () => {
    await withCache(async (options) => {
      const warnings: string[] = [];
      const py37 = await info(PY37);
      const plan = await prepareSeed(variant(py37, { ensurepip: null, wheelPkgDir: null }), {
        ...options,
        systemWheelDir: null,
        pipWheels: [bundledWheel("3.7.16", "pip")],
        warn: (line) => warnings.push(line),
      });
      plan.dispose();
      assert.deepEqual(plan.packages.map((p) => p.cached.wheel.name), ["pip"]);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /no usable setuptools wheel .*: the venv gets pip only/);
    });
  },
);

async function chattr(flag: "+i" | "-i", path: string): Promise<boolean> {
  try {
    return (await new Deno.Command("chattr", { args: [flag, path], stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

Deno.test(
  "prepareSeed() uses a read-only cache as it is and builds what it lacks elsewhere",
  DEV_PYTHONS,
  async () => {
    await withCache(async (options, dir) => {
      const wheels = join(options.cacheDir!, "wheels");
      const py312 = await info(PY312);
      // Fill the cache, then make it unwritable (immutable: even root cannot add entries).
      (await prepareSeed(py312, options)).dispose();
      assert.ok(
        await chattr("+i", wheels),
        "chattr +i works on this machine's temporary directory",
      );
      try {
        const warm = await prepareSeed(py312, options);
        warm.dispose();
        assert.ok(warm.packages[0]!.cached.dir.startsWith(wheels), "served from the cache");
        assert.ok(warm.packages[0]!.bytecode !== null);
        const lines: string[] = [];
        const other = await writeWheel(dir, {
          name: "pip",
          version: "99.0",
          files: { "pip/__init__.py": "" },
        });
        const cold = await prepareSeed(py312, {
          ...options,
          pipWheels: [other],
          log: (l) => lines.push(l),
        });
        const tempDir = cold.packages[0]!.cached.dir;
        assert.ok(!tempDir.startsWith(wheels), tempDir);
        assert.equal(cold.packages[0]!.cached.wheel.version, "99.0");
        assert.ok(lines.some((l) => /cannot be used/.test(l)), lines.join("\n"));
        cold.dispose();
        await assert.rejects(
          () => Deno.stat(tempDir),
          Deno.errors.NotFound,
          "the temporary cache is removed",
        );
      } finally {
        await chattr("-i", wheels);
      }
    });
  },
);

Deno.test("recordPaths() reads a RECORD's first fields as Python's csv module does", () => {
  const record = 'pip/__init__.py,sha256=abc,10\r\n"../../../bin/a,b",sha256=x,1\n' +
    '"say ""hi"".py",,\n"../../../bin/c\nd",,\n"../../../bin/e"junk,,\n\nlast.py,,';
  assert.deepEqual(recordPaths(record), [
    "pip/__init__.py",
    "../../../bin/a,b",
    'say "hi".py',
    "../../../bin/c\nd",
    "../../../bin/ejunk",
    "last.py",
  ]);
  assert.deepEqual(recordPaths(""), []);
});
