/**
 * `installScripts` and `--scripts DIR`: a directory of the user's scripts installed into real
 * venvs with hostile paths and prompts, each placeholder quoted for the language of its file,
 * read back by the language itself where it is installed here (sh, Python) and by the readers
 * of the activation tests otherwise (PowerShell, cmd.exe); binary files copied untouched;
 * `common` + `posix`, never `nt`; a re-run with `--upgrade` replaces what is there.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { join } from "node:path";
import { BuildError, create } from "../../lib/mod.ts";
import { HOSTILE_NAME, readBatch, readPowershell } from "../_shells.ts";
import {
  mkvenv,
  mkvenvBounded,
  pyenvPython,
  run,
  SHARED_TEST_CACHE,
  tempDir,
  tree,
} from "../_util.ts";

const PY = pyenvPython("3.12");
const BASE = { python: PY.exe, cacheDir: SHARED_TEST_CACHE, symlinks: true };
/** As hostile as a prompt can be and still be carried by a `.bat` (which cannot hold `"`). */
const PROMPT = "p $(touch marker) `touch marker` 'sq' \\ % %PATH% !PATH! ^ & | < > ; é 🐍";
const PLACEHOLDERS = "__VENV_DIR__ __VENV_NAME__ __VENV_PROMPT__ __VENV_BIN_NAME__ __VENV_PYTHON__";
const BINARY = new Uint8Array([
  0xff,
  0xfe,
  0x00,
  ...new TextEncoder().encode("__VENV_DIR__"),
  0x80,
  0x0a,
]);

/** The scripts directory: every kind of file, in common/, posix/, nt/ and at the top. */
async function scriptsDir(parent: string): Promise<string> {
  const dir = join(parent, "scripts");
  for (const sub of ["common/sub", "posix", "nt"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  const write = (rel: string, text: string | Uint8Array, mode = 0o644) =>
    typeof text === "string"
      ? Deno.writeTextFile(join(dir, rel), text, { mode })
      : Deno.writeFile(join(dir, rel), text, { mode });
  await write("README.txt", "top-level files are not installed\n");
  await write("common/show.sh", `printf '%s\\n' ${PLACEHOLDERS}\n`);
  await write(
    "common/show.py",
    `import json\nprint(json.dumps([${PLACEHOLDERS.replaceAll(" ", ", ")}]))\n`,
  );
  // With a byte order mark and CRLF, as Windows PowerShell likes its scripts: both kept.
  await write(
    "common/show.ps1",
    "\uFEFF" + PLACEHOLDERS.split(" ").map((p, i) => `$v${i} = ${p}\r\n`).join(""),
  );
  await write(
    "common/show.bat",
    `@echo off\r\nset "PROMPT_VALUE=__VENV_PROMPT__"\r\nset "BIN=__VENV_BIN_NAME__"\r\n`,
  );
  await write("common/blob.bin", BINARY);
  await write("common/sub/nested.py", "print(__VENV_NAME__)\n");
  await write("posix/posix_only.sh", "#!/bin/sh\nprintf '%s\\n' __VENV_BIN_NAME__\n", 0o755);
  await write("nt/nt_only.bat", "@echo __VENV_DIR__\r\n");
  return dir;
}

Deno.test("installScripts fills each placeholder quoted for its file's language; binaries untouched", async () => {
  await using tmp = await tempDir();
  const scripts = await scriptsDir(tmp.path);
  const envDir = join(tmp.path, HOSTILE_NAME);
  await create(envDir, { ...BASE, prompt: PROMPT, scripts });
  const bin = join(envDir, "bin");
  const values = [envDir, HOSTILE_NAME, PROMPT, "bin", join(bin, "python3.12")];

  // Installed: common/ and posix/, at their relative paths, with their modes; not nt/.
  const installed = tree(bin).filter((l) => /show|blob|sub|only/.test(l));
  assertEquals(installed, [
    "d 755 sub",
    "f 644 blob.bin",
    "f 644 show.bat",
    "f 644 show.ps1",
    "f 644 show.py",
    "f 644 show.sh",
    "f 644 sub/nested.py",
    "f 755 posix_only.sh",
  ]);

  const sh = await run("sh", [join(bin, "show.sh")], { cwd: tmp.path });
  assertEquals(sh.stdout, values.map((v) => `${v}\n`).join(""), sh.stderr);
  const py = await run(join(bin, "python"), [join(bin, "show.py")]);
  assertEquals(JSON.parse(py.stdout), values, py.stderr);
  const nested = await run(join(bin, "python"), [join(bin, "sub", "nested.py")]);
  assertEquals(nested.stdout, `${HOSTILE_NAME}\n`);
  const posixOnly = await run(join(bin, "posix_only.sh"), []);
  assertEquals(posixOnly.stdout, "bin\n");

  const ps1Bytes = Deno.readFileSync(join(bin, "show.ps1"));
  assertEquals([...ps1Bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], "the byte order mark is kept");
  const ps1 = new TextDecoder().decode(ps1Bytes).split("\r\n").filter((l) => l);
  assertEquals(ps1.map((line) => readPowershell(line.slice(line.indexOf("= ") + 2))), values);
  const bat = Deno.readTextFileSync(join(bin, "show.bat"));
  const batValue = (name: string) => new RegExp(`set "${name}=(.*)"\\r\\n`).exec(bat)![1]!;
  assertEquals(readBatch(batValue("PROMPT_VALUE"), false), PROMPT);
  assertEquals(readBatch(batValue("BIN"), false), "bin");

  assertEquals(Deno.readFileSync(join(bin, "blob.bin")), BINARY);
  assert(
    [...Deno.readDirSync(tmp.path)].every((e) => e.name !== "marker"),
    "nothing in a value ran",
  );
});

Deno.test("installScripts refuses a value a script cannot carry, and leaves nothing", async () => {
  await using tmp = await tempDir();
  const scripts = await scriptsDir(tmp.path);
  await Deno.writeTextFile(join(scripts, "common", "dir.bat"), 'set "D=__VENV_DIR__"\r\n');
  const envDir = join(tmp.path, HOSTILE_NAME);
  await assertRejects(
    create(envDir, { ...BASE, scripts }),
    (e: unknown) =>
      e instanceof BuildError &&
      /^Cannot install the script ".*dir\.bat": the value of __VENV_DIR__, .* contains "\\"", which cmd\.exe cannot escape/
        .test(e.message),
  );
  assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name), ["scripts"]);
});

