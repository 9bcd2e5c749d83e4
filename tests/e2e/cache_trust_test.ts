/**
 * The cache can be trusted and never spreads damage: it is private whatever the umask, another
 * user's (or an open) cache or entry is not used, a damaged entry of any kind is rebuilt or
 * named, a full disk under the cache does not stop a build, and a relative MKVENV_CACHE_DIR
 * works. Each test looks at what is on disk afterwards and at what mkvenv said.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { join } from "node:path";
import { MKVENV_COMMAND, pyenvPython, run, tempDir, tree } from "../_util.ts";

const PY = pyenvPython("3.12");
const NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];

/** mkvenv with `args` and the cache `cache`, under `umask` when given. */
function mkvenvIn(
  cache: string,
  args: readonly string[],
  options: { umask?: string; cwd?: string; env?: Record<string, string> } = {},
) {
  const umask = options.umask ?? "022";
  return run("sh", ["-c", `umask ${umask} && exec "$@"`, "sh", ...MKVENV_COMMAND, ...args], {
    env: { MKVENV_CACHE_DIR: cache, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
}

/** Run a shell command as user nobody. */
function asNobody(command: string) {
  return run(NOBODY[0]!, [...NOBODY.slice(1), "sh", "-c", command]);
}

/** The venv's pip runs and imports nothing of anyone else's. */
async function pipWorks(env: string): Promise<void> {
  const r = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, new RegExp(`^pip [\\d.]+ from ${env}/lib/python3\\.12/site-packages/pip `));
}

function sitePip(env: string): string {
  return join(env, "lib", "python3.12", "site-packages", "pip");
}

/** The one directory under `cache`/wheels that holds an unpacked wheel. */
function wheelEntry(cache: string): string {
  const names = [...Deno.readDirSync(join(cache, "wheels"))]
    .map((e) => e.name)
    .filter((n) => /^[0-9a-f]{64}$/.test(n));
  assertEquals(names.length, 1, names.join(" "));
  return join(cache, "wheels", names[0]!);
}

function interpreterEntry(cache: string): string {
  const names = [...Deno.readDirSync(join(cache, "interpreters"))].map((e) => e.name);
  assertEquals(names.length, 1, names.join(" "));
  return join(cache, "interpreters", names[0]!);
}

let template: Promise<string> | null = null;

/** A copy at `cache` of a cache filled by one run (with pip, for PY): saves compiling pip. */
async function filledCache(cache: string): Promise<void> {
  template ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "mkvenv-test-template-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const r = await mkvenvIn(join(dir, "cache"), ["-p", PY.exe, join(dir, "v")]);
    assertEquals(r.code, 0, r.stderr);
    return join(dir, "cache");
  })();
  const r = await run("cp", ["-a", await template, cache]);
  assertEquals(r.code, 0, r.stderr);
}

function noInternalError(stderr: string): void {
  assert(!stderr.includes("internal error"), stderr);
}

Deno.test("a cache made under umask 000 is private: nobody can write any of it", async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const cache = join(tmp.path, "cache");
  const r = await mkvenvIn(cache, ["-p", PY.exe, join(tmp.path, "v1")], { umask: "000" });
  assertEquals(r.code, 0, r.stderr);
  const lines = tree(cache);
  assertEquals(lines.find((l) => l.startsWith("d ") && l.endsWith(" .")), "d 700 .");
  const open = lines.filter((l) => /^[df] (\d)(\d)(\d) /.test(l) && /[2367]/.test(l.slice(3, 5)));
  assertEquals(open, [], "nothing writable by group or others");
  // The cached files that venvs hard-link are read-only for everyone.
  const cachedInit = join(wheelEntry(cache), "files", "purelib", "pip", "__init__.py");
  assertEquals((await Deno.stat(cachedInit)).mode! & 0o777, 0o444);
  // Even with the root opened to others, nobody cannot change a byte of it.
  await Deno.chmod(cache, 0o755);
  const before = await Deno.readTextFile(cachedInit);
  const w = await asNobody(`echo 'open("/tmp/owned","w")' >> '${cachedInit}'`);
  assert(w.code !== 0, "nobody's write fails");
  assertEquals(await Deno.readTextFile(cachedInit), before);
  await pipWorks(join(tmp.path, "v1"));
});

