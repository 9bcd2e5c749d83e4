/**
 * The target's lock and mkvenv's helper names: another local user planting links, a user who
 * owns ENV_DIR but cannot write its parent, names at the file system's limit, and commits that
 * fail half-way. Each test looks at what is on disk afterwards and at the message.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { basename, join } from "node:path";
import { helperPaths } from "../../lib/disk/staging.ts";
import {
  errorLine,
  mkvenv,
  MKVENV_COMMAND,
  pyenvPython,
  type Ran,
  run,
  tempDir,
  tree,
  venvWorks,
} from "../_util.ts";

const PY = pyenvPython("3.12");
/** The Python user `nobody` can run (pyenv's live under /root, which is 0700). */
const SYSTEM_PY = "/usr/bin/python3.11";

/** A directory `nobody` owns for deno's own cache, shared by the tests of this file. */
const NOBODY_HOME = Deno.makeTempDirSync({ prefix: "mkvenv-nobody-" });
Deno.chmodSync(NOBODY_HOME, 0o755);
await run("chown", ["nobody:nogroup", NOBODY_HOME]);
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(NOBODY_HOME, { recursive: true });
  } catch {
    // already gone
  }
});

/** Run `args` as user `nobody`. */
function asNobody(args: readonly string[], env: Record<string, string> = {}): Promise<Ran> {
  return run("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", ...args], {
    env: {
      HOME: NOBODY_HOME,
      DENO_DIR: join(NOBODY_HOME, "deno"),
      MKVENV_CACHE_DIR: join(NOBODY_HOME, "mkvenv"),
      ...env,
    },
  });
}

/** Run mkvenv as user `nobody`. */
function mkvenvAsNobody(args: readonly string[]): Promise<Ran> {
  return asNobody([...MKVENV_COMMAND, ...args]);
}

async function chown(path: string, owner: string): Promise<void> {
  const r = await run("chown", [owner, path]);
  assertEquals(r.code, 0, r.stderr);
}

Deno.test("links planted at the lock's and the stage's names by another user leave their targets as they were", async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const shared = join(tmp.path, "shared");
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o1777); // like /tmp
  const victim = join(tmp.path, "victim.txt");
  await Deno.writeTextFile(victim, "precious\n");
  const victimDir = join(tmp.path, "victim-dir");
  await Deno.mkdir(victimDir);
  await Deno.writeTextFile(join(victimDir, "keep.txt"), "keep\n");
  const env = join(shared, "env");
  // The lock name of earlier versions, and every helper name this version uses.
  const plants = [join(shared, ".env.mkvenv.lock"), ...helperPaths(env).slice(0, 1)];
  for (const plant of plants) {
    const r = await asNobody(["ln", "-s", plant.endsWith(".lock") ? victim : victimDir, plant]);
    assertEquals(r.code, 0, r.stderr);
  }
  const before = [tree(victimDir), await Deno.readTextFile(victim), (await Deno.stat(victim)).mode];
  console.log(
    `fs.protected_symlinks = ${
      (await Deno.readTextFile("/proc/sys/fs/protected_symlinks").catch(() => "?")).trim()
    }`,
  );
  const r = await mkvenv(["-p", PY.exe, "--without-pip", env]);
  assertEquals(r.code, 0, r.stderr);
  await venvWorks(env);
  assertEquals(
    [tree(victimDir), await Deno.readTextFile(victim), (await Deno.stat(victim)).mode],
    before,
  );
  // The old lock name is not used at all; the planted stage link, another user's, was neither
  // followed nor removed: the stage went inside the target.
  assertEquals(
    [...Deno.readDirSync(shared)].map((e) => e.name).sort(),
    [".env.mkvenv.lock", basename(plants[1]!), "env"].sort(),
  );
  assert((await Deno.lstat(plants[1]!)).isSymlink);
});

