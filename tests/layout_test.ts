import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { directoriesUnder } from "../lib/venv/target.ts";
import { computeLayout, defaultBuildOptions, entriesToPlace, pathFor } from "../lib/venv/layout.ts";
import { fixture, FIXTURES } from "./fixtures/probe_fixtures.ts";

const CWD = "/home/u/project";

function layoutOf(
  name: string,
  envDir: string,
  extra: Partial<ReturnType<typeof defaultBuildOptions>> = {},
) {
  const info = fixture(name);
  return computeLayout(info, envDir, { ...defaultBuildOptions(info.platform), ...extra, cwd: CWD });
}

function names(layout: ReturnType<typeof layoutOf>): string[] {
  return layout.interpreters.map((e) => e.path.slice(layout.binDir.length + 1));
}

Deno.test("every probe fixture parses and lays out without error", () => {
  for (const name of FIXTURES) {
    const info = fixture(name);
    const env = info.platform === "windows" ? "C:\\work\\env" : "/work/env";
    const layout = layoutOf(name, env);
    assert(layout.dirs.length >= 4, name);
    assert(layout.envExe.startsWith(layout.binDir), name);
  }
});

Deno.test("layout() for CPython 3.7 on linux: include, lib/python3.7, python + python3 only", () => {
  const l = layoutOf("cpython-3.7-linux", "/work/env");
  assertEquals(l.includeDir, "/work/env/include");
  assertEquals(l.purelibDir, "/work/env/lib/python3.7/site-packages");
  assertEquals(names(l), ["python3.7", "python", "python3"]);
  assertEquals(l.lib64, { path: "/work/env/lib64", target: "lib" });
});

Deno.test("layout() adds python3.X from 3.9 and links aliases relatively to the primary", () => {
  const l = layoutOf("cpython-3.9-linux", "/work/env");
  assertEquals(names(l), ["python3.9", "python", "python3"]);
  const l310 = layoutOf("cpython-3.10-linux", "/work/env");
  assertEquals(names(l310), ["python3.10", "python", "python3"]);
  const primary = l310.interpreters[0]!;
  assertEquals(primary.target, "/root/.pyenv/versions/3.10.13/bin/python3.10");
  assert(l310.interpreters.slice(1).every((e) => e.target === "python3.10" && !e.primary));
});

Deno.test("layout() takes include/python3.X from the venv scheme in 3.11-3.13", () => {
  assertEquals(layoutOf("cpython-3.11-linux", "/e").includeDir, "/e/include/python3.11");
  assertEquals(layoutOf("cpython-3.13-linux", "/e").includeDir, "/e/include/python3.13");
});

Deno.test("layout() uses a plain include and adds the pi alias in 3.14", () => {
  const l = layoutOf("cpython-3.14-linux", "/e");
  assertEquals(l.includeDir, "/e/include");
  assertEquals(names(l), ["python3.14", "python", "python3", "\u{1D70B}thon"]);
});

Deno.test("layout() puts free-threaded 3.13t packages in lib/python3.13t", () => {
  const l = layoutOf("cpython-3.13t-linux", "/e");
  assertEquals(l.purelibDir, "/e/lib/python3.13t/site-packages");
  assertEquals(l.includeDir, "/e/include/python3.13t");
  assertEquals(names(l), ["python3.13t", "python", "python3", "python3.13"]);
});

Deno.test("layout() for PyPy: lib/pypy3.9 and the pypy aliases", () => {
  const l = layoutOf("pypy-3.9-linux", "/e");
  assertEquals(l.purelibDir, "/e/lib/pypy3.9/site-packages");
  assertEquals(names(l), ["pypy3", "python", "python3", "python3.9", "pypy"]);
});

Deno.test("layout() on darwin has no lib64", () => {
  const l = layoutOf("cpython-3.12-darwin", "/Users/u/env");
  assertEquals(l.lib64, null);
  assertEquals(l.purelibDir, "/Users/u/env/lib/python3.12/site-packages");
});

Deno.test("layout() puts scripts in Scripts and site-packages in Lib on windows", () => {
  const l = layoutOf("cpython-3.12-windows", "C:\\work\\env");
  assertEquals(l.binDir, "C:\\work\\env\\Scripts");
  assertEquals(l.purelibDir, "C:\\work\\env\\Lib\\site-packages");
  assertEquals(l.includeDir, "C:\\work\\env\\Include");
  assertEquals(l.lib64, null);
  assertEquals(l.cfgPath, "C:\\work\\env\\pyvenv.cfg");
  assertEquals(l.envExe, "C:\\work\\env\\Scripts\\python.exe");
  assertEquals(
    l.interpreters.map((e) => [e.path, e.kind, e.target]),
    [
      [
        "C:\\work\\env\\Scripts\\python.exe",
        "copy",
        "C:\\Program Files\\Python312\\Lib\\venv\\scripts\\nt\\python.exe",
      ],
      [
        "C:\\work\\env\\Scripts\\pythonw.exe",
        "copy",
        "C:\\Program Files\\Python312\\Lib\\venv\\scripts\\nt\\pythonw.exe",
      ],
    ],
  );
});

