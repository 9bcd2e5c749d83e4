/**
 * Fidelity with `python -m venv` (issue 15): its error texts, pip on re-use and `--upgrade`, the
 * interpreter aliases a user put in place, and the versions mkvenv says it supports. Each test
 * runs the same case through `python -m venv` of the same interpreter where one applies.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { join } from "node:path";
import { errorLine, mkvenv, MKVENV_COMMAND, pyenvPython, run, tempDir, tree } from "../_util.ts";

const PYENV = Deno.env.get("PYENV_ROOT") ?? "/root/.pyenv";

/** The pyenv CPython 3.6 of this machine (the oldest mkvenv supports). */
function python36(): string {
  const dir = join(PYENV, "versions");
  const name = [...Deno.readDirSync(dir)].map((e) => e.name).find((n) => n.startsWith("3.6."));
  if (name === undefined) throw new Error(`this test needs pyenv's CPython 3.6 under ${dir}`);
  return join(dir, name, "bin", "python3.6");
}

Deno.test("Python 3.6, the oldest mkvenv supports, gets a working venv with pip, byte-compiled as venv's", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env36");
  const r = await mkvenv(["-p", python36(), env]);
  assertEquals(r.code, 0, r.stderr);
  const pip = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(pip.code, 0, pip.stderr);
  assert(pip.stdout.includes("(python 3.6)"), pip.stdout);
  const venv = join(tmp.path, "venv36");
  const made = await run(python36(), ["-m", "venv", venv]);
  assertEquals(made.code, 0, made.stderr);
  const bytecode = (root: string) =>
    tree(join(root, "lib", "python3.6", "site-packages"))
      .filter((line) => line.endsWith(".pyc")).map((line) => line.split(" ").slice(2).join(" "));
  const theirs = bytecode(venv);
  assert(theirs.length > 300, `python -m venv compiled ${theirs.length} files`);
  assertEquals(bytecode(env), theirs);
  // Under the C locale Python 3.6 names files in ASCII: a cache path beyond ASCII must still
  // reach its compilers, and a second venv from that cache gets the bytecode too.
  const cache = join(tmp.path, "cache é ü");
  for (const name of ["c1", "c2"]) {
    const made = await mkvenv(["-p", python36(), join(tmp.path, name)], {
      env: { MKVENV_CACHE_DIR: cache, LC_ALL: "C", LANG: "C" },
    });
    assertEquals(made.code, 0, made.stderr);
    assertEquals(bytecode(join(tmp.path, name)), theirs, `${name} under the C locale`);
  }
});

/** A case where `python -m venv` refuses: what to put in an empty directory, and the ENV_DIR. */
interface Refusal {
  name: string;
  setup: (dir: string, xy: string) => void;
  target: string;
  /** The first minor version of 3.x whose venv refuses it. */
  since?: number;
  args?: string[];
}

const REFUSALS: Refusal[] = [
  { name: "ENV_DIR is a file", setup: (d) => touch(join(d, "env")), target: "env" },
  {
    name: "ENV_DIR is a file, with --clear",
    setup: (d) => touch(join(d, "env")),
    target: "env",
    args: ["--clear"],
  },
  { name: "ENV_DIR is a named pipe", setup: (d) => mkfifo(join(d, "env")), target: "env" },
  {
    name: "ENV_DIR is a named pipe, with --clear",
    setup: (d) => mkfifo(join(d, "env")),
    target: "env",
    args: ["--clear"],
  },
  {
    name: "ENV_DIR holds a named pipe named bin",
    setup: (d) => {
      Deno.mkdirSync(join(d, "env"));
      mkfifo(join(d, "env", "bin"));
    },
    target: "env",
  },
  {
    name: "ENV_DIR is a link to a directory",
    setup: (d) => {
      Deno.mkdirSync(join(d, "real"));
      Deno.symlinkSync("real", join(d, "env"));
    },
    target: "env",
  },
  {
    name: "ENV_DIR is a link to nothing",
    setup: (d) => Deno.symlinkSync("nowhere", join(d, "env")),
    target: "env",
  },
  ...["bin", "include", "lib"].map((entry) => ({
    name: `ENV_DIR holds a file named ${entry}`,
    setup: (d: string) => {
      Deno.mkdirSync(join(d, "env"));
      touch(join(d, "env", entry));
    },
    target: "env",
  })),
  {
    name: "ENV_DIR holds a file where site-packages goes",
    setup: (d, xy) => {
      Deno.mkdirSync(join(d, "env", "lib", `python${xy}`), { recursive: true });
      touch(join(d, "env", "lib", `python${xy}`, "site-packages"));
    },
    target: "env",
  },
  {
    name: "ENV_DIR's bin is a link to a file",
    setup: (d) => {
      Deno.mkdirSync(join(d, "env"));
      touch(join(d, "afile"));
      Deno.symlinkSync("../afile", join(d, "env", "bin"));
    },
    target: "env",
  },
  {
    name: "ENV_DIR is below a file",
    setup: (d) => touch(join(d, "afile")),
    target: "afile/sub/env",
  },
  { name: "ENV_DIR cannot be made (/proc)", setup: () => {}, target: "/proc/mkvenv-test" },
  { name: "ENV_DIR's name is too long", setup: () => {}, target: "x".repeat(300) },
  { name: "ENV_DIR contains the PATH separator", setup: () => {}, target: "a:b", since: 11 },
  {
    name: "--upgrade with --clear",
    setup: () => {},
    target: "env",
    args: ["--upgrade", "--clear"],
  },
];

