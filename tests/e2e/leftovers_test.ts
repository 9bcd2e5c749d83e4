/**
 * What a build leaves for the next one, and what it must not take for its own: a killed undo
 * is finished from what it set aside, old files that cannot be removed after a successful
 * build are kept and named, another user's entry at the name of a sibling stage stays, and a
 * script whose name is not UTF-8 is refused for that reason.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { join } from "node:path";
import { helperPaths } from "../../lib/disk/staging.ts";
import {
  childOf,
  errorLine,
  exists,
  hasStrace,
  mkvenv,
  MKVENV_COMMAND,
  mkvenvSlowed,
  pyenvPython,
  type Ran,
  run,
  tempDir,
  tree,
  venvWorks,
} from "../_util.ts";

const PY = pyenvPython("3.12");
const AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];

/** Run `words` as user nobody. */
function asNobody(words: readonly string[]): Promise<Ran> {
  return run(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), ...words]);
}

/**
 * mkvenv `--without-pip` with Debian's python3.11 as user nobody, `cache` (made here, open to
 * all) as its HOME, Deno's and mkvenv's cache.
 */
async function mkvenvAsNobody(cache: string, args: readonly string[]): Promise<Ran> {
  await Deno.mkdir(cache, { recursive: true, mode: 0o777 });
  await Deno.chmod(cache, 0o777);
  return asNobody([
    "env",
    `HOME=${cache}`,
    `DENO_DIR=${join(cache, "deno")}`,
    `MKVENV_CACHE_DIR=${cache}`,
    ...MKVENV_COMMAND,
    "-p",
    "/usr/bin/python3.11",
    "--without-pip",
    ...args,
  ]);
}
const asRootOnLinux = Deno.build.os !== "linux" || Deno.uid() !== 0;

Deno.test("an undo killed halfway is finished from what it set aside: the user's files come back", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, env])).code, 0);
  const site = join(env, "lib", "python3.12", "site-packages");
  await Deno.writeTextFile(join(site, "mine.py"), "MINE = 1\n");
  const oldCfg = await Deno.readTextFile(join(env, "pyvenv.cfg"));
  // The state an undo leaves when killed after its first steps: the list of what the build
  // moved in written, the trash renamed to the undo's name, the new pyvenv.cfg gone, the new
  // entries still in place (one of them where the old venv had a file of the same name).
  const undo = join(env, ".mkvenv-undo");
  await Deno.mkdir(undo);
  for (const name of ["lib", "bin", "pyvenv.cfg"]) {
    await Deno.rename(join(env, name), join(undo, name));
  }
  await Deno.mkdir(join(env, "lib", "python3.12", "site-packages"), { recursive: true });
  await Deno.writeTextFile(join(env, "lib", "python3.12", "site-packages", "mine.py"), "NEW\n");
  await Deno.mkdir(join(env, "bin"));
  await Deno.writeTextFile(join(env, ".mkvenv-undo-list"), JSON.stringify(["lib", "bin"]));
  const r = await mkvenv(["-p", PY.exe, "-v", env]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /finishing the undo of a build of .*env, left by an interrupted mkvenv/);
  assertEquals(await Deno.readTextFile(join(site, "mine.py")), "MINE = 1\n", "the old file won");
  for (const helper of [".mkvenv-undo", ".mkvenv-undo-list", ".mkvenv-kept"]) {
    assert(!(await exists(join(env, helper))), `${helper} is gone`);
  }
  assertEquals(await Deno.readTextFile(join(env, "pyvenv.cfg")), oldCfg);
  await venvWorks(env);
  const pip = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(pip.code, 0, pip.stderr);
});

Deno.test("an undo killed while putting entries back: what is back stays, the rest follows", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, env])).code, 0);
  const site = join(env, "lib", "python3.12", "site-packages");
  await Deno.writeTextFile(join(site, "mine.py"), "MINE = 1\n");
  const oldCfg = await Deno.readTextFile(join(env, "pyvenv.cfg"));
  // The new entries are gone and so is the list (removed before anything goes back); lib is
  // back already, bin and pyvenv.cfg still wait in the undo.
  const undo = join(env, ".mkvenv-undo");
  await Deno.mkdir(undo);
  for (const name of ["bin", "pyvenv.cfg"]) await Deno.rename(join(env, name), join(undo, name));
  const r = await mkvenv(["-p", PY.exe, "-v", env]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /finishing the undo of a build of .*env/);
  assertEquals(await Deno.readTextFile(join(site, "mine.py")), "MINE = 1\n");
  assertEquals(await Deno.readTextFile(join(env, "pyvenv.cfg")), oldCfg);
  for (const helper of [".mkvenv-undo", ".mkvenv-undo-list", ".mkvenv-kept"]) {
    assert(!(await exists(join(env, helper))), `${helper} is gone`);
  }
  await venvWorks(env);
});

