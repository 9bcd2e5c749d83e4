/**
 * The shared cache mechanism (lib/disk/cache.ts): where the cache is, which of it is trusted,
 * and how directories and entries are made whatever the umask.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { join } from "node:path";
import {
  cacheRoot,
  cacheRootProblem,
  type CacheStat,
  ensureCacheDir,
  inspectCachePath,
  judgeCacheStat,
  openCache,
  readCacheText,
  writeFileAtomic,
} from "../lib/disk/cache.ts";
import { BuildError } from "../lib/errors.ts";
import { tempDir } from "./_util.ts";

/** Owners and modes: POSIX only. */
const POSIX = { ignore: Deno.build.os === "windows" };
/** Giving a link to another user needs root (the development machine runs the tests as root). */
const AS_ROOT = { ignore: Deno.build.os === "windows" || Deno.uid() !== 0 };

function env(vars: Record<string, string>) {
  return (name: string) => vars[name];
}

const DIR: CacheStat = {
  isFile: false,
  isDirectory: true,
  isSymlink: false,
  uid: 1000,
  mode: 0o755,
};
const FILE: CacheStat = {
  isFile: true,
  isDirectory: false,
  isSymlink: false,
  uid: 1000,
  mode: 0o444,
};

Deno.test("judgeCacheStat() trusts this user's or root's entries that nobody else can write", () => {
  assertEquals(judgeCacheStat(DIR, "dir", 1000), null);
  assertEquals(judgeCacheStat({ ...DIR, uid: 0, mode: 0o700 }, "dir", 1000), null);
  assertEquals(judgeCacheStat(FILE, "file", 1000), null);
  assertEquals(judgeCacheStat({ ...FILE, uid: null, mode: null }, "file", null), null);
});

Deno.test("judgeCacheStat() names what is missing, of the wrong type, or writable by others", () => {
  assertEquals(judgeCacheStat(null, "file", 1000)?.kind, "missing");
  assertEquals(judgeCacheStat(FILE, "dir", 1000), {
    kind: "damaged",
    why: "it is a file, not a directory",
  });
  assertEquals(judgeCacheStat(DIR, "file", 1000), {
    kind: "damaged",
    why: "it is a directory, not a file",
  });
  assertEquals(judgeCacheStat({ ...FILE, isFile: false, isSymlink: true }, "file", 1000), {
    kind: "damaged",
    why: "it is a symbolic link, not a file",
  });
  assertEquals(judgeCacheStat({ ...DIR, uid: 65534 }, "dir", 1000), {
    kind: "untrusted",
    why: "it belongs to another user (uid 65534; this is uid 1000)",
  });
  assertEquals(judgeCacheStat({ ...DIR, mode: 0o777 }, "dir", 1000), {
    kind: "untrusted",
    why: "it is writable by group and others (mode 777)",
  });
  assertEquals(
    judgeCacheStat({ ...FILE, mode: 0o664 }, "file", 1000)?.why,
    "it is writable by group (mode 664)",
  );
  assertEquals(
    judgeCacheStat({ ...FILE, mode: 0o646 }, "file", 1000)?.why,
    "it is writable by others (mode 646)",
  );
  // Root running in another user's cache is still another user's cache.
  assertEquals(judgeCacheStat({ ...DIR, uid: 1000 }, "dir", 0)?.kind, "untrusted");
});

