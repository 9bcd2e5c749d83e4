/**
 * Nothing of the user's is deleted or overwritten that was not asked for: where the layout and
 * the disk disagree the user's entry stays, `--clear` does not empty a project that holds a
 * venv, the base interpreter is safe whatever link leads to it, and a venv whose lib or bin is a
 * link to another disk is re-used and upgraded. Each test looks at the disk and the message.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { join } from "node:path";
import { errorLine, mkvenv, pyenvPython, run, tempDir, tree, venvWorks } from "../_util.ts";

const PY = pyenvPython("3.12");

async function pipWorks(env: string): Promise<void> {
  const r = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(r.code, 0, r.stderr);
}

Deno.test("re-use and --upgrade keep the user's directory where the layout puts a link or a file, and say so", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
  await Deno.remove(join(env, "lib64"));
  await Deno.mkdir(join(env, "lib64"));
  await Deno.writeTextFile(join(env, "lib64", "mine.txt"), "mine\n");
  await Deno.remove(join(env, ".gitignore"));
  await Deno.mkdir(join(env, ".gitignore"));
  await Deno.writeTextFile(join(env, ".gitignore", "notes"), "notes\n");
  for (const args of [[], ["--upgrade"]]) {
    const r = await mkvenv(["-p", PY.exe, "--without-pip", ...args, env]);
    assertEquals(r.code, 0, r.stderr);
    // lib64 is made only where nothing is (as venv makes it): kept without a word.
    assert(!r.stderr.includes("lib64"), r.stderr);
    assertMatch(
      r.stderr,
      /mkvenv: warning: kept ".*env\/\.gitignore": it is a directory where mkvenv would put a file/,
    );
    assertEquals(await Deno.readTextFile(join(env, "lib64", "mine.txt")), "mine\n");
    assertEquals(await Deno.readTextFile(join(env, ".gitignore", "notes")), "notes\n");
    await venvWorks(env);
  }
});

Deno.test("a file where the venv needs a directory is refused by name, and nothing changes", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
  await Deno.remove(join(env, "include"), { recursive: true });
  await Deno.writeTextFile(join(env, "include"), "my notes\n");
  const before = tree(env);
  for (const args of [[], ["--upgrade"]]) {
    const r = await mkvenv(["-p", PY.exe, "--without-pip", ...args, env]);
    assertEquals(r.code, 1, r.stderr);
    assertMatch(
      errorLine(r.stderr),
      /\[Errno 20\] Not a directory: '.*env\/include\/python3\.12': ".*env\/include" is a file; move it away/,
    );
    assertEquals(tree(env), before);
  }
});

Deno.test("--clear refuses a venv that also holds a project, naming an entry; --force clears it", async () => {
  await using tmp = await tempDir();
  const project = join(tmp.path, "project");
  await Deno.mkdir(join(project, ".git"), { recursive: true });
  await Deno.writeTextFile(join(project, ".git", "HEAD"), "ref: refs/heads/main\n");
  await Deno.writeTextFile(join(project, "pyproject.toml"), "[project]\nname = 'p'\n");
  await Deno.mkdir(join(project, "src", "p"), { recursive: true });
  await Deno.writeTextFile(join(project, "src", "p", "__init__.py"), "");
  // `mkvenv .` in the project (no .gitignore of its own to overwrite), later `--clear .`.
  const made = await mkvenv(["-p", PY.exe, "--without-pip", "."], { cwd: project });
  assertEquals(made.code, 0, made.stderr);
  const before = tree(project);
  const r = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", "."], { cwd: project });
  assertEquals(r.code, 1, r.stderr);
  assertMatch(
    errorLine(r.stderr),
    /Refusing to clear ".*project": it holds "\.git", which neither a virtual environment nor pip puts there; pass --force to clear it anyway/,
  );
  assertEquals(tree(project), before);

  // What pip and venv tools put there does not count: pip's checkouts in src, data in share.
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
  await Deno.mkdir(join(env, "src", "dep", ".git"), { recursive: true });
  await Deno.mkdir(join(env, "share", "jupyter"), { recursive: true });
  await Deno.writeTextFile(
    join(env, "CACHEDIR.TAG"),
    "Signature: 8a477f597d28d172789f06886806bc55\n",
  );
  const cleared = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", env]);
  assertEquals(cleared.code, 0, cleared.stderr);
  assertEquals(await Deno.lstat(join(env, "src")).catch(() => null), null);
  // A src that is a project's is not pip's.
  await Deno.mkdir(join(env, "src", "p"), { recursive: true });
  await Deno.writeTextFile(join(env, "src", "p", "__init__.py"), "");
  const refused = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", env]);
  assertEquals(refused.code, 1);
  assertMatch(errorLine(refused.stderr), /it holds "src", which neither/);

  const forced = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", "--force", "."], {
    cwd: project,
  });
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await Deno.lstat(join(project, ".git")).catch(() => null), null);
  await venvWorks(project);
});

Deno.test("the base interpreter's bin, lib and include are refused through any link that leads to them", async () => {
  await using tmp = await tempDir();
  const base = join(tmp.path, "base");
  await Deno.symlink(PY.prefix, base);
  const include = join(tmp.path, "inc");
  await Deno.symlink(join(PY.prefix, "include"), include);
  // The cleared targets are directories of this test's own inside the base installation, so
  // that a guard that let them through would not harm the interpreter the other tests use.
  const own = `mkvenv-test-${crypto.randomUUID()}`;
  const sacrificial = join(PY.prefix, "include", own);
  await Deno.mkdir(sacrificial);
  await Deno.writeTextFile(join(sacrificial, "keep.h"), "/* keep */\n");
  try {
    const cases: [string, string][] = [
      [join(base, "include", own), "include"],
      [join(include, own), "include"],
      [join(base, "bin", own), "bin"],
      [join(base, "lib", own), "lib"],
    ];
    for (const [target, sub] of cases) {
      const r = await mkvenv(["-p", PY.exe, "--without-pip", "--clear", "--force", target]);
      assertEquals(r.code, 1, `${target}: ${r.stderr}`);
      assertEquals(
        errorLine(r.stderr),
        `mkvenv: error: Cannot create a virtual environment in "${target}": it is inside the base ` +
          `interpreter's "${join(PY.prefix, sub)}"; choose a directory outside it`,
      );
    }
    assertEquals(tree(sacrificial), ["d 755 .", "f 644 keep.h"]);
    for (const sub of ["bin", "lib"]) {
      assertEquals(await Deno.lstat(join(PY.prefix, sub, own)).catch(() => null), null);
    }
  } finally {
    for (const sub of ["include", "bin", "lib"]) {
      await Deno.remove(join(PY.prefix, sub, own), { recursive: true }).catch(() => {});
    }
  }
});

