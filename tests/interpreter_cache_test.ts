import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { cacheRoot } from "../lib/disk/cache.ts";
import { cachedBaseFacts, probeCached } from "../lib/discovery/interpreter_cache.ts";
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

Deno.test(
  "cachedBaseFacts() answers for a path probed as a base interpreter, while no venv can appear",
  DEV_PYTHONS,
  async () => {
    await using tmp = await tempDir();
    const exe = join(tmp.path, "py", "bin", "python3");
    await Deno.mkdir(join(tmp.path, "py", "bin"), { recursive: true });
    await Deno.symlink(PY.exe, exe);
    const settle = async (ago = 3600_000) => {
      const past = new Date(Date.now() - ago);
      for (const dir of ["py/bin", "py"]) await Deno.utime(join(tmp.path, dir), past, past);
    };
    await settle();
    const options = { cacheDir: join(tmp.path, "cache") };
    assertEquals(cachedBaseFacts(exe, options), null);
    const info = await probeCached(exe, options);
    assertEquals(cachedBaseFacts(exe, options), null, "probed, but not known as a base");
    assertEquals(await probeCached(exe, { ...options, base: true }), info);
    assertEquals(cachedBaseFacts(exe, options), info);
    // A pyvenv.cfg one directory up would make it a venv's interpreter.
    const cfg = join(tmp.path, "py", "pyvenv.cfg");
    await Deno.writeTextFile(cfg, "home = /usr/bin\n");
    assertEquals(cachedBaseFacts(exe, options), null);
    await settle(1800_000);
    assertEquals(cachedBaseFacts(exe, options), null);
    await Deno.remove(cfg);
    // Directories changed a moment ago are not trusted to show the next change.
    await probeCached(exe, { ...options, base: true });
    assertEquals(cachedBaseFacts(exe, options), null);
    await settle();
    await probeCached(exe, { ...options, base: true });
    assertEquals(cachedBaseFacts(exe, options), info);
    assertEquals(entries(options.cacheDir).length, 1);
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