function touch(path: string): void {
  Deno.writeTextFileSync(path, "the user's\n");
}

function mkfifo(path: string): void {
  const made = new Deno.Command("mkfifo", { args: [path] }).outputSync();
  assert(made.success, new TextDecoder().decode(made.stderr));
}

/** The one `Error: ...` line of venv, without `Error: ` and the final period. */
function venvMessage(stderr: string): string {
  const line = stderr.trim().split("\n").at(-1)!;
  assert(line.startsWith("Error: "), stderr);
  return line.slice("Error: ".length).replace(/\.$/, "");
}

for (const xy of ["3.8", "3.11", "3.12", "3.13"]) {
  Deno.test(`where venv ${xy} refuses, mkvenv says venv's words first, then why`, async () => {
    const py = pyenvPython(xy);
    const minor = Number(xy.split(".")[1]);
    for (const c of REFUSALS) {
      if (c.since !== undefined && minor < c.since) continue;
      await using tmp = await tempDir();
      const fresh = () => {
        for (const e of Deno.readDirSync(tmp.path)) {
          Deno.removeSync(join(tmp.path, e.name), { recursive: true });
        }
        c.setup(tmp.path, xy);
        return tree(tmp.path);
      };
      const args = [...(c.args ?? []), "--without-pip", c.target];
      fresh();
      const venv = await run(py.exe, ["-m", "venv", ...args], { cwd: tmp.path });
      assertEquals(venv.code, 1, `${c.name}: ${venv.stderr}`);
      const said = venvMessage(venv.stderr);
      const before = fresh();
      const ours = await mkvenv(["-p", py.exe, ...args], { cwd: tmp.path });
      assertEquals(ours.code, 1, `${c.name}: ${ours.stderr}`);
      const line = ours.stderr.trim().split("\n")[0]!;
      const prefix = `mkvenv: error: ${said}`;
      assert(line.startsWith(prefix), `${c.name}:\n venv:   ${said}\n mkvenv: ${line}`);
      assert(
        /^(: |; | \()\S/.test(line.slice(prefix.length)),
        `${c.name}: no explanation: ${line}`,
      );
      assert(!line.endsWith("."), line);
      assertEquals(tree(tmp.path), before, `${c.name}: mkvenv changed nothing`);
    }
  });
}

Deno.test("a parent another user cannot write to: venv's [Errno 13], naming the same path", async () => {
  // /root is private here, so this runs Debian's python3.11, which `nobody` can run.
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];
  const cache = join(tmp.path, "cache");
  await Deno.mkdir(cache);
  await Deno.chmod(cache, 0o777);
  const cases = [[join(tmp.path, "sub"), join(tmp.path, "sub")], [
    join(tmp.path, "a", "b"),
    join(tmp.path, "a"),
  ]];
  for (const [env, named] of cases) {
    const venv = await run("setpriv", [...asNobody, "/usr/bin/python3.11", "-m", "venv", env!]);
    assertEquals(venv.code, 1, venv.stderr);
    const said = venvMessage(venv.stderr);
    assertEquals(said, `[Errno 13] Permission denied: '${named}'`);
    const ours = await run("setpriv", [
      ...asNobody,
      "env",
      `HOME=${cache}`,
      `DENO_DIR=${join(cache, "deno")}`,
      `MKVENV_CACHE_DIR=${cache}`,
      ...MKVENV_COMMAND,
      "-p",
      "/usr/bin/python3.11",
      env!,
    ]);
    assertEquals(ours.code, 1, ours.stderr);
    assert(ours.stderr.startsWith(`mkvenv: error: ${said}: `), ours.stderr);
  }
});

