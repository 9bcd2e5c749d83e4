import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { cacheRoot } from "../lib/cache.ts";
import { probeCached } from "../lib/interpreter_cache.ts";
import { pyenvPython, tempDir } from "./_util.ts";
import { DEV_PYTHONS } from "./_wheel_fixture.ts";

const PY = DEV_PYTHONS.ignore ? { exe: "" } : pyenvPython("3.12");

function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(join(dir, "interpreters"))].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test("probeCached() probes once, then answers from the cache", DEV_PYTHONS, async () => {
  await using tmp = await tempDir();
  const lines: string[] = [];
  const first = await probeCached(PY.exe, { cacheDir: tmp.path, log: (l) => lines.push(l) });
  const second = await probeCached(PY.exe, { cacheDir: tmp.path, log: (l) => lines.push(l) });
  assertEquals(second, first);
  assertEquals(lines.map((l) => l.split(" ")[0]), ["probed", "interpreter"]);
  assertEquals(entries(tmp.path).length, 1);
});

Deno.test("probeCached() ignores and rewrites a corrupt cache entry", DEV_PYTHONS, async () => {
  await using tmp = await tempDir();
  await probeCached(PY.exe, { cacheDir: tmp.path });
  const [name] = entries(tmp.path);
  const file = join(tmp.path, "interpreters", name!);
  await Deno.writeTextFile(file, "{not json");
  const info = await probeCached(PY.exe, { cacheDir: tmp.path });
  assertEquals(info.version, [3, 12, 1]);
  assertEquals(JSON.parse(await Deno.readTextFile(file)).version, [3, 12, 1]);
});

Deno.test(
  "probeCached() probes again when the interpreter file is replaced",
  DEV_PYTHONS,
  async () => {
    await using tmp = await tempDir();
    const exe = join(tmp.path, "python3.12");
    await Deno.copyFile(PY.exe, exe);
    await Deno.chmod(exe, 0o755);
    const cache = join(tmp.path, "cache");
    const lines: string[] = [];
    await probeCached(exe, { cacheDir: cache, log: (l) => lines.push(l) });
    await Deno.utime(exe, new Date(), new Date(Date.now() + 5000));
    await probeCached(exe, { cacheDir: cache, log: (l) => lines.push(l) });
    assertEquals(lines.filter((l) => l.startsWith("probed")).length, 2);
    assertEquals(entries(cache).length, 2);
  },
);

Deno.test(
  "probeCached() works when the cache directory cannot be written",
  DEV_PYTHONS,
  async () => {
    await using tmp = await tempDir();
    const blocker = join(tmp.path, "file");
    await Deno.writeTextFile(blocker, "");
    const info = await probeCached(PY.exe, { cacheDir: join(blocker, "cache") });
    assertEquals(info.version, [3, 12, 1]);
  },
);

Deno.test("cacheRoot() follows MKVENV_CACHE_DIR, XDG, macOS and Windows conventions", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assertEquals(cacheRoot("linux", env({ MKVENV_CACHE_DIR: "/c", HOME: "/h" })), "/c");
  assertEquals(cacheRoot("linux", env({ XDG_CACHE_HOME: "/x", HOME: "/h" })), "/x/mkvenv");
  assertEquals(cacheRoot("linux", env({ HOME: "/h" })), "/h/.cache/mkvenv");
  assertEquals(cacheRoot("darwin", env({ HOME: "/h" })), "/h/Library/Caches/mkvenv");
  assertEquals(cacheRoot("windows", env({ LOCALAPPDATA: "C:\\L" })), "C:\\L\\mkvenv\\Cache");
  assertEquals(cacheRoot("linux", env({})), null);
});