Deno.test("--scripts DIR installs them from the command line; --upgrade replaces them, links included", async () => {
  await using tmp = await tempDir();
  const scripts = await scriptsDir(tmp.path);
  const envDir = join(tmp.path, "env");
  const made = await mkvenv(["-p", PY.exe, "--without-pip", "--scripts", scripts, envDir]);
  assertEquals(made.code, 0, made.stderr);
  const show = await run("sh", [join(envDir, "bin", "show.sh")]);
  assertEquals(show.stdout.split("\n")[0], envDir);

  // New versions of the scripts; one installed script is now a link to a file of the user's.
  await Deno.writeTextFile(join(scripts, "common", "show.sh"), "printf 'v2 %s\\n' __VENV_NAME__\n");
  const outside = join(tmp.path, "outside.py");
  await Deno.writeTextFile(outside, "# the user's file\n");
  await Deno.remove(join(envDir, "bin", "show.py"));
  await Deno.symlink(outside, join(envDir, "bin", "show.py"));
  const upgraded = await mkvenv([
    "-p",
    PY.exe,
    "--without-pip",
    "--upgrade",
    `--scripts=${scripts}`,
    envDir,
  ]);
  assertEquals(upgraded.code, 0, upgraded.stderr);
  assertEquals((await run("sh", [join(envDir, "bin", "show.sh")])).stdout, "v2 env\n");
  assert(Deno.lstatSync(join(envDir, "bin", "show.py")).isFile, "the link was replaced");
  assertEquals(Deno.readTextFileSync(outside), "# the user's file\n", "not written through");
  const py = await run(join(envDir, "bin", "python"), [join(envDir, "bin", "show.py")]);
  assertEquals(JSON.parse(py.stdout)[0], envDir);

  // A DIR that does not exist: one line naming it, nothing created.
  const missing = await mkvenv([
    "-p",
    PY.exe,
    "--scripts",
    join(tmp.path, "nope"),
    join(tmp.path, "x"),
  ]);
  assertEquals(missing.code, 1);
  assertMatch(
    missing.stderr,
    /^mkvenv: error: Cannot install the scripts of ".*nope": it does not exist; pass a directory with a common\/ and a posix\/ or nt\/ subdirectory\n$/,
  );
  assert(!(await Deno.lstat(join(tmp.path, "x")).catch(() => null)));
  const help = await mkvenv(["--help"]);
  assertMatch(help.stdout, /--scripts DIR/);
});

Deno.test({
  name:
    "--scripts: a named pipe is refused at once, a link to a directory is not followed (os.walk)",
  ignore: Deno.build.os === "windows",
}, async () => {
  await using tmp = await tempDir();
  const scripts = join(tmp.path, "scripts");
  await Deno.mkdir(join(scripts, "common", "sub"), { recursive: true });
  await Deno.writeTextFile(join(scripts, "common", "sub", "a.sh"), "echo __VENV_NAME__\n");
  // A loop: followed, it would nest common/loop/loop/... until the path is too long.
  await Deno.symlink("..", join(scripts, "common", "loop"));
  // setuid and writable by all at the source: neither reaches the venv's bin.
  await Deno.writeTextFile(join(scripts, "common", "tool.sh"), "echo tool\n");
  await Deno.chmod(join(scripts, "common", "tool.sh"), 0o4777);
  const env = join(tmp.path, "env");
  const ok = await mkvenv(["-p", PY.exe, "--without-pip", "--scripts", scripts, env]);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(Deno.readTextFileSync(join(env, "bin", "sub", "a.sh")), "echo env\n");
  assert(!(await Deno.lstat(join(env, "bin", "loop")).catch(() => null)), "the link not walked");
  assertEquals((Deno.statSync(join(env, "bin", "tool.sh")).mode ?? 0) & 0o7777, 0o755);

  const fifo = join(scripts, "common", "pipe");
  assert((await run("mkfifo", [fifo])).code === 0);
  const before = tree(tmp.path);
  const r = await mkvenvBounded([
    "-p",
    PY.exe,
    "--without-pip",
    "--scripts",
    scripts,
    join(tmp.path, "env2"),
  ]);
  assertEquals(r.code, 1, r.stderr);
  assertMatch(
    r.stderr,
    /^mkvenv: error: Cannot read the script ".*common\/pipe": it is a named pipe, not a file; remove it\n$/,
  );
  assertEquals(tree(tmp.path), before, "nothing made");
});