Deno.test({
  name:
    "as another user: a directory they cannot write in venv's words, a closed interpreter as such",
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
}, async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const env = join(tmp.path, "env");
  await Deno.mkdir(env, { mode: 0o755 });
  const cache = join(tmp.path, "cache");
  await Deno.mkdir(cache, { mode: 0o777 });
  const nobody = (args: string[]) =>
    run("setpriv", [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "env",
      `HOME=${cache}`,
      `DENO_DIR=${join(cache, "deno")}`,
      `MKVENV_CACHE_DIR=${cache}`,
      ...args,
    ]);
  const venv = await nobody(["/usr/bin/python3.11", "-m", "venv", "--without-pip", env]);
  assertEquals(venv.code, 1, venv.stderr);
  const said = venvMessage(venv.stderr);
  assertEquals(said, `[Errno 13] Permission denied: '${env}/include'`);
  const before = tree(tmp.path, { skip: (rel) => rel.startsWith("cache") });
  const ours = await nobody([...MKVENV_COMMAND, "-p", "/usr/bin/python3.11", "--without-pip", env]);
  assertEquals(ours.code, 1, ours.stderr);
  assertEquals(
    errorLine(ours.stderr),
    `mkvenv: error: ${said}: this user cannot write in "${env}"; run mkvenv as a user who ` +
      `can, or choose another ENV_DIR`,
  );
  assertEquals(tree(tmp.path, { skip: (rel) => rel.startsWith("cache") }), before);

  // An interpreter in a directory closed to them (/root here): said so, not "no such file".
  await Deno.chmod(env, 0o777);
  const closed = join(tmp.path, "closed");
  await Deno.mkdir(closed, { mode: 0o700 });
  await Deno.copyFile("/usr/bin/python3.11", join(closed, "python3"));
  const hidden = await nobody([...MKVENV_COMMAND, "-p", join(closed, "python3"), env]);
  assertEquals(hidden.code, 1, hidden.stderr);
  assertMatch(
    errorLine(hidden.stderr),
    /closed\/python3": permission denied \(a directory on the way is closed to this user\); pass/,
  );
});

Deno.test("a failing --upgrade-deps: venv's words for the failed command, then pip's output", async () => {
  // One version: `python -m venv` with pip takes seconds, and 3.9-3.13 word it alike.
  for (const xy of ["3.12"]) {
    const py = pyenvPython(xy);
    await using tmp = await tempDir();
    const env = join(tmp.path, "env");
    // pip fails at once, before any download, when its constraints file is missing.
    const failing = { PIP_CONSTRAINT: join(tmp.path, "missing.txt") };
    const venv = await run(py.exe, ["-m", "venv", "--upgrade-deps", env], { env: failing });
    assertEquals(venv.code, 1, venv.stderr);
    const said = venvMessage(venv.stderr);
    await Deno.remove(env, { recursive: true });
    const ours = await mkvenv(["-p", py.exe, "--upgrade-deps", env], { env: failing });
    assertEquals(ours.code, 1, ours.stderr);
    const lines = ours.stderr.trim().split("\n");
    assert(lines[0]!.startsWith(`mkvenv: error: ${said}: `), `${xy}: ${said}\n${lines[0]}`);
    assert(lines.some((l) => l.includes("missing.txt")), ours.stderr);
  }
});

/** What the interpreter entries and lib64 of a venv are: `name -> link` or `name: kind`. */
function binState(env: string, names: string[]): string[] {
  return names.map((name) => {
    const path = name === "lib64" ? join(env, "lib64") : join(env, "bin", name);
    const st = Deno.lstatSync(path);
    if (st.isSymlink) return `${name} -> ${Deno.readLinkSync(path)}`;
    return `${name}: ${st.isDirectory ? "dir" : "file"}`;
  });
}

Deno.test("a bin linked to a directory elsewhere: venv refuses it, mkvenv builds through it (README)", async () => {
  const py = pyenvPython("3.12");
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", py.exe, "--without-pip", env])).code, 0);
  await Deno.rename(join(env, "bin"), join(tmp.path, "real"));
  await Deno.symlink("../real", join(env, "bin"));
  const venv = await run(py.exe, ["-m", "venv", "--without-pip", env]);
  assertEquals(venv.code, 1);
  assertEquals(venvMessage(venv.stderr), `Unable to create directory '${join(env, "bin")}'`);
  const ours = await mkvenv(["-p", py.exe, "--without-pip", env]);
  assertEquals(ours.code, 0, ours.stderr);
  assert((await Deno.lstat(join(env, "bin"))).isSymlink);
  const r = await run(join(env, "bin", "python"), ["-c", "import sys; print(sys.prefix)"]);
  assertEquals(r.stdout.trim(), env);
});

