/**
 * A venv made by mkvenv and one made by the same interpreter's `-m venv` have the same tree
 * and the same pyvenv.cfg, for every pyenv CPython on the machine; and each venv behaves as a
 * venv at run time.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { parsePyvenvCfg } from "../../lib/pyvenv_cfg.ts";
import { mkvenv, pyenvPythons, pyJson, run, tempDir, tree } from "../_util.ts";

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

for (const py of PYTHONS) {
  Deno.test(`mkvenv and python${py.xy} -m venv make the same tree and pyvenv.cfg`, async () => {
    await using tmp = await tempDir();
    const refParent = join(tmp.path, "ref");
    const ourParent = join(tmp.path, "ours");
    await Deno.mkdir(refParent);
    await Deno.mkdir(ourParent);
    const ref = await run(py.exe, ["-m", "venv", "--without-pip", "env"], { cwd: refParent });
    assertEquals(ref.code, 0, ref.stderr);
    const ours = await mkvenv(["-p", py.exe, "--without-pip", "env"], { cwd: ourParent });
    assertEquals(ours.code, 0, ours.stderr);
    assertEquals(ours.stdout + ours.stderr, "", "success prints nothing");

    const refTree = entriesByPath(tree(join(refParent, "env")));
    const ourTree = entriesByPath(tree(join(ourParent, "env")));
    for (const [rel, line] of refTree) {
      if (isPipFile(rel)) continue;
      assertEquals(ourTree.get(rel), line, `entry ${rel}`);
    }
    for (const rel of ourTree.keys()) {
      assert(refTree.has(rel) || ADDITIONS.has(rel), `unexpected entry ${rel}`);
    }

    const refCfg = parsePyvenvCfg(await Deno.readTextFile(join(refParent, "env", "pyvenv.cfg")));
    const ourCfg = parsePyvenvCfg(await Deno.readTextFile(join(ourParent, "env", "pyvenv.cfg")));
    const keys = (m: Map<string, string>) => [...m.keys()].filter((k) => k !== "mkvenv");
    assertEquals(keys(ourCfg), keys(refCfg), "same keys in the same order");
    for (const [key, value] of refCfg) {
      if (key === "command") continue;
      assertEquals(ourCfg.get(key), value, `pyvenv.cfg ${key}`);
    }
    assert(ourCfg.get("mkvenv"), "pyvenv.cfg names mkvenv's version");
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
