import { deepEqual as assertEquals } from "node:assert/strict";
import { parsePythonRequest, type SpecRequest } from "../lib/discovery/python_request.ts";
import {
  installNameMismatch,
  parseCoreTag,
  parseInstallName,
  parsePyListPaths,
  parseRegQuery,
  recogniseShim,
  toolVersions,
  versionFileLines,
} from "../lib/discovery/python_sources.ts";

function spec(text: string): SpecRequest {
  const request = parsePythonRequest(text);
  if (request.kind !== "spec") throw new Error(`${text} parsed as ${request.kind}`);
  return request;
}

// Recorded from the 3.11+ launcher (py.exe 3.12) on a machine with python.org installs and an
// Anaconda registered under its own company.
const PY_LIST_PATHS_NEW = [
  " -V:3.13 *        C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python313\\python.exe",
  " -V:3.13t         C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python313\\python3.13t.exe",
  " -V:3.11          C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python311\\python.exe",
  " -V:3.8-32        C:\\Program Files (x86)\\Python38-32\\python.exe",
  " -V:ContinuumAnalytics/Anaconda39-64 C:\\Users\\me\\anaconda3\\python.exe",
  "",
].join("\r\n");

// Recorded from the launcher shipped with 3.7-3.10: a heading, and the default mark at the end.
const PY_LIST_PATHS_OLD = [
  "Installed Pythons found by C:\\WINDOWS\\py.exe Launcher for Windows",
  " -3.9-64        C:\\Python39\\python.exe *",
  " -3.7-32        C:\\Python37-32\\python.exe",
  "",
].join("\r\n");

// `reg query HKCU\Software\Python /s` for a per-user python.org 3.10 install (trimmed of
// nothing: Help, Idle and PythonPath subkeys must be ignored).
const REG_HKCU = [
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore",
  "    DisplayName    REG_SZ    Python Software Foundation",
  "    SupportUrl    REG_SZ    https://www.python.org/",
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10",
  "    DisplayName    REG_SZ    Python 3.10 (64-bit)",
  "    SupportUrl    REG_SZ    https://www.python.org/",
  "    Version    REG_SZ    3.10.11",
  "    SysVersion    REG_SZ    3.10",
  "    SysArchitecture    REG_SZ    64bit",
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\\Help",
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\\Help\\Main Python Documentation",
  "    (Default)    REG_SZ    https://docs.python.org/3.10/",
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\\Idle",
  "    (Default)    REG_SZ    C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python310\\Lib\\idlelib\\idle.pyw",
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\\IncludePath",
  "    (Default)    REG_SZ    ",
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\\InstallPath",
  "    (Default)    REG_SZ    C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python310\\",
  "    ExecutablePath    REG_SZ    C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python310\\python.exe",
  "    WindowedExecutablePath    REG_SZ    C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python310\\pythonw.exe",
  "",
  "HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.10\\PythonPath",
  "    (Default)    REG_SZ    C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python310\\Lib\\",
  "",
].join("\r\n");

// `reg query HKLM\Software\WOW6432Node\Python /s` on a German Windows: an old 32-bit install
// with only InstallPath's default value, the launcher's own key, and a third-party company.
const REG_HKLM_WOW_DE = [
  "",
  "HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Python\\PyLauncher",
  "    InstallDir    REG_SZ    C:\\Windows\\",
  "",
  "HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Python\\PythonCore\\3.7-32",
  "    Version    REG_SZ    3.7.9",
  "",
  "HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Python\\PythonCore\\3.7-32\\InstallPath",
  "    (Standard)    REG_SZ    C:\\Program Files (x86)\\Python37-32\\",
  "",
  "HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Python\\ContinuumAnalytics\\Anaconda39-64\\InstallPath",
  "    (Standard)    REG_SZ    C:\\ProgramData\\Anaconda3",
  "    ExecutablePath    REG_SZ    C:\\ProgramData\\Anaconda3\\python.exe",
  "",
].join("\r\n");

Deno.test("parsePyListPaths() reads the 3.11+ launcher's list, tags and default mark", () => {
  assertEquals(parsePyListPaths(PY_LIST_PATHS_NEW), [
    {
      tag: "3.13",
      path: "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python313\\python.exe",
      isDefault: true,
    },
    {
      tag: "3.13t",
      path: "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python313\\python3.13t.exe",
      isDefault: false,
    },
    {
      tag: "3.11",
      path: "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python311\\python.exe",
      isDefault: false,
    },
    { tag: "3.8-32", path: "C:\\Program Files (x86)\\Python38-32\\python.exe", isDefault: false },
    {
      tag: "ContinuumAnalytics/Anaconda39-64",
      path: "C:\\Users\\me\\anaconda3\\python.exe",
      isDefault: false,
    },
  ]);
});

Deno.test("parsePyListPaths() reads the old launcher's list, skipping its heading", () => {
  assertEquals(parsePyListPaths(PY_LIST_PATHS_OLD), [
    { tag: "3.9-64", path: "C:\\Python39\\python.exe", isDefault: true },
    { tag: "3.7-32", path: "C:\\Python37-32\\python.exe", isDefault: false },
  ]);
  assertEquals(parsePyListPaths("No installed Pythons found!\r\n"), []);
});

Deno.test("parseRegQuery() reads PEP 514 InstallPath keys and ignores the other subkeys", () => {
  assertEquals(parseRegQuery(REG_HKCU), [{
    company: "PythonCore",
    tag: "3.10",
    executable: "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python310\\python.exe",
    version: "3.10.11",
  }]);
});