Deno.test("re-use and --upgrade keep a python3 (and lib64) the user put there, as venv 3.12 does", async () => {
  const py = pyenvPython("3.12");
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  const primary = py.exe.split("/").at(-1)!;
  const aliases = ["python", "python3", "python3.12"].filter((n) => n !== primary);
  const states: Record<string, string[][]> = {};
  for (const tool of ["venv", "mkvenv"]) {
    const make = (extra: string[]) =>
      tool === "venv"
        ? run(py.exe, ["-m", "venv", "--without-pip", ...extra, env])
        : mkvenv(["-p", py.exe, "--without-pip", ...extra, env]);
    await Deno.remove(env, { recursive: true }).catch(() => {});
    assertEquals((await make([])).code, 0);
    // The user's own python3, a lib64 of their own, and one alias deleted.
    await Deno.remove(join(env, "bin", aliases[1]!));
    await Deno.symlink("/usr/bin/python3.11", join(env, "bin", aliases[1]!));
    await Deno.remove(join(env, "lib64"));
    await Deno.mkdir(join(env, "lib64"));
    await Deno.remove(join(env, "bin", aliases[0]!));
    states[tool] = [];
    for (const extra of [[], ["--upgrade"]]) {
      const r = await make(extra);
      assertEquals(r.code, 0, r.stderr);
      states[tool]!.push(binState(env, [...aliases, "lib64"]));
    }
  }
  assertEquals(states.mkvenv, states.venv);
  assert(states.mkvenv![1]!.includes(`${aliases[1]} -> /usr/bin/python3.11`));
  assert(states.mkvenv![1]!.includes("lib64: dir"));
  assert(states.mkvenv![0]!.some((s) => s.startsWith(`${aliases[0]} -> `)), "re-created");
});

Deno.test("--upgrade re-points the primary interpreter entry, which venv leaves (documented)", async () => {
  const py = pyenvPython("3.12");
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  const primary = join(env, "bin", py.exe.split("/").at(-1)!);
  for (const tool of ["venv", "mkvenv"]) {
    await Deno.remove(env, { recursive: true }).catch(() => {});
    assertEquals((await mkvenv(["-p", py.exe, "--without-pip", env])).code, 0);
    const linked = Deno.readLinkSync(primary);
    await Deno.remove(primary);
    await Deno.symlink("/usr/bin/python3.11", primary);
    const r = tool === "venv"
      ? await run(py.exe, ["-m", "venv", "--without-pip", "--upgrade", env])
      : await mkvenv(["-p", py.exe, "--without-pip", "--upgrade", env]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      Deno.readLinkSync(primary),
      tool === "venv" ? "/usr/bin/python3.11" : linked,
      tool,
    );
  }
});

/** The pip version `bin/pip --version` reports, and the pip dist-infos in site-packages. */
async function pipState(env: string, xy: string): Promise<[string, string[]]> {
  const r = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(r.code, 0, r.stderr);
  const site = join(env, "lib", `python${xy}`, "site-packages");
  const infos = [...Deno.readDirSync(site)].map((e) => e.name)
    .filter((n) => n.startsWith("pip-")).sort();
  return [r.stdout.split(" ")[1]!, infos];
}

Deno.test("re-use and --upgrade upgrade an older pip to the bundled one and leave a newer one, as venv 3.12", async () => {
  const py = pyenvPython("3.12");
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  // An older pip: 3.10's bundled 23.0.1. A newer one: what the machine's package index serves.
  const older = join(pyenvPython("3.10").prefix, "lib", "python3.10", "ensurepip", "_bundled");
  const installs: Record<string, string[]> = {
    older: ["--no-index", "--find-links", older, "pip==23.0.1"],
    newer: ["--upgrade", "pip"],
  };
  const expected: Record<string, [string, string[]]> = {};
  for (const [which, install] of Object.entries(installs)) {
    for (const again of [[], ["--upgrade"]]) {
      const seen: Record<string, [string, string[]]> = {};
      // venv runs the same `ensurepip --upgrade` for both: once is enough for it.
      for (const tool of again.length === 0 ? ["venv", "mkvenv"] : ["mkvenv"]) {
        await Deno.remove(env, { recursive: true }).catch(() => {});
        const make = (extra: string[]) =>
          tool === "venv"
            ? run(py.exe, ["-m", "venv", ...extra, env])
            : mkvenv(["-p", py.exe, ...extra, env]);
        assertEquals((await make([])).code, 0);
        const put = await run(join(env, "bin", "python"), ["-m", "pip", "install", ...install]);
        assertEquals(put.code, 0, put.stderr);
        const before = await pipState(env, "3.12");
        assert(which === "older" ? before[0] === "23.0.1" : before[0] > "23.2.1", `${before}`);
        const r = await make(again);
        assertEquals(r.code, 0, r.stderr);
        seen[tool] = await pipState(env, "3.12");
        const check = await run(join(env, "bin", "python"), ["-m", "pip", "check"]);
        assertEquals(check.code, 0, check.stdout + check.stderr);
      }
      if (seen.venv) expected[which] = seen.venv;
      assertEquals(seen.mkvenv, expected[which], `${which} ${again}`);
      assertEquals(seen.mkvenv![0], which === "older" ? "23.2.1" : seen.mkvenv![0]);
      assertEquals(seen.mkvenv![1].length, 1);
    }
  }
});

