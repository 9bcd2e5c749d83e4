/**
 * Bad input: a one-line error naming the problem, a non-zero exit, and nothing created.
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
} from "../_util.ts";
import { writeWheel } from "../_wheel_fixture.ts";

const PY = pyenvPython("3.12");

/** Run mkvenv in an empty directory and return what it printed, asserting nothing was made. */
async function refused(
  args: string[],
  expected: { code: number; message: RegExp },
  setup?: (dir: string) => Promise<void>,
): Promise<void> {
  await using tmp = await tempDir();
  await setup?.(tmp.path);
  const before = tree(tmp.path);
  const r = await mkvenv(args, { cwd: tmp.path });
  assertEquals(r.code, expected.code, r.stderr);
  assertEquals(r.stdout, "");
  const errorLines = r.stderr.split("\n").filter((l) => l.startsWith("mkvenv: error:"));
  assertEquals(errorLines.length, 1, r.stderr);
  assertMatch(errorLines[0]!, expected.message);
  assert(!/\.\s*$/.test(errorLines[0]!), "no trailing period");
  assertEquals(tree(tmp.path), before, "nothing created or changed");
}

Deno.test("an ENV_DIR containing the PATH separator is refused", async () => {
  await refused(["-p", PY.exe, "--without-pip", "a:b"], {
    code: 1,
    message: /in \/\S*a:b because it contains the PATH separator : .*without ":"$/,
  });
});

Deno.test("an ENV_DIR that is a file is refused and the file is kept", async () => {
  await refused(["-p", PY.exe, "--without-pip", "afile"], {
    code: 1,
    message: /Unable to create directory '[^']*afile': it is a file/,
  }, (dir) => Deno.writeTextFile(join(dir, "afile"), "precious"));
});

Deno.test("a --python that does not exist is refused", async () => {
  await refused(["-p", "/nonexistent/python3", "--without-pip", "env"], {
    code: 1,
    message: /"\/nonexistent\/python3".*-p\/--python/,
  });
});

Deno.test("a --python that is not a Python is refused", async () => {
  await refused(["-p", "/bin/true", "--without-pip", "env"], {
    code: 1,
    message: /"\/bin\/true".*is it a Python/,
  });
  await refused(["-p", "/bin/false", "--without-pip", "env"], {
    code: 1,
    message: /"\/bin\/false".*failed/,
  });
});

Deno.test("an unknown option is a usage error", async () => {
  await refused(["-p", PY.exe, "--bogus", "env"], { code: 2, message: /unrecognized.*--bogus/ });
});

Deno.test("--upgrade with --clear is refused in venv's words, with its exit status 1", async () => {
  await using tmp = await tempDir();
  const venv = await run(PY.exe, ["-m", "venv", "--upgrade", "--clear", "env"], { cwd: tmp.path });
  assertEquals(venv.code, 1);
  const said = venv.stderr.trim().replace(/^Error: /, "").replace(/\.$/, "");
  assertEquals(said, "you cannot supply --upgrade and --clear together");
  await refused(["-p", PY.exe, "--upgrade", "--clear", "env"], {
    code: 1,
    message: new RegExp(`^mkvenv: error: ${said}: `),
  });
});

Deno.test("no ENV_DIR and --symlinks with --copies are usage errors", async () => {
  await refused(["-p", PY.exe], { code: 2, message: /required: ENV_DIR/ });
  await refused(["--symlinks", "--copies", "env"], { code: 2, message: /--copies: not allowed/ });
});

/** Run `script` with sh, `"$@"` being the mkvenv command: bytes that are not UTF-8 pass through sh. */
function viaSh(script: string, env: Record<string, string> = {}) {
  return run("sh", ["-c", script, "sh", ...MKVENV_COMMAND], {
    env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE, PY: PY.exe, ...env },
  });
}

function oneErrorLine(stderr: string): string {
  assert(!stderr.includes("internal error"), stderr);
  return errorLine(stderr);
}

