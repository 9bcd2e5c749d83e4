/**
 * End to end: venvs seeded by mkvenv on every interpreter of the machine, used with their own
 * pip (offline), and the shared cache checked to be untouched afterwards.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseRecord, recordHash } from "../../lib/seed/wheel.ts";
import { bundledWheel, PY312, run, type RunResult, writeWheel } from "../_wheel_fixture.ts";
import { MKVENV_COMMAND, tree } from "../_util.ts";

const ROOT = await Deno.makeTempDir({ prefix: "mkvenv-pipseed-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const CACHE = join(ROOT, "cache");
const WHEELS = join(ROOT, "wheels");
await Deno.mkdir(WHEELS);
const TINY = await writeWheel(WHEELS, {
  name: "tinypkg",
  version: "1.0",
  files: { "tinypkg/__init__.py": "def hello():\n    print('hello from tinypkg')\n" },
  consoleScripts: { "tinypkg-hello": "tinypkg:hello" },
});

/** The environment for mkvenv and the venvs' pip: offline, our cache, no user pip config. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? ROOT,
    MKVENV_CACHE_DIR: CACHE,
    PIP_CONFIG_FILE: "/dev/null",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    PIP_NO_CACHE_DIR: "1",
    PIP_NO_INDEX: "1",
    ...extra,
  };
}

async function mkvenv(args: string[], extra: Record<string, string> = {}): Promise<RunResult> {
  const [cmd, ...words] = MKVENV_COMMAND;
  return await run(cmd!, [...words, ...args], { env: env(extra) });
}

async function ok(cmd: string, args: string[], extra: Record<string, string> = {}) {
  const out = await run(cmd, args, { env: env(extra) });
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}\n${out.stdout}${out.stderr}`);
  return out;
}

async function sitePackages(venv: string): Promise<string> {
  for await (const lib of Deno.readDir(join(venv, "lib"))) {
    const dir = join(venv, "lib", lib.name, "site-packages");
    try {
      await Deno.stat(dir);
      return dir;
    } catch {
      // not this one
    }
  }
  throw new Error(`no site-packages in ${venv}`);
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* walk(path);
    else yield path;
  }
}

/** Check a distribution's RECORD: every row matches its file, every file of it is a row. */
async function checkRecord(site: string, distInfo: string, packageDir: string) {
  const rows = parseRecord(await Deno.readTextFile(join(site, distInfo, "RECORD")));
  const listed = new Set<string>();
  for (const row of rows) {
    const path = join(site, row.path);
    listed.add(path);
    if (row.path === `${distInfo}/RECORD`) continue;
    const data = await Deno.readFile(path);
    assert.equal(recordHash(data), row.hash, row.path);
    assert.equal(String(data.length), row.size, row.path);
  }
  for (const dir of [join(site, distInfo), join(site, packageDir)]) {
    for await (const file of walk(dir)) assert.ok(listed.has(file), `${file} is not in RECORD`);
  }
  assert.equal(await Deno.readTextFile(join(site, distInfo, "INSTALLER")), "mkvenv\n");
}

