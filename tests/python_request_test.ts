import { deepEqual as assertEquals } from "node:assert/strict";
import { UsageError } from "../lib/errors.ts";
import type { InterpreterInfo, PythonVersion } from "../lib/discovery/interpreter.ts";
import {
  DEFAULT_REQUEST,
  describeClauses,
  mismatch,
  parsePythonRequest,
  type PythonRequest,
  type SpecRequest,
} from "../lib/discovery/python_request.ts";
import { factsFor, thrown } from "./_stub_python.ts";

function spec(text: string): SpecRequest {
  const request = parsePythonRequest(text);
  if (request.kind !== "spec") throw new Error(`${text} parsed as ${request.kind}`);
  return request;
}

function info(
  implementation: string,
  version: PythonVersion,
  gilDisabled = false,
): InterpreterInfo {
  return factsFor("/x/python", { implementation, version, gilDisabled });
}

Deno.test("parsePythonRequest() reads paths: absolute, relative, home, Windows", () => {
  const cases: [string, PythonRequest][] = [
    ["/opt/py/bin/python", { kind: "path", path: "/opt/py/bin/python" }],
    ["./venv", { kind: "path", path: "./venv" }],
    ["bin/python3", { kind: "path", path: "bin/python3" }],
    ["~/py/bin/python3", { kind: "path", path: "~/py/bin/python3" }],
    [".", { kind: "path", path: "." }],
    ["C:\\Python312\\python.exe", { kind: "path", path: "C:\\Python312\\python.exe" }],
    ["C:/Python312", { kind: "path", path: "C:/Python312" }],
    ["\\\\server\\share\\python.exe", { kind: "path", path: "\\\\server\\share\\python.exe" }],
  ];
  for (const [text, expected] of cases) assertEquals(parsePythonRequest(text), expected, text);
});

Deno.test("parsePythonRequest() reads command names that are not versions", () => {
  for (const name of ["mypython", "python3-dbg", "python3.x", "jython", "pythonista", "py"]) {
    assertEquals(parsePythonRequest(name), { kind: "command", name });
  }
});

Deno.test("parsePythonRequest() reads versions 3, 3.12, 3.12.1, 312 and the t suffix", () => {
  const cases: [string, number[], boolean][] = [
    ["3", [3], false],
    ["3.12", [3, 12], false],
    ["3.12.1", [3, 12, 1], false],
    ["312", [3, 12], false],
    ["3.13t", [3, 13], true],
    ["3.13.0t", [3, 13, 0], true],
  ];
  for (const [text, release, t] of cases) {
    const r = spec(text);
    assertEquals(r.implementation, null, text);
    assertEquals(r.clauses, [{ op: "prefix", release, wildcard: false }], text);
    assertEquals(r.freeThreaded, t, text);
    assertEquals(r.commands, [], text);
    assertEquals(r.minimum, null, text);
  }
});

Deno.test("parsePythonRequest() reads implementations with and without versions", () => {
  const cases: [string, string | null, number[] | null, string[]][] = [
    ["cpython", "cpython", null, []],
    ["cpython3.12", "cpython", [3, 12], []],
    ["cpython-3.12", "cpython", [3, 12], []],
    ["cpython@3.12.1", "cpython", [3, 12, 1], []],
    ["CPython3.11", "cpython", [3, 11], []],
    ["pypy", "pypy", null, ["pypy"]],
    ["pypy3", "pypy", [3], ["pypy3"]],
    ["pypy3.10", "pypy", [3, 10], ["pypy3.10"]],
    ["pypy@3.10", "pypy", [3, 10], []],
    ["python", null, null, ["python"]],
    ["python3", null, [3], ["python3"]],
    ["python3.11", null, [3, 11], ["python3.11"]],
  ];
  for (const [text, implementation, release, commands] of cases) {
    const r = spec(text);
    assertEquals(r.implementation, implementation, text);
    assertEquals(
      r.clauses,
      release === null ? [] : [{ op: "prefix", release, wildcard: false }],
      text,
    );
    assertEquals(r.commands, commands, text);
    assertEquals(r.freeThreaded, false, text);
  }
  assertEquals(spec("python3.13t").freeThreaded, true);
  assertEquals(spec("python3.13t").commands, ["python3.13t"]);
});

Deno.test("parsePythonRequest() reads version ranges, with or without an implementation", () => {
  assertEquals(spec(">=3.10,<3.13").clauses, [
    { op: ">=", release: [3, 10], wildcard: false },
    { op: "<", release: [3, 13], wildcard: false },
  ]);
  assertEquals(spec(">= 3.10, != 3.11.*").clauses, [
    { op: ">=", release: [3, 10], wildcard: false },
    { op: "!=", release: [3, 11], wildcard: true },
  ]);
  assertEquals(spec("~=3.10").clauses, [{ op: "~=", release: [3, 10], wildcard: false }]);
  assertEquals(spec("==3.12.*").clauses, [{ op: "==", release: [3, 12], wildcard: true }]);
  const pypy = spec("pypy>=3.9");
  assertEquals(pypy.implementation, "pypy");
  assertEquals(describeClauses(pypy.clauses), ">=3.9");
  assertEquals(describeClauses(spec("<=3.12,>3.8,~=3.9.1").clauses), "<=3.12,>3.8,~=3.9.1");
});