/** A venv at `env` made by mkvenv, then given pip 23.0.1 (3.10's bundled wheel) by its pip. */
async function withOlderPip(python: string, env: string): Promise<void> {
  assertEquals((await mkvenv(["-p", python, env])).code, 0);
  const older = join(pyenvPython("3.10").prefix, "lib", "python3.10", "ensurepip", "_bundled");
  const put = await run(join(env, "bin", "python"), [
    "-m",
    "pip",
    "install",
    "--no-index",
    "--find-links",
    older,
    "pip==23.0.1",
  ]);
  assertEquals(put.code, 0, put.stderr);
}

Deno.test("an older pip whose RECORD names a directory outside site-packages: only pip's files go", async () => {
  const py = pyenvPython("3.12");
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  await withOlderPip(py.exe, env);
  const site = join(env, "lib", "python3.12", "site-packages");
  const record = join(site, "pip-23.0.1.dist-info", "RECORD");
  await Deno.writeTextFile(
    record,
    '../../../lib,,\n../../../bin,,\r\n"../../../bin/a,b",sha256=x,1\n' +
      "../../../bin/activate,,\nuserpkg/keep.py,,\nlnk/victim,,\n",
    { append: true },
  );
  await Deno.writeTextFile(join(site, "mine.py"), "x = 1\n");
  await Deno.writeTextFile(join(env, "bin", "a"), "mine\n");
  await Deno.mkdir(join(site, "userpkg"));
  await Deno.writeTextFile(join(site, "userpkg", "keep.py"), "");
  await Deno.writeTextFile(join(site, "userpkg", "other.py"), "y = 2\n");
  // A link in site-packages to a directory outside: nothing through it is retired.
  await Deno.mkdir(join(tmp.path, "outside"));
  await Deno.writeTextFile(join(tmp.path, "outside", "victim"), "v\n");
  await Deno.symlink(join(tmp.path, "outside"), join(site, "lnk"));
  const r = await mkvenv(["-p", py.exe, "--upgrade", env]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals((await pipState(env, "3.12"))[0], "23.2.1");
  assertEquals(await Deno.readTextFile(join(site, "mine.py")), "x = 1\n", "lib/ kept");
  assertEquals(
    await Deno.readTextFile(join(env, "bin", "a")),
    "mine\n",
    "a quoted name read whole",
  );
  assert(Deno.statSync(join(env, "bin", "activate")).isFile, "the venv's own activate kept");
  assertEquals(await Deno.readTextFile(join(site, "userpkg", "other.py")), "y = 2\n");
  assert(!(await Deno.lstat(join(site, "userpkg", "keep.py")).catch(() => null)), "listed: gone");
  assertEquals(await Deno.readTextFile(join(tmp.path, "outside", "victim")), "v\n");
  const check = await run(join(env, "bin", "python"), ["-m", "pip", "check"]);
  assertEquals(check.code, 0, check.stdout + check.stderr);
});

Deno.test("an older pip without a readable RECORD is left with a warning that says what to do", async () => {
  const py = pyenvPython("3.12");
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  await withOlderPip(py.exe, env);
  const record = join(env, "lib", "python3.12", "site-packages", "pip-23.0.1.dist-info", "RECORD");
  await Deno.remove(record);
  assertEquals((await run("mkfifo", [record])).code, 0);
  const r = await mkvenv(["-p", py.exe, "--upgrade", env]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(
    r.stderr,
    /^mkvenv: warning: leaving pip-23\.0\.1\.dist-info in ".*site-packages": it is older than 23\.2\.1, but without a RECORD file .*remove it and run again to get 23\.2\.1$/m,
  );
  assertEquals((await pipState(env, "3.12"))[0], "23.0.1");
});