/** Every cached file still has the hash and size it was cached with. */
async function checkCacheIntact() {
  let checked = 0;
  for await (const entry of Deno.readDir(join(CACHE, "wheels"))) {
    if (!/^[0-9a-f]{64}$/.test(entry.name)) continue;
    const dir = join(CACHE, "wheels", entry.name);
    const { wheel } = JSON.parse(await Deno.readTextFile(join(dir, "wheel.json")));
    for (
      const f of wheel.files as { category: string; path: string; hash: string; size: number }[]
    ) {
      const data = await Deno.readFile(join(dir, "files", f.category, f.path));
      assert.equal(recordHash(data), f.hash, `${dir} ${f.path}`);
      checked++;
    }
    const tags = await Array.fromAsync(Deno.readDir(join(dir, "pyc"))).catch(() => []);
    for (const tag of tags) {
      const { files } = JSON.parse(await Deno.readTextFile(join(dir, "pyc", tag.name, "pyc.json")));
      for (const f of files as { path: string; hash: string }[]) {
        const data = await Deno.readFile(join(dir, "pyc", tag.name, f.path));
        assert.equal(recordHash(data), f.hash, `${dir} ${f.path}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 500, "the cache holds the seeded wheels");
}

/**
 * A copy of a pyenv CPython without `ensurepip`, as Debian and Ubuntu ship it without
 * python3.X-venv: the binary is copied, and lib/pythonX.Y holds links to every part of the
 * standard library except ensurepip (and an empty site-packages).
 */
async function withoutEnsurepip(version: string): Promise<string> {
  const [major, minor] = version.split(".");
  const xy = `${major}.${minor}`;
  const home = join(ROOT, `noensurepip-${version}`);
  const lib = join(home, "lib", `python${xy}`);
  await Deno.mkdir(join(home, "bin"), { recursive: true });
  await Deno.mkdir(join(lib, "site-packages"), { recursive: true });
  const python = join(home, "bin", `python${xy}`);
  await Deno.copyFile(`/root/.pyenv/versions/${version}/bin/python${xy}`, python);
  const stdlib = `/root/.pyenv/versions/${version}/lib/python${xy}`;
  for await (const e of Deno.readDir(stdlib)) {
    if (e.name === "ensurepip" || e.name === "site-packages") continue;
    await Deno.symlink(join(stdlib, e.name), join(lib, e.name));
  }
  const check = await run(python, ["-c", "import ensurepip"]);
  assert.match(check.stderr, /No module named 'ensurepip'/);
  return python;
}

interface Listed {
  name: string;
  version: string;
}

interface Case {
  name: string;
  python: () => Promise<string>;
  pip: RegExp;
  setuptools: boolean;
}

const CASES: Case[] = [
  ...["3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"].map((v) => {
    const xy = v.split(".").slice(0, 2).join(".");
    return {
      name: `CPython ${v} (pyenv)`,
      python: () => Promise.resolve(`/root/.pyenv/versions/${v}/bin/python${xy}`),
      pip: /^pip \d+/,
      setuptools: Number(xy.split(".")[1]) < 12,
    };
  }),
  {
    name: "PyPy 3.9 (Debian)",
    python: () => Promise.resolve("/usr/bin/pypy3"),
    pip: /^pip 23\.0\.1 /,
    setuptools: true,
  },
  {
    name: "Debian python3.11 (wheels from /usr/share/python-wheels)",
    python: () => Promise.resolve("/usr/bin/python3.11"),
    pip: /^pip 23\.0\.1 /,
    setuptools: true,
  },
  {
    name: "CPython 3.11 without ensurepip",
    python: () => withoutEnsurepip("3.11.7"),
    pip: /^pip 23\.0\.1 /,
    setuptools: true,
  },
];

for (const c of CASES) {
  Deno.test(`${c.name}: the seeded pip works offline and survives uninstalling itself`, async () => {
    const python = await c.python();
    const base = join(ROOT, c.name.replace(/\W+/g, "-"));
    const venv = join(base, "venv");
    const made = await mkvenv(["-p", python, venv]);
    assert.equal(made.code, 0, made.stderr);
    const pip = join(venv, "bin", "pip");

    const version = await ok(pip, ["--version"]);
    const site = await sitePackages(venv);
    assert.match(version.stdout, c.pip);
    assert.ok(version.stdout.includes(` from ${join(site, "pip")} `), version.stdout);
    // The first run found valid cached bytecode: Python replaced none of the linked .pyc files.
    for await (const file of walk(join(site, "pip"))) {
      if (file.endsWith(".pyc")) {
        assert.ok((await Deno.stat(file)).nlink! > 1, `${file} was rewritten`);
      }
    }
    // The bytecode was compiled in the cache, but code objects name the venv's own sources.
    const filename = await ok(join(venv, "bin", "python"), [
      "-c",
      "import pip; print(pip.main.__code__.co_filename)",
    ]);
    assert.equal(filename.stdout.trim(), join(site, "pip", "__init__.py"));
    const distInfo = [...Deno.readDirSync(site)].find((e) =>
      /^pip-.*\.dist-info$/.test(e.name)
    )!.name;
    await checkRecord(site, distInfo, "pip");

    await ok(pip, ["install", "--no-index", TINY]);
    const hello = await ok(join(venv, "bin", "tinypkg-hello"), []);
    assert.equal(hello.stdout, "hello from tinypkg\n");

    const list = JSON.parse((await ok(pip, ["list", "--format=json"])).stdout) as Listed[];
    const seeded = version.stdout.split(" ")[1];
    assert.ok(list.some((p) => p.name === "pip" && p.version === seeded), JSON.stringify(list));
    // PyPy's own cffi, greenlet... are listed too; in the venv's site-packages are exactly these:
    const local = await ok(pip, ["list", "--format=json", "--path", site]);
    const names = (JSON.parse(local.stdout) as Listed[]).map((p) => p.name.toLowerCase()).sort();
    assert.deepEqual(names, c.setuptools ? ["pip", "setuptools", "tinypkg"] : ["pip", "tinypkg"]);

    await ok(pip, ["uninstall", "-y", "pip"]);
    const left = [...Deno.readDirSync(site)].map((e) => e.name).filter((n) => /^pip\b/.test(n));
    assert.deepEqual(left, []);
    const scripts = [...Deno.readDirSync(join(venv, "bin"))].map((e) => e.name).filter((n) =>
      n.startsWith("pip")
    );
    assert.deepEqual(scripts, []);

    await checkCacheIntact();
    const again = join(base, "again");
    assert.equal((await mkvenv(["-p", python, again])).code, 0);
    const second = await ok(join(again, "bin", "pip"), ["--version"]);
    assert.ok(second.stdout.includes(join(again, "lib")), second.stdout);
  });
}

Deno.test("bin/pip runs from venvs at spaced, very long and hostile paths", async () => {
  const dir = join(ROOT, "paths");
  const venvs = [
    join(dir, "with spaces", "my venv"),
    join(
      dir,
      ...Array.from({ length: 5 }, (_, i) => `a-rather-long-directory-name-${i}-${"x".repeat(20)}`),
      "venv",
    ),
    join(dir, `hostile $(touch MARKER) 'q' "dq" \`touch MARKER\` back\\slash !`, "venv"),
    join(dir, `nospace$(touch${"${IFS}"}MARKER)'"\`x`),
  ];
  assert.ok(venvs[1]!.length > 200);
  for (const venv of venvs) {
    const made = await mkvenv(["-p", PY312, venv]);
    assert.equal(made.code, 0, made.stderr);
    const out = await run(join(venv, "bin", "pip"), ["--version"], { env: env(), cwd: dir });
    assert.equal(out.code, 0, `${venv}: ${out.stderr}`);
    assert.ok(out.stdout.includes(` from ${venv}/lib/python3.12/site-packages/pip `), out.stdout);
  }
  const markers = [];
  for await (const f of walk(dir)) if (f.endsWith("/MARKER")) markers.push(f);
  assert.deepEqual(markers, [], "nothing in a path was executed");
  assert.deepEqual(
    [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n === "MARKER"),
    [],
  );
});

Deno.test("pip install -U pip and --force-reinstall in a seeded venv leave the cache intact", async () => {
  const venv = join(ROOT, "upgrade", "venv");
  assert.equal((await mkvenv(["-p", PY312, venv])).code, 0);
  const pip = join(venv, "bin", "pip");
  const newer = join(ROOT, "newer");
  await Deno.mkdir(newer);
  await Deno.copyFile(bundledWheel("3.13.0", "pip"), join(newer, "pip-24.2-py3-none-any.whl"));
  await ok(pip, ["install", "-U", "--no-index", "--find-links", newer, "pip"]);
  assert.match((await ok(pip, ["--version"])).stdout, /^pip 24\.2 from /);
  await checkCacheIntact();

  const venv2 = join(ROOT, "upgrade", "venv2");
  assert.equal((await mkvenv(["-p", PY312, venv2])).code, 0);
  const same = join(ROOT, "same");
  await Deno.mkdir(same);
  await Deno.copyFile(bundledWheel("3.12.1", "pip"), join(same, "pip-23.2.1-py3-none-any.whl"));
  await ok(join(venv2, "bin", "pip"), [
    "install",
    "--force-reinstall",
    "--no-index",
    "--find-links",
    same,
    "pip",
  ]);
  assert.match((await ok(join(venv2, "bin", "pip"), ["--version"])).stdout, /^pip 23\.2\.1 /);
  await checkCacheIntact();
});

Deno.test("re-running mkvenv keeps the venv's pip; --clear seeds afresh; a removed pip comes back", async () => {
  const venv = join(ROOT, "rerun", "venv");
  assert.equal((await mkvenv(["-p", PY312, venv])).code, 0);
  const pip = join(venv, "bin", "pip");
  const newer = join(ROOT, "newer-rerun");
  await Deno.mkdir(newer);
  await Deno.copyFile(bundledWheel("3.13.0", "pip"), join(newer, "pip-24.2-py3-none-any.whl"));
  await ok(pip, ["install", "-U", "--no-index", "--find-links", newer, "pip"]);
  for (const args of [["--upgrade"], []]) {
    assert.equal((await mkvenv(["-p", PY312, ...args, venv])).code, 0);
    assert.match((await ok(pip, ["--version"])).stdout, /^pip 24\.2 /, args.join(" "));
  }
  assert.equal((await mkvenv(["-p", PY312, "--clear", venv])).code, 0);
  assert.match((await ok(pip, ["--version"])).stdout, /^pip 23\.2\.1 /);
  await ok(pip, ["uninstall", "-y", "pip"]);
  assert.equal((await mkvenv(["-p", PY312, venv])).code, 0);
  assert.match((await ok(pip, ["--version"])).stdout, /^pip 23\.2\.1 /);
  await checkCacheIntact();
});

Deno.test("--upgrade-deps upgrades pip with the venv's pip, and shows pip's output when it fails", async () => {
  const newer = join(ROOT, "newer-deps");
  await Deno.mkdir(newer);
  await Deno.copyFile(bundledWheel("3.13.0", "pip"), join(newer, "pip-24.2-py3-none-any.whl"));
  const venv = join(ROOT, "deps", "venv");
  const made = await mkvenv(["-p", PY312, "--upgrade-deps", venv], { PIP_FIND_LINKS: newer });
  assert.equal(made.code, 0, made.stderr);
  assert.match((await ok(join(venv, "bin", "pip"), ["--version"])).stdout, /^pip 24\.2 /);

  const failing = await mkvenv(["-p", PY312, "--upgrade-deps", join(ROOT, "deps", "fails")], {
    PIP_CONSTRAINT: join(ROOT, "no-such-constraints.txt"),
  });
  assert.equal(failing.code, 1);
  assert.match(
    failing.stderr,
    /mkvenv: error: Command '\[.*'install', '--upgrade', 'pip'\]' returned non-zero exit status 1: .*upgrade the core dependencies/,
  );
  assert.match(failing.stderr, /no-such-constraints\.txt/, "pip's own message is shown");
});

Deno.test("--link-mode copy and symlink give working venvs; MKVENV_PIP_WHEEL and --pip-wheel choose the wheel", async () => {
  for (const mode of ["copy", "symlink"]) {
    const venv = join(ROOT, "modes", mode);
    const made = await mkvenv(["-p", PY312, "--link-mode", mode, venv]);
    assert.equal(made.code, 0, made.stderr);
    const main = join(venv, "lib", "python3.12", "site-packages", "pip", "__init__.py");
    const st = await Deno.lstat(main);
    assert.equal(st.isSymlink, mode === "symlink");
    if (mode === "copy") assert.equal(st.nlink, 1);
    const pyc = join(
      venv,
      "lib",
      "python3.12",
      "site-packages",
      "pip",
      "__pycache__",
      "__init__.cpython-312.pyc",
    );
    const before = (await Deno.lstat(pyc)).ino;
    await ok(join(venv, "bin", "pip"), ["--version"]);
    assert.equal(
      (await Deno.lstat(pyc)).ino,
      before,
      "the placed bytecode is valid, not rewritten",
    );
    await ok(join(venv, "bin", "pip"), ["uninstall", "-y", "pip"]);
  }
  await checkCacheIntact();

  // Without ensurepip, 3.12 would take Debian's pip 23.0.1; the option and variable win.
  const python = await withoutEnsurepip("3.12.1");
  const wheel = bundledWheel("3.12.1", "pip");
  const viaOption = join(ROOT, "chosen", "option");
  assert.equal((await mkvenv(["-p", python, "--pip-wheel", wheel, viaOption])).code, 0);
  assert.match((await ok(join(viaOption, "bin", "pip"), ["--version"])).stdout, /^pip 23\.2\.1 /);
  const viaEnv = join(ROOT, "chosen", "env");
  assert.equal((await mkvenv(["-p", python, viaEnv], { MKVENV_PIP_WHEEL: wheel })).code, 0);
  assert.match((await ok(join(viaEnv, "bin", "pip"), ["--version"])).stdout, /^pip 23\.2\.1 /);
  const byDefault = join(ROOT, "chosen", "default");
  assert.equal((await mkvenv(["-p", python, byDefault])).code, 0);
  assert.match((await ok(join(byDefault, "bin", "pip"), ["--version"])).stdout, /^pip 23\.0\.1 /);
});

Deno.test("an unusable --pip-wheel or --link-mode fails cleanly and creates nothing", async () => {
  const target = join(ROOT, "refused", "venv");
  const wrong = await mkvenv([
    "-p",
    "/root/.pyenv/versions/3.7.16/bin/python3.7",
    "--pip-wheel",
    bundledWheel("3.13.0", "pip"),
    target,
  ]);
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /^mkvenv: error: Cannot seed CPython 3\.7\.16 .* it requires Python >=3\.8; .*--without-pip\n$/,
  );
  const bad = await mkvenv(["-p", PY312, "--link-mode", "reflink", target]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /argument --link-mode: invalid choice: "reflink" \(choose from hardlink, copy, symlink\)/,
  );
  await assert.rejects(() => Deno.stat(target), Deno.errors.NotFound);
});