Deno.test("an open cache that nobody edited is not used: root's next venv runs none of nobody's code", async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const cache = join(tmp.path, "cache");
  const marker = join(tmp.path, "nobody-was-here");
  const first = await mkvenvIn(cache, ["-p", PY.exe, join(tmp.path, "v1")]);
  assertEquals(first.code, 0, first.stderr);
  // What an older mkvenv left under umask 000: everything writable by everyone.
  assertEquals((await run("chmod", ["-R", "a+rwX", cache])).code, 0);
  const entry = wheelEntry(cache);
  const cachedInit = join(entry, "files", "purelib", "pip", "__init__.py");
  const payload = `open(${JSON.stringify(marker)}, "w").close()`;
  await Deno.mkdir(join(tmp.path, "evil"));
  await Deno.chown(join(tmp.path, "evil"), 65534, 65534);
  const edit = await asNobody(
    `printf '#!/bin/sh\\ntouch ${marker}\\n' > '${tmp.path}/evil/python' && ` +
      `chmod 755 '${tmp.path}/evil/python' && chmod u+w '${cachedInit}' 2>/dev/null; ` +
      `echo '${payload}' >> '${cachedInit}' && ` +
      `sed -i 's|"executable": *"[^"]*"|"executable": "${tmp.path}/evil/python"|' '${
        interpreterEntry(cache)
      }'`,
  );
  assertEquals(edit.code, 0, edit.stderr);
  assert((await Deno.readTextFile(cachedInit)).includes(marker), "nobody did edit the cache");

  const v2 = join(tmp.path, "v2");
  const r = await mkvenvIn(cache, ["-v", "-p", PY.exe, v2]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /the cache .*cache is not used: it is writable by group and others/);
  assert(!(await Deno.readTextFile(join(sitePip(v2), "__init__.py"))).includes(marker));
  await pipWorks(v2);
  const python = await run(join(v2, "bin", "python"), ["-c", "import sys; print(sys.prefix)"]);
  assertEquals(python.stdout.trim(), v2);
  assertEquals(await Deno.realPath(join(v2, "bin", "python")), await Deno.realPath(PY.exe));
  assertEquals(await Deno.lstat(marker).catch(() => null), null, "nobody's code never ran");
});

Deno.test("a cache root or entry that belongs to another user is not used", async () => {
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const marker = join(tmp.path, "nobody-was-here");
  // nobody prepares a whole cache, private to nobody, with a pip that leaves a mark.
  const theirs = join(tmp.path, "theirs");
  await Deno.mkdir(theirs, { mode: 0o700 });
  const seeded = await mkvenvIn(theirs, ["-p", PY.exe, join(tmp.path, "v0")]);
  assertEquals(seeded.code, 0, seeded.stderr);
  const cachedInit = join(wheelEntry(theirs), "files", "purelib", "pip", "__init__.py");
  await Deno.chmod(cachedInit, 0o644);
  await Deno.writeTextFile(cachedInit, `open(${JSON.stringify(marker)}, "w").close()\n`, {
    append: true,
  });
  assertEquals((await run("chown", ["-R", "nobody:nogroup", theirs])).code, 0);

  const v1 = join(tmp.path, "v1");
  const r = await mkvenvIn(theirs, ["-v", "-p", PY.exe, v1]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(
    r.stderr,
    /the cache .*theirs is not used: it belongs to another user \(uid \d+; this is uid 0\)/,
  );
  await pipWorks(v1);
  assertEquals(await Deno.lstat(marker).catch(() => null), null, "nobody's code never ran");

  // In root's own cache, a single entry handed to nobody is not read either.
  const mine = join(tmp.path, "mine");
  assertEquals(
    (await mkvenvIn(mine, ["-p", PY.exe, "--without-pip", join(tmp.path, "v2")])).code,
    0,
  );
  const facts = interpreterEntry(mine);
  assertEquals((await run("chown", ["nobody", facts])).code, 0);
  const again = await mkvenvIn(mine, ["-v", "-p", PY.exe, "--without-pip", join(tmp.path, "v3")], {
    env: { MKVENV_PROBE_LOG: join(tmp.path, "probes") },
  });
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /the cache entry .*\.json is not used: it belongs to another user/);
  assertEquals((await Deno.readTextFile(join(tmp.path, "probes"))).trim(), PY.exe, "probed again");
  assertEquals((await Deno.stat(facts)).uid, 0, "the entry was replaced by root's own");
});

/** A way to damage a filled cache, and what must still hold. */
interface Damage {
  name: string;
  damage(cache: string): Promise<void>;
}

