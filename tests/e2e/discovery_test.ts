/**
 * Interpreter discovery end to end: the CLI finds the real pyenv Pythons (and Debian's PyPy)
 * from what people type, builds the venv with them, and a warm run spawns no probe.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { hasStrace, MKVENV_COMMAND } from "../_util.ts";

const PYENV_ROOT = "/root/.pyenv";
const DENO_DIR = Deno.env.get("DENO_DIR") ??
  join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache"), "deno");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A scratch directory with its own HOME and cache; PATH is what each run says. */
class Scratch {
  constructor(readonly root: string) {}

  static async make(): Promise<Scratch> {
    const s = new Scratch(await Deno.makeTempDir({ prefix: "mkvenv-e2e-discovery-" }));
    await Deno.mkdir(s.p("home"));
    await Deno.mkdir(s.p("empty"));
    return s;
  }

  p(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Run mkvenv with a controlled environment (nothing inherited). */
  async mkvenv(
    args: string[],
    options: { cwd?: string; path?: string; env?: Record<string, string>; strace?: string } = {},
  ): Promise<Run> {
    const env: Record<string, string> = {
      PATH: options.path ?? this.p("empty"),
      HOME: this.p("home"),
      PYENV_ROOT,
      MKVENV_CACHE_DIR: this.p("cache"),
      DENO_DIR,
      NO_COLOR: "1",
      ...options.env,
    };
    const deno = [...MKVENV_COMMAND, ...args];
    const argv = options.strace
      ? ["strace", "-f", "-qq", "-e", "trace=execve", "-o", options.strace, ...deno]
      : deno;
    const out = await new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      cwd: options.cwd ?? this.root,
      env,
      clearEnv: true,
      stdin: "null",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  }

  /** Build `name` with `args` and return the venv's own answer about itself. */
  async build(
    name: string,
    args: string[],
    options: { cwd?: string; path?: string; env?: Record<string, string> } = {},
  ): Promise<{ home: string; implementation: string; version: string }> {
    const envDir = this.p(name);
    const run = await this.mkvenv([...args, "--without-pip", envDir], options);
    assertEquals(run.code, 0, run.stderr);
    const cfg = await Deno.readTextFile(join(envDir, "pyvenv.cfg"));
    const home = /^home = (.*)$/m.exec(cfg)?.[1] ?? "";
    const py = await new Deno.Command(join(envDir, "bin", "python"), {
      args: [
        "-c",
        "import sys; assert sys.prefix != sys.base_prefix; " +
        "print(sys.implementation.name, '.'.join(map(str, sys.version_info[:3])))",
      ],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin" },
    }).output();
    assertEquals(py.code, 0, new TextDecoder().decode(py.stderr));
    const [implementation = "", version = ""] = new TextDecoder().decode(py.stdout).trim().split(
      " ",
    );
    return { home, implementation, version };
  }

  async cleanup(): Promise<void> {
    await Deno.remove(this.root, { recursive: true });
  }
}

async function withScratch(fn: (s: Scratch) => Promise<void>): Promise<void> {
  const s = await Scratch.make();
  try {
    await fn(s);
  } finally {
    await s.cleanup();
  }
}

Deno.test("mkvenv -p 3.9 and -p 3.12.1 find the pyenv Pythons", async () => {
  await withScratch(async (s) => {
    assertEquals(await s.build("v39", ["-p", "3.9"], { path: "/usr/bin:/bin" }), {
      home: "/root/.pyenv/versions/3.9.18/bin",
      implementation: "cpython",
      version: "3.9.18",
    });
    assertEquals(await s.build("v3121", ["-p", "3.12.1"], { path: "/usr/bin:/bin" }), {
      home: "/root/.pyenv/versions/3.12.1/bin",
      implementation: "cpython",
      version: "3.12.1",
    });
  });
});

Deno.test("mkvenv -p '>=3.11,<3.13' takes the newest pyenv Python in the range", async () => {
  await withScratch(async (s) => {
    assertEquals(await s.build("range", ["-p", ">=3.11,<3.13"]), {
      home: "/root/.pyenv/versions/3.12.1/bin",
      implementation: "cpython",
      version: "3.12.1",
    });
    // With Debian's python3 (3.11) on PATH, PATH comes first.
    assertEquals(
      (await s.build("range2", ["-p", ">=3.11,<3.13"], { path: "/usr/bin" })).home,
      "/usr/bin",
    );
  });
});

Deno.test("mkvenv -p pypy3 builds with Debian's PyPy", async () => {
  await withScratch(async (s) => {
    const built = await s.build("pypy", ["-p", "pypy3"], { path: "/usr/bin:/bin" });
    assertEquals([built.home, built.implementation, built.version.startsWith("3.9.")], [
      "/usr/bin",
      "pypy",
      true,
    ]);
  });
});

Deno.test("a .python-version file in a parent directory chooses the Python", async () => {
  await withScratch(async (s) => {
    await Deno.mkdir(s.p("proj/src"), { recursive: true });
    await Deno.writeTextFile(s.p("proj/.python-version"), "# pinned\n3.10\n");
    const built = await s.build("pinned", [], { cwd: s.p("proj/src"), path: "/usr/bin:/bin" });
    assertEquals(built.version, "3.10.13");
    // MKVENV_PYTHON outranks it.
    const env = { MKVENV_PYTHON: "3.8" };
    const overridden = await s.build("env", [], { cwd: s.p("proj/src"), env, path: "/usr/bin" });
    assertEquals(overridden.version, "3.8.18");
  });
});

Deno.test("a request nothing satisfies fails with one clear error and exit 1", async () => {
  await withScratch(async (s) => {
    const run = await s.mkvenv(["-p", "3.99", "--without-pip", s.p("never")], {
      path: "/usr/bin:/bin",
    });
    assertEquals(run.code, 1);
    const lines = run.stderr.trimEnd().split("\n");
    assertEquals(
      lines[0],
      `mkvenv: error: No Python found for "3.99": searched PATH, pyenv (/root/.pyenv/versions), ` +
        `uv (${s.p("home/.local/share/uv/python")}); install a matching Python, or pass an ` +
        "interpreter's path with -p/--python",
    );
    assertEquals(lines[1], "Candidates rejected:");
    assert(lines.includes("  /usr/bin/python3: CPython 3.11.2 does not satisfy 3.99"), run.stderr);
    assertEquals(await Deno.stat(s.p("never")).catch(() => null), null);
    const bad = await s.mkvenv(["-p", "3.x", s.p("never")]);
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes('mkvenv: error: Invalid Python request "3.x" in -p/--python'));
  });
});