/** `tree()`'s lines of the directories and files under `root` (not links), by relative path. */
function modesUnder(root: string): Map<string, string> {
  const lines = tree(root).filter((l) => !l.startsWith("l "));
  return new Map(lines.map((l) => [l.replace(/^\S+ \d+ /, ""), l]));
}

Deno.test("under umask 077, 002 and 022 pip's files get the modes ensurepip's pip gives, read-only where hard-linked", async () => {
  // A fresh cache, filled under 077: what later runs under another umask link must not carry it.
  const cache = join(ROOT, "umask-cache");
  for (
    const [umask, linkMode] of [["077", "hardlink"], ["002", "hardlink"], ["022", "hardlink"], [
      "022",
      "copy",
    ]]
  ) {
    const dir = join(ROOT, `umask-${umask}-${linkMode}`);
    const withUmask = ["-c", `umask ${umask} && exec "$@"`, "sh"];
    await ok("sh", [...withUmask, PY312, "-m", "venv", join(dir, "ref")]);
    await ok("sh", [
      ...withUmask,
      ...MKVENV_COMMAND,
      "-p",
      PY312,
      "--link-mode",
      linkMode!,
      join(dir, "ours"),
    ], {
      MKVENV_CACHE_DIR: cache,
    });
    const ref = modesUnder(join(dir, "ref"));
    const ours = modesUnder(join(dir, "ours"));
    // Under 022 the cache's files are hard-linked, and the cache's files are read-only (so an
    // edit in place cannot reach other venvs): pip's modes less the write bits.
    const linked = umask === "022" && linkMode === "hardlink";
    let compared = 0;
    let readOnly = 0;
    for (const [rel, mode] of ref) {
      if (!ours.has(rel)) continue;
      const cached = linked && mode.startsWith("f ") &&
        Deno.lstatSync(join(dir, "ours", rel)).nlink! > 1;
      const want = cached
        ? mode.replace(/^f (\d+)/, (_, m: string) => `f ${(parseInt(m, 8) & ~0o222).toString(8)}`)
        : mode;
      assert.equal(ours.get(rel), want, `umask ${umask} ${linkMode}: ${rel}`);
      compared++;
      if (cached) readOnly++;
    }
    assert.ok(compared > 500, `umask ${umask}: only ${compared} entries in both venvs`);
    assert.ok(!linked || readOnly > 500, `only ${readOnly} read-only files`);
  }
});