Deno.test("parseRegQuery() falls back to InstallPath's default value in any language", () => {
  assertEquals(parseRegQuery(REG_HKLM_WOW_DE), [
    {
      company: "PythonCore",
      tag: "3.7-32",
      executable: "C:\\Program Files (x86)\\Python37-32\\python.exe",
      version: "3.7.9",
    },
    {
      company: "ContinuumAnalytics",
      tag: "Anaconda39-64",
      executable: "C:\\ProgramData\\Anaconda3\\python.exe",
      version: null,
    },
  ]);
  assertEquals(
    parseRegQuery("ERROR: The system was unable to find the specified registry key or value.\r\n"),
    [],
  );
});

Deno.test("parseCoreTag() reads PythonCore tags", () => {
  assertEquals(parseCoreTag("3.12"), {
    implementation: "cpython",
    release: [3, 12],
    freeThreaded: false,
  });
  assertEquals(parseCoreTag("3.13t")?.freeThreaded, true);
  assertEquals(parseCoreTag("3.7-32")?.release, [3, 7]);
  assertEquals(parseCoreTag("ContinuumAnalytics/Anaconda39-64"), null);
});

Deno.test("parseInstallName() reads pyenv and uv directory names", () => {
  const pyenv = (name: string) => parseInstallName(name, "pyenv");
  const uv = (name: string) => parseInstallName(name, "uv");
  assertEquals(pyenv("3.12.1"), {
    implementation: "cpython",
    release: [3, 12, 1],
    freeThreaded: false,
  });
  assertEquals(pyenv("3.13.0t"), {
    implementation: "cpython",
    release: [3, 13, 0],
    freeThreaded: true,
  });
  assertEquals(pyenv("3.14.0rc1")?.release, [3, 14, 0]);
  assertEquals(pyenv("3.14-dev")?.release, [3, 14]);
  assertEquals(pyenv("pypy3.10-7.3.12"), {
    implementation: "pypy",
    release: [3, 10],
    freeThreaded: false,
  });
  assertEquals(pyenv("miniconda3-latest"), null);
  assertEquals(pyenv("myproject-env"), null);
  assertEquals(uv("cpython-3.12.1-linux-x86_64-gnu"), {
    implementation: "cpython",
    release: [3, 12, 1],
    freeThreaded: false,
  });
  assertEquals(uv("cpython-3.13.0+freethreaded-linux-x86_64-gnu")?.freeThreaded, true);
  assertEquals(uv("cpython-3.12-macos-aarch64-none")?.release, [3, 12]);
  assertEquals(uv("pypy-3.10.14-windows-x86_64-none")?.implementation, "pypy");
  assertEquals(uv(".lock"), null);
});

Deno.test("installNameMismatch() skips only installs whose name rules them out", () => {
  const facts = (name: string) => parseInstallName(name, "pyenv")!;
  assertEquals(installNameMismatch(spec("3.12"), facts("3.12.1")), null);
  assertEquals(installNameMismatch(spec("3.12"), facts("3.11.7")), "its name says 3.11.7");
  assertEquals(installNameMismatch(spec("3.13"), facts("3.13.0t")), "its name says 3.13.0t");
  assertEquals(installNameMismatch(spec("3.13t"), facts("3.13.0t")), null);
  assertEquals(installNameMismatch(spec("pypy"), facts("3.12.1")), "its name says cpython");
  // Names without a micro version may hold any micro version.
  assertEquals(installNameMismatch(spec("pypy3.10"), facts("pypy3.10-7.3.12")), null);
  assertEquals(installNameMismatch(spec(">=3.10.5"), facts("3.10-dev")), null);
  assertEquals(installNameMismatch(spec("==3.10.5"), facts("3.10-dev")), null);
  assertEquals(installNameMismatch(spec("<3.10"), facts("3.10-dev")), "its name says 3.10");
});

Deno.test("versionFileLines() and toolVersions() read version files", () => {
  assertEquals(versionFileLines("# pinned by the team\r\n\r\n  3.12  \n3.11\n"), ["3.12", "3.11"]);
  assertEquals(versionFileLines("\n# nothing\n"), []);
  assertEquals(toolVersions("nodejs 20.1.0\npython 3.12.1 3.11.0 # both\n", "python"), [
    "3.12.1",
    "3.11.0",
  ]);
  assertEquals(toolVersions("nodejs 20.1.0\n", "python"), null);
});

Deno.test("recogniseShim() knows pyenv and asdf shims and nothing else", () => {
  const pyenvShim = [
    "#!/usr/bin/env bash",
    "set -e",
    'export PYENV_ROOT="/home/me/.pyenv"',
    'exec "/home/me/.pyenv/libexec/pyenv" exec "${0##*/}" "$@"',
    "",
  ].join("\n");
  assertEquals(recogniseShim(pyenvShim), { manager: "pyenv", root: "/home/me/.pyenv" });
  const asdfShim = [
    "#!/usr/bin/env bash",
    "# asdf-plugin: python 3.12.1",
    'exec /home/me/.asdf/bin/asdf exec "python3" "$@"',
    "",
  ].join("\n");
  assertEquals(recogniseShim(asdfShim), { manager: "asdf" });
  assertEquals(recogniseShim('#!/bin/sh\nexec /usr/bin/python3 "$@"\n'), null);
  assertEquals(recogniseShim("\x7fELF\x02\x01\x01"), null);
});