Deno.test({
  name:
    "SIGKILL at any point of a real undo (--clear, failed --upgrade-deps), then a plain rerun: nothing of the user's is lost",
  ignore: Deno.build.os !== "linux",
}, async () => {
  if (!(await hasStrace())) return;
  await using tmp = await tempDir();
  const badConf = join(tmp.path, "bad.conf");
  await Deno.writeTextFile(badConf, "[global\nbroken");
  for (const delay of [0, 100, 250, 400, 550, 700]) {
    const env = join(tmp.path, `env-${delay}`);
    assertEquals((await mkvenv(["-p", PY.exe, env])).code, 0);
    const mine = join(env, "lib", "python3.12", "site-packages", "mine.py");
    await Deno.writeTextFile(mine, "MINE = 1\n");
    await Deno.writeTextFile(join(env, "notes.txt"), "notes\n");
    const args = ["-p", PY.exe, "--clear", "--force", "--upgrade-deps", env];
    const tracer = mkvenvSlowed("rename", 120000, args, "null", { PIP_CONFIG_FILE: badConf });
    const pid = await childOf(tracer.pid);
    // The undo starts when the trash becomes .mkvenv-undo.
    for (let i = 0; i < 6000 && !(await exists(join(env, ".mkvenv-undo"))); i++) {
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, delay));
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // finished before the kill
    }
    await tracer.status;
    const again = await mkvenv(["-p", PY.exe, env]);
    assertEquals(again.code, 0, `killed ${delay} ms into the undo: ${again.stderr}`);
    assertEquals(await Deno.readTextFile(mine), "MINE = 1\n", `killed ${delay} ms into the undo`);
    assertEquals(await Deno.readTextFile(join(env, "notes.txt")), "notes\n");
    for (const helper of [".mkvenv-undo", ".mkvenv-undo-list", ".mkvenv-trash"]) {
      assert(!(await exists(join(env, helper))), `${helper} is gone (+${delay} ms)`);
    }
    await venvWorks(env);
  }
});

Deno.test("an undo killed before the trash was renamed (its list beside the trash) is finished too", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
  await Deno.writeTextFile(join(env, "mine.txt"), "MINE\n");
  const trash = join(env, ".mkvenv-trash");
  await Deno.mkdir(trash);
  await Deno.rename(join(env, "mine.txt"), join(trash, "mine.txt"));
  await Deno.writeTextFile(join(env, "mine.txt"), "NEW\n");
  await Deno.writeTextFile(join(env, ".mkvenv-undo-list"), JSON.stringify(["mine.txt"]));
  const r = await mkvenv(["-p", PY.exe, "--without-pip", "-v", env]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /finishing the undo of a build of .*env/);
  assertEquals(await Deno.readTextFile(join(env, "mine.txt")), "MINE\n");
  for (const helper of [".mkvenv-undo", ".mkvenv-undo-list", ".mkvenv-trash", ".mkvenv-kept"]) {
    assert(!(await exists(join(env, helper))), `${helper} is gone`);
  }
});

Deno.test("a killed undo without its list (a full disk) removes nothing and keeps what it cannot put back", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
  await Deno.writeTextFile(join(env, "mine.txt"), "MINE\n");
  const undo = join(env, ".mkvenv-undo");
  await Deno.mkdir(undo);
  await Deno.rename(join(env, "mine.txt"), join(undo, "mine.txt"));
  await Deno.writeTextFile(join(env, "mine.txt"), "NEW\n");
  const r = await mkvenv(["-p", PY.exe, "--without-pip", env]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(
    r.stderr,
    /could not put back everything the commit had moved aside; it is in ".*\.mkvenv-kept"/,
  );
  assertEquals(await Deno.readTextFile(join(env, "mine.txt")), "NEW\n");
  assertEquals(await Deno.readTextFile(join(env, ".mkvenv-kept", "mine.txt")), "MINE\n");
  assert(!(await exists(undo)));
});

