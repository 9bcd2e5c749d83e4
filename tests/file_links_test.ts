import assert from "node:assert/strict";
import { join } from "node:path";
import { FilePlacer, parseLinkMode } from "../lib/disk/file_links.ts";

async function withFiles(fn: (dir: string, source: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    const source = join(dir, "source.py");
    await Deno.writeTextFile(source, "print('cached')\n");
    await Deno.utime(source, 1_000_000, 1_000_000);
    await fn(dir, source);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("parseLinkMode() accepts hardlink, copy and symlink only", () => {
  assert.equal(parseLinkMode("hardlink"), "hardlink");
  assert.equal(parseLinkMode("symlink"), "symlink");
  assert.equal(parseLinkMode("reflink"), null);
});

Deno.test("FilePlacer places hard links, copies (keeping mtime) and symbolic links", async () => {
  await withFiles(async (dir, source) => {
    const st = await Deno.stat(source);
    new FilePlacer("hardlink").place(source, join(dir, "hard.py"));
    assert.equal((await Deno.stat(join(dir, "hard.py"))).ino, st.ino);
    new FilePlacer("copy").place(source, join(dir, "copy.py"));
    const copy = await Deno.stat(join(dir, "copy.py"));
    assert.notEqual(copy.ino, st.ino);
    assert.equal(copy.mtime?.getTime(), st.mtime?.getTime());
    assert.equal(await Deno.readTextFile(join(dir, "copy.py")), "print('cached')\n");
    new FilePlacer("symlink").place(source, join(dir, "sym.py"));
    assert.equal(await Deno.readLink(join(dir, "sym.py")), source);
  });
});

function otherDevice(): boolean {
  try {
    return Deno.statSync("/dev/shm").dev !== Deno.statSync(Deno.env.get("TMPDIR") ?? "/tmp").dev;
  } catch {
    return false;
  }
}

Deno.test({
  name: "FilePlacer falls back from hard links to copies across file systems",
  ignore: !otherDevice(), // needs a tmpfs /dev/shm beside the temporary directory
  async fn() {
    const other = await Deno.makeTempDir({ dir: "/dev/shm" });
    try {
      await withFiles(async (_dir, source) => {
        const lines: string[] = [];
        const placer = new FilePlacer("hardlink", (l) => lines.push(l));
        placer.place(source, join(other, "a.py"));
        placer.place(source, join(other, "b.py"));
        assert.equal(placer.mode, "copy");
        assert.equal(lines.length, 1);
        assert.equal(await Deno.readTextFile(join(other, "b.py")), "print('cached')\n");
      });
    } finally {
      await Deno.remove(other, { recursive: true });
    }
  },
});

Deno.test("FilePlacer replaces an existing target without writing into its inode", async () => {
  await withFiles(async (dir, source) => {
    // The target is a hard link to some other shared file, as after an interrupted run.
    const shared = join(dir, "shared.py");
    await Deno.writeTextFile(shared, "shared content\n");
    for (const mode of ["copy", "hardlink", "symlink"] as const) {
      const target = join(dir, `target-${mode}.py`);
      await Deno.link(shared, target);
      new FilePlacer(mode).place(source, target);
      assert.equal(await Deno.readTextFile(target), "print('cached')\n");
      assert.equal(await Deno.readTextFile(shared), "shared content\n", mode);
    }
  });
});
