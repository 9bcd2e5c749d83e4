import assert from "node:assert/strict";
import { BuildError } from "../lib/errors.ts";
import {
  base64UrlNoPad,
  normalizeName,
  parseEntryPoints,
  parseHeaders,
  parseRecord,
  parseWheelFilename,
  readWheel,
  recordHash,
  renderRecord,
} from "../lib/seed/wheel.ts";
import { writeZip } from "../lib/seed/zip.ts";
import {
  buildWheel,
  bundledWheel,
  DEV_PYTHONS,
  type FixtureWheel,
  PY312,
  run,
} from "./_wheel_fixture.ts";

const encoder = new TextEncoder();

Deno.test("parseWheelFilename() splits name, version, build and compressed tag sets", () => {
  assert.deepEqual(parseWheelFilename("pip-23.2.1-py3-none-any.whl"), {
    distribution: "pip",
    version: "23.2.1",
    build: null,
    pythonTags: ["py3"],
    abiTags: ["none"],
    platformTags: ["any"],
  });
  const built = parseWheelFilename("foo_bar-1.0-2-py2.py3-none-any.whl");
  assert.equal(built?.build, "2");
  assert.deepEqual(built?.pythonTags, ["py2", "py3"]);
  assert.equal(parseWheelFilename("pip-23.2.1.tar.gz"), null);
  assert.equal(parseWheelFilename("pip-23.2.1-py3-none.whl"), null);
  assert.equal(parseWheelFilename("foo-1.0-x-py3-none-any.whl"), null);
});

Deno.test("normalizeName() follows PEP 503", () => {
  assert.equal(normalizeName("Foo.Bar__baz"), "foo-bar-baz");
  assert.equal(normalizeName("pip"), "pip");
});

Deno.test("parseHeaders() reads repeated keys and continuation lines, stops at the body", () => {
  const fields = parseHeaders(
    "Name: demo\nClassifier: A\nClassifier: B\nDescription: first\n  second\n\nBody: no\n",
  );
  assert.deepEqual(fields.get("name"), ["demo"]);
  assert.deepEqual(fields.get("classifier"), ["A", "B"]);
  assert.deepEqual(fields.get("description"), ["first\nsecond"]);
  assert.equal(fields.get("body"), undefined);
});

Deno.test("parseEntryPoints() reads groups, skips comments, drops extras", () => {
  const groups = parseEntryPoints(
    "# comment\n[console_scripts]\npip = pip._internal.cli.main:main\n" +
      "tool=pkg.mod:obj.method [extra1, extra2]\n; other comment\nbad line\n\n" +
      "[gui_scripts]\nwin = pkg.gui:run\n[other.group]\nx = y:z\n",
  );
  assert.deepEqual(groups.get("console_scripts"), [
    { name: "pip", module: "pip._internal.cli.main", attr: "main" },
    { name: "tool", module: "pkg.mod", attr: "obj.method" },
  ]);
  assert.deepEqual(groups.get("gui_scripts"), [{ name: "win", module: "pkg.gui", attr: "run" }]);
  assert.equal(groups.get("other.group")?.length, 1);
});

Deno.test(
  "renderRecord() output is CSV that Python's csv module reads back",
  DEV_PYTHONS,
  async () => {
    const rows = [
      { path: "pkg/plain.py", hash: "sha256=abc", size: "12" },
      { path: 'odd,name "quoted".py', hash: "sha256=def", size: "3" },
      { path: "pkg-1.0.dist-info/RECORD", hash: "", size: "" },
    ];
    const text = renderRecord(rows);
    assert.deepEqual(parseRecord(text), rows);
    const out = await run(PY312, [
      "-c",
      "import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))",
    ], { stdin: text });
    assert.deepEqual(JSON.parse(out.stdout), rows.map((r) => [r.path, r.hash, r.size]));
  },
);