Deno.test("a warm run spawns no probe (and, under strace, no process at all)", async () => {
  await withScratch(async (s) => {
    const log = s.p("probes.log");
    const env = { MKVENV_PROBE_LOG: log };
    const path = "/usr/bin:/bin";
    assertEquals(
      (await s.mkvenv(["-p", "3.12.1", "--without-pip", s.p("a")], { env, path })).code,
      0,
    );
    const cold = (await Deno.readTextFile(log)).trim().split("\n");
    assert(cold.includes("/root/.pyenv/versions/3.12.1/bin/python3.12"), cold.join(", "));
    assert(cold.includes("/usr/bin/python3"), cold.join(", "));
    const strace = (await hasStrace()) ? s.p("trace") : undefined;
    const warm = await s.mkvenv(["-p", "3.12.1", "--without-pip", s.p("b")], {
      env,
      path,
      ...(strace ? { strace } : {}),
    });
    assertEquals(warm.code, 0, warm.stderr);
    assertEquals((await Deno.readTextFile(log)).trim().split("\n"), cold);
    if (strace) {
      const execs = (await Deno.readTextFile(strace)).split("\n").filter((l) =>
        /execve\(/.test(l) && !/ = -1 /.test(l)
      );
      assertEquals(execs.length, 1, execs.join("\n"));
    }
    assertEquals(
      (await Deno.readTextFile(s.p("b/pyvenv.cfg"))).split("\n")[0],
      "home = /root/.pyenv/versions/3.12.1/bin",
    );
  });
});

Deno.test("an interpreter remembered as a base is followed again once a venv is around it", async () => {
  await withScratch(async (s) => {
    const python = s.p("py", "bin", "python3");
    await Deno.mkdir(s.p("py", "bin"), { recursive: true });
    await Deno.symlink(`${PYENV_ROOT}/versions/3.12.1/bin/python3.12`, python);
    // Changes settled long ago: mkvenv remembers only stamps older than a moment.
    const settle = async (ago: number) => {
      const past = new Date(Date.now() - ago);
      for (const dir of ["py/bin", "py"]) await Deno.utime(s.p(dir), past, past);
    };
    await settle(3600_000);
    assertEquals((await s.build("first", ["-p", python])).version, "3.12.1");
    const second = await s.mkvenv(["-v", "-p", python, "--without-pip", s.p("second")]);
    assertEquals(second.code, 0, second.stderr);
    assert(second.stderr.includes(`${python} is a base interpreter, as the cache`), second.stderr);
    // Now py/ is a venv of Debian's Python 3.11: its pyvenv.cfg must be read again.
    await Deno.writeTextFile(s.p("py", "pyvenv.cfg"), "home = /usr/bin\nversion = 3.11.2\n");
    await settle(1800_000);
    assertEquals(await s.build("third", ["-p", python]), {
      home: "/usr/bin",
      implementation: "cpython",
      version: "3.11.2",
    });
  });
});

Deno.test("pyenv shims on PATH resolve to the selected version without running the shim", async () => {
  await withScratch(async (s) => {
    const log = s.p("probes.log");
    const path = `${PYENV_ROOT}/shims:/usr/bin:/bin`;
    const env = { MKVENV_PROBE_LOG: log, PYENV_VERSION: "3.10.13" };
    assertEquals(
      (await s.build("shimmed", [], { path, env })).home,
      "/root/.pyenv/versions/3.10.13/bin",
    );
    const probes = (await Deno.readTextFile(log)).trim().split("\n");
    assertEquals(probes, ["/root/.pyenv/versions/3.10.13/bin/python3"]);
    await s.build("shimmed2", [], { path, env });
    assertEquals((await Deno.readTextFile(log)).trim().split("\n"), probes);
  });
});

Deno.test("a venv made from inside a venv uses the base, never the outer venv", async () => {
  await withScratch(async (s) => {
    const outer = await s.build("outer", ["-p", "3.8"]);
    assertEquals(outer.home, "/root/.pyenv/versions/3.8.18/bin");
    // CPython 3.8's own venv would point home at outer/bin (spec §5.3); mkvenv does not chain.
    const nested = await s.build("nested", ["-p", s.p("outer/bin/python")]);
    assertEquals(nested, {
      home: "/root/.pyenv/versions/3.8.18/bin",
      implementation: "cpython",
      version: "3.8.18",
    });
    // An activated venv's bin first on PATH: a bare mkvenv uses its base too.
    const activated = await s.build("activated", [], { path: `${s.p("outer/bin")}:/usr/bin` });
    assertEquals(activated.home, "/root/.pyenv/versions/3.8.18/bin");
  });
});

Deno.test("mkvenv --list-pythons lists what it finds and marks the default", async () => {
  await withScratch(async (s) => {
    const run = await s.mkvenv(["--list-pythons"], { path: "/usr/bin:/bin" });
    assertEquals(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    const chosen = lines.filter((l) => l.startsWith("*"));
    assertEquals(chosen.length, 2, run.stdout);
    assert(/^\* CPython 3\.11\.2 +\/usr\/bin\/python3 +PATH$/.test(chosen[0]!), chosen[0]);
    assert(/^\* = what mkvenv uses for the default request/.test(chosen[1]!), chosen[1]);
    for (const v of ["3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]) {
      const line = new RegExp(
        `^  CPython ${
          v.replaceAll(".", "\\.")
        } +/root/\\.pyenv/versions/${v}/bin/python3\\.\\d+ +pyenv$`,
      );
      assert(lines.some((l) => line.test(l)), `${v} missing:\n${run.stdout}`);
    }
    assert(lines.some((l) => /^ {2}PyPy 3\.9\.\d+ +\/usr\/bin\/pypy3/.test(l)), run.stdout);
    const pinned = await s.mkvenv(["--list-pythons", "-p", "3.12"], { path: "/usr/bin:/bin" });
    assertEquals(
      pinned.stdout.split("\n")[0],
      "* CPython 3.12.1  /root/.pyenv/versions/3.12.1/bin/python3.12  pyenv",
    );
  });
});
