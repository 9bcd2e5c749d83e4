import assert from "node:assert/strict";
import {
  concatBytes,
  crc32,
  readZipEntries,
  readZipEntry,
  writeZip,
  ZipError,
} from "../lib/seed/zip.ts";
import { DEV_PYTHONS, PY312, run } from "./_wheel_fixture.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("crc32() gives the standard check value of 123456789", () => {
  assert.deepEqual(crc32(encoder.encode("123456789")), 0xcbf43926);
  assert.deepEqual(crc32(new Uint8Array()), 0);
});

Deno.test(
  "writeZip() output reads back with readZipEntries() and Python's zipfile",
  DEV_PYTHONS,
  async () => {
    const zip = writeZip([
      { name: "a.txt", data: encoder.encode("hello") },
      { name: "dir/ü.py", data: encoder.encode("print('x')\n"), mode: 0o755 },
    ]);
    const entries = readZipEntries(zip);
    assert.deepEqual(entries.map((e) => e.name), ["a.txt", "dir/ü.py"]);
    assert.deepEqual(entries[1]!.mode, 0o755);
    assert.deepEqual(decoder.decode(await readZipEntry(zip, entries[0]!)), "hello");
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/x.zip`, zip);
      const out = await run(PY312, [
        "-c",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; " +
        "print(z.read('dir/ü.py').decode(), end='')",
        `${dir}/x.zip`,
      ]);
      assert.deepEqual(out.stderr, "");
      assert.deepEqual(out.stdout, "print('x')\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("readZipEntries() finds members behind prepended bytes (a launcher)", async () => {
  const zip = writeZip([{ name: "__main__.py", data: encoder.encode("pass\n") }]);
  const exe = concatBytes([encoder.encode("MZ fake launcher bytes\n#!python\n"), zip]);
  const [entry] = readZipEntries(exe);
  assert.deepEqual(decoder.decode(await readZipEntry(exe, entry!)), "pass\n");
});

Deno.test(
  "readZipEntry() inflates the deflated members Python's zipfile writes",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const script = "import sys, zipfile\n" +
        "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n" +
        "    z.writestr('big.txt', 'line of text\\n' * 5000)\n";
      const out = await run(PY312, ["-c", script, `${dir}/d.zip`]);
      assert.equal(out.code, 0, out.stderr);
      const zip = await Deno.readFile(`${dir}/d.zip`);
      const [entry] = readZipEntries(zip);
      assert.equal(entry!.method, 8);
      assert.ok(entry!.compressedSize < entry!.size);
      assert.equal(decoder.decode(await readZipEntry(zip, entry!)), "line of text\n".repeat(5000));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "readZipEntries() reads a ZIP64 archive (more than 65535 members)",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const script = "import sys, zipfile\n" +
        "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n" +
        "    for i in range(65536): z.writestr(str(i), b'')\n" +
        "    z.writestr('last.txt', b'the end')\n";
      const out = await run(PY312, ["-c", script, `${dir}/z64.zip`]);
      assert.equal(out.code, 0, out.stderr);
      const zip = await Deno.readFile(`${dir}/z64.zip`);
      const entries = readZipEntries(zip);
      assert.equal(entries.length, 65537);
      assert.equal(decoder.decode(await readZipEntry(zip, entries.at(-1)!)), "the end");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("readZipEntry() rejects a member whose bytes were damaged", async () => {
  const zip = writeZip([{ name: "a.txt", data: encoder.encode("hello world") }]);
  const damaged = zip.slice();
  damaged[35] = damaged[35]! ^ 0xff; // the first data byte, after the 30-byte header and name
  const [entry] = readZipEntries(damaged);
  await assert.rejects(
    () => readZipEntry(damaged, entry!),
    (e: unknown) => e instanceof ZipError && /CRC-32/.test(e.message),
  );
});

Deno.test("readZipEntries() rejects bytes that are not an archive", () => {
  assert.throws(() => readZipEntries(encoder.encode("not a zip at all")), ZipError);
  assert.throws(() => readZipEntries(new Uint8Array(100)), ZipError);
});

Deno.test(
  "readZipEntry() stops inflating once a member passes the size its header declares",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      // 64 MB of zeros deflate to 64 KB: a header declaring 1000 bytes must stop it early.
      const script = "import sys, zipfile\n" +
        "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n" +
        "    z.writestr('bomb.txt', bytes(64 * 1024 * 1024))\n";
      const out = await run(PY312, ["-c", script, `${dir}/b.zip`]);
      assert.equal(out.code, 0, out.stderr);
      const zip = await Deno.readFile(`${dir}/b.zip`);
      const [entry] = readZipEntries(zip);
      await assert.rejects(
        () => readZipEntry(zip, { ...entry!, size: 1000 }),
        (e: unknown) =>
          e instanceof ZipError &&
          /"bomb\.txt" does not inflate: it inflates to more than the 1000 bytes/.test(e.message),
      );
      assert.equal((await readZipEntry(zip, entry!)).length, 64 * 1024 * 1024, "as declared: read");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "readZipEntry() never holds much more than a member declares: 256 MiB of zeros stays out",
  { ignore: DEV_PYTHONS.ignore || Deno.build.os !== "linux" },
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const script = "import sys, zipfile\n" +
        "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n" +
        "    z.writestr('bomb.txt', bytes(256 * 1024 * 1024))\n";
      assert.equal((await run(PY312, ["-c", script, `${dir}/b.zip`])).code, 0);
      const zipModule = new URL("../lib/seed/zip.ts", import.meta.url).href;
      await Deno.writeTextFile(
        `${dir}/read.ts`,
        `import { readZipEntries, readZipEntry } from ${JSON.stringify(zipModule)};\n` +
          `const zip = Deno.readFileSync(${JSON.stringify(`${dir}/b.zip`)});\n` +
          `const [e] = readZipEntries(zip);\n` +
          `await readZipEntry(zip, { ...e!, size: 10 }).then(() => Deno.exit(3), () => {});\n`,
      );
      const out = await run("/usr/bin/time", [
        "-f",
        "%M",
        Deno.execPath(),
        "run",
        "-A",
        `${dir}/read.ts`,
      ]);
      assert.equal(out.code, 0, out.stderr);
      const peakKiB = Number(out.stderr.trim().split("\n").pop());
      // Deno itself takes about 50 MiB; inflating it all would take 256 MiB more.
      assert.ok(peakKiB < 160 * 1024, `peak ${peakKiB} KiB`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("readZipEntries() calls a length that points past the end damage, not a crash", () => {
  const zip = writeZip([{ name: "a.txt", data: encoder.encode("hello") }]).slice();
  const dv = new DataView(zip.buffer);
  const central = dv.getUint32(zip.length - 22 + 16, true);
  dv.setUint16(central + 28, 60000, true); // the member's name length
  assert.throws(
    () => readZipEntries(zip),
    (e: unknown) => e instanceof ZipError && /runs past its end/.test(e.message),
  );
});