const DAMAGES: Damage[] = [
  {
    name: "a directory where an interpreter entry belongs",
    async damage(cache) {
      const entry = interpreterEntry(cache);
      await Deno.remove(entry);
      await Deno.mkdir(join(entry, "sub"), { recursive: true });
    },
  },
  {
    name: "a file where the interpreters directory belongs",
    async damage(cache) {
      await Deno.remove(join(cache, "interpreters"), { recursive: true });
      await Deno.writeTextFile(join(cache, "interpreters"), "junk");
    },
  },
  {
    name: "garbage in an interpreter entry",
    damage: (cache) => Deno.writeTextFile(interpreterEntry(cache), '{"probe": 1, "vers'),
  },
  {
    name: "a file where the wheels directory belongs",
    async damage(cache) {
      await Deno.remove(join(cache, "wheels"), { recursive: true });
      await Deno.writeTextFile(join(cache, "wheels"), "junk");
    },
  },
  {
    name: "a directory where a wheel index file belongs",
    async damage(cache) {
      const byFile = join(cache, "wheels", "by-file");
      for (const e of Deno.readDirSync(byFile)) {
        await Deno.remove(join(byFile, e.name));
        await Deno.mkdir(join(byFile, e.name));
      }
    },
  },
  {
    name: "a file where an unpacked wheel belongs",
    async damage(cache) {
      const entry = wheelEntry(cache);
      await Deno.remove(entry, { recursive: true });
      await Deno.writeTextFile(entry, "junk");
    },
  },
  {
    name: "a truncated wheel.json",
    async damage(cache) {
      const json = join(wheelEntry(cache), "wheel.json");
      const text = await Deno.readTextFile(json);
      await Deno.chmod(json, 0o644);
      await Deno.writeTextFile(json, text.slice(0, text.length / 2));
    },
  },
  {
    name: "a directory where wheel.json belongs",
    async damage(cache) {
      const json = join(wheelEntry(cache), "wheel.json");
      await Deno.remove(json);
      await Deno.mkdir(json);
    },
  },
  {
    name: "garbage in the bytecode's pyc.json (no install plan stored)",
    async damage(cache) {
      const pyc = join(wheelEntry(cache), "pyc", "cpython-312", "pyc.json");
      await Deno.chmod(pyc, 0o644);
      await Deno.writeTextFile(pyc, "[");
      await Deno.remove(join(wheelEntry(cache), "plans"), { recursive: true });
    },
  },
  {
    name: "a truncated install plan",
    async damage(cache) {
      const plans = join(wheelEntry(cache), "plans");
      for (const e of Deno.readDirSync(plans)) {
        const text = await Deno.readTextFile(join(plans, e.name));
        await Deno.writeTextFile(join(plans, e.name), text.slice(0, text.length - 100));
      }
    },
  },
  {
    name: "a directory where an install plan belongs",
    async damage(cache) {
      const plans = join(wheelEntry(cache), "plans");
      for (const e of Deno.readDirSync(plans)) {
        await Deno.remove(join(plans, e.name));
        await Deno.mkdir(join(plans, e.name, "x"), { recursive: true });
      }
    },
  },
];

for (const d of DAMAGES) {
  Deno.test(`a damaged cache is rebuilt: ${d.name}`, async () => {
    await using tmp = await tempDir();
    const cache = join(tmp.path, "cache");
    await filledCache(cache);
    await d.damage(cache);
    const v2 = join(tmp.path, "v2");
    const r = await mkvenvIn(cache, ["-p", PY.exe, v2]);
    noInternalError(r.stderr);
    assertEquals(r.code, 0, r.stderr);
    await pipWorks(v2);
    // Rebuilt in place: the next run finds a whole cache and no leftovers.
    const lines = tree(cache);
    assert(
      lines.every((l) => !l.includes(".tmp-")),
      lines.filter((l) => l.includes(".tmp-")).join("\n"),
    );
    assert(lines.some((l) => l.startsWith("f 444 wheels/") && l.endsWith("/pip/__init__.py")));
    assert(lines.some((l) => /^f 644 interpreters\/\w+\.json$/.test(l)), lines.join("\n"));
    assert(lines.some((l) => /^f 444 wheels\/\w+\/pyc\/cpython-312\/pyc\.json$/.test(l)));
    assert(lines.some((l) => /^f 644 wheels\/\w+\/plans\/\w+\.json$/.test(l)), lines.join("\n"));
  });
}

