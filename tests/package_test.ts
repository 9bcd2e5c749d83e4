/**
 * scripts/package.ts, the release archives: named by version and target, each holding only the
 * executable with mode 0755, read back by the system's tar and unzip and by Python's tarfile and
 * zipfile; SHA256SUMS accepted by `sha256sum -c` (as the README tells users to check) and
 * refusing a changed archive; the same bytes for the same input (reproducible).
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import { archiveName, packageRelease, TARGETS } from "../scripts/package.ts";
import { which } from "./_shells.ts";
import { run, tempDir } from "./_util.ts";

const POSIX = Deno.build.os !== "windows";

Deno.test("archiveName() names each of the six targets' archives by version and target", () => {
  assertEquals(TARGETS.map((t) => archiveName("1.2.3", t)), [
    "mkvenv-1.2.3-x86_64-unknown-linux-gnu.tar.gz",
    "mkvenv-1.2.3-aarch64-unknown-linux-gnu.tar.gz",
    "mkvenv-1.2.3-x86_64-apple-darwin.tar.gz",
    "mkvenv-1.2.3-aarch64-apple-darwin.tar.gz",
    "mkvenv-1.2.3-x86_64-pc-windows-msvc.zip",
    "mkvenv-1.2.3-aarch64-pc-windows-msvc.zip",
  ]);
});

Deno.test({
  name:
    "packageRelease() writes archives the system's tools read, and SHA256SUMS that sha256sum checks",
  ignore: !POSIX || which("sha256sum") === null || which("unzip") === null,
  async fn() {
    await using tmp = await tempDir();
    // A binary of a few hundred kilobytes that does not compress to nothing.
    const binary = new Uint8Array(300_000);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 2654435761) >>> 24;
    const path = join(tmp.path, "bin");
    await Deno.writeFile(path, binary);
    const out = join(tmp.path, "release");
    const names = await packageRelease("0.3.0", TARGETS.map((t) => [t, path] as const), {
      out,
      mtime: 1_700_000_000,
    });
    assertEquals(names, [...TARGETS.map((t) => archiveName("0.3.0", t)), "SHA256SUMS"]);
    const check = await run("sha256sum", ["--strict", "-c", "SHA256SUMS"], { cwd: out });
    assertEquals(check.code, 0, check.stdout + check.stderr);
    assertEquals(check.stdout.trim().split("\n").length, 6);

    const tarList = await run("tar", ["-tvzf", join(out, archiveName("0.3.0", TARGETS[0]))]);
    assert(
      /^-rwxr-xr-x \S+ +300000 2023-11-1[45] \S+ mkvenv$/.test(tarList.stdout.trim()),
      tarList.stdout,
    );
    const unzipList = await run("unzip", ["-Z", join(out, archiveName("0.3.0", TARGETS[4]))]);
    assert(/^-rwxr-xr-x .* defN .* mkvenv\.exe$/m.test(unzipList.stdout), unzipList.stdout);
    for (const [target, member] of [[TARGETS[1], "mkvenv"], [TARGETS[5], "mkvenv.exe"]] as const) {
      const x = join(tmp.path, `x-${target}`);
      await Deno.mkdir(x);
      const archive = join(out, archiveName("0.3.0", target));
      const r = target.endsWith("msvc")
        ? await run("unzip", ["-q", archive, "-d", x])
        : await run("tar", ["-xzf", archive, "-C", x]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals([...Deno.readDirSync(x)].map((e) => e.name), [member]);
      assertEquals(await Deno.readFile(join(x, member)), binary);
    }
    const python = which("python3");
    if (python !== null) {
      const r = await run(python, [
        "-c",
        "import sys, tarfile, zipfile\n" +
        "t = tarfile.open(sys.argv[1]); m = t.getmembers(); assert [x.name for x in m] == ['mkvenv'] and m[0].mode == 0o755\n" +
        "z = zipfile.ZipFile(sys.argv[2]); assert z.testzip() is None and z.namelist() == ['mkvenv.exe']\n" +
        "assert t.extractfile('mkvenv').read() == z.read('mkvenv.exe')\n",
        join(out, archiveName("0.3.0", TARGETS[2])),
        join(out, archiveName("0.3.0", TARGETS[4])),
      ]);
      assertEquals(r.code, 0, r.stderr);
    }

    // A changed archive fails the check; the same input gives the same bytes.
    const again = join(tmp.path, "again");
    await packageRelease("0.3.0", TARGETS.map((t) => [t, path] as const), {
      out: again,
      mtime: 1_700_000_000,
    });
    assertEquals(
      await Deno.readTextFile(join(again, "SHA256SUMS")),
      await Deno.readTextFile(join(out, "SHA256SUMS")),
    );
    const damaged = join(out, archiveName("0.3.0", TARGETS[3]));
    const bytes = await Deno.readFile(damaged);
    bytes[bytes.length >> 1]! ^= 1;
    await Deno.writeFile(damaged, bytes);
    const bad = await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: out });
    assert(
      bad.code !== 0 && bad.stdout.includes(`${archiveName("0.3.0", TARGETS[3])}: FAILED`),
      bad.stdout,
    );
  },
});

Deno.test("packageRelease() refuses a version that is not X.Y.Z", async () => {
  await using tmp = await tempDir();
  await rejects(
    packageRelease("latest", [], { out: tmp.path }),
    /Cannot package version "latest": expected X.Y.Z/,
  );
});