Deno.test("cacheRoot() makes a relative or ~ MKVENV_CACHE_DIR absolute", () => {
  const cwd = () => "/work/here";
  assertEquals(cacheRoot("linux", env({ MKVENV_CACHE_DIR: "c" }), cwd), "/work/here/c");
  assertEquals(cacheRoot("linux", env({ MKVENV_CACHE_DIR: "./c/../d/" }), cwd), "/work/here/d");
  assertEquals(cacheRoot("linux", env({ MKVENV_CACHE_DIR: "~", HOME: "/h" }), cwd), "/h");
  assertEquals(cacheRoot("linux", env({ MKVENV_CACHE_DIR: "~/c", HOME: "/h" }), cwd), "/h/c");
  assertEquals(cacheRoot("linux", env({ MKVENV_CACHE_DIR: "/a//b/" }), cwd), "/a/b");
  assertEquals(
    cacheRoot("windows", env({ MKVENV_CACHE_DIR: "c" }), () => "C:\\w"),
    "C:\\w\\c",
  );
  // A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
  assertEquals(
    cacheRoot("linux", env({ XDG_CACHE_HOME: "x", HOME: "/h" }), cwd),
    "/h/.cache/mkvenv",
  );
});

Deno.test("cacheRoot() refuses a MKVENV_CACHE_DIR it cannot make a directory of", () => {
  const refused = (vars: Record<string, string>, cwd: string | null, why: RegExp) =>
    throws(
      () => cacheRoot("linux", env(vars), () => cwd),
      (e: unknown) =>
        e instanceof BuildError &&
        /^Cannot use the cache directory MKVENV_CACHE_DIR=/.test(e.message) &&
        why.test(e.message),
    );
  refused({ MKVENV_CACHE_DIR: "/tmp/a\uFFFDb" }, "/", /not valid UTF-8; set it to a UTF-8 path/);
  refused({ MKVENV_CACHE_DIR: "~bob/c" }, "/", /only "~" and "~\/" are expanded/);
  refused({ MKVENV_CACHE_DIR: "~/c" }, "/", /home directory is not known/);
  refused({ MKVENV_CACHE_DIR: "c" }, null, /working directory cannot be named/);
});

Deno.test("openCache() makes a private root and refuses one others can write", POSIX, async () => {
  await using tmp = await tempDir();
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const previous = Deno.umask(0);
  try {
    const root = join(tmp.path, "a", "cache");
    assertEquals(openCache(root, log), { root, temporary: false });
    assertEquals((await Deno.stat(root)).mode! & 0o777, 0o700);
    ensureCacheDir(root, join(root, "x", "y"), log);
    assertEquals((await Deno.stat(join(root, "x", "y"))).mode! & 0o777, 0o755);
    await writeFileAtomic(join(root, "x", "f"), "text");
    assertEquals((await Deno.stat(join(root, "x", "f"))).mode! & 0o777, 0o644);
    assertEquals(lines, []);

    const open = join(tmp.path, "open");
    await Deno.mkdir(open, { mode: 0o777 });
    const other = openCache(open, log);
    assert(other.temporary, "a private temporary cache instead");
    assertEquals((await Deno.stat(other.root)).mode! & 0o777, 0o700);
    assertEquals(lines, [
      `the cache ${open} is not used: it is writable by group and others (mode 777); using a private temporary one`,
    ]);
    await Deno.remove(other.root, { recursive: true });
  } finally {
    Deno.umask(previous);
  }
});

Deno.test(
  "ensureCacheDir() replaces a file, or a directory others can write, where a directory belongs",
  POSIX,
  async () => {
    await using tmp = await tempDir();
    const root = join(tmp.path, "cache");
    await Deno.mkdir(root, { mode: 0o700 });
    await Deno.writeTextFile(join(root, "wheels"), "not a directory");
    await Deno.mkdir(join(root, "interpreters"));
    await Deno.chmod(join(root, "interpreters"), 0o777);
    await Deno.writeTextFile(join(root, "interpreters", "planted.json"), "{}");
    const lines: string[] = [];
    ensureCacheDir(root, join(root, "wheels", "by-file"), (l) => lines.push(l));
    ensureCacheDir(root, join(root, "interpreters"), (l) => lines.push(l));
    assertEquals(inspectCachePath(join(root, "wheels", "by-file"), "dir"), null);
    assertEquals(inspectCachePath(join(root, "interpreters"), "dir"), null);
    assertEquals([...Deno.readDirSync(join(root, "interpreters"))], [], "what was planted is gone");
    assertEquals(lines, [
      `the cache directory ${
        join(root, "wheels")
      } is not used: it is a file, not a directory; making it afresh`,
      `the cache directory ${
        join(root, "interpreters")
      } is not used: it is writable by group and others (mode 777); making it afresh`,
    ]);
    assertEquals([...Deno.readDirSync(root)].map((e) => e.name).sort(), [
      "CACHEDIR.TAG",
      "interpreters",
      "wheels",
    ]);
  },
);