Deno.test("a cached file removed by a temporary-file cleaner: the build fails naming the entry, and the next run rebuilds it", async () => {
  await using tmp = await tempDir();
  const cache = join(tmp.path, "cache");
  await filledCache(cache);
  const entry = wheelEntry(cache);
  for (const mode of ["hardlink", "copy", "symlink"]) {
    const cached = join(entry, "files", "purelib", "pip", "_internal", "main.py");
    await Deno.remove(cached);
    const v = join(tmp.path, `v-${mode}`);
    const r = await mkvenvIn(cache, ["-p", PY.exe, "--link-mode", mode, v]);
    noInternalError(r.stderr);
    assertEquals(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("mkvenv: error:"));
    assertEquals(lines, [
      `mkvenv: error: Cannot install pip from the cache entry "${entry}": its file "${cached}" ` +
      `is missing; the entry was removed, so running mkvenv again rebuilds it (to clear the ` +
      `whole cache, remove "${cache}")`,
    ]);
    assertEquals(await Deno.lstat(v).catch(() => null), null, "no venv that looks complete");
    const again = await mkvenvIn(cache, ["-p", PY.exe, "--link-mode", mode, v]);
    assertEquals(again.code, 0, again.stderr);
    await pipWorks(v);
  }
  // A removed bytecode file is the same.
  const pycDir = join(entry, "pyc", "cpython-312");
  const pyc = join(pycDir, "pip", "__pycache__", "__init__.cpython-312.pyc");
  await Deno.remove(pyc);
  const r = await mkvenvIn(cache, ["-p", PY.exe, join(tmp.path, "v-pyc")]);
  assertEquals(r.code, 1, r.stderr);
  assertMatch(r.stderr, new RegExp(`cache entry "${pycDir}": its file "${pyc}" is missing`));
  const again = await mkvenvIn(cache, ["-p", PY.exe, join(tmp.path, "v-pyc")]);
  assertEquals(again.code, 0, again.stderr);
  await pipWorks(join(tmp.path, "v-pyc"));
  await Deno.stat(pyc);
});

Deno.test("editing a hard-linked pip file in place fails loudly; --link-mode copy gives a venv its own", async () => {
  // Read-only files stop their owner, not root: the venvs are made and edited by nobody, with
  // Debian's Python (nobody cannot reach pyenv's under /root).
  await using tmp = await tempDir();
  await Deno.chmod(tmp.path, 0o755);
  const home = join(tmp.path, "nobody");
  await Deno.mkdir(home);
  await Deno.chown(home, 65534, 65534);
  const [cmd, ...words] = MKVENV_COMMAND;
  const asNobodyMkvenv = (args: string[]) =>
    run(NOBODY[0]!, [...NOBODY.slice(1), cmd!, ...words, "-p", "/usr/bin/python3.11", ...args], {
      env: { HOME: home, DENO_DIR: join(home, "deno"), MKVENV_CACHE_DIR: join(home, "cache") },
    });
  const v1 = join(home, "v1");
  const v2 = join(home, "v2");
  for (const v of [v1, v2]) {
    const r = await asNobodyMkvenv([v]);
    assertEquals(r.code, 0, r.stderr);
  }
  const site = (v: string) => join(v, "lib", "python3.11", "site-packages", "pip", "__init__.py");
  assertEquals((await Deno.stat(site(v1))).mode! & 0o777, 0o444);
  assertEquals((await Deno.stat(site(v1))).uid, 65534);
  const before = await Deno.readTextFile(site(v2));
  const edit = await asNobody(`echo 'EDITED = 1' >> '${site(v1)}'`);
  assert(edit.code !== 0, "the edit fails");
  assertMatch(edit.stderr, /Permission denied/);
  assertEquals(await Deno.readTextFile(site(v2)), before, "the other venv is unchanged");
  // With copies, the venv's files are its own and writable: an edit changes nothing else.
  const v3 = join(home, "v3");
  assertEquals((await asNobodyMkvenv(["--link-mode", "copy", v3])).code, 0);
  assertEquals((await Deno.stat(site(v3))).mode! & 0o777, 0o644);
  const edit3 = await asNobody(`echo 'EDITED = 1' >> '${site(v3)}'`);
  assertEquals(edit3.code, 0, edit3.stderr);
  assertEquals(await Deno.readTextFile(site(v2)), before);
  assertEquals(await Deno.readTextFile(site(v1)), before);
});

/** Mount a tmpfs of `size` at a new directory under `parent`; null where mounting is not allowed. */
async function tmpfs(parent: string, size: string): Promise<string | null> {
  const dir = join(parent, "mnt");
  await Deno.mkdir(dir);
  const r = await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  if (r.code !== 0) {
    if (Deno.env.get("CI")) throw new Error(`CI needs tmpfs mounts (root): ${r.stderr}`);
    console.log(`note: cannot mount a tmpfs here (${r.stderr.trim()}): test skipped`);
    return null;
  }
  return dir;
}