/** A directory on another file system than `near`, or null (said why) when there is none. */
async function otherDisk(near: string): Promise<string | null> {
  const shm = await Deno.stat("/dev/shm").catch(() => null);
  if (shm?.isDirectory && shm.dev !== (await Deno.stat(near)).dev) {
    return await Deno.makeTempDir({ dir: "/dev/shm", prefix: "mkvenv-test-" });
  }
  console.log("note: no /dev/shm on another file system: the cross-device part is skipped");
  return null;
}

Deno.test("a venv whose lib and bin are links to directories elsewhere is re-used and upgraded", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, env])).code, 0);
  // lib on another disk (when there is one), bin elsewhere on this one.
  const far = await otherDisk(tmp.path) ?? join(tmp.path, "far");
  try {
    await Deno.mkdir(far, { recursive: true });
    await run("cp", ["-a", join(env, "lib"), join(far, "lib")]);
    await Deno.remove(join(env, "lib"), { recursive: true });
    await Deno.symlink(join(far, "lib"), join(env, "lib"));
    await Deno.rename(join(env, "bin"), join(tmp.path, "bin-elsewhere"));
    await Deno.symlink(join(tmp.path, "bin-elsewhere"), join(env, "bin"));
    // pip goes, so that the rerun has to put it back across the link.
    const site = join(far, "lib", "python3.12", "site-packages");
    for (const entry of Deno.readDirSync(site)) {
      if (entry.name.startsWith("pip")) {
        await Deno.remove(join(site, entry.name), { recursive: true });
      }
    }
    for (const args of [[], ["--upgrade"], ["--upgrade", "--prompt", "far"]]) {
      const r = await mkvenv(["-p", PY.exe, ...args, env]);
      assertEquals(r.code, 0, `${args}: ${r.stderr}`);
      assert((await Deno.lstat(join(env, "lib"))).isSymlink, "lib is still the user's link");
      assert((await Deno.lstat(join(env, "bin"))).isSymlink, "bin is still the user's link");
      await venvWorks(env);
      await pipWorks(env);
    }
    assert((await Deno.readTextFile(join(env, "pyvenv.cfg"))).includes("prompt = 'far'"));
    assertEquals(
      [...Deno.readDirSync(env)].map((e) => e.name).filter((n) => n.startsWith(".mkvenv")),
      [],
    );
    assertEquals(tree(far).filter((l) => l.includes(".mkvenv")), []);
  } finally {
    await Deno.remove(far, { recursive: true }).catch(() => {});
  }
});

Deno.test("a .mkvenv-stage of the user's inside a venv is not removed as a leftover; a real one is", async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  assertEquals((await mkvenv(["-p", PY.exe, "--without-pip", env])).code, 0);
  const stage = join(env, ".mkvenv-stage");
  await Deno.mkdir(join(stage, "bin"), { recursive: true });
  await Deno.writeTextFile(join(stage, "notes.txt"), "mine\n");
  const before = tree(env);
  const r = await mkvenv(["-p", PY.exe, "--without-pip", "--upgrade", env]);
  assertEquals(r.code, 1, r.stderr);
  assertMatch(
    errorLine(r.stderr),
    /Refusing to use ".*env\/\.mkvenv-stage", .*: it holds "notes\.txt", .*move it out of ".*env" and run again$/,
  );
  assertEquals(tree(env), before, "nothing changed");
  // Beside a set-aside pyvenv.cfg (a commit to finish), nothing of it is moved in either.
  await Deno.writeTextFile(join(env, "notes.txt"), "MY NOTES\n");
  await Deno.writeTextFile(join(env, ".mkvenv-cfg"), "home = /x\n");
  const withCfg = tree(env);
  const finishing = await mkvenv(["-p", PY.exe, "--without-pip", env]);
  assertEquals(finishing.code, 1, finishing.stderr);
  assertEquals(tree(env), withCfg, "nothing moved");
  assertEquals(await Deno.readTextFile(join(env, "notes.txt")), "MY NOTES\n");
  await Deno.remove(join(env, ".mkvenv-cfg"));
  await Deno.remove(join(env, "notes.txt"));
  // What a killed build leaves (a venv's entries only) is removed, and the build goes on.
  await Deno.remove(join(stage, "notes.txt"));
  await Deno.writeTextFile(join(stage, "pyvenv.cfg"), "home = /x\n");
  const again = await mkvenv(["-p", PY.exe, "--without-pip", "--upgrade", env]);
  assertEquals(again.code, 0, again.stderr);
  assert((await Deno.lstat(stage).catch(() => null)) === null);
  await venvWorks(env);
});
