/** The locks: of a directory through its descriptor, and of a lock file never followed or truncated. */
import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { join } from "node:path";
import { acquireLock, lockDirectory } from "../lib/disk/lock.ts";
import { BuildError } from "../lib/errors.ts";
import { tempDir } from "./_util.ts";

Deno.test("acquireLock refuses a link at the lock's name and leaves its target as it was", async () => {
  await using tmp = await tempDir();
  const victim = join(tmp.path, "victim");
  await Deno.writeTextFile(victim, "precious\n");
  const lockPath = join(tmp.path, "x.lock");
  await Deno.symlink(victim, lockPath);
  await assertRejects(
    acquireLock(lockPath, { what: "x", timeoutMs: 100 }),
    (e: unknown) =>
      e instanceof BuildError &&
      /"[^"]*x\.lock" is a symbolic link, not a lock file/.test(e.message),
  );
  assertEquals(await Deno.readTextFile(victim), "precious\n");
  assert((await Deno.lstat(lockPath)).isSymlink);
});

Deno.test("acquireLock neither truncates nor writes an existing lock file, and removes it on release", async () => {
  await using tmp = await tempDir();
  const lockPath = join(tmp.path, "x.lock");
  await Deno.writeTextFile(lockPath, "left by someone\n");
  const lock = await acquireLock(lockPath, { what: "x", timeoutMs: 100 });
  assertEquals(await Deno.readTextFile(lockPath), "left by someone\n");
  lock.release();
  assertEquals(await Deno.lstat(lockPath).catch(() => null), null);
  const fresh = await acquireLock(lockPath, { what: "x", timeoutMs: 100 });
  assertEquals((await Deno.readTextFile(lockPath)).trim(), String(Deno.pid));
  fresh.release();
});

Deno.test("lockDirectory creates nothing; a second lock waits, then names the holder", async () => {
  await using tmp = await tempDir();
  const dir = join(tmp.path, "env");
  await Deno.mkdir(dir);
  const lock = await lockDirectory(dir, { what: dir });
  assert(lock !== null);
  await assertRejects(
    lockDirectory(dir, { what: dir, timeoutMs: 100 }),
    (e: unknown) =>
      e instanceof BuildError && e.message.includes(`another mkvenv (pid ${Deno.pid})`),
  );
  lock.release();
  const again = await lockDirectory(dir, { what: dir, timeoutMs: 100 });
  assert(again !== null);
  again.release();
  assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name), ["env"]);
  assertEquals([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir);
  assertEquals(await lockDirectory(dir, { what: dir }), null);
});