Deno.test("layout() on windows 3.13 copies venvlauncher.exe as python.exe", () => {
  const l = layoutOf("cpython-3.13-windows", "C:\\env");
  assertEquals(l.interpreters.map((e) => [e.path, e.target]), [
    [
      "C:\\env\\Scripts\\python.exe",
      "C:\\Program Files\\Python313\\Lib\\venv\\scripts\\nt\\venvlauncher.exe",
    ],
    [
      "C:\\env\\Scripts\\pythonw.exe",
      "C:\\Program Files\\Python313\\Lib\\venv\\scripts\\nt\\venvwlauncher.exe",
    ],
  ]);
  const t = layoutOf("cpython-3.13t-windows", "C:\\env");
  assertEquals(names(t), ["python.exe", "pythonw.exe", "python3.13t.exe", "pythonw3.13t.exe"]);
  assert(t.interpreters[0]!.target.endsWith("venvlaunchert.exe"));
});

Deno.test("layout() with --symlinks on windows links to the base executables", () => {
  const l = layoutOf("cpython-3.12-windows", "C:\\env", { symlinks: true });
  assertEquals(l.interpreters[0]!.kind, "symlink");
  assertEquals(l.interpreters[0]!.target, "C:\\Program Files\\Python312\\python.exe");
});

Deno.test("layout() with --copies copies the base executable under every name", () => {
  const l = layoutOf("cpython-3.12-linux", "/e", { symlinks: false });
  assert(
    l.interpreters.every((e) =>
      e.kind === "copy" && e.target === "/root/.pyenv/versions/3.12.1/bin/python3.12"
    ),
  );
});

Deno.test("layout() resolves --prompt . to the current directory's name from 3.9, not in 3.8", () => {
  assertEquals(layoutOf("cpython-3.9-linux", "/e", { prompt: "." }).prompt, "project");
  assertEquals(layoutOf("cpython-3.8-linux", "/e", { prompt: "." }).prompt, ".");
  assertEquals(layoutOf("cpython-3.12-linux", "/x/my-env").prompt, "my-env");
});

Deno.test("layout() writes .gitignore unless --without-scm-ignore-files", () => {
  assertEquals(layoutOf("cpython-3.7-linux", "/e").gitignorePath, "/e/.gitignore");
  assertEquals(layoutOf("cpython-3.13-linux", "/e", { scmIgnoreFiles: false }).gitignorePath, null);
});

Deno.test("directoriesUnder(): every directory of the layout and its parents, parents first", () => {
  for (const name of FIXTURES) {
    const info = fixture(name);
    const env = info.platform === "windows" ? "C:\\work\\env" : "/work/env";
    const layout = layoutOf(name, env);
    const dirs = directoriesUnder(layout);
    const path = pathFor(info.platform);
    assertEquals(new Set(dirs).size, dirs.length, name);
    for (const [i, dir] of dirs.entries()) {
      const parent = path.dirname(dir);
      assert(parent === env || dirs.indexOf(parent) < i, `${name}: ${dir} before its parent`);
    }
    for (const dir of layout.dirs.filter((d) => d !== env)) assert(dirs.includes(dir), dir);
  }
  assertEquals(directoriesUnder(layoutOf("cpython-3.12-linux", "/work/env")), [
    "/work/env/include",
    "/work/env/include/python3.12",
    "/work/env/lib",
    "/work/env/lib/python3.12",
    "/work/env/lib/python3.12/site-packages",
    "/work/env/bin",
  ]);
});

Deno.test("entriesToPlace() keeps what is present of the aliases and lib64, never the primary", () => {
  const l = layoutOf("cpython-3.9-linux", "/work/env");
  const present = new Set(["/work/env/bin/python3", "/work/env/bin/python3.9", "/work/env/lib64"]);
  const placed = entriesToPlace(l, (p) => present.has(p));
  assertEquals(names(placed), ["python3.9", "python"]);
  assertEquals(placed.lib64, null);
  assertEquals(entriesToPlace(l, () => false), l);
});