Deno.test(
  "recordHash() matches Python's urlsafe base64 of sha256 without padding",
  DEV_PYTHONS,
  async () => {
    const data = encoder.encode("some bytes for hashing\n");
    const out = await run(PY312, [
      "-c",
      "import base64, hashlib, sys; d = hashlib.sha256(sys.stdin.buffer.read()).digest(); " +
      "print('sha256=' + base64.urlsafe_b64encode(d).decode().rstrip('='))",
    ], { stdin: "some bytes for hashing\n" });
    assert.equal(recordHash(data), out.stdout.trim());
    assert.equal(
      recordHash(new Uint8Array()),
      "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
    );
  },
);

Deno.test(
  "base64UrlNoPad() matches Python's urlsafe base64 without padding, at every length",
  DEV_PYTHONS,
  async () => {
    const inputs = Array.from(
      { length: 70 },
      (_, n) => Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31 + 250) & 255),
    );
    const out = await run(PY312, [
      "-c",
      "import base64, json, sys\n" +
      "for data in json.load(sys.stdin):\n" +
      "    print(base64.urlsafe_b64encode(bytes(data)).decode().rstrip('='))",
    ], { stdin: JSON.stringify(inputs.map((bytes) => [...bytes])) });
    assert.deepEqual(
      inputs.map(base64UrlNoPad),
      out.stdout.split("\n").slice(0, -1),
    );
  },
);

Deno.test(
  "readWheel() reads pip's bundled wheel: every file checked against RECORD",
  DEV_PYTHONS,
  async () => {
    const path = bundledWheel("3.13.0", "pip");
    const { wheel, contents } = await readWheel(await Deno.readFile(path), path);
    assert.equal(wheel.name, "pip");
    assert.equal(wheel.version, "24.2");
    assert.equal(wheel.distInfo, "pip-24.2.dist-info");
    assert.equal(wheel.requiresPython, ">=3.8");
    assert.deepEqual(wheel.consoleScripts.map((e) => e.name), ["pip", "pip3"]);
    const record = parseRecord(new TextDecoder().decode(contents.get("pip-24.2.dist-info/RECORD")));
    assert.equal(wheel.files.length, record.length - 1);
    assert.ok(wheel.files.every((f) => f.category === "purelib" && f.hash.startsWith("sha256=")));
    const launcher = wheel.files.find((f) => f.path === "pip/_vendor/distlib/t64.exe");
    assert.equal(launcher?.size, contents.get("pip/_vendor/distlib/t64.exe")?.length);
  },
);

Deno.test("readWheel() sorts .data files into their PEP 491 categories", async () => {
  const bytes = buildWheel({
    name: "demo",
    version: "1.0",
    files: {
      "demo/__init__.py": "",
      "demo-1.0.data/scripts/run-demo": "#!python\nprint('hi')\n",
      "demo-1.0.data/scripts/plain.sh": "#!/bin/sh\necho hi\n",
      "demo-1.0.data/headers/demo.h": "int x;\n",
      "demo-1.0.data/data/share/demo/readme.txt": "data\n",
      "demo-1.0.data/platlib/demo_ext.py": "",
    },
  });
  const { wheel } = await readWheel(bytes, "/x/demo-1.0-py3-none-any.whl");
  const by = (p: string) => wheel.files.find((f) => f.archivePath === p)!;
  assert.deepEqual(
    [by("demo-1.0.data/scripts/run-demo").category, by("demo-1.0.data/scripts/run-demo").path],
    ["scripts", "run-demo"],
  );
  assert.equal(by("demo-1.0.data/scripts/run-demo").pythonScript, true);
  assert.equal(by("demo-1.0.data/scripts/plain.sh").pythonScript, false);
  assert.equal(by("demo-1.0.data/scripts/plain.sh").mode, 0o755);
  assert.equal(by("demo-1.0.data/headers/demo.h").category, "headers");
  assert.equal(by("demo-1.0.data/data/share/demo/readme.txt").path, "share/demo/readme.txt");
  assert.equal(by("demo-1.0.data/platlib/demo_ext.py").category, "platlib");
  assert.equal(by("demo/__init__.py").category, "purelib");
});

