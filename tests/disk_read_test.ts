import assert from "node:assert/strict";
import { join } from "node:path";
import {
  NotRegularFileError,
  openWasAbandoned,
  readRegularFile,
  readRegularFileAsync,
} from "../lib/disk/disk.ts";
import { tempDir } from "./_util.ts";

const POSIX = Deno.build.os !== "windows";

Deno.test("readRegularFile reads a file, through a link, and its head when asked", async () => {
  await using tmp = await tempDir();
  const file = join(tmp.path, "f");
  Deno.writeTextFileSync(file, "home = /usr/bin\n");
  const read = readRegularFile(file, { limit: 100 });
  assert.equal(new TextDecoder().decode(read.bytes), "home = /usr/bin\n");
  assert.equal(readRegularFile(file, { limit: 4, head: true }).bytes.length, 4);
  assert.equal(readRegularFile(file, { limit: 16 }).bytes.length, 16, "exactly the limit");
  if (POSIX) {
    Deno.symlinkSync("f", join(tmp.path, "link"));
    assert.equal(readRegularFile(join(tmp.path, "link"), { limit: 100 }).bytes.length, 16);
  }
  Deno.writeFileSync(join(tmp.path, "empty"), new Uint8Array());
  assert.equal(readRegularFile(join(tmp.path, "empty"), { limit: 10 }).bytes.length, 0);
  const big = new Uint8Array(300_000).fill(65);
  Deno.writeFileSync(join(tmp.path, "big"), big);
  assert.deepEqual(readRegularFile(join(tmp.path, "big"), { limit: 300_000 }).bytes, big);
});

Deno.test("readRegularFile refuses a file over the limit, a directory and what is missing", async () => {
  await using tmp = await tempDir();
  Deno.writeTextFileSync(join(tmp.path, "f"), "0123456789");
  assert.throws(
    () => readRegularFile(join(tmp.path, "f"), { limit: 9 }),
    (e: unknown) =>
      e instanceof NotRegularFileError && e.why === "it holds more than 9 bytes" &&
      e.message.startsWith(JSON.stringify(join(tmp.path, "f"))),
  );
  assert.throws(
    () => readRegularFile(tmp.path, { limit: 9 }),
    (e: unknown) => e instanceof NotRegularFileError && e.why === "it is a directory",
  );
  assert.throws(() => readRegularFile(join(tmp.path, "none"), { limit: 9 }), Deno.errors.NotFound);
});

Deno.test({
  name: "readRegularFile never opens a named pipe (the open would block) or a device",
  ignore: !POSIX,
}, async () => {
  await using tmp = await tempDir();
  const pipe = join(tmp.path, "pipe");
  assert.ok(new Deno.Command("mkfifo", { args: [pipe] }).outputSync().success);
  // Were the pipe opened, this test would hang here (no writer ever comes).
  assert.throws(
    () => readRegularFile(pipe, { limit: 10 }),
    (e: unknown) => e instanceof NotRegularFileError && e.why === "it is a named pipe",
  );
  Deno.symlinkSync(pipe, join(tmp.path, "to-pipe"));
  assert.throws(
    () => readRegularFile(join(tmp.path, "to-pipe"), { limit: 10, head: true }),
    (e: unknown) => e instanceof NotRegularFileError && e.why === "it is a named pipe",
  );
  Deno.symlinkSync("/dev/zero", join(tmp.path, "zero"));
  assert.throws(
    () => readRegularFile(join(tmp.path, "zero"), { limit: 10, head: true }),
    (e: unknown) => e instanceof NotRegularFileError && e.why === "it is a device",
  );
});

Deno.test({
  name: "readRegularFileAsync reads as readRegularFile does, and refuses a named pipe unopened",
  ignore: !POSIX,
}, async () => {
  await using tmp = await tempDir();
  const file = join(tmp.path, "f");
  Deno.writeTextFileSync(file, "3.12\n");
  const read = await readRegularFileAsync(file, { limit: 64, head: true, wait: 100 });
  assert.equal(new TextDecoder().decode(read.bytes), "3.12\n");
  const pipe = join(tmp.path, "pipe");
  assert.ok(new Deno.Command("mkfifo", { args: [pipe] }).outputSync().success);
  await assert.rejects(
    () => readRegularFileAsync(pipe, { limit: 64, wait: 100 }),
    (e: unknown) => e instanceof NotRegularFileError && e.why === "it is a named pipe",
  );
  assert.equal(openWasAbandoned(), false, "nothing was opened and given up");
});
