/**
 * Named pipes, devices and other users' files where mkvenv reads a file: refused or skipped at
 * once, never opened (a named pipe's open waits for a writer, a device never ends), and nothing
 * of the user's is touched. Every run is bounded, so a hang fails the test instead of stalling
 * the suite.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { errorLine, mkvenvBounded, pyenvPython, tempDir, tree, venvWorks } from "../_util.ts";

const PY = pyenvPython("3.12");
const POSIX = Deno.build.os !== "windows";
const ROOT_ON_LINUX = Deno.build.os === "linux" && POSIX && Deno.uid() === 0;

function mkfifo(path: string): void {
  assert.ok(new Deno.Command("mkfifo", { args: [path] }).outputSync().success, `mkfifo ${path}`);
}

Deno.test({
  name:
    "a named pipe or a device as ENV_DIR/pyvenv.cfg is refused, kept, and --clear --force replaces it",
  ignore: !POSIX,
}, async () => {
  await using tmp = await tempDir();
  const env = join(tmp.path, "env");
  const made = await mkvenvBounded(["-p", PY.exe, "--without-pip", "env"], { cwd: tmp.path });
  assert.equal(made.code, 0, made.stderr);
  const cfg = join(env, "pyvenv.cfg");
  for (
    const [kind, place] of [
      ["a named pipe", () => mkfifo(cfg)],
      ["a device", () => Deno.symlinkSync("/dev/null", cfg)],
    ] as const
  ) {
    Deno.removeSync(cfg);
    place();
    const before = tree(tmp.path);
    for (const extra of [[], ["--upgrade"], ["--clear"]]) {
      const r = await mkvenvBounded(["-p", PY.exe, "--without-pip", ...extra, "env"], {
        cwd: tmp.path,
      });
      assert.equal(r.code, 1, `${kind} ${extra}: ${r.stderr}`);
      const verb = extra[0] === "--clear" ? "clear" : "build into";
      assert.match(
        errorLine(r.stderr),
        new RegExp(`Refusing to ${verb} ".*env": its ".*pyvenv\\.cfg" is ${kind}, .*ENV_DIR$`),
      );
      assert.deepEqual(tree(tmp.path), before, `${kind} ${extra}: nothing changed`);
    }
  }
  const forced = await mkvenvBounded(["-p", PY.exe, "--without-pip", "--clear", "--force", "env"], {
    cwd: tmp.path,
  });
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(Deno.lstatSync(cfg).isFile);
  await venvWorks(env);
});

Deno.test({
  name: "a named pipe or /dev/zero as --pip-wheel or MKVENV_PIP_WHEEL is refused at once",
  ignore: !POSIX,
}, async () => {
  await using tmp = await tempDir();
  mkfifo(join(tmp.path, "pip.whl"));
  Deno.symlinkSync("/dev/zero", join(tmp.path, "zero.whl"));
  const before = tree(tmp.path);
  for (
    const [how, wheel] of [
      ["--pip-wheel", "pip.whl"],
      ["MKVENV_PIP_WHEEL", "zero.whl"],
    ] as const
  ) {
    const r = await mkvenvBounded(
      ["-p", PY.exe, ...(how === "--pip-wheel" ? ["--pip-wheel", wheel] : []), "env"],
      { cwd: tmp.path, env: how === "MKVENV_PIP_WHEEL" ? { MKVENV_PIP_WHEEL: wheel } : {} },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      errorLine(r.stderr),
      new RegExp(
        `Cannot read the wheel ".*${wheel}": it is a ${
          wheel === "pip.whl" ? "named pipe" : "device"
        }; pass the path of a \\.whl file$`,
      ),
    );
    assert.deepEqual(tree(tmp.path), before, "nothing made");
  }
});

Deno.test({
  name: "-p into a venv whose pyvenv.cfg is a named pipe is refused without running its python",
  ignore: !POSIX,
}, async () => {
  await using tmp = await tempDir();
  const made = await mkvenvBounded(["-p", PY.exe, "--without-pip", "src"], { cwd: tmp.path });
  assert.equal(made.code, 0, made.stderr);
  Deno.removeSync(join(tmp.path, "src", "pyvenv.cfg"));
  mkfifo(join(tmp.path, "src", "pyvenv.cfg"));
  const r = await mkvenvBounded(["-p", "src/bin/python", "--without-pip", "env"], {
    cwd: tmp.path,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(errorLine(r.stderr), /src, whose pyvenv\.cfg is not a file/);
  assert.equal(Deno.lstatSync(join(tmp.path, "src", "pyvenv.cfg")).isFifo, true);
});

Deno.test({
  name:
    "a .python-version that is a named pipe is passed over, one another user left in /tmp is not read",
  ignore: !ROOT_ON_LINUX,
}, async () => {
  await using tmp = await tempDir();
  // A shared directory, as /tmp: anyone may put a .python-version at its top.
  const shared = join(tmp.path, "shared");
  Deno.mkdirSync(shared);
  Deno.chmodSync(shared, 0o1777);
  const project = join(shared, "project");
  Deno.mkdirSync(project);
  const mark = join(tmp.path, "ran");
  const theirs = join(shared, "python3");
  Deno.writeTextFileSync(theirs, `#!/bin/sh\ntouch '${mark}'\nexit 1\n`, { mode: 0o755 });
  const versionFile = join(shared, ".python-version");
  Deno.writeTextFileSync(versionFile, `${theirs}\n`);
  const nobody = Number(new TextDecoder().decode(
    new Deno.Command("id", { args: ["-u", "nobody"] }).outputSync().stdout,
  ));
  Deno.chownSync(theirs, nobody, null);
  Deno.chownSync(versionFile, nobody, null);
  const env = { PATH: `${join(PY.prefix, "bin")}:/usr/bin:/bin` };

  const r = await mkvenvBounded(["--without-pip", "env"], { cwd: project, env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^mkvenv: warning: not reading ".*shared\/\.python-version": it belongs to user \d+, who does not own ".*shared", .*-p\/--python/m,
  );
  assert.throws(() => Deno.statSync(mark), Deno.errors.NotFound, "their program never ran");
  await venvWorks(join(project, "env"));

  // The same file owned by root is this root-run's own: it is used (and its program runs).
  Deno.chownSync(versionFile, 0, null);
  const used = await mkvenvBounded(["--without-pip", "env2"], { cwd: project, env });
  assert.equal(used.code, 1, used.stderr);
  assert.match(errorLine(used.stderr), /python3/);
  assert.ok(Deno.statSync(mark).isFile, "the version file was followed");
  Deno.removeSync(mark);

  // A workspace of theirs, their file in their directory (root in a container building a
  // bind-mounted checkout): followed, as pyenv would.
  const workspace = join(tmp.path, "workspace");
  Deno.mkdirSync(join(workspace, "sub"), { recursive: true });
  Deno.writeTextFileSync(join(workspace, ".python-version"), `${theirs}\n`);
  Deno.chownSync(workspace, nobody, null);
  Deno.chownSync(join(workspace, ".python-version"), nobody, null);
  const theirWorkspace = await mkvenvBounded(["--without-pip", "env"], {
    cwd: join(workspace, "sub"),
    env,
  });
  assert.equal(theirWorkspace.code, 1, theirWorkspace.stderr);
  assert.doesNotMatch(theirWorkspace.stderr, /warning/);
  assert.ok(Deno.statSync(mark).isFile, "their workspace's version file was followed");
  Deno.removeSync(mark);

  // Their link to a file of root's, whose relative line would lead into their directory.
  Deno.removeSync(versionFile);
  const rootsFile = join(tmp.path, "roots-version");
  Deno.writeTextFileSync(rootsFile, "./python3\n");
  Deno.symlinkSync(rootsFile, versionFile);
  new Deno.Command("chown", { args: ["-h", String(nobody), versionFile] }).outputSync();
  const linked = await mkvenvBounded(["--without-pip", "env4"], { cwd: project, env });
  assert.equal(linked.code, 0, linked.stderr);
  assert.match(
    linked.stderr,
    /not reading ".*\.python-version": the link ".*\.python-version" belongs to user \d+/,
  );
  assert.throws(() => Deno.statSync(mark), Deno.errors.NotFound, "their program never ran");

  // A chain: root's link, to their link in a directory of root's, to their file in their own
  // directory (which alone would pass): the link in the middle is judged too.
  Deno.removeSync(versionFile);
  const middle = join(tmp.path, "middle");
  const theirDir = join(tmp.path, "their-dir");
  Deno.mkdirSync(theirDir);
  Deno.writeTextFileSync(join(theirDir, "pv"), `${theirs}\n`);
  Deno.chownSync(theirDir, nobody, null);
  Deno.chownSync(join(theirDir, "pv"), nobody, null);
  Deno.symlinkSync(join(theirDir, "pv"), middle);
  new Deno.Command("chown", { args: ["-h", String(nobody), middle] }).outputSync();
  Deno.symlinkSync(middle, versionFile);
  const chained = await mkvenvBounded(["--without-pip", "env5"], { cwd: project, env });
  assert.equal(chained.code, 0, chained.stderr);
  assert.match(chained.stderr, /the link ".*middle" belongs to user \d+, who does not own/);
  assert.throws(() => Deno.statSync(mark), Deno.errors.NotFound, "their program never ran");

  // A named pipe in its place is no file: the default search, at once.
  Deno.removeSync(versionFile);
  mkfifo(versionFile);
  const piped = await mkvenvBounded(["--without-pip", "env3"], { cwd: project, env });
  assert.equal(piped.code, 0, piped.stderr);
  await venvWorks(join(project, "env3"));
});

Deno.test({
  name: "a .python-version another user keeps swapping for a named pipe never hangs a run",
  ignore: !ROOT_ON_LINUX,
}, async () => {
  await using tmp = await tempDir();
  // Their directory, above ours: their file is followed, and they can race the open.
  const theirs = join(tmp.path, "theirs");
  const ours = join(theirs, "ours");
  Deno.mkdirSync(ours, { recursive: true });
  Deno.chownSync(
    theirs,
    Number(new TextDecoder().decode(
      new Deno.Command("id", { args: ["-u", "nobody"] }).outputSync().stdout,
    )),
    null,
  );
  await Deno.chmod(tmp.path, 0o755);
  const swapper = new Deno.Command("setpriv", {
    args: [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "/usr/bin/python3.11",
      "-c",
      `import os
d = ${JSON.stringify(theirs)}
while True:
    open(d + "/r", "w").write("3.12\\n"); os.rename(d + "/r", d + "/.python-version")
    if os.path.lexists(d + "/f"): os.unlink(d + "/f")
    os.mkfifo(d + "/f"); os.rename(d + "/f", d + "/.python-version")`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    for (let i = 0; i < 8; i++) {
      const r = await mkvenvBounded(["--list-pythons"], { cwd: ours });
      assert.notEqual(r.code, 137, `run ${i} hung: ${r.stderr}`);
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
    }
  } finally {
    try {
      swapper.kill("SIGKILL");
    } catch {
      // it ended by itself: its error is shown below
    }
    const out = await swapper.output();
    assert.equal(
      out.code,
      137,
      `the swapper stopped early: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
});

Deno.test("--upgrade with a pyvenv.cfg it cannot read stops, rather than drop the prompt it keeps", async () => {
  await using tmp = await tempDir();
  const made = await mkvenvBounded(
    ["-p", PY.exe, "--without-pip", "--prompt", "KEEP", "--system-site-packages", "env"],
    { cwd: tmp.path },
  );
  assert.equal(made.code, 0, made.stderr);
  const cfg = join(tmp.path, "env", "pyvenv.cfg");
  // Larger than any pyvenv.cfg venv writes: not read (as one this user may not read).
  Deno.writeTextFileSync(cfg, Deno.readTextFileSync(cfg) + "#".repeat(2 * 1024 * 1024) + "\n");
  const before = tree(tmp.path);
  const r = await mkvenvBounded(["-p", PY.exe, "--without-pip", "--upgrade", "env"], {
    cwd: tmp.path,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    errorLine(r.stderr),
    /Cannot read ".*env\/pyvenv\.cfg" to keep its prompt and settings on --upgrade: it holds more than 1048576 bytes; .*--clear$/,
  );
  assert.deepEqual(tree(tmp.path), before, "nothing changed");
});

Deno.test({
  name: "bin a link to a device is named as such, and a missing --pip-wheel says what to pass",
  ignore: !POSIX,
}, async () => {
  await using tmp = await tempDir();
  const made = await mkvenvBounded(["-p", PY.exe, "--without-pip", "env"], { cwd: tmp.path });
  assert.equal(made.code, 0, made.stderr);
  Deno.removeSync(join(tmp.path, "env", "bin"), { recursive: true });
  Deno.symlinkSync("/dev/zero", join(tmp.path, "env", "bin"));
  const r = await mkvenvBounded(["-p", PY.exe, "--without-pip", "env"], { cwd: tmp.path });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    errorLine(r.stderr),
    /Unable to create directory '.*env\/bin': it is a symbolic link to a device; move it away/,
  );
  const missing = await mkvenvBounded(["-p", PY.exe, "--pip-wheel", "nope.whl", "env2"], {
    cwd: tmp.path,
  });
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(
    errorLine(missing.stderr),
    /Cannot read the wheel ".*nope\.whl": no such file; pass the path of a \.whl file$/,
  );
});