Deno.test("a byte that is not UTF-8 in PATH, the working directory or MKVENV_CACHE_DIR gets a message", async () => {
  await using tmp = await tempDir();
  const T = tmp.path;
  // PATH: the entry that is not UTF-8 is skipped; python3 is found in the others.
  const path = await viaSh(
    `PATH="${PY.prefix}/bin:/usr/bin:/bin:/tmp/$(printf 'x\\376')" exec "$@" --without-pip "$T/a"`,
    { T },
  );
  assertEquals(path.code, 0, path.stderr);
  assertEquals(await Deno.realPath(join(T, "a", "bin", "python")), await Deno.realPath(PY.exe));
  // The working directory: a relative path cannot be made absolute; an absolute one works.
  const cwd = `mkdir "$T/$(printf 'bad\\377dir')" && cd "$T/$(printf 'bad\\377dir')" && `;
  const rel = await viaSh(`${cwd} exec "$@" -p "$PY" --without-pip v`, { T });
  assertEquals(rel.code, 1, rel.stderr);
  assertEquals(
    oneErrorLine(rel.stderr),
    'mkvenv: error: Cannot use the relative path "v": the working directory\'s path is not valid ' +
      "UTF-8 (or it was removed); give it as an absolute path",
  );
  const abs = await viaSh(
    `cd "$T/$(printf 'bad\\377dir')" && exec "$@" -p "$PY" --without-pip "$T/b"`,
    {
      T,
    },
  );
  assertEquals(abs.code, 0, abs.stderr);
  // MKVENV_CACHE_DIR
  const cache = await viaSh(
    `MKVENV_CACHE_DIR="$T/$(printf 'c\\375')" exec "$@" -p "$PY" --without-pip "$T/c"`,
    { T },
  );
  assertEquals(cache.code, 1, cache.stderr);
  assertMatch(
    oneErrorLine(cache.stderr),
    /^mkvenv: error: Cannot use the cache directory MKVENV_CACHE_DIR=".*\/c\uFFFD": it is not valid UTF-8; set it to a UTF-8 path, or unset it$/,
  );
  // Any other variable mkvenv reads: a message, never an internal error.
  const lock = await viaSh(
    `MKVENV_LOCK_TIMEOUT="$(printf '\\377')" exec "$@" -p "$PY" --without-pip "$T/d"`,
    { T },
  );
  assertEquals(lock.code, 1, lock.stderr);
  assertMatch(
    oneErrorLine(lock.stderr),
    /^mkvenv: error: Cannot read a value that is not valid UTF-8 /,
  );
  for (const [name, made] of [["a", true], ["b", true], ["c", false], ["d", false]] as const) {
    assertEquals((await Deno.lstat(join(T, name)).catch(() => null)) !== null, made, name);
  }
});

Deno.test("an ENV_DIR over the path limit is refused with a message", async () => {
  await using tmp = await tempDir();
  const part = "d".repeat(200);
  const over = join(tmp.path, ...Array(21).fill(part));
  const r = await mkvenv(["-p", PY.exe, "--without-pip", over]);
  assertEquals(r.code, 1, r.stderr);
  assertMatch(
    oneErrorLine(r.stderr),
    /: the path is 4\d{3} bytes long, more than the 4095 a path may have here \(PATH_MAX\); choose a shorter one$/,
  );
  assertEquals(tree(tmp.path), ["d 700 ."]);
  // Under the limit, but pip's deepest files would be over it: refused, nothing left.
  const near = join(
    tmp.path,
    ...Array(19).fill(part),
    "e".repeat(4060 - tmp.path.length - 19 * 201),
  );
  const n = await mkvenv(["-p", PY.exe, near]);
  assertEquals(n.code, 1, n.stderr);
  assertMatch(
    oneErrorLine(n.stderr),
    /^mkvenv: error: Cannot install pip into ".*eeee": the path of its file ".*" would be 4\d{3} bytes long, more than the 4095 a path may have here \(PATH_MAX\); choose a shorter ENV_DIR, or pass --without-pip$/,
  );
  // Its parents are made first (as python -m venv makes them); the venv itself is not left.
  assertEquals(tree(tmp.path).filter((l) => l.includes("eee") || l.includes("mkvenv")), []);
});

