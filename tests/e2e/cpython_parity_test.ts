/**
 * A venv made by mkvenv and one made by the same interpreter's `-m venv` have the same tree
 * and the same pyvenv.cfg, for every pyenv CPython on the machine; and each venv behaves as a
 * venv at run time.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { parsePyvenvCfg } from "../../lib/venv/pyvenv_cfg.ts";
import {
  mkvenv,
  MKVENV_COMMAND,
  pyenvPythons,
  pyJson,
  type RealPython,
  run,
  SHARED_TEST_CACHE,
  tempDir,
  tree,
} from "../_util.ts";

/** Files mkvenv adds on purpose (README: "What mkvenv adds"). */
const ADDITIONS = new Set([
  ".gitignore",
  "bin/activate.csh",
  "bin/activate.fish",
  "bin/Activate.ps1",
  "bin/activate.nu",
  "bin/activate.xsh",
  "bin/activate_this.py",
]);

function isPipFile(rel: string): boolean {
  return /^bin\/(pip|easy_install)/.test(rel) || /\/site-packages\/./.test(rel);
}

function entriesByPath(lines: string[]): Map<string, string> {
  return new Map(lines.map((l) => [l.replace(/^\S+ (\d+ )?/, "").replace(/ -> .*$/, ""), l]));
}

const PYTHONS = pyenvPythons();

