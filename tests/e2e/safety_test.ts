/**
 * Never lose data, never leave a broken venv: refusals, atomic builds, interruption, and a
 * catalogue of bad inputs. Each test looks at what is on disk afterwards and at the message.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { join } from "node:path";
import {
  errorLine,
  mkvenv,
  MKVENV_COMMAND,
  pyenvPython,
  run,
  SHARED_TEST_CACHE,
  tempDir,
  tree,
  venvWorks,
} from "../_util.ts";

const PY = pyenvPython("3.12");

/** Mount a tmpfs of `size` at a new directory under `parent`; null where mounting is not allowed. */
async function tmpfs(parent: string, size: string, readOnly = false): Promise<string | null> {
  const dir = join(parent, "mnt");
  await Deno.mkdir(dir);
  const r = await run("mount", [
    "-t",
    "tmpfs",
    "-o",
    `size=${size}${readOnly ? ",ro" : ""}`,
    "tmpfs",
    dir,
  ]);
  if (r.code !== 0) {
    if (Deno.env.get("CI")) throw new Error(`CI needs tmpfs mounts (root): ${r.stderr}`);
    console.log(`note: cannot mount a tmpfs here (${r.stderr.trim()}): test skipped`);
    return null;
  }
  return dir;
}

async function unmount(dir: string | null): Promise<void> {
  if (dir) await run("umount", [dir]);
}

Deno.test("--clear refuses a non-empty directory that is not a venv, and --force empties it", async () => {
  await using tmp = await tempDir();
  const project = join(tmp.path, "project");
  await Deno.mkdir(project);
  await Deno.writeTextFile(join(project, "work.py"), "precious = 1\n");
  const r = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", project]);
  assertEquals(r.code, 1);
  assertMatch(
    errorLine(r.stderr),
    /Refusing to clear ".*project": it is not a virtual environment.*"work\.py".*--force/,
  );
  assertEquals(tree(project), ["d 755 .", "f 644 work.py"]);
  const forced = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", "--force", project]);
  assertEquals(forced.code, 0, forced.stderr);
  assert((await Deno.lstat(join(project, "work.py")).catch(() => null)) === null);
  await venvWorks(project);
});

Deno.test("building into a project directory works, and refuses to overwrite a file of the user's", async () => {
  await using tmp = await tempDir();
  const project = join(tmp.path, "project");
  await Deno.mkdir(project);
  await Deno.writeTextFile(join(project, "main.py"), "print(1)\n");
  const ok = await mkvenv(["-p", PY.exe, "--without-pip", "."], { cwd: project });
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(await Deno.readTextFile(join(project, "main.py")), "print(1)\n");
  await venvWorks(project);

  const other = join(tmp.path, "other");
  await Deno.mkdir(other);
  await Deno.writeTextFile(join(other, ".gitignore"), "node_modules\n");
  const before = tree(other);
  const r = await mkvenv(["-p", PY.exe, "--without-pip", other]);
  assertEquals(r.code, 1);
  assertMatch(
    errorLine(r.stderr),
    /Refusing to build into ".*other".*"\.gitignore" would be overwritten/,
  );
  assertEquals(tree(other), before, "nothing added");
  assertEquals(await Deno.readTextFile(join(other, ".gitignore")), "node_modules\n");
  const without = await mkvenv([
    "-p",
    PY.exe,
    "--without-pip",
    "--without-scm-ignore-files",
    other,
  ]);
  assertEquals(without.code, 0, without.stderr);
  assertEquals(await Deno.readTextFile(join(other, ".gitignore")), "node_modules\n");
});

Deno.test("a failed build leaves nothing behind: a full disk", async () => {
  await using tmp = await tempDir();
  const mnt = await tmpfs(tmp.path, "48k");
  if (mnt === null) return;
  try {
    const env = join(mnt, "env");
    const r = await mkvenv(["-p", PY.exe, "--without-pip", "--copies", env]);
    assertEquals(r.code, 1, r.stderr);
    assertFullDisk(errorLine(r.stderr), env);
    assertEquals([...Deno.readDirSync(mnt)].map((e) => e.name), [], "no venv, no stage, no lock");
  } finally {
    await unmount(mnt);
  }
});