Deno.test("a killed undo of --clear --force puts a directory back exactly, never merged through a new link", async () => {
  await using tmp = await tempDir();
  const dir = join(tmp.path, "d3");
  await Deno.mkdir(join(dir, "lib"), { recursive: true });
  await Deno.mkdir(join(dir, "lib64"));
  await Deno.writeTextFile(join(dir, "lib", "data.txt"), "LIB\n");
  await Deno.writeTextFile(join(dir, "lib64", "data.txt"), "LIB64\n");
  await Deno.writeTextFile(join(dir, "lib64", "other.txt"), "OTHER\n");
  await Deno.writeTextFile(join(dir, "notes.txt"), "keep\n");
  const before = tree(dir);
  const contents = async () =>
    await Promise.all(
      ["lib/data.txt", "lib64/data.txt", "lib64/other.txt", "notes.txt"].map((rel) =>
        Deno.readTextFile(join(dir, rel))
      ),
    );
  const oldContents = await contents();
  // Killed right after the undo started: every old entry in the undo, the new venv in place
  // (its lib64 a link to its lib), the list naming the new top-level entries.
  const undo = join(dir, ".mkvenv-undo");
  await Deno.mkdir(undo);
  for (const name of ["lib", "lib64", "notes.txt"]) {
    await Deno.rename(join(dir, name), join(undo, name));
  }
  for (const name of ["bin", "include", "lib/python3.12/site-packages"]) {
    await Deno.mkdir(join(dir, name), { recursive: true });
  }
  await Deno.symlink("lib", join(dir, "lib64"));
  await Deno.writeTextFile(
    join(dir, ".mkvenv-undo-list"),
    JSON.stringify(["bin", "include", "lib", "lib64"]),
  );
  const r = await mkvenv(["-p", PY.exe, "--without-pip", "-v", dir]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /finishing the undo of a build of .*d3/);
  // Every old entry is back as it was, lib64 still a directory of its own, and the build went
  // around them.
  assertEquals(await contents(), oldContents);
  assert((await Deno.lstat(join(dir, "lib64"))).isDirectory);
  assertEquals(tree(dir).filter((line) => before.includes(line)), before);
  for (const helper of [".mkvenv-undo", ".mkvenv-undo-list", ".mkvenv-kept"]) {
    assert(!(await exists(join(dir, helper))), `${helper} is gone`);
  }
});

Deno.test("a failed --upgrade-deps is undone through the undo's name and leaves none of it", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, env])).code, 0);
  const site = join(env, "lib", "python3.12", "site-packages");
  await Deno.writeTextFile(join(site, "mine.py"), "MINE = 1\n");
  const badConf = join(tmp.path, "bad.conf");
  await Deno.writeTextFile(badConf, "[global\nbroken");
  const r = await mkvenv(["-p", PY.exe, "--clear", "--upgrade-deps", env], {
    env: { PIP_CONFIG_FILE: badConf },
  });
  assertEquals(r.code, 1, r.stderr);
  assertEquals(await Deno.readTextFile(join(site, "mine.py")), "MINE = 1\n");
  for (const helper of [".mkvenv-undo", ".mkvenv-trash", ".mkvenv-kept"]) {
    assert(!(await exists(join(env, helper))), `${helper} is gone`);
  }
});

