import assert from "node:assert/strict";
import { join } from "node:path";
import { fsReason, kindOf } from "../lib/disk/disk.ts";
import { namedAsVenv } from "../lib/disk/staging.ts";
import { BuildError } from "../lib/errors.ts";
import { tempDir } from "./_util.ts";

Deno.test({
  name: "kindOf names what is there: file, directory, link, named pipe, socket, device",
  ignore: Deno.build.os === "windows", // no named pipes or sockets in the file system
}, async () => {
  await using tmp = await tempDir();
  const at = (name: string) => join(tmp.path, name);
  Deno.writeTextFileSync(at("file"), "x");
  Deno.mkdirSync(at("dir"));
  Deno.symlinkSync("file", at("link"));
  assert.ok(new Deno.Command("mkfifo", { args: [at("pipe")] }).outputSync().success);
  const socket = Deno.listen({ transport: "unix", path: at("socket") });
  try {
    const kinds = ["file", "dir", "link", "pipe", "socket"].map((n) =>
      kindOf(Deno.lstatSync(at(n)))
    );
    assert.deepEqual(kinds, [
      "a file",
      "a directory",
      "a symbolic link",
      "a named pipe",
      "a socket",
    ]);
    assert.equal(kindOf(Deno.statSync("/dev/null")), "a device");
  } finally {
    socket.close();
  }
});

Deno.test("fsReason: the meaning and remedy of an error input can cause, without Deno's paths", () => {
  const full = new Error("No space left on device (os error 28): copy '/c/a.py' -> '/v/a.py'");
  assert.equal(
    fsReason(full),
    "no space left on the device; free some space and run mkvenv again (os error 28)",
  );
  const other = new Error("Stale file handle (os error 116): open '/x'");
  assert.equal(fsReason(other), "Stale file handle (os error 116)");
  assert.equal(fsReason(new Error("no number here")), "no number here");
});

Deno.test("a failure inside the stage names the venv's paths, in plain and quoted form", () => {
  const root = "/w/.mkvenv-0123456789abcdef";
  const e = new BuildError(
    `Cannot place "/c/x.py" at "${root}/lib/x.py": full; and ${root}, not ${root}0/y`,
    { detail: `'${root}/bin'`, cause: "why" },
  );
  const named = namedAsVenv(e, root, "/w/env");
  assert.ok(named instanceof BuildError);
  assert.equal(
    named.message,
    `Cannot place "/c/x.py" at "/w/env/lib/x.py": full; and /w/env, not ${root}0/y`,
  );
  assert.equal(named.detail, "'/w/env/bin'");
  assert.equal(named.cause, "why");
  // Windows: q() doubles the backslashes of the paths it quotes.
  const winRoot = "C:\\w\\.mkvenv-0123456789abcdef";
  const quoted = new BuildError(`Cannot write ${JSON.stringify(winRoot + "\\pyvenv.cfg")}: full`);
  const winNamed = namedAsVenv(quoted, winRoot, "C:\\w\\env");
  assert.ok(winNamed instanceof BuildError);
  assert.equal(winNamed.message, `Cannot write ${JSON.stringify("C:\\w\\env\\pyvenv.cfg")}: full`);
  // A raw file-system error becomes the one-line error main.ts would make of it.
  const raw = new Error(`No space left on device (os error 28): mkdir '${root}/lib'`);
  const fromRaw = namedAsVenv(raw, root, "/w/env");
  assert.ok(fromRaw instanceof BuildError);
  assert.match(fromRaw.message, /"\/w\/env\/lib"/);
  // Anything else is left as it is.
  const bug = new TypeError(`x of undefined in ${root}`);
  assert.equal(namedAsVenv(bug, root, "/w/env"), bug);
});

Deno.test("a stage's path named as the venv's keeps quotes and backslashes right in both forms", () => {
  for (const envDir of ['/w/a"b/env', "/w/a\\b/env", '/w/x/e"nv', "/w/x/e\\nv", "/w/x\\/env"]) {
    const parent = envDir.slice(0, envDir.lastIndexOf("/"));
    for (const root of [`${parent}/.mkvenv-0123456789abcdef`, `${envDir}/.mkvenv-stage`]) {
      const message = `Cannot write ${JSON.stringify(`${root}/lib/x.py`)}: full; at ${root}/bin`;
      const named = namedAsVenv(new BuildError(message), root, envDir);
      assert.ok(named instanceof BuildError);
      assert.equal(
        named.message,
        `Cannot write ${JSON.stringify(`${envDir}/lib/x.py`)}: full; at ${envDir}/bin`,
        `${envDir} staged in ${root}`,
      );
    }
  }
});