/** One line that says the disk is full and what to do, naming the venv's path, not the stage's. */
function assertFullDisk(line: string, env: string): void {
  assertMatch(line, /no space left on (the )?device.*free some space and run mkvenv again/i);
  assert(line.includes(`"${env}/`) || line.includes(`"${env}"`), line);
  assert(!line.includes(".mkvenv-"), `names the hidden stage: ${line}`);
  assert(!line.includes(" -> '"), `Deno's own paths repeated: ${line}`);
  assert(!/\b(mkdir|writefile|open|link|copy|rename|symlink) '/.test(line), `Deno's op: ${line}`);
  assert(!line.includes("Error:"), `an error's name: ${line}`);
}

/** Free inodes on the file system of `dir` (`stat -f`). */
async function freeInodes(dir: string): Promise<number> {
  const r = await run("stat", ["-f", "-c", "%d", dir]);
  assertEquals(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
}

Deno.test("out of inodes at every phase of a build: one line saying to free space, nothing left", async () => {
  await using tmp = await tempDir();
  // The cache on the same file system, so pip is hard-linked (a link takes an inode on tmpfs).
  const mnt = await tmpfs(tmp.path, "64m,nr_inodes=6000");
  if (mnt === null) return;
  try {
    const env = { MKVENV_CACHE_DIR: join(mnt, "cache") };
    assertEquals((await mkvenv(["-p", PY.exe, join(mnt, "warm")], { env })).code, 0);
    const before = await freeInodes(mnt);
    assertEquals((await mkvenv(["-p", PY.exe, join(mnt, "measure")], { env })).code, 0);
    const need = before - (await freeInodes(mnt));
    assert(need > 100, `a venv with pip takes ${need} inodes`);
    await Deno.remove(join(mnt, "measure"), { recursive: true });
    const fill = join(mnt, "fill");
    await Deno.mkdir(fill);
    let fillers = 0;
    const leave = async (free: number) => {
      for (let now = await freeInodes(mnt); now > free; now--) {
        Deno.writeFileSync(join(fill, String(fillers++)), new Uint8Array());
      }
      for (let now = await freeInodes(mnt); now < free; now++) {
        Deno.removeSync(join(fill, String(--fillers)));
      }
    };
    const top = [...Deno.readDirSync(mnt)].map((e) => e.name).sort();
    // The venv's directory, its skeleton, pip's directories and links, the scripts written last.
    const short = [
      0,
      1,
      2,
      3,
      5,
      8,
      12,
      need >> 2,
      need >> 1,
      ...Array.from({ length: 14 }, (_, i) => need - 14 + i),
    ];
    for (const free of short) {
      await leave(free);
      const target = join(mnt, "env");
      const r = await mkvenv(["-p", PY.exe, target], { env });
      assertEquals(r.code, 1, `${free} of ${need} inodes: ${r.stderr}`);
      assertFullDisk(errorLine(r.stderr), target);
      assertEquals([...Deno.readDirSync(mnt)].map((e) => e.name).sort(), top, "nothing left");
    }
    // While it is built, a venv takes a few inodes more than it keeps (the stage, the lock).
    let r = null;
    for (let extra = 0; extra <= 8 && r?.code !== 0; extra++) {
      await leave(need + extra);
      r = await mkvenv(["-p", PY.exe, join(mnt, "env")], { env });
      if (r.code !== 0) assertFullDisk(errorLine(r.stderr), join(mnt, "env"));
    }
    assertEquals(r?.code, 0, r?.stderr);
    await venvWorks(join(mnt, "env"));
  } finally {
    await unmount(mnt);
  }
});

Deno.test("a full disk while pip is placed: one line naming the venv's file, nothing left", async () => {
  await using tmp = await tempDir();
  // Room for the venv's skeleton, not for pip (copied: the cache is on another device).
  const mnt = await tmpfs(tmp.path, "600k");
  if (mnt === null) return;
  try {
    const env = join(mnt, "env");
    const r = await mkvenv(["-p", PY.exe, env]);
    assertEquals(r.code, 1, r.stderr);
    const line = errorLine(r.stderr);
    assertFullDisk(line, env);
    assertMatch(
      line,
      /^mkvenv: error: Cannot place ".*" at ".*\/env\/lib\/python3\.12\/site-packages\//,
    );
    assertEquals([...Deno.readDirSync(mnt)].map((e) => e.name), [], "no venv, no stage, no lock");
  } finally {
    await unmount(mnt);
  }
});

Deno.test("a failed --clear leaves the previous venv as it was: a full disk", async () => {
  await using tmp = await tempDir();
  const mnt = await tmpfs(tmp.path, "48k");
  if (mnt === null) return;
  try {
    const env = join(mnt, "env");
    assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
    await Deno.writeTextFile(join(env, "lib", "python3.12", "site-packages", "mine.py"), "x = 1\n");
    const before = tree(env);
    // --copies needs three copies of the interpreter: more than the tmpfs has left.
    const r = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", "--copies", env]);
    assertEquals(r.code, 1, r.stderr);
    assertEquals(tree(env), before, "previous venv intact");
    await venvWorks(env);
  } finally {
    await unmount(mnt);
  }
});

Deno.test("a read-only parent is refused with one line, and a read-only cache does not matter", async () => {
  await using tmp = await tempDir();
  const mnt = await tmpfs(tmp.path, "64k", true);
  if (mnt === null) return;
  try {
    const r = await mkvenv(["-p", PY.exe, "--without-pip", join(mnt, "env")]);
    assertEquals(r.code, 1);
    assertMatch(errorLine(r.stderr), /Read-only file system|os error 30/);
    const env = join(tmp.path, "env");
    const ok = await mkvenv(["-p", PY.exe, "--without-pip", env], {
      env: { MKVENV_CACHE_DIR: join(mnt, "cache") },
    });
    assertEquals(ok.code, 0, ok.stderr);
    await venvWorks(env);
  } finally {
    await unmount(mnt);
  }
});

/** Another process (a Python) holding the flock on the directory `dir`, as a running mkvenv would. */
async function holdLock(dir: string): Promise<{ kill(): Promise<void> }> {
  await Deno.mkdir(dir, { recursive: true });
  const code = "import fcntl,os,sys,time;fd=os.open(sys.argv[1],os.O_RDONLY);" +
    "fcntl.flock(fd,fcntl.LOCK_EX);print('locked',flush=True);time.sleep(30)";
  const holder = new Deno.Command(PY.exe, {
    args: ["-c", code, dir],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = holder.stdout.getReader();
  await reader.read();
  return {
    async kill() {
      holder.kill("SIGKILL");
      await holder.status;
      reader.releaseLock();
      await holder.stdout.cancel().catch(() => {});
    },
  };
}

Deno.test("Ctrl-C during a build removes the stage and the lock and exits 130", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  // The build is held at the lock, which another process holds, long enough to interrupt it.
  const holder = await holdLock(env);
  const child = new Deno.Command(MKVENV_COMMAND[0]!, {
    args: [...MKVENV_COMMAND.slice(1), "-p", PY.exe, "--without-pip", env],
    env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await new Promise((r) => setTimeout(r, 1500));
  child.kill("SIGINT");
  const out = await child.output();
  await holder.kill();
  assertEquals(out.code, 130, new TextDecoder().decode(out.stderr));
  assertEquals(tree(tmp.path), ["d 700 .", "d 755 env"], "nothing added");
});

Deno.test("two mkvenv runs on one target serialise; the loser names the holder after its timeout", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  const holder = await holdLock(env);
  const r = await mkvenv(["-p", PY.exe, "--without-pip", env], {
    env: { MKVENV_LOCK_TIMEOUT: "1" },
  });
  await holder.kill();
  assertEquals(r.code, 1);
  assertMatch(errorLine(r.stderr), /another mkvenv \(pid \d+\) is building it/);
  assertEquals(tree(tmp.path), ["d 700 .", "d 755 env"], "nothing added");
  // The holder died (SIGKILL): its lock is gone with it, and the next run succeeds.
  const again = await mkvenv(["-p", PY.exe, "--without-pip", env]);
  assertEquals(again.code, 0, again.stderr);
  await venvWorks(env);
});

Deno.test("a probe that hangs or prints garbage fails with its command and output", async () => {
  await using tmp = await tempDir();
  const hang = join(tmp.path, "python-hang");
  await Deno.writeTextFile(hang, "#!/bin/sh\nsleep 30\n");
  const garbage = join(tmp.path, "python-garbage");
  await Deno.writeTextFile(garbage, "#!/bin/sh\necho 'Python 4 says hello'\n");
  await Deno.chmod(hang, 0o755);
  await Deno.chmod(garbage, 0o755);
  const started = Date.now();
  const r1 = await mkvenv(["-p", hang, "--without-pip", join(tmp.path, "a")], {
    env: { MKVENV_PROBE_TIMEOUT: "1" },
  });
  assertEquals(r1.code, 1);
  // It gives up after the timeout and does not wait for the `sleep 30` holding the probe's pipes.
  assert(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  assertMatch(errorLine(r1.stderr), /did not answer mkvenv's probe within 1 s/);
  assert(r1.stderr.includes(`command: ${hang} -I -c`), r1.stderr);
  const r2 = await mkvenv(["-p", garbage, "--without-pip", join(tmp.path, "b")]);
  assertEquals(r2.code, 1);
  assertMatch(errorLine(r2.stderr), /answered mkvenv's probe with something that is not its facts/);
  assert(r2.stderr.includes("Python 4 says hello"), r2.stderr);
  assertEquals(tree(tmp.path), ["d 700 .", "f 755 python-garbage", "f 755 python-hang"]);
});

Deno.test("ENV_DIR edge cases: empty, '.', '..', trailing slashes, a path through a symlink", async () => {
  await using tmp = await tempDir();
  const a = join(tmp.path, "a");
  await Deno.mkdir(join(a, "b"), { recursive: true });
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", ""], { cwd: a })).code, 0);
  await venvWorks(a);
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", "."], { cwd: a })).code, 0);
  assertEquals(
    (await mkvenv(["-p", PY.exe, "--without-pip", "..", "--without-scm-ignore-files"], {
      cwd: join(a, "b"),
    })).code,
    0,
  );
  await venvWorks(a);
  assertEquals(
    (await mkvenv(["-p", PY.exe, "--without-pip", "trail///"], { cwd: tmp.path })).code,
    0,
  );
  await venvWorks(join(tmp.path, "trail"));
  await Deno.symlink(a, join(tmp.path, "link"));
  const viaLink = join(tmp.path, "link", "inner");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", viaLink])).code, 0);
  await venvWorks(viaLink);
  assert(
    (await Deno.readTextFile(join(a, "inner", "pyvenv.cfg"))).includes(viaLink),
    "path kept unresolved",
  );
});

Deno.test("ENV_DIR refusals: inside the base prefix, not UTF-8, too long, a dangling symlink", async () => {
  await using tmp = await tempDir();
  const cases: [string, RegExp][] = [
    [join(PY.prefix, "lib", "env"), /inside the base interpreter's/],
    [PY.prefix, /is the base interpreter's installation/],
    [join(tmp.path, "x".repeat(300)), /File name too long|os error 36/],
  ];
  for (const [target, message] of cases) {
    const r = await mkvenv(["-p", PY.exe, "--without-pip", target]);
    assertEquals(r.code, 1, target);
    assertMatch(errorLine(r.stderr), message);
  }
  await Deno.symlink(join(tmp.path, "nowhere"), join(tmp.path, "dangling"));
  const d = await mkvenv(["-p", PY.exe, "--without-pip", join(tmp.path, "dangling")]);
  assertEquals(d.code, 1);
  assertMatch(errorLine(d.stderr), /File exists: '[^']*dangling': it is a symbolic link to/);
  // A non-UTF-8 name can only be passed through a shell.
  const sh = await run("sh", [
    "-c",
    `exec "$@" -p "$PY" --without-pip "$(printf 'bad\\377name')"`,
    "sh",
    ...MKVENV_COMMAND,
  ], {
    cwd: tmp.path,
    env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE, PY: PY.exe },
  });
  assertEquals(sh.code, 1, sh.stderr);
  assertMatch(errorLine(sh.stderr), /not valid UTF-8/);
  assertEquals(tree(tmp.path).filter((l) => l.includes("bad") || l.includes("xxx")), []);
  assertEquals(await Deno.lstat(join(PY.prefix, "lib", "env")).catch(() => null), null);
});

Deno.test("options given twice: the last value wins, as with argparse (but not -p)", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  const r = await mkvenv([
    "-p",
    PY.exe,
    "--prompt",
    "a",
    "--prompt",
    "b",
    "--without-pip",
    "--without-pip",
    env,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assert((await Deno.readTextFile(join(env, "pyvenv.cfg"))).includes("prompt = 'b'"));
});

Deno.test("concurrent mkvenv runs sharing a fresh cache: every venv works, no partial cache entry", async () => {
  await using tmp = await tempDir();
  const cache = join(tmp.path, "cache");
  const targets = ["v1", "v2", "v3", "same", "same", "same"].map((n) => join(tmp.path, n));
  const results = await Promise.all(
    targets.map((t) =>
      mkvenv(["-p", PY.exe, "--without-pip", t], { env: { MKVENV_CACHE_DIR: cache } })
    ),
  );
  for (const r of results) assertEquals(r.code, 0, r.stderr);
  for (const t of new Set(targets)) await venvWorks(t);
  const cacheFiles = tree(cache);
  assert(cacheFiles.every((l) => !l.includes(".tmp")), cacheFiles.join("\n"));
  const names = [...Deno.readDirSync(tmp.path)].map((e) => e.name).sort();
  assertEquals(names, ["cache", "same", "v1", "v2", "v3"]);
});