Deno.test(
  "readCacheText() reads only a regular file nobody else can write; writeFileAtomic() replaces a directory in the way",
  POSIX,
  async () => {
    await using tmp = await tempDir();
    const file = join(tmp.path, "entry");
    await Deno.writeTextFile(file, "facts", { mode: 0o644 });
    assertEquals(readCacheText(file), "facts");
    await Deno.chmod(file, 0o666);
    const lines: string[] = [];
    assertEquals(readCacheText(file, (l) => lines.push(l)), null);
    assertEquals(lines, [
      `the cache entry ${file} is not used: it is writable by group and others (mode 666)`,
    ]);
    await Deno.remove(file);
    await Deno.symlink("/etc/hostname", file);
    assertEquals(readCacheText(file), null);
    await Deno.remove(file);
    await Deno.mkdir(join(file, "sub"), { recursive: true });
    assertEquals(readCacheText(file), null);
    await writeFileAtomic(file, "new facts");
    assertEquals(readCacheText(file), "new facts");
    assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name), ["entry"]);
  },
);

Deno.test(
  "ensureCacheDir() never removes what lies directly in a root that holds more than the cache",
  POSIX,
  async () => {
    await using tmp = await tempDir();
    // MKVENV_CACHE_DIR=~ by mistake: the user's own file named "wheels" is kept.
    const home = join(tmp.path, "home");
    await Deno.mkdir(home, { mode: 0o700 });
    await Deno.writeTextFile(join(home, "notes.txt"), "mine");
    await Deno.writeTextFile(join(home, "wheels"), "also mine");
    throws(
      () => ensureCacheDir(home, join(home, "wheels", "by-file")),
      /wheels is not used: it is a file, not a directory; it is left alone, as .*home holds more than mkvenv's cache/,
    );
    assertEquals(await Deno.readTextFile(join(home, "wheels")), "also mine");
    // A root with nothing but mkvenv's names is mkvenv's: it is tagged, and the entry replaced.
    const own = join(tmp.path, "own");
    await Deno.mkdir(own, { mode: 0o700 });
    await Deno.writeTextFile(join(own, "wheels"), "damaged");
    ensureCacheDir(own, join(own, "wheels", "by-file"));
    assertEquals(inspectCachePath(join(own, "wheels"), "dir"), null);
    assert((await Deno.readTextFile(join(own, "CACHEDIR.TAG"))).startsWith("Signature: 8a477f"));
  },
);

Deno.test(
  "cacheRootProblem() follows a root that is a link only when the link is this user's or root's",
  AS_ROOT,
  async () => {
    await using tmp = await tempDir();
    const target = join(tmp.path, "real");
    await Deno.mkdir(target, { mode: 0o700 });
    const mine = join(tmp.path, "mine");
    await Deno.symlink(target, mine);
    assertEquals(cacheRootProblem(mine), null);
    const theirs = join(tmp.path, "theirs");
    await Deno.symlink(target, theirs);
    const chown = await new Deno.Command("chown", { args: ["-h", "nobody", theirs] }).output();
    assert(chown.success, "chown -h works here (the tests run as root)");
    assertEquals(cacheRootProblem(theirs), {
      kind: "untrusted",
      why: "it is a symbolic link that belongs to another user (uid 65534)",
    });
  },
);