Deno.test({
  name: "old files --clear cannot remove are kept and named; the new venv is built and reruns work",
  ignore: asRootOnLinux,
}, async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o777);
  const env = join(tmp.path, "n1");
  const cache = join(tmp.path, "cache");
  const nobody = (args: string[]) => mkvenvAsNobody(cache, args);
  assertEquals((await nobody([env])).code, 0);
  const ro = await asNobody([
    "sh",
    "-c",
    `mkdir -p '${env}/etc/ro' && echo r > '${env}/etc/ro/r' && chmod 555 '${env}/etc/ro'`,
  ]);
  assertEquals(ro.code, 0, ro.stderr);
  const clear = await nobody(["--clear", env]);
  assertEquals(clear.code, 0, clear.stderr);
  assertMatch(
    clear.stderr,
    /the virtual environment is built, but its old files could not all be removed \(.*permission denied.*\); they are in ".*n1\/\.mkvenv-kept": remove them yourself/,
  );
  assert(await exists(join(env, ".mkvenv-kept", "etc", "ro", "r")));
  assert(!(await exists(join(env, "etc"))), "the new venv has no etc");
  await venvWorks(env);
  const again = await nobody([env]);
  assertEquals(again.code, 0, again.stderr);
  const blocked = await nobody(["--clear", env]);
  assertEquals(blocked.code, 1, blocked.stderr);
  assertMatch(
    errorLine(blocked.stderr),
    /it holds "\.mkvenv-kept", old files an earlier mkvenv could neither remove nor put back; look through them; pass --force/,
  );
});

Deno.test({
  name: "root leaves another user's entry at a sibling stage's name in a sticky directory alone",
  ignore: asRootOnLinux,
}, async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const sticky = join(tmp.path, "sticky");
  await Deno.mkdir(sticky);
  await Deno.chmod(sticky, 0o1777);
  const env = join(sticky, "venv");
  const sibling = helperPaths(env)[0]!;
  const planted = await asNobody([
    "sh",
    "-c",
    `mkdir '${sibling}' && echo data > '${sibling}/data'`,
  ]);
  assertEquals(planted.code, 0, planted.stderr);
  const r = await mkvenv(["-p", PY.exe, "--without-pip", "-v", env]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /belongs to another user: staging inside/);
  assertEquals(await Deno.readTextFile(join(sibling, "data")), "data\n");
  await venvWorks(env);
});

Deno.test({
  name: "a script whose name is not UTF-8 is refused for that, not as a link to nothing",
  ignore: Deno.build.os === "windows",
}, async () => {
  await using tmp = await tempDir();
  const common = join(tmp.path, "scripts", "common");
  await Deno.mkdir(common, { recursive: true });
  const made = await run("/usr/bin/python3.11", [
    "-c",
    "import os, sys; open(os.path.join(os.fsencode(sys.argv[1]), b'bad\\xff\\xfename'), 'wb').write(b'hi')",
    common,
  ]);
  assertEquals(made.code, 0, made.stderr);
  const env = join(tmp.path, "env");
  const r = await mkvenv([
    "-p",
    PY.exe,
    "--without-pip",
    "--scripts",
    join(tmp.path, "scripts"),
    env,
  ]);
  assertEquals(r.code, 1, r.stderr);
  assertMatch(
    errorLine(r.stderr),
    /^mkvenv: error: Cannot read the script ".*bad.*name": its name is not valid UTF-8, which mkvenv cannot read; rename it$/,
  );
  assert(!(await exists(env)), "nothing was built");
});

Deno.test({
  name: "a commit left half done that cannot be finished names the entry and the directory to open",
  ignore: asRootOnLinux,
}, async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o777);
  const env = join(tmp.path, "E");
  const cache = join(tmp.path, "cache");
  const nobody = asNobody;
  const build = () => mkvenvAsNobody(cache, [env]);
  assertEquals((await build()).code, 0);
  // Killed after the commit point: the new pyvenv.cfg set aside, one staged file still to go
  // where the old one stands, in a directory made read-only since.
  const made = await nobody([
    "sh",
    "-c",
    `cd '${env}' && mkdir -p .mkvenv-stage/bin .mkvenv-trash && echo new > .mkvenv-stage/bin/activate && ` +
    `cp pyvenv.cfg .mkvenv-cfg && mv pyvenv.cfg .mkvenv-trash/ && chmod 555 bin`,
  ]);
  assertEquals(made.code, 0, made.stderr);
  const stuck = await build();
  assertEquals(stuck.code, 1, stuck.stderr);
  assertMatch(
    errorLine(stuck.stderr),
    /^mkvenv: error: Cannot finish the commit an interrupted mkvenv left in ".*E": ".*E\/bin\/activate" cannot be put in place \(permission denied\); make ".*E\/bin" writable and run mkvenv again$/,
  );
  assertEquals((await nobody(["chmod", "755", join(env, "bin")])).code, 0);
  const again = await build();
  assertEquals(again.code, 0, again.stderr);
  await venvWorks(env);
});