Deno.test("a full disk under the cache does not stop a build: a temporary cache is used", async () => {
  await using tmp = await tempDir();
  const mnt = await tmpfs(tmp.path, "256k");
  if (mnt === null) return;
  try {
    // Fill the file system to the last block.
    await run("dd", ["if=/dev/zero", `of=${join(mnt, "fill")}`, "bs=4k"]);
    const cache = join(mnt, "cache");
    await Deno.mkdir(cache, { mode: 0o700 }).catch(() => {});
    const v = join(tmp.path, "v");
    const r = await mkvenvIn(cache, ["-v", "-p", PY.exe, v]);
    noInternalError(r.stderr);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /cannot write the interpreter cache .*(No space left|os error 28)/);
    assertMatch(
      r.stderr,
      /the cache .* cannot be used \(.*(No space left|os error 28).*\): using a temporary one/,
    );
    await pipWorks(v);
    const left = tree(mnt).filter((l) => l.includes(".tmp-"));
    assertEquals(left, [], "no half-written entry left in the full cache");
  } finally {
    await run("umount", [mnt]);
  }
});

Deno.test("a relative or ~ MKVENV_CACHE_DIR is made absolute: --link-mode symlink venvs work from anywhere", async () => {
  await using tmp = await tempDir();
  const v1 = join(tmp.path, "v1");
  const r = await mkvenvIn("rel-cache", ["-p", PY.exe, "--link-mode", "symlink", v1], {
    cwd: tmp.path,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals((await Deno.stat(join(tmp.path, "rel-cache"))).isDirectory, true);
  const link = await Deno.readLink(join(sitePip(v1), "__init__.py"));
  assert(link.startsWith(join(tmp.path, "rel-cache") + "/"), link);
  await pipWorks(v1);
  const v2 = join(tmp.path, "v2");
  const home = await mkvenvIn("~/home-cache", ["-p", PY.exe, "--link-mode", "symlink", v2], {
    env: { HOME: tmp.path },
  });
  assertEquals(home.code, 0, home.stderr);
  assert(
    (await Deno.readLink(join(sitePip(v2), "__init__.py"))).startsWith(
      join(tmp.path, "home-cache") + "/",
    ),
  );
  await pipWorks(v2);
  const bad = await mkvenvIn("~nobody/c", ["-p", PY.exe, join(tmp.path, "v3")]);
  assertEquals(bad.code, 1);
  assertEquals(
    bad.stderr.trim(),
    'mkvenv: error: Cannot use the cache directory MKVENV_CACHE_DIR="~nobody/c": only "~" and "~/" are expanded; give the directory as an absolute path',
  );
  assertEquals(await Deno.lstat(join(tmp.path, "v3")).catch(() => null), null);
});

Deno.test("a probe failure is not remembered: a fixed interpreter is probed again on the next run", async () => {
  await using tmp = await tempDir();
  // A copy of the real binary (cacheable, not a script) that finds a broken standard library
  // beside it: its probe fails until the library is fixed; the binary never changes.
  const bin = join(tmp.path, "py", "bin");
  await Deno.mkdir(bin, { recursive: true });
  const python = join(bin, "python3.12");
  await Deno.copyFile(PY.exe, python);
  await Deno.chmod(python, 0o755);
  const lib = join(tmp.path, "py", "lib", "python3.12");
  await Deno.mkdir(lib, { recursive: true });
  await Deno.writeTextFile(join(lib, "os.py"), "raise SystemExit('broken stdlib')\n");
  const cache = join(tmp.path, "cache");
  const r1 = await mkvenvIn(cache, ["-p", python, "--without-pip", join(tmp.path, "v1")]);
  assertEquals(r1.code, 1, r1.stderr);
  assertMatch(r1.stderr, /failed mkvenv's probe/);
  await Deno.remove(join(tmp.path, "py", "lib"), { recursive: true });
  const r2 = await mkvenvIn(cache, ["-p", python, "--without-pip", join(tmp.path, "v2")]);
  assertEquals(r2.code, 0, r2.stderr);
  const r = await run(join(tmp.path, "v2", "bin", "python"), [
    "-c",
    "import sys; print(sys.prefix)",
  ]);
  assertEquals(r.stdout.trim(), join(tmp.path, "v2"));
});
