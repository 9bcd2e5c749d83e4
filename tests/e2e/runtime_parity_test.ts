/**
 * At run time a venv made by mkvenv and one made by the same interpreter's `-m venv` are the
 * same venv: every pyenv CPython, Debian's Python 3.11 and PyPy, with links and with copies,
 * answer the same questions the same way (prefixes, executables, sys.path, site-packages, the
 * sysconfig scheme and paths, a child process started from sys.executable), the venv's own
 * directory aside.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { mkvenv, pyenvPythons, run, tempDir } from "../_util.ts";

/**
 * What a venv's python says about itself, as JSON, with the venv's directory written `<ENV>`.
 * Python 3.7 syntax and modules only; the scheme functions are 3.10+.
 */
const FACTS = `
import json, os, site, subprocess, sys, sysconfig
env = os.environ["MKVENV_TEST_ENV"]
def call(name, *args):
    f = getattr(sysconfig, name, None)
    return f(*args) if f else None
child = subprocess.run(
    [sys.executable, "-c", "import sys; print(sys.prefix, sys.base_prefix, sys.executable)"],
    stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
facts = {
    "prefix": sys.prefix, "exec_prefix": sys.exec_prefix,
    "base_prefix": sys.base_prefix, "base_exec_prefix": sys.base_exec_prefix,
    "executable": sys.executable, "base_executable": getattr(sys, "_base_executable", None),
    "path": sys.path, "site_packages": site.getsitepackages(),
    "user_site": site.ENABLE_USER_SITE, "no_user_site": sys.flags.no_user_site,
    "default_scheme": call("get_default_scheme"),
    "preferred_scheme": call("get_preferred_scheme", "prefix"),
    "paths": sysconfig.get_paths(), "child": child,
}
print(json.dumps(facts, indent=1).replace(env, "<ENV>"))
`;

interface Interpreter {
  label: string;
  exe: string;
}

const INTERPRETERS: Interpreter[] = [
  ...pyenvPythons().map((p) => ({ label: `CPython ${p.version}`, exe: p.exe })),
  { label: "Debian's Python 3.11", exe: "/usr/bin/python3.11" },
  { label: "Debian's PyPy 3", exe: "/usr/bin/pypy3" },
];

/** The facts `env`'s python gives, run in a clean environment from `cwd`. */
async function facts(env: string, cwd: string): Promise<string> {
  const ran = await run(join(env, "bin", "python"), ["-c", FACTS], {
    cwd,
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", HOME: cwd, MKVENV_TEST_ENV: env },
  });
  assertEquals(ran.code, 0, ran.stderr);
  return ran.stdout;
}

async function assertSameAtRunTime(py: Interpreter, options: readonly string[]): Promise<void> {
  await using tmp = await tempDir();
  const ref = join(tmp.path, "ref", "env");
  const ours = join(tmp.path, "ours", "env");
  const made = await run(py.exe, ["-m", "venv", "--without-pip", ...options, ref]);
  assertEquals(made.code, 0, made.stderr);
  const built = await mkvenv(["-p", py.exe, "--without-pip", ...options, ours]);
  assertEquals(built.code, 0, built.stderr);
  const expected = await facts(ref, tmp.path);
  assert(expected.includes('"prefix": "<ENV>"'), expected);
  assertEquals(await facts(ours, tmp.path), expected);
}

for (const py of INTERPRETERS) {
  Deno.test(`${py.label}: mkvenv's venv and -m venv's answer alike at run time`, async () => {
    await assertSameAtRunTime(py, []);
  });
}

for (const py of INTERPRETERS.filter((p) => p.label.startsWith("CPython"))) {
  Deno.test(`${py.label}: the same with --copies`, async () => {
    await assertSameAtRunTime(py, ["--copies"]);
  });
}

Deno.test("Debian's Python 3.11: the same with --system-site-packages", async () => {
  await assertSameAtRunTime(INTERPRETERS.find((p) => p.label.includes("3.11"))!, [
    "--system-site-packages",
  ]);
});
