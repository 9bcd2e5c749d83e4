/**
 * Bad input: a one-line error naming the problem, a non-zero exit, and nothing created.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { join } from "node:path";
import { mkvenv, pyenvPython, run, tempDir, tree } from "../_util.ts";

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