Deno.test("parsePythonRequest() refuses other text with a usage error listing the forms", () => {
  for (
    const bad of [
      "",
      " ",
      "3.",
      "3.x",
      "3.12.1.4",
      ">=3.10,",
      ">=",
      "=>3.10",
      "~=3",
      ">=3.13t",
      "<3.*",
      "-3.12",
      "@3.12",
      "python 3",
      "3.12 ",
      "pypy!",
    ]
  ) {
    const e = thrown(() => parsePythonRequest(bad), UsageError);
    assertEquals(
      e.message,
      `Invalid Python request ${
        JSON.stringify(bad)
      } in -p/--python: expected a path, a command name, a version (3, 3.12, 3.12.1, 3.13t), ` +
        "an implementation with or without a version (cpython3.12, pypy3.10, pypy) or a version " +
        "range (>=3.10,<3.13)",
    );
  }
  const e = thrown(() => parsePythonRequest("3.x", "MKVENV_PYTHON"), UsageError);
  assertEquals(e.message.startsWith('Invalid Python request "3.x" in MKVENV_PYTHON: '), true);
});

Deno.test("mismatch() applies versions as prefixes and ranges with PEP 440 comparisons", () => {
  const accepts = (text: string, version: PythonVersion) =>
    mismatch(spec(text), info("cpython", version)) === null;
  assertEquals(accepts("3", [3, 12, 1]), true);
  assertEquals(accepts("3.12", [3, 12, 1]), true);
  assertEquals(accepts("3.12", [3, 1, 2]), false);
  assertEquals(accepts("3.1", [3, 12, 0]), false);
  assertEquals(accepts("3.12.1", [3, 12, 1]), true);
  assertEquals(accepts("3.12.1", [3, 12, 10]), false);
  assertEquals(accepts(">=3.10,<3.13", [3, 12, 9]), true);
  assertEquals(accepts(">=3.10,<3.13", [3, 13, 0]), false);
  assertEquals(accepts(">=3.10,<3.13", [3, 9, 18]), false);
  assertEquals(accepts(">3.12", [3, 12, 1]), true);
  assertEquals(accepts("<=3.12", [3, 12, 1]), false, "PEP 440: <=3.12 means up to 3.12.0");
  assertEquals(accepts("==3.12", [3, 12, 0]), true);
  assertEquals(accepts("==3.12", [3, 12, 1]), false);
  assertEquals(accepts("==3.12.*", [3, 12, 1]), true);
  assertEquals(accepts("!=3.11.*", [3, 11, 7]), false);
  assertEquals(accepts("!=3.11.*", [3, 12, 0]), true);
  assertEquals(accepts("~=3.10", [3, 13, 0]), true);
  assertEquals(accepts("~=3.10", [4, 0, 0]), false);
  assertEquals(accepts("~=3.10.2", [3, 10, 5]), true);
  assertEquals(accepts("~=3.10.2", [3, 11, 0]), false);
});

Deno.test("mismatch() checks the implementation and free-threading and says why", () => {
  assertEquals(mismatch(spec("pypy3.9"), info("pypy", [3, 9, 16])), null);
  assertEquals(mismatch(spec("pypy"), info("cpython", [3, 9, 18])), "CPython 3.9.18 is not PyPy");
  assertEquals(
    mismatch(spec("cpython3.9"), info("pypy", [3, 9, 16])),
    "PyPy 3.9.16 is not CPython",
  );
  assertEquals(mismatch(spec("3.9"), info("pypy", [3, 9, 16])), null, "no implementation: any");
  assertEquals(
    mismatch(spec("3.13"), info("cpython", [3, 13, 0], true)),
    "CPython 3.13.0t is a free-threaded build: ask for 3.13t to use it",
  );
  assertEquals(mismatch(spec("3.13t"), info("cpython", [3, 13, 0], true)), null);
  assertEquals(
    mismatch(spec("3.13t"), info("cpython", [3, 13, 0])),
    "CPython 3.13.0 is not a free-threaded build",
  );
  assertEquals(
    mismatch(spec(">=3.10,<3.13"), info("cpython", [3, 13, 0])),
    "CPython 3.13.0 does not satisfy <3.13",
  );
  assertEquals(mismatch(DEFAULT_REQUEST, info("cpython", [3, 13, 0], true)), null);
  assertEquals(mismatch(DEFAULT_REQUEST, info("cpython", [3, 6, 15])), null);
  assertEquals(
    mismatch(DEFAULT_REQUEST, info("cpython", [3, 5, 10])),
    "CPython 3.5.10 is older than 3.6, the oldest mkvenv supports",
  );
});
