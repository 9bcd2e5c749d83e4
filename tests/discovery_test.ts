import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join, win32 } from "node:path";
import {
  chooseRequest,
  denoHost,
  type DiscoveryHost,
  findInterpreter,
  type FindOptions,
  formatInterpreterList,
  listInterpreters,
} from "../lib/discovery/discovery.ts";
import { BuildError, UsageError } from "../lib/errors.ts";
import { type InterpreterInfo, ProbeRefused } from "../lib/discovery/interpreter.ts";
import { probeCached } from "../lib/discovery/interpreter_cache.ts";
import {
  factsFor,
  rejection,
  type StubFacts,
  writeScript,
  writeStub,
  writeUnprobeable,
} from "./_stub_python.ts";

/** A temporary tree; `env` is the whole environment discovery sees. */
class Tree {
  logs: string[] = [];
  env: Record<string, string>;

  constructor(readonly root: string) {
    this.env = { HOME: join(root, "home"), PATH: "" };
  }

  static async make(): Promise<Tree> {
    return new Tree(await Deno.makeTempDir({ prefix: "mkvenv-discovery-" }));
  }

  p(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  stub(path: string, facts: StubFacts): Promise<void> {
    return writeStub(this.p(path), facts);
  }

  options(extra: { cwd?: string; env?: Record<string, string | undefined> } = {}): FindOptions {
    const env: Record<string, string | undefined> = { ...this.env, ...extra.env };
    this.logs = [];
    return {
      cwd: extra.cwd ?? this.root,
      env: (name) => env[name],
      cacheDir: this.p("cache"),
      log: (line) => this.logs.push(line),
    };
  }

  async find(
    request: string | undefined,
    extra: { cwd?: string; env?: Record<string, string | undefined> } = {},
  ): Promise<string> {
    const found = await findInterpreter(request, this.options(extra));
    return found.path.startsWith(this.root) ? found.path.slice(this.root.length + 1) : found.path;
  }

  async cleanup(): Promise<void> {
    await Deno.remove(this.root, { recursive: true });
  }
}

async function withTree(fn: (t: Tree) => Promise<void>): Promise<void> {
  const t = await Tree.make();
  try {
    await fn(t);
  } finally {
    await t.cleanup();
  }
}

Deno.test("findInterpreter() answers every request form from stub interpreters", async () => {
  await withTree(async (t) => {
    await t.stub("bin/python3", { version: [3, 11, 2] });
    await t.stub("bin/python3.12", { version: [3, 12, 1] });
    await t.stub("bin/python3.13t", { version: [3, 13, 0], gilDisabled: true });
    await t.stub("bin/pypy3", { implementation: "pypy", version: [3, 10, 14] });
    await t.stub("bin/mypython", { version: [3, 9, 1] });
    await t.stub("inst/bin/python3", { version: [3, 8, 10] });
    t.env.PATH = t.p("bin");
    const cases: [string, string][] = [
      ["3", "bin/python3.12"],
      ["3.12", "bin/python3.12"],
      ["3.12.1", "bin/python3.12"],
      ["312", "bin/python3.12"],
      ["3.11", "bin/python3"],
      ["cpython3.11", "bin/python3"],
      ["cpython@3.12", "bin/python3.12"],
      ["python3.12", "bin/python3.12"],
      ["python3", "bin/python3"],
      ["pypy", "bin/pypy3"],
      ["pypy3", "bin/pypy3"],
      ["pypy3.10", "bin/pypy3"],
      ["pypy@3.10", "bin/pypy3"],
      [">=3.10,<3.12", "bin/python3"],
      ["~=3.11.0", "bin/python3"],
      ["3.13t", "bin/python3.13t"],
      ["mypython", "bin/mypython"],
      [t.p("bin/python3.12"), "bin/python3.12"],
      ["bin/python3", "bin/python3"],
      ["./inst", "inst/bin/python3"],
      [t.p("inst"), "inst/bin/python3"],
    ];
    for (const [request, expected] of cases) {
      assertEquals(await t.find(request), expected, request);
    }
    assertEquals(await t.find("~/../inst/bin/python3"), "inst/bin/python3");
  });
});

Deno.test("findInterpreter() by default takes python3, then python, before other names", async () => {
  await withTree(async (t) => {
    await t.stub("a/python3.13", { version: [3, 13, 0] });
    await t.stub("b/python", { version: [3, 10, 4] });
    t.env.PATH = `${t.p("a")}:${t.p("b")}`;
    assertEquals(await t.find(undefined), "b/python");
    await t.stub("b/python3", { version: [3, 12, 0] });
    assertEquals(await t.find(undefined), "b/python3");
    // Without python3 or python anywhere, any other Python 3.6+ on PATH will do.
    await Deno.remove(t.p("b"), { recursive: true });
    assertEquals(await t.find(undefined), "a/python3.13");
  });
});

Deno.test("findInterpreter() by default skips what is not a Python 3.6+ and goes on", async () => {
  await withTree(async (t) => {
    await writeScript(t.p("a/python3"), "#!/bin/sh\necho 'not python' >&2\nexit 1\n");
    await t.stub("a/python", { version: [3, 5, 10] });
    await t.stub("b/python3", { version: [3, 6, 15] });
    t.env.PATH = `${t.p("a")}:${t.p("b")}`;
    assertEquals(await t.find(undefined), "b/python3");
    assert(t.logs.some((l) => l.includes("a/python3 (PATH): rejected: The interpreter")));
    assert(t.logs.some((l) => l.includes("is Python 3.5.10; mkvenv supports Python 3.6 or newer")));
  });
});

Deno.test("an interpreter older than 3.6 is refused with the range mkvenv supports", async () => {
  await withTree(async (t) => {
    await t.stub("old/python3.5", { version: [3, 5, 10] });
    const old = await rejection(t.find(t.p("old/python3.5")), BuildError);
    assert(
      old.message.includes("is Python 3.5.10; mkvenv supports Python 3.6 or newer"),
      old.message,
    );
    await writeScript(t.p("bin/python2"), "#!/bin/sh\necho 'Unknown option: -I' >&2\nexit 2\n");
    const failed = await rejection(t.find(t.p("bin/python2")), BuildError);
    assert(failed.message.endsWith("failed mkvenv's probe (exit 2): is it Python 3.6 or newer?"));
    await t.stub("ok/python3.6", { version: [3, 6, 15] });
    assertEquals(await t.find(t.p("ok/python3.6")), "ok/python3.6");
  });
});

Deno.test("the request comes from -p, else MKVENV_PYTHON, else .python-version", async () => {
  await withTree(async (t) => {
    await t.stub("bin/python3", { version: [3, 11, 2] });
    await t.stub("bin/python3.12", { version: [3, 12, 1] });
    await t.stub("bin/python3.10", { version: [3, 10, 9] });
    await Deno.mkdir(t.p("proj/sub"), { recursive: true });
    await Deno.writeTextFile(t.p("proj/.python-version"), "3.12\n");
    t.env.PATH = t.p("bin");
    const cwd = t.p("proj/sub");
    assertEquals(await t.find(undefined), "bin/python3");
    assertEquals(await t.find(undefined, { cwd }), "bin/python3.12");
    assertEquals(
      await t.find(undefined, { cwd, env: { MKVENV_PYTHON: "3.10" } }),
      "bin/python3.10",
    );
    assertEquals(await t.find("3.11", { cwd, env: { MKVENV_PYTHON: "3.10" } }), "bin/python3");
    assertEquals(await t.find(undefined, { cwd, env: { MKVENV_PYTHON: "" } }), "bin/python3.12");
    const e = await rejection(
      t.find(undefined, { cwd, env: { MKVENV_PYTHON: "3.x" } }),
      UsageError,
    );
    assert(e.message.startsWith('Invalid Python request "3.x" in MKVENV_PYTHON: expected a path'));
  });
});

Deno.test(".python-version: the first usable line, pyenv names, relative paths, system", async () => {
  await withTree(async (t) => {
    await t.stub("bin/python3", { version: [3, 11, 2] });
    await t.stub("bin/python3.12", { version: [3, 12, 1] });
    await t.stub("base/bin/python3.9", { version: [3, 9, 7] });
    await Deno.mkdir(t.p("pyenv/versions/myenv/bin"), { recursive: true });
    await Deno.writeTextFile(
      t.p("pyenv/versions/myenv/pyvenv.cfg"),
      `home = ${t.p("base/bin")}\nversion = 3.9.7\n`,
    );
    await writeUnprobeable(t.p("pyenv/versions/myenv/bin/python3"));
    await Deno.mkdir(t.p("proj"));
    t.env.PATH = t.p("bin");
    t.env.PYENV_ROOT = t.p("pyenv");
    const cwd = t.p("proj");
    const pin = (text: string) => Deno.writeTextFile(t.p("proj/.python-version"), text);
    await pin("# pinned for the team\n\nnot a version!\n3.12\n3.11\n");
    assertEquals(await t.find(undefined, { cwd }), "bin/python3.12");
    assert(t.logs.some((l) => l.includes('ignoring "not a version!"')));
    await pin("myenv\n");
    assertEquals(await t.find(undefined, { cwd }), "base/bin/python3.9");
    await pin("../base/bin/python3.9\n");
    assertEquals(await t.find(undefined, { cwd }), "base/bin/python3.9");
    await pin("system\n");
    assertEquals(await t.find(undefined, { cwd }), "bin/python3");
    await pin("# nothing usable\nminiconda3-latest\n");
    assertEquals(await t.find(undefined, { cwd }), "bin/python3");
    assert(t.logs.some((l) => l.endsWith("has no usable line: using the default search")));
    const chosen = await chooseRequest(undefined, denoHost(t.options({ cwd })));
    assertEquals(chosen.origin, "default");
  });
});

Deno.test("the search goes PATH, then pyenv (newest first), then uv", async () => {
  await withTree(async (t) => {
    await t.stub("bin/python3", { version: [3, 11, 2] });
    await t.stub("home/.pyenv/versions/3.12.1/bin/python3.12", { version: [3, 12, 1] });
    await t.stub("home/.pyenv/versions/3.10.4/bin/python3.10", { version: [3, 10, 4] });
    await t.stub("home/.pyenv/versions/3.10.13/bin/python3.10", { version: [3, 10, 13] });
    await writeUnprobeable(t.p("home/.pyenv/versions/2.7.18/bin/python2.7"));
    await t.stub("home/.local/share/uv/python/cpython-3.12.3-linux-x86_64-gnu/bin/python3.12", {
      version: [3, 12, 3],
    });
    await t.stub("home/.local/share/uv/python/cpython-3.13.1-linux-x86_64-gnu/bin/python3.13", {
      version: [3, 13, 1],
    });
    await t.stub("home/.local/share/uv/python/pypy-3.10.14-linux-x86_64-gnu/bin/pypy3.10", {
      implementation: "pypy",
      version: [3, 10, 14],
    });
    t.env.PATH = t.p("bin");
    assertEquals(await t.find("3"), "bin/python3");
    assertEquals(await t.find("3.12"), "home/.pyenv/versions/3.12.1/bin/python3.12");
    assertEquals(await t.find("3.10"), "home/.pyenv/versions/3.10.13/bin/python3.10");
    assertEquals(
      await t.find(">=3.12.2"),
      "home/.local/share/uv/python/cpython-3.13.1-linux-x86_64-gnu/bin/python3.13",
    );
    assert(t.logs.some((l) => l.includes("2.7.18 (pyenv): its name says 2.7.18")));
    assertEquals(
      await t.find("3.12.3"),
      "home/.local/share/uv/python/cpython-3.12.3-linux-x86_64-gnu/bin/python3.12",
    );
    assertEquals(
      await t.find("pypy3.10"),
      "home/.local/share/uv/python/pypy-3.10.14-linux-x86_64-gnu/bin/pypy3.10",
    );
    // PYENV_ROOT and UV_PYTHON_INSTALL_DIR move the places.
    await Deno.rename(t.p("home/.pyenv"), t.p("elsewhere-pyenv"));
    await Deno.rename(t.p("home/.local/share/uv/python"), t.p("elsewhere-uv"));
    t.env.PYENV_ROOT = t.p("elsewhere-pyenv");
    t.env.UV_PYTHON_INSTALL_DIR = t.p("elsewhere-uv");
    assertEquals(await t.find("3.12"), "elsewhere-pyenv/versions/3.12.1/bin/python3.12");
    assertEquals(
      await t.find("3.13"),
      "elsewhere-uv/cpython-3.13.1-linux-x86_64-gnu/bin/python3.13",
    );
  });
});

/** Write a script shaped like a pyenv shim; running it would fail (no pyenv is there). */
function writePyenvShim(path: string, root: string): Promise<void> {
  return writeScript(
    path,
    `#!/usr/bin/env bash\nset -e\nexport PYENV_ROOT="${root}"\n` +
      `exec "${root}/libexec/pyenv" exec "\${0##*/}" "$@"\n`,
  );
}

Deno.test("pyenv shims resolve by pyenv's rules, without running the shim", async () => {
  await withTree(async (t) => {
    const root = t.p("pyenv");
    for (const name of ["python", "python3", "python3.12", "python3.11"]) {
      await writePyenvShim(`${root}/shims/${name}`, root);
    }
    await t.stub("pyenv/versions/3.12.1/bin/python3", { version: [3, 12, 1] });
    await t.stub("pyenv/versions/3.12.1/bin/python3.12", { version: [3, 12, 1] });
    await t.stub("pyenv/versions/3.11.2/bin/python3", { version: [3, 11, 2] });
    await t.stub("pyenv/versions/3.11.2/bin/python3.11", { version: [3, 11, 2] });
    await t.stub("sys/python3", { version: [3, 9, 0] });
    await Deno.writeTextFile(t.p("pyenv/version"), "3.11.2\n");
    t.env.PATH = `${root}/shims:${t.p("sys")}`;
    t.env.PYENV_ROOT = root;
    assertEquals(await t.find(undefined), "pyenv/versions/3.11.2/bin/python3");
    assert(t.logs.some((l) => l.includes(`via pyenv shim ${root}/shims/python3`)));
    assertEquals(
      await t.find(undefined, { env: { PYENV_VERSION: "3.12.1" } }),
      "pyenv/versions/3.12.1/bin/python3",
    );
    // A prefix selects the newest installed match, as pyenv does.
    assertEquals(
      await t.find("python3", { env: { PYENV_VERSION: "3.12" } }),
      "pyenv/versions/3.12.1/bin/python3",
    );
    assertEquals(await t.find(undefined, { env: { PYENV_VERSION: "system" } }), "sys/python3");
    // A local .python-version file selects for pyenv too (here read by both).
    await Deno.mkdir(t.p("proj"));
    await Deno.writeTextFile(t.p("proj/.python-version"), "3.12.1\n");
    assertEquals(
      await t.find("python3", { cwd: t.p("proj") }),
      "pyenv/versions/3.12.1/bin/python3",
    );
    // A shim the selected version lacks is rejected, and the search goes on.
    assertEquals(await t.find("3.12"), "pyenv/versions/3.12.1/bin/python3.12");
    assert(
      t.logs.some((l) =>
        l.endsWith("rejected: pyenv shim: no selected pyenv version (3.11.2) has python3.12")
      ),
    );
  });
});

Deno.test("asdf shims follow ASDF_PYTHON_VERSION and .tool-versions", async () => {
  await withTree(async (t) => {
    const data = t.p("home/.asdf");
    await writeScript(
      `${data}/shims/python3`,
      `#!/usr/bin/env bash\n# asdf-plugin: python 3.12.1\n# asdf-plugin: python 3.10.2\n` +
        `exec ${data}/bin/asdf exec "python3" "$@"\n`,
    );
    await t.stub("home/.asdf/installs/python/3.12.1/bin/python3", { version: [3, 12, 1] });
    await t.stub("home/.asdf/installs/python/3.10.2/bin/python3", { version: [3, 10, 2] });
    await Deno.mkdir(t.p("proj"));
    await Deno.writeTextFile(t.p("proj/.tool-versions"), "nodejs 20.1.0\npython 3.10.2\n");
    await Deno.writeTextFile(t.p("home/.tool-versions"), "python 3.12.1\n");
    t.env.PATH = `${data}/shims`;
    assertEquals(await t.find(undefined), "home/.asdf/installs/python/3.12.1/bin/python3");
    assertEquals(
      await t.find(undefined, { cwd: t.p("proj") }),
      "home/.asdf/installs/python/3.10.2/bin/python3",
    );
    assertEquals(
      await t.find(undefined, { cwd: t.p("proj"), env: { ASDF_PYTHON_VERSION: "3.12.1" } }),
      "home/.asdf/installs/python/3.12.1/bin/python3",
    );
  });
});

Deno.test("other shims (mise) are asked, never from the cache, and followed", async () => {
  await withTree(async (t) => {
    const real = t.p("home/.local/share/mise/installs/python/3.12.1/bin/python3");
    await writeStub(real, { version: [3, 12, 1] });
    await writeScript(
      t.p("home/.local/share/mise/shims/python3"),
      `#!/bin/sh\nexec "${real}" "$@"\n`,
    );
    t.env.PATH = t.p("home/.local/share/mise/shims");
    assertEquals(
      await t.find(undefined),
      "home/.local/share/mise/installs/python/3.12.1/bin/python3",
    );
    assert(
      t.logs.some((l) => l.includes(`via shim ${t.p("home/.local/share/mise/shims/python3")}`)),
    );
    // Point the shim elsewhere: the next search follows, nothing stale is used.
    const other = t.p("home/.local/share/mise/installs/python/3.13.0/bin/python3");
    await writeStub(other, { version: [3, 13, 0] });
    await writeScript(
      t.p("home/.local/share/mise/shims/python3"),
      `#!/bin/sh\nexec "${other}" "$@"\n`,
    );
    assertEquals(
      await t.find(undefined),
      "home/.local/share/mise/installs/python/3.13.0/bin/python3",
    );
  });
});

Deno.test("an interpreter in a venv resolves to its base, through chains, never probed", async () => {
  await withTree(async (t) => {
    await t.stub("base/bin/python3.8", { version: [3, 8, 10] });
    // venv a was made from base; venv b from inside a (3.7-3.10 point home at a's bin).
    await Deno.mkdir(t.p("a/bin"), { recursive: true });
    await Deno.writeTextFile(t.p("a/pyvenv.cfg"), `home = ${t.p("base/bin")}\nversion = 3.8.10\n`);
    await writeUnprobeable(t.p("a/bin/python"));
    await writeUnprobeable(t.p("a/bin/python3"));
    await Deno.mkdir(t.p("b/bin"), { recursive: true });
    await Deno.writeTextFile(t.p("b/pyvenv.cfg"), `home = ${t.p("a/bin")}\nversion = 3.8.10\n`);
    await writeUnprobeable(t.p("b/bin/python"));
    await writeUnprobeable(t.p("b/bin/python3"));
    assertEquals(await t.find(t.p("a/bin/python")), "base/bin/python3.8");
    assertEquals(await t.find(t.p("b/bin/python")), "base/bin/python3.8");
    assertEquals(await t.find(t.p("b")), "base/bin/python3.8");
    // An activated venv puts its bin first on PATH: a bare mkvenv still uses the base.
    t.env.PATH = t.p("b/bin");
    assertEquals(await t.find(undefined), "base/bin/python3.8");
    assertEquals(await t.find("3.8"), "base/bin/python3.8");
    // A venv whose pyvenv.cfg has no home cannot be resolved.
    await Deno.writeTextFile(t.p("b/pyvenv.cfg"), "version = 3.8.10\n");
    const e = await rejection(t.find(t.p("b/bin/python")), BuildError);
    assertEquals(
      e.message,
      `No Python found for ${JSON.stringify(t.p("b/bin/python"))}: ${t.p("b/bin/python")}: ` +
        `it is in the venv ${t.p("b")}, whose pyvenv.cfg has no home; ` +
        "pass the path of a Python interpreter with -p/--python",
    );
  });
});

Deno.test("nothing found: one error naming the request, the places searched, the rejects", async () => {
  await withTree(async (t) => {
    await t.stub("bin/python3", { version: [3, 11, 2] });
    t.env.PATH = t.p("bin");
    t.env.PYENV_ROOT = t.p("pyenv");
    const e = await rejection(t.find("3.99"), BuildError);
    assertEquals(
      e.message,
      `No Python found for "3.99": searched PATH, pyenv (${t.p("pyenv/versions")}), uv (${
        t.p("home/.local/share/uv/python")
      }); install a matching Python, or pass an interpreter's path with -p/--python`,
    );
    assertEquals(
      e.detail,
      `Candidates rejected:\n  ${t.p("bin/python3")}: CPython 3.11.2 does not satisfy 3.99`,
    );
    await Deno.mkdir(t.p("proj"));
    await Deno.writeTextFile(t.p("proj/.python-version"), "pypy3.10\n");
    const fromFile = await rejection(t.find(undefined, { cwd: t.p("proj") }), BuildError);
    assert(
      fromFile.message.startsWith(
        `No Python found for "pypy3.10" from ${t.p("proj/.python-version")}: searched PATH`,
      ),
    );
    const command = await rejection(t.find("nosuchpython"), BuildError);
    assertEquals(
      command.message,
      'No Python found for "nosuchpython": no such command on PATH; pass the path of a Python ' +
        "interpreter with -p/--python",
    );
    const missing = await rejection(t.find(t.p("nope/python")), BuildError);
    assertEquals(
      missing.message,
      `No Python found for ${JSON.stringify(t.p("nope/python"))}: no such file; ` +
        "pass the path of a Python interpreter with -p/--python",
    );
    await Deno.mkdir(t.p("empty"));
    const empty = await rejection(t.find(t.p("empty")), BuildError);
    assert(empty.message.includes(`the directory ${JSON.stringify(t.p("empty"))} holds no Python`));
    await writeScript(t.p("bin/notpython"), "#!/bin/sh\nexit 1\n");
    const refused = await rejection(t.find("notpython"), BuildError);
    assert(refused.message.includes("failed mkvenv's probe (exit 1)"), refused.message);
    t.env.PATH = "";
    const none = await rejection(t.find(undefined), BuildError);
    assert(
      none.message.startsWith(
        "No Python found for the default request (python3, then python, then any Python 3.6 or " +
          "newer): searched PATH, pyenv",
      ),
    );
  });
});

Deno.test("--verbose shows each candidate and why it was rejected", async () => {
  await withTree(async (t) => {
    await t.stub("bin/python3", { version: [3, 11, 2] });
    await t.stub("bin/python3.13", { version: [3, 13, 0], gilDisabled: true });
    t.env.PATH = t.p("bin");
    assertEquals(await t.find("3"), "bin/python3");
    const shown = t.logs.filter((l) => l.startsWith("candidate ") || l.startsWith("skipped "));
    assertEquals(shown, [
      `candidate ${t.p("bin/python3.13")} (PATH): rejected: CPython 3.13.0t is a free-threaded ` +
      "build: ask for 3.13t to use it",
      `candidate ${t.p("bin/python3")} (PATH): accepted: CPython 3.11.2`,
    ]);
    await t.find("3.11");
    assert(t.logs.includes(`skipped ${t.p("bin/python3.13")} (PATH): its name says 3.13`));
    assert(t.logs.includes(`candidate ${t.p("bin/python3")} (PATH): accepted: CPython 3.11.2`));
  });
});

Deno.test("listInterpreters() lists what it finds and marks what a bare mkvenv uses", async () => {
  await withTree(async (t) => {
    await t.stub("bin/python3", { version: [3, 11, 2] });
    await t.stub("bin/pypy3", { implementation: "pypy", version: [3, 10, 14] });
    await t.stub("pyenv/versions/3.12.1/bin/python3.12", { version: [3, 12, 1] });
    await writeScript(t.p("pyenv/versions/2.7.18/bin/python"), "#!/bin/sh\nexit 1\n");
    t.env.PATH = t.p("bin");
    t.env.PYENV_ROOT = t.p("pyenv");
    const list = await listInterpreters(undefined, t.options());
    assertEquals(
      list.entries.map((e) => [e.chosen, e.info.version.join("."), e.path, e.source]),
      [
        [true, "3.11.2", t.p("bin/python3"), "PATH"],
        [false, "3.10.14", t.p("bin/pypy3"), "PATH"],
        [false, "3.12.1", t.p("pyenv/versions/3.12.1/bin/python3.12"), "pyenv"],
      ],
    );
    const text = formatInterpreterList(list);
    const w = t.p("pyenv/versions/3.12.1/bin/python3.12").length;
    assertEquals(
      text,
      [
        `* CPython 3.11.2  ${t.p("bin/python3").padEnd(w)}  PATH`,
        `  PyPy 3.10.14    ${t.p("bin/pypy3").padEnd(w)}  PATH`,
        `  CPython 3.12.1  ${t.p("pyenv/versions/3.12.1/bin/python3.12")}  pyenv`,
        "* = what mkvenv uses for the default request (python3, then python, then any Python " +
        "3.6 or newer)",
        "",
      ].join("\n"),
    );
    const pinned = await listInterpreters("3.12", t.options());
    assertEquals(pinned.entries.map((e) => [e.chosen, e.path]), [
      [true, t.p("pyenv/versions/3.12.1/bin/python3.12")],
    ]);
    const none = await listInterpreters("3.99", t.options());
    assertEquals(none.entries, []);
    assert(formatInterpreterList(none).includes('mkvenv would fail: No Python found for "3.99"'));
  });
});

Deno.test("probeCached() remembers a binary that refuses the probe, until it changes", async () => {
  await withTree(async (t) => {
    // A real binary (not a script, so cacheable) that is no Python: it exits 1.
    const fake = t.p("bin/python3");
    await Deno.mkdir(t.p("bin"));
    await Deno.copyFile("/bin/false", fake);
    const logs: string[] = [];
    const options = { cacheDir: t.p("cache"), log: (line: string) => logs.push(line) };
    const first = await rejection(probeCached(fake, options), ProbeRefused);
    assert(first.message.includes("failed mkvenv's probe (exit 1)"), first.message);
    assertEquals(logs.filter((l) => l.includes("refused the probe before")), []);
    const again = await rejection(probeCached(fake, options), ProbeRefused);
    assertEquals(again.message, first.message);
    assertEquals(logs.filter((l) => l.includes("refused the probe before")).length, 1);
    // Another binary at the same path (here: one byte longer) is probed afresh.
    await Deno.writeFile(fake, new Uint8Array([0]), { append: true });
    logs.length = 0;
    await rejection(probeCached(fake, options), ProbeRefused);
    assertEquals(logs.filter((l) => l.includes("refused the probe before")), []);
  });
});

// ---------------------------------------------------------------------------------------------
// Windows, on any OS: a host made of recorded facts.

interface FakeWindows {
  files: Map<string, InterpreterInfo | "refuses" | "text">;
  texts: Map<string, string>;
  commands: Map<string, string>;
  env: Record<string, string>;
  ran: string[];
}

function windowsHost(fake: FakeWindows, cwd = "C:\\work"): DiscoveryHost {
  const key = (p: string) => win32.normalize(p).toLowerCase();
  const files = new Map([...fake.files].map(([p, v]) => [key(p), v]));
  const texts = new Map([...fake.texts].map(([p, v]) => [key(p), v]));
  const all = [...files.keys(), ...texts.keys()];
  return {
    os: "windows",
    cwd,
    env: (name) => fake.env[name],
    stat(path) {
      const k = key(path);
      if (files.has(k)) {
        return Promise.resolve({ isFile: true, isDirectory: false, executable: true });
      }
      if (texts.has(k)) {
        return Promise.resolve({ isFile: true, isDirectory: false, executable: false });
      }
      const isDirectory = all.some((f) => f.startsWith(`${k}\\`));
      return Promise.resolve(
        isDirectory ? { isFile: false, isDirectory, executable: false } : null,
      );
    },
    readDir(path) {
      const prefix = `${key(path)}\\`;
      const names = new Set<string>();
      for (const [p] of [...fake.files, ...fake.texts]) {
        if (key(p).startsWith(prefix)) {
          names.add(win32.normalize(p).slice(prefix.length).split("\\")[0]!);
        }
      }
      return Promise.resolve(names.size === 0 ? null : [...names]);
    },
    readText(path) {
      return Promise.resolve(texts.get(key(path)) ?? null);
    },
    realPath(path) {
      return Promise.resolve(path);
    },
    run(command, args) {
      const line = [command, ...args].join(" ");
      fake.ran.push(line);
      return Promise.resolve(fake.commands.get(line) ?? null);
    },
    probe(path) {
      const found = files.get(key(path));
      if (found === undefined || found === "text") {
        return Promise.reject(new BuildError(`Cannot run the interpreter ${path}: no such file`));
      }
      if (found === "refuses") {
        return Promise.reject(
          new ProbeRefused(
            `The interpreter ${JSON.stringify(path)} failed mkvenv's probe (exit 9009)`,
          ),
        );
      }
      return Promise.resolve(found);
    },
  };
}

function win(path: string, version: [number, number, number], gilDisabled = false) {
  return [path, factsFor(path, { version, gilDisabled, windows: true })] as const;
}

const USER_PY = "C:\\Users\\me\\AppData\\Local\\Programs\\Python";

function fakeWindows(): FakeWindows {
  return {
    files: new Map<string, InterpreterInfo | "refuses" | "text">([
      ["C:\\Users\\me\\AppData\\Local\\Microsoft\\WindowsApps\\python.exe", "refuses"],
      ["C:\\Users\\me\\AppData\\Local\\Microsoft\\WindowsApps\\python3.exe", "refuses"],
      win(`${USER_PY}\\Python313\\python.exe`, [3, 13, 1]),
      win(`${USER_PY}\\Python313\\python3.13t.exe`, [3, 13, 1], true),
      win(`${USER_PY}\\Python311\\python.exe`, [3, 11, 9]),
      win(`${USER_PY}\\Python310\\python.exe`, [3, 10, 11]),
      win("C:\\Program Files (x86)\\Python37-32\\python.exe", [3, 7, 9]),
      win("C:\\Python312\\python.exe", [3, 12, 4]),
      win("C:\\Users\\me\\.pyenv\\pyenv-win\\versions\\3.8.10\\python.exe", [3, 8, 10]),
      win(
        "C:\\Users\\me\\AppData\\Roaming\\uv\\data\\python\\cpython-3.9.13-windows-x86_64-none\\python.exe",
        [3, 9, 13],
      ),
      ["C:\\work\\venv\\Scripts\\python.exe", "refuses"],
    ]),
    texts: new Map([
      ["C:\\work\\venv\\pyvenv.cfg", "home = C:\\Python312\r\nversion = 3.12.4\r\n"],
    ]),
    commands: new Map([
      [
        "py --list-paths",
        ` -V:3.13 *        ${USER_PY}\\Python313\\python.exe\r\n` +
        ` -V:3.13t         ${USER_PY}\\Python313\\python3.13t.exe\r\n` +
        ` -V:3.11          ${USER_PY}\\Python311\\python.exe\r\n`,
      ],
      [
        "reg query HKCU\\Software\\Python /s",
        "\r\nHKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\r\n" +
        "    Version    REG_SZ    3.10.11\r\n\r\n" +
        "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\\InstallPath\r\n" +
        `    (Default)    REG_SZ    ${USER_PY}\\Python310\\\r\n` +
        `    ExecutablePath    REG_SZ    ${USER_PY}\\Python310\\python.exe\r\n`,
      ],
      [
        "reg query HKLM\\Software\\WOW6432Node\\Python /s",
        "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Python\\PythonCore\\3.7-32\\InstallPath\r\n" +
        "    (Default)    REG_SZ    C:\\Program Files (x86)\\Python37-32\\\r\n",
      ],
    ]),
    env: {
      PATH: "C:\\Users\\me\\AppData\\Local\\Microsoft\\WindowsApps;C:\\Windows\\system32",
      USERPROFILE: "C:\\Users\\me",
      APPDATA: "C:\\Users\\me\\AppData\\Roaming",
    },
    ran: [],
  };
}

Deno.test("on Windows the search goes PATH, pyenv-win, uv, py launcher, registry", async () => {
  const fake = fakeWindows();
  const find = async (request: string | undefined) =>
    (await findInterpreter(request, { host: windowsHost(fake) })).path;
  // The Store's python.exe alias refuses the probe; pyenv-win's Python comes next.
  assertEquals(
    await find(undefined),
    "C:\\Users\\me\\.pyenv\\pyenv-win\\versions\\3.8.10\\python.exe",
  );
  assertEquals(await find("3.13"), `${USER_PY}\\Python313\\python.exe`);
  assertEquals(await find("3.13t"), `${USER_PY}\\Python313\\python3.13t.exe`);
  assertEquals(await find("3.11"), `${USER_PY}\\Python311\\python.exe`);
  assertEquals(await find("3.8"), "C:\\Users\\me\\.pyenv\\pyenv-win\\versions\\3.8.10\\python.exe");
  assertEquals(
    await find("3.9"),
    "C:\\Users\\me\\AppData\\Roaming\\uv\\data\\python\\cpython-3.9.13-windows-x86_64-none\\python.exe",
  );
  fake.ran = [];
  assertEquals(await find("3.10"), `${USER_PY}\\Python310\\python.exe`);
  assertEquals(fake.ran, ["py --list-paths", "reg query HKCU\\Software\\Python /s"]);
  assertEquals(await find("3.7"), "C:\\Program Files (x86)\\Python37-32\\python.exe");
  assertEquals(await find("C:\\Python312"), "C:\\Python312\\python.exe");
  assertEquals(await find("C:\\work\\venv\\Scripts\\python.exe"), "C:\\Python312\\python.exe");
  assertEquals(await find(".\\venv"), "C:\\Python312\\python.exe");
  const e = await rejection(find("3.6"), BuildError);
  assertEquals(
    e.message,
    'No Python found for "3.6": searched PATH, pyenv (C:\\Users\\me\\.pyenv\\pyenv-win\\versions), ' +
      "uv (C:\\Users\\me\\AppData\\Roaming\\uv\\data\\python), the py launcher (py --list-paths), " +
      "the registry (PEP 514); install a matching Python, or pass an interpreter's path with " +
      "-p/--python",
  );
});

Deno.test("on Windows a venv's Scripts directory on PATH resolves to the base", async () => {
  const fake = fakeWindows();
  fake.env.PATH = `C:\\work\\venv\\Scripts;${fake.env.PATH}`;
  const found = await findInterpreter(undefined, { host: windowsHost(fake) });
  assertEquals(found.path, "C:\\Python312\\python.exe");
  assertEquals(found.info.platform, "windows");
  // The launcher was never needed.
  assertEquals(fake.ran, []);
});