Deno.test("a user who owns ENV_DIR but cannot write its parent builds, re-uses, clears and upgrades it", async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  // The Dockerfile pattern: `mkdir /opt/venv && chown app /opt/venv`, then build as app.
  const opt = join(tmp.path, "opt");
  const venv = join(opt, "venv");
  await Deno.mkdir(venv, { recursive: true });
  await chown(venv, "nobody");
  const created = await mkvenvAsNobody(["-p", SYSTEM_PY, venv]);
  assertEquals(created.code, 0, created.stderr);
  await venvWorks(venv);
  const pip = await run(join(venv, "bin", "pip"), ["--version"]);
  assertEquals(pip.code, 0, pip.stderr);
  for (const again of [[], ["--upgrade"], ["--clear", "--without-pip"]]) {
    const r = await mkvenvAsNobody(["-p", SYSTEM_PY, ...again, venv]);
    assertEquals(r.code, 0, `${again}: ${r.stderr}`);
    await venvWorks(venv);
  }
  assertEquals(tree(opt).filter((l) => !l.includes("venv/")), ["d 755 .", "d 755 venv"]);
  assertEquals([...Deno.readDirSync(venv)].filter((e) => e.name.startsWith(".mkvenv")), []);
  // A new directory there cannot be made: one line, nothing made.
  const other = await mkvenvAsNobody(["-p", SYSTEM_PY, "--without-pip", join(opt, "other")]);
  assertEquals(other.code, 1, other.stderr);
  assertMatch(
    errorLine(other.stderr),
    /\[Errno 13\] Permission denied: '.*\/opt\/other': cannot create the virtual environment/,
  );
  assertEquals([...Deno.readDirSync(opt)].map((e) => e.name), ["venv"]);
});

Deno.test("an ENV_DIR whose name is 255 bytes is created, re-used, cleared and upgraded, with pip", async () => {
  await using tmp = await tempDir();
  const name = "é".repeat(127) + "v"; // 255 bytes of UTF-8
  assertEquals(new TextEncoder().encode(name).length, 255);
  const env = join(tmp.path, name);
  for (const args of [[], [], ["--clear"], ["--upgrade"]]) {
    const r = await mkvenv(["-p", PY.exe, ...args, env]);
    assertEquals(r.code, 0, `${args}: ${r.stderr}`);
    await venvWorks(env);
  }
  const pip = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(pip.code, 0, pip.stderr);
  assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name), [name]);
  assertEquals([...Deno.readDirSync(env)].filter((e) => e.name.startsWith(".mkvenv")), []);
});

Deno.test("a commit that fails in an existing directory puts nothing in place, pyvenv.cfg least of all", async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  // A project directory of nobody's whose bin/ belongs to root: moving the interpreter links
  // into it fails, after the stage was complete.
  const project = join(tmp.path, "project");
  await Deno.mkdir(join(project, "bin"), { recursive: true });
  await Deno.writeTextFile(join(project, "notes.txt"), "mine\n");
  await chown(project, "nobody");
  await chown(join(project, "notes.txt"), "nobody");
  const before = tree(project);
  const r = await mkvenvAsNobody(["-p", SYSTEM_PY, "--without-pip", project]);
  assertEquals(r.code, 1, r.stderr);
  assertMatch(
    errorLine(r.stderr),
    /Cannot commit the virtual environment ".*project": permission denied/,
  );
  assertEquals(tree(project), before, "nothing added, no pyvenv.cfg");

  // A venv of nobody's being upgraded: the old venv stays as it was, its pyvenv.cfg too.
  const env = join(tmp.path, "env");
  await Deno.mkdir(env);
  await chown(env, "nobody");
  assertEquals((await mkvenvAsNobody(["-p", SYSTEM_PY, "--without-pip", env])).code, 0);
  await chown(join(env, "bin"), "root");
  const cfg = await Deno.readTextFile(join(env, "pyvenv.cfg"));
  const venvBefore = tree(env);
  const up = await mkvenvAsNobody([
    "-p",
    SYSTEM_PY,
    "--without-pip",
    "--upgrade",
    "--prompt",
    "new",
    env,
  ]);
  assertEquals(up.code, 1, up.stderr);
  assertMatch(
    errorLine(up.stderr),
    /Cannot commit the virtual environment ".*env": permission denied/,
  );
  assertEquals(tree(env), venvBefore);
  assertEquals(await Deno.readTextFile(join(env, "pyvenv.cfg")), cfg);
  await venvWorks(env);

  // --clear --force of a directory holding one of root's: the old entries all come back.
  const data = join(tmp.path, "data");
  await Deno.mkdir(join(data, "sub"), { recursive: true });
  await Deno.writeTextFile(join(data, "a.txt"), "a\n");
  await chown(data, "nobody");
  await chown(join(data, "a.txt"), "nobody");
  const dataBefore = tree(data);
  const cleared = await mkvenvAsNobody([
    "-p",
    SYSTEM_PY,
    "--without-pip",
    "--clear",
    "--force",
    data,
  ]);
  assertEquals(cleared.code, 1, cleared.stderr);
  assertMatch(
    errorLine(cleared.stderr),
    /Cannot commit the virtual environment ".*data": permission denied/,
  );
  assertEquals(tree(data), dataBefore);
});