Deno.test("the pyenv CPythons 3.7-3.13 are on this machine", () => {
  const have = PYTHONS.map((p) => p.xy);
  for (const xy of ["3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]) {
    assert(have.includes(xy), `missing pyenv CPython ${xy}; have ${have.join(", ")}`);
  }
});

/** The two parents `assertSameAsVenv` makes `env` in. */
interface Pair {
  ref: string;
  ours: string;
  /** Run `-m venv --without-pip` and mkvenv again in each, with `args` before `env`. */
  again(args: readonly string[]): Promise<void>;
}

/**
 * Make `env` with `py -m venv --without-pip` and with mkvenv, each in its own parent under
 * `root`, both run through `wrap` (a command prefix, e.g. one that sets the umask); assert the
 * trees (entries, modes, link targets) and pyvenv.cfg agree but for mkvenv's additions.
 * Returns the pair, to run both again and compare once more.
 */
async function assertSameAsVenv(
  py: RealPython,
  root: string,
  wrap: readonly string[] = [],
): Promise<Pair> {
  const ref = join(root, "ref");
  const ours = join(root, "ours");
  await Deno.mkdir(ref);
  await Deno.mkdir(ours);
  const command = (argv: readonly string[], cwd: string) => {
    const [cmd, ...args] = [...wrap, ...argv];
    return run(cmd!, args, { cwd, env: { MKVENV_CACHE_DIR: SHARED_TEST_CACHE } });
  };
  const both = async (args: readonly string[]) => {
    const made = await command([py.exe, "-m", "venv", "--without-pip", ...args, "env"], ref);
    assertEquals(made.code, 0, made.stderr);
    const ran = await command(
      [...MKVENV_COMMAND, "-p", py.exe, "--without-pip", ...args, "env"],
      ours,
    );
    assertEquals(ran.code, 0, ran.stderr);
    assertEquals(ran.stdout + ran.stderr, "", "success prints nothing");
    await assertSameVenvs(join(ref, "env"), join(ours, "env"));
  };
  await both([]);
  return { ref, ours, again: both };
}

async function assertSameVenvs(refEnv: string, ourEnv: string): Promise<void> {
  const refTree = entriesByPath(tree(refEnv));
  const ourTree = entriesByPath(tree(ourEnv));
  for (const [rel, line] of refTree) {
    if (isPipFile(rel)) continue;
    assertEquals(ourTree.get(rel), line, `entry ${rel}`);
  }
  for (const rel of ourTree.keys()) {
    assert(refTree.has(rel) || ADDITIONS.has(rel), `unexpected entry ${rel}`);
  }

  const refCfg = parsePyvenvCfg(await Deno.readTextFile(join(refEnv, "pyvenv.cfg")));
  const ourCfg = parsePyvenvCfg(await Deno.readTextFile(join(ourEnv, "pyvenv.cfg")));
  const keys = (m: Map<string, string>) => [...m.keys()].filter((k) => k !== "mkvenv");
  assertEquals(keys(ourCfg), keys(refCfg), "same keys in the same order");
  for (const [key, value] of refCfg) {
    if (key === "command") continue;
    assertEquals(ourCfg.get(key), value, `pyvenv.cfg ${key}`);
  }
  assert(ourCfg.get("mkvenv"), "pyvenv.cfg names mkvenv's version");
}

for (const py of PYTHONS) {
  Deno.test(`mkvenv and python${py.xy} -m venv make the same tree and pyvenv.cfg`, async () => {
    await using tmp = await tempDir();
    await assertSameAsVenv(py, tmp.path);
  });

  Deno.test(`a python${py.xy} venv made by mkvenv is a venv at run time`, async () => {
    await using tmp = await tempDir();
    const plain = join(tmp.path, "plain");
    const sys = join(tmp.path, "sys");
    assertEquals((await mkvenv(["-p", py.exe, "--without-pip", plain])).code, 0);
    assertEquals(
      (await mkvenv(["-p", py.exe, "--without-pip", "--system-site-packages", sys])).code,
      0,
    );
    const code = "import json,sys,site,sysconfig;print(json.dumps([sys.prefix,sys.base_prefix," +
      "sys.path,sysconfig.get_paths(vars={'base':sys.base_prefix})['purelib']]))";
    for (const [dir, systemSite] of [[plain, false], [sys, true]] as const) {
      const [prefix, basePrefix, path, basePurelib] = await pyJson(
        join(dir, "bin", "python"),
        code,
      ) as [string, string, string[], string];
      assertEquals(prefix, dir);
      assertEquals(basePrefix, py.prefix);
      assert(path.includes(join(dir, "lib", `python${py.xy}`, "site-packages")), path.join(":"));
      assertEquals(path.includes(basePurelib), systemSite, `base site-packages on sys.path`);
    }
  });
}

Deno.test("bin/pip --version works in a venv made with pip (3.12)", async () => {
  const py = PYTHONS.find((p) => p.xy === "3.12");
  assert(py, "needs CPython 3.12");
  await using tmp = await tempDir();
  const env = join(tmp.path, "withpip");
  const made = await mkvenv(["-p", py.exe, env]);
  assertEquals(made.code, 0, made.stderr);
  const pip = await run(join(env, "bin", "pip"), ["--version"]);
  assertEquals(pip.code, 0, pip.stderr);
  assert(pip.stdout.includes(join(env, "lib", "python3.12", "site-packages", "pip")), pip.stdout);
});

Deno.test("under umask 077 mkvenv gives every file and directory the mode -m venv gives", async () => {
  const py = PYTHONS.at(-1);
  assert(py, "needs a pyenv CPython");
  await using tmp = await tempDir();
  // pyvenv.cfg, .gitignore (3.13) and the directories follow the umask; the activation
  // scripts keep their templates' 0644, as CPython copies the mode.
  await assertSameAsVenv(py, tmp.path, ["sh", "-c", 'umask 077 && exec "$@"', "sh"]);
});

Deno.test("re-used and upgraded venvs keep pyvenv.cfg's and .gitignore's modes, as -m venv's do", async () => {
  const py = PYTHONS.find((p) => p.xy === "3.13");
  assert(py, "needs CPython 3.13 (the first whose venv writes .gitignore)");
  await using tmp = await tempDir();
  const pair = await assertSameAsVenv(py, tmp.path);
  // -m venv rewrites both files in place (open(..., "w")), so a mode the user gave them stays.
  const chmodBoth = async (rel: string, mode: number) => {
    for (const parent of [pair.ref, pair.ours]) await Deno.chmod(join(parent, "env", rel), mode);
  };
  await chmodBoth("pyvenv.cfg", 0o600);
  await chmodBoth(".gitignore", 0o640);
  await pair.again([]);
  await chmodBoth("pyvenv.cfg", 0o604);
  await pair.again(["--upgrade"]);
  assertEquals((await Deno.stat(join(pair.ours, "env", "pyvenv.cfg"))).mode! & 0o777, 0o604);
  // --clear starts afresh: both files get the umask's modes again.
  await pair.again(["--clear"]);
  assertEquals((await Deno.stat(join(pair.ours, "env", "pyvenv.cfg"))).mode! & 0o777, 0o644);
});
