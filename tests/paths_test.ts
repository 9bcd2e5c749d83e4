import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as node from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fromFileUrl, posix, win32 } from "../lib/disk/paths.ts";

const POSIX_CASES = [
  "",
  ".",
  "..",
  "/",
  "//",
  "a",
  "a/",
  "a/b",
  "a//b/",
  "/a/b/../c",
  "/a/./b/",
  "../a/..",
  "/root/.pyenv/versions/3.12.1/bin/python3.12",
  "env///",
  "/x/my env $(x)/bin",
  "/a/b.txt",
  ".hidden",
  "/a/.b",
  "a/b.tar.gz",
  "/..",
  "x/../..",
];
const WIN_CASES = [
  "",
  ".",
  "C:",
  "C:\\",
  "C:/",
  "C:\\a\\b",
  "C:/a/b/",
  "C:\\a\\..\\b",
  "\\\\srv\\share\\x\\y",
  "\\\\srv\\share",
  "\\a\\b",
  "a\\b",
  "a/b\\c",
  "C:\\Program Files\\Python312\\python.exe",
  "C:\\env\\Scripts\\",
  "D:\\x\\.\\y\\..\\z",
  "a.b\\c.d",
];

Deno.test("lib/disk/paths posix agrees with node:path posix", () => {
  for (const p of POSIX_CASES) {
    assertEquals(posix.normalize(p), node.posix.normalize(p), `normalize ${p}`);
    assertEquals(posix.dirname(p), node.posix.dirname(p), `dirname ${p}`);
    assertEquals(posix.basename(p), node.posix.basename(p), `basename ${p}`);
    assertEquals(posix.extname(p), node.posix.extname(p), `extname ${p}`);
    assertEquals(posix.isAbsolute(p), node.posix.isAbsolute(p), `isAbsolute ${p}`);
    assertEquals(posix.join("/base", p), node.posix.join("/base", p), `join ${p}`);
    assertEquals(posix.join(p, "x"), node.posix.join(p, "x"), `join ${p} x`);
    assertEquals(posix.resolve("/cwd/dir", p), node.posix.resolve("/cwd/dir", p), `resolve ${p}`);
    assertEquals(
      posix.relative("/a/b/c", posix.resolve("/a", p)),
      node.posix.relative("/a/b/c", node.posix.resolve("/a", p)),
      `relative ${p}`,
    );
  }
  assertEquals(posix.basename("/a/b.py", ".py"), "b");
});

Deno.test("lib/disk/paths win32 agrees with node:path win32", () => {
  for (const p of WIN_CASES) {
    assertEquals(win32.normalize(p), node.win32.normalize(p), `normalize ${p}`);
    assertEquals(win32.dirname(p), node.win32.dirname(p), `dirname ${p}`);
    assertEquals(win32.basename(p), node.win32.basename(p), `basename ${p}`);
    assertEquals(win32.isAbsolute(p), node.win32.isAbsolute(p), `isAbsolute ${p}`);
    assertEquals(
      win32.join("C:\\base", p.replace(/^[A-Za-z]:/, "")),
      node.win32.join("C:\\base", p.replace(/^[A-Za-z]:/, "")),
      `join ${p}`,
    );
    assertEquals(
      win32.resolve("C:\\cwd\\dir", p),
      node.win32.resolve("C:\\cwd\\dir", p),
      `resolve ${p}`,
    );
  }
});

Deno.test("fromFileUrl() agrees with node:url on this platform's file URLs", () => {
  const paths = ["/", "/a/b.ts", "/with space/x", "/é/ü ß", "/100%/#hash?q", "/a/../b"];
  for (const path of paths) {
    const url = pathToFileURL(path);
    assertEquals(fromFileUrl(url.href), fileURLToPath(url), url.href);
    assertEquals(fromFileUrl(url), fileURLToPath(url), url.href);
  }
  assertEquals(
    fromFileUrl("file:///tmp/x.ts?query#hash"),
    fileURLToPath("file:///tmp/x.ts?query#hash"),
  );
});