Deno.test("links at the names a killed commit leaves are removed, not followed, by the next run", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
  const victimDir = join(tmp.path, "victim-dir");
  await Deno.mkdir(join(victimDir, "bin"), { recursive: true });
  await Deno.writeTextFile(join(victimDir, "bin", "python"), "#!/bin/sh\necho not yours\n");
  await Deno.writeTextFile(join(victimDir, "data.txt"), "keep\n");
  const victim = join(tmp.path, "victim.cfg");
  await Deno.writeTextFile(victim, "home = /nowhere\n");
  const [, stage, trash, stagedCfg] = helperPaths(env);
  await Deno.symlink(victimDir, stage!);
  await Deno.symlink(victimDir, trash!);
  await Deno.symlink(victim, stagedCfg!);
  const before = [tree(victimDir), await Deno.readTextFile(victim)];
  const r = await mkvenv(["-p", PY.exe, "--without-pip", env]);
  assertEquals(r.code, 0, r.stderr);
  await venvWorks(env);
  assertEquals([tree(victimDir), await Deno.readTextFile(victim)], before);
  assertEquals([...Deno.readDirSync(env)].filter((e) => e.name.startsWith(".mkvenv")), []);
  assertEquals(
    (await Deno.readTextFile(join(env, "pyvenv.cfg"))).includes("/nowhere"),
    false,
  );
});

Deno.test("a stage name another user took in a sticky directory does not stop a non-root build", async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const shared = join(tmp.path, "shared");
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o1777); // like /tmp
  const env = join(shared, "env");
  const planted = helperPaths(env)[0]!;
  const r = await asNobody(["mkdir", planted]);
  assertEquals(r.code, 0, r.stderr);
  // User daemon cannot remove nobody's directory there: the stage goes inside the target.
  const home = join(tmp.path, "daemon-home");
  await Deno.mkdir(home);
  await chown(home, "daemon");
  const built = await run("setpriv", [
    "--reuid=daemon",
    "--regid=daemon",
    "--clear-groups",
    ...MKVENV_COMMAND,
    "-p",
    SYSTEM_PY,
    "--without-pip",
    env,
  ], { env: { HOME: home, DENO_DIR: join(home, "deno"), MKVENV_CACHE_DIR: join(home, "c") } });
  assertEquals(built.code, 0, built.stderr);
  await venvWorks(env);
  assertEquals((await Deno.stat(env)).uid, (await Deno.stat(home)).uid);
  assertEquals([...Deno.readDirSync(planted)], []);
  assertEquals(
    [...Deno.readDirSync(shared)].map((e) => e.name).sort(),
    [planted.split("/").pop(), "env"],
  );
});