const GOOD: FixtureWheel = {
  name: "demo",
  version: "1.0",
  files: { "demo/__init__.py": "x = 1\n" },
};

async function rejects(spec: FixtureWheel | Uint8Array, pattern: RegExp): Promise<void> {
  const bytes = spec instanceof Uint8Array ? spec : buildWheel(spec);
  await assert.rejects(
    () => readWheel(bytes, "/w/demo-1.0-py3-none-any.whl"),
    (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.match(e.message, pattern);
      assert.match(e.message, /^Cannot use the wheel "\/w\/demo-1.0-py3-none-any.whl": /);
      return true;
    },
  );
}

Deno.test("readWheel() refuses a file whose hash does not match RECORD", async () => {
  await rejects({
    ...GOOD,
    editRecord: (rows) => (rows[rows.length - 2]!.hash = "sha256=" + "A".repeat(43)),
  }, /hash of "demo\/__init__.py" does not match RECORD/);
});

Deno.test("readWheel() refuses a file RECORD does not list", async () => {
  await rejects(
    { ...GOOD, editRecord: (rows) => rows.splice(rows.length - 2, 1) },
    /RECORD does not list/,
  );
});

Deno.test("readWheel() refuses a weak or missing hash", async () => {
  await rejects(
    { ...GOOD, editRecord: (rows) => (rows[rows.length - 2]!.hash = "md5=abc") },
    /no sha256/,
  );
});

Deno.test("readWheel() refuses paths that would escape the install directories", async () => {
  for (const evil of ["../evil.py", "/etc/evil", "demo/../../evil.py", "C:/evil.py"]) {
    await rejects({ ...GOOD, files: { ...GOOD.files, [evil]: "boom" } }, /unsafe path/);
  }
});

Deno.test("readWheel() refuses an unknown Wheel-Version, a missing .dist-info, a wrong name", async () => {
  await rejects({ ...GOOD, wheelVersion: "2.0" }, /Wheel-Version is "2.0"/);
  await rejects(
    writeZip([{ name: "demo/__init__.py", data: encoder.encode("") }]),
    /no \.dist-info/,
  );
  await rejects({ ...GOOD, name: "other" }, /does not match the file name/);
  await rejects(encoder.encode("not a zip"), /not a valid ZIP archive/);
});

Deno.test("readWheel() refuses a wheel that unpacks to more than 512 MiB before inflating it", async () => {
  const bytes = buildWheel({
    name: "demo",
    version: "1.0",
    files: { "demo/__init__.py": "x = 1\n" },
  });
  // Declare 2 GiB for the first member in the central directory (its size field at +24).
  const patched = bytes.slice();
  const dv = new DataView(patched.buffer);
  let at = patched.length - 22;
  at = dv.getUint32(at + 16, true); // the central directory's offset, from the end record
  dv.setUint32(at + 24, 0x7fffffff, true);
  await assert.rejects(
    () => readWheel(patched, "/x/demo-1.0-py3-none-any.whl"),
    (e: unknown) =>
      e instanceof BuildError && /unpacks to \d+ bytes, more than the 536870912/.test(e.message),
  );
});

Deno.test("readWheel() refuses a wheel holding one path both as a file and as a directory", async () => {
  const bytes = buildWheel({
    name: "demo",
    version: "1.0",
    files: { "demo/__init__.py": "", "demo/x": "file", "demo/x/y.py": "" },
  });
  await assert.rejects(
    () => readWheel(bytes, "/x/demo-1.0-py3-none-any.whl"),
    (e: unknown) =>
      e instanceof BuildError &&
      /holds "demo\/x" both as a file and as a directory/.test(e.message),
  );
});