Deno.test("a seed wheel with a console script named ../../x is refused, and nothing is written outside", async () => {
  await using tmp = await tempDir();
  const wheel = await writeWheel(tmp.path, {
    name: "pip",
    version: "99.0",
    files: { "pip/__init__.py": "", "pip/__main__.py": "" },
    consoleScripts: { "../../x": "pip:main", "pip": "pip:main" },
  });
  const env = join(tmp.path, "deep", "env");
  const r = await mkvenv(["-p", PY.exe, "--pip-wheel", wheel, env]);
  assertEquals(r.code, 1, r.stderr);
  assertEquals(
    oneErrorLine(r.stderr),
    `mkvenv: error: Cannot use the wheel ${
      JSON.stringify(wheel)
    }: the name of its console_scripts ` +
      `entry "../../x" is not a file name: it contains "/"; download the wheel again or pass another one`,
  );
  assertEquals(tree(tmp.path), ["d 700 .", "f 644 pip-99.0-py3-none-any.whl"]);
});

Deno.test("-p /bin/ls does not print the probe's source", async () => {
  await using tmp = await tempDir();
  const r = await mkvenv(["-p", "/bin/ls", "--without-pip", join(tmp.path, "env")]);
  assertEquals(r.code, 1);
  assertMatch(oneErrorLine(r.stderr), /"\/bin\/ls" failed mkvenv's probe/);
  assert(!r.stderr.includes("import json") && !r.stderr.includes("def "), r.stderr);
  assert(r.stderr.length < 600, r.stderr);
  assertEquals(tree(tmp.path), ["d 700 ."]);
});

Deno.test("a probe that times out is killed with everything it started", async () => {
  await using tmp = await tempDir();
  const fake = join(tmp.path, "python3");
  const pidFile = join(tmp.path, "child.pid");
  await Deno.writeTextFile(fake, `#!/bin/sh\nsleep 300 &\necho $! > '${pidFile}'\nsleep 301\n`);
  await Deno.chmod(fake, 0o755);
  const r = await mkvenv(["-p", fake, "--without-pip", join(tmp.path, "env")], {
    env: { MKVENV_PROBE_TIMEOUT: "2" },
  });
  assertEquals(r.code, 1);
  assertMatch(oneErrorLine(r.stderr), /did not answer mkvenv's probe within 2 s/);
  const pid = (await Deno.readTextFile(pidFile)).trim();
  // Gone, or a zombie waiting for a parent that does not reap: not running either way. SIGKILL
  // lands asynchronously: allow a loaded machine a moment.
  let stat: string | null = "";
  for (let i = 0; i < 40; i++) {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => null);
    if (stat === null || / Z /.test(stat)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert(stat === null || / Z /.test(stat), `the probe's child ${pid} still runs: ${stat}`);
});

Deno.test("-p given twice is a usage error naming both", async () => {
  await refused(["-p", PY.exe, "--python=3.11", "env"], {
    code: 2,
    message: /-p\/--python: given twice \(".*python3\.12" and "3\.11"\)/,
  });
});

Deno.test("a usage error shows the usage wrapped at 80 columns, as argparse does", async () => {
  await using tmp = await tempDir();
  for (const env of [{}, { COLUMNS: "80" }]) {
    const r = await mkvenv(["--without-pip"], { cwd: tmp.path, env });
    assertEquals(r.code, 2);
    const lines = r.stderr.trimEnd().split("\n");
    assert(lines[0]!.startsWith("usage: mkvenv [-h] "), r.stderr);
    assert(lines.length > 3, r.stderr);
    assertEquals(lines.filter((l) => l.length > 78), []);
    assertEquals(lines.at(-2), "              ENV_DIR [ENV_DIR ...]");
    assertEquals(lines.at(-1), "mkvenv: error: the following arguments are required: ENV_DIR");
  }
});
