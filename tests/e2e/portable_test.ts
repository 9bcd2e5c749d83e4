/**
 * Venvs made with whatever Pythons the machine has, on Linux, macOS and Windows: with and
 * without pip, `--copies` and `--symlinks`, `--clear` and `--upgrade`; each venv's python and
 * pip are run, and its activation scripts are run in the shells the machine has (bash, zsh,
 * fish, pwsh; on Windows Git Bash, pwsh, Windows PowerShell 5.1 and cmd.exe).
 *
 * The interpreters come from tests/_test_pythons.ts: `MKVENV_TEST_PYTHONS` (GitHub Actions
 * passes setup-python's 3.9, 3.12, 3.13 and 3.13t, .github/workflows/ci.yml), else pyenv's here.
 * A shell named in `MKVENV_REQUIRE_SHELLS` must be there; others are skipped when missing.
 * `MKVENV_TEST_BIN` runs the same tests against a built program or a compiled binary.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { needShell, shellTest } from "../_shells.ts";
import { testPythons } from "../_test_pythons.ts";
import { mkvenv, run, tempDir } from "../_util.ts";

const WINDOWS = Deno.build.os === "windows";
const PYTHONS = await testPythons();
const NOT_IN_CI = { requiredInCi: false };

/** The paths of a venv's interpreter and scripts, per platform. */
function venvPaths(env: string) {
  const scripts = join(env, WINDOWS ? "Scripts" : "bin");
  const exe = WINDOWS ? ".exe" : "";
  return {
    scripts,
    python: join(scripts, `python${exe}`),
    pip: join(scripts, `pip${exe}`),
  };
}

/** A path as the file system knows it, for comparing paths that name the same place. */
function canonical(path: string): string {
  const real = Deno.realPathSync(path).replace(/^\\\\\?\\/, "");
  return WINDOWS ? real.toLowerCase() : real;
}

async function create(args: readonly string[]): Promise<void> {
  const r = await mkvenv(args);
  assertEquals(r.code, 0, `mkvenv ${args.join(" ")}: ${r.stderr}`);
  assertEquals(r.stderr, "");
}

/** Run the venv's python: it must report the venv as its prefix and another as its base. */
async function assertVenvPython(env: string, base: string): Promise<void> {
  const code = "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix, sys.executable]))";
  const r = await run(venvPaths(env).python, ["-c", code]);
  assertEquals(r.code, 0, r.stderr);
  const [prefix, basePrefix] = JSON.parse(r.stdout) as string[];
  assertEquals(canonical(prefix!), canonical(env));
  assert(canonical(basePrefix!) !== canonical(env), `base_prefix ${basePrefix}`);
  const baseR = await run(base, ["-c", "import sys; print(sys.base_prefix)"]);
  assertEquals(canonical(basePrefix!), canonical(baseR.stdout.trim()));
}

async function hasPip(env: string): Promise<boolean> {
  const r = await run(venvPaths(env).python, ["-c", "import pip"]);
  return r.code === 0;
}

for (const py of PYTHONS) {
  const base = py.exe;
  const name = (what: string) => `Python ${py.label}: ${what}`;

  Deno.test(name("a venv with pip: its python, python -m pip and the pip script run"), async () => {
    await using tmp = await tempDir();
    const env = join(tmp.path, "with pip");
    await create(["-p", base, env]);
    await assertVenvPython(env, base);
    const paths = venvPaths(env);
    const viaModule = await run(paths.python, ["-m", "pip", "--version"]);
    assertEquals(viaModule.code, 0, viaModule.stderr);
    const pipDir = /^pip \S+ from (.*) \(python \S+\)\s*$/.exec(viaModule.stdout)?.[1];
    assert(pipDir !== undefined, viaModule.stdout);
    assert(canonical(pipDir).startsWith(canonical(env)), `${pipDir} is inside ${env}`);
    const viaScript = await run(paths.pip, ["--version"]);
    assertEquals(viaScript.code, 0, viaScript.stderr);
    assertEquals(viaScript.stdout, viaModule.stdout);
    const list = await run(paths.python, ["-m", "pip", "list", "--format=json"], {
      env: { PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    });
    assertEquals(list.code, 0, list.stderr);
    const names = (JSON.parse(list.stdout) as { name: string }[]).map((p) => p.name);
    assert(names.includes("pip"), list.stdout);
    const gil = await run(paths.python, [
      "-c",
      "import sysconfig; print(bool(sysconfig.get_config_var('Py_GIL_DISABLED')))",
    ]);
    assertEquals(gil.stdout.trim(), py.freeThreaded ? "True" : "False");
  });

  Deno.test(name("--without-pip: python runs, pip is not there"), async () => {
    await using tmp = await tempDir();
    const env = join(tmp.path, "bare");
    await create(["-p", base, "--without-pip", env]);
    await assertVenvPython(env, base);
    assertEquals(await hasPip(env), false);
    assertEquals(
      [...Deno.readDirSync(venvPaths(env).scripts)].some((e) => /^pip/.test(e.name)),
      false,
    );
  });

  Deno.test(name("--copies copies the interpreter, and the copy runs"), async () => {
    await using tmp = await tempDir();
    const env = join(tmp.path, "copies");
    await create(["-p", base, "--copies", "--without-pip", env]);
    const st = Deno.lstatSync(venvPaths(env).python);
    assert(st.isFile && !st.isSymlink, "python is a regular file");
    await assertVenvPython(env, base);
  });

  Deno.test({
    name: name("--symlinks links the interpreter, and the link runs"),
    // Windows venvs use launchers; symbolic links there need a privilege runners lack.
    ignore: WINDOWS,
    async fn() {
      await using tmp = await tempDir();
      const env = join(tmp.path, "symlinks");
      await create(["-p", base, "--symlinks", env]);
      assert(Deno.lstatSync(venvPaths(env).python).isSymlink, "python is a symlink");
      await assertVenvPython(env, base);
      assertEquals(await hasPip(env), true);
    },
  });

  Deno.test(name("--clear empties the venv and builds it again"), async () => {
    await using tmp = await tempDir();
    const env = join(tmp.path, "clear");
    await create(["-p", base, env]);
    // Inside the venv's lib: a foreign entry at the top makes --clear refuse without --force.
    const stray = join(env, "lib", "stray.txt");
    await Deno.writeTextFile(stray, "left by the user in the venv");
    await create(["-p", base, "--clear", "--without-pip", env]);
    assertEquals(await hasPip(env), false);
    assert(!(await Deno.stat(stray).then(() => true, () => false)), "the stray file is gone");
    await assertVenvPython(env, base);
  });

  Deno.test(name("--upgrade keeps what is installed and the venv still runs"), async () => {
    await using tmp = await tempDir();
    const env = join(tmp.path, "upgrade");
    await create(["-p", base, env]);
    const kept = join(env, "kept.txt");
    await Deno.writeTextFile(kept, "stays");
    await create(["-p", base, "--upgrade", env]);
    assertEquals(await Deno.readTextFile(kept), "stays");
    assertEquals(await hasPip(env), true);
    await assertVenvPython(env, base);
  });

  // Activation: each script activates, puts the venv's python first, and deactivates.
  const shells: {
    shell: string;
    script: string;
    file: (scripts: string) => string;
    args: (scriptFile: string) => string[];
    ext: string;
  }[] = [
    {
      shell: "bash",
      file: (s) => join(s, "activate"),
      ext: "sh",
      args: (f) => ["--norc", "--noprofile", f],
      script: `a=$MKVENV_TEST_ACTIVATE
if command -v cygpath >/dev/null 2>&1; then a=$(cygpath -u "$a"); fi
. "$a"
printf '%s\\n' "\${VIRTUAL_ENV-}"
python -c 'import sys; print(sys.prefix)'
deactivate
printf '%s\\n' "\${VIRTUAL_ENV-unset}"
`,
    },
    {
      shell: "zsh",
      file: (s) => join(s, "activate"),
      ext: "sh",
      args: (f) => ["-f", f],
      script: `. "$MKVENV_TEST_ACTIVATE"
printf '%s\\n' "\${VIRTUAL_ENV-}"
python -c 'import sys; print(sys.prefix)'
deactivate
printf '%s\\n' "\${VIRTUAL_ENV-unset}"
`,
    },
    {
      shell: "fish",
      file: (s) => join(s, "activate.fish"),
      ext: "fish",
      args: (f) => ["--no-config", f],
      script: `source $MKVENV_TEST_ACTIVATE
echo $VIRTUAL_ENV
python -c 'import sys; print(sys.prefix)'
deactivate
set -q VIRTUAL_ENV; and echo set; or echo unset
`,
    },
    ...["pwsh", "powershell"].map((shell) => ({
      shell,
      file: (s: string) => join(s, "Activate.ps1"),
      ext: "ps1",
      args: (
        f: string,
      ) => ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", f],
      script: `$ErrorActionPreference = 'Stop'
& $env:MKVENV_TEST_ACTIVATE
Write-Output $env:VIRTUAL_ENV
python -c 'import sys; print(sys.prefix)'
deactivate
if ($null -eq $env:VIRTUAL_ENV) { 'unset' } else { 'set' }
`,
    })),
    {
      shell: "cmd",
      file: (s) => join(s, "activate.bat"),
      ext: "bat",
      args: (f) => ["/d", "/c", f],
      script: `@echo off\r
call "%MKVENV_TEST_ACTIVATE%"\r
echo %VIRTUAL_ENV%\r
python -c "import sys; print(sys.prefix)"\r
call deactivate.bat\r
if defined VIRTUAL_ENV (echo set) else (echo unset)\r
`,
    },
  ];
  for (const s of shells) {
    if (s.shell === "powershell" && !WINDOWS) continue;
    if (s.shell === "cmd" && !WINDOWS) continue;
    if (s.shell === "zsh" && WINDOWS) continue;
    Deno.test({
      name: name(`activation in ${s.shell}: the venv's python first, then deactivate`),
      ...shellTest(s.shell, NOT_IN_CI),
      async fn() {
        await using tmp = await tempDir();
        const env = join(tmp.path, "act");
        await create(["-p", base, "--without-pip", env]);
        const file = join(tmp.path, `check.${s.ext}`);
        await Deno.writeTextFile(file, s.script);
        const shellEnv = Deno.env.toObject();
        for (const key of Object.keys(shellEnv)) {
          if (/^(VIRTUAL_ENV|PYTHONHOME|_OLD_VIRTUAL)/i.test(key)) delete shellEnv[key];
        }
        shellEnv.MKVENV_TEST_ACTIVATE = s.file(venvPaths(env).scripts);
        const exe = s.shell === "bash" && WINDOWS ? gitBash() : needShell(s.shell);
        const r = await run(exe, s.args(file), { env: shellEnv, clearEnv: true, cwd: tmp.path });
        assertEquals(r.code, 0, r.stdout + r.stderr);
        const [active, prefix, after] = r.stdout.split(/\r?\n/);
        assert(active !== undefined && active !== "", `VIRTUAL_ENV while active: ${r.stdout}`);
        if (!WINDOWS) assertEquals(canonical(active), canonical(env));
        assertEquals(canonical(prefix!), canonical(env));
        assertEquals(after, "unset");
      },
    });
  }
}

/** Git for Windows' bash (`bash` on PATH may be WSL's). */
function gitBash(): string {
  const installed = "C:\\Program Files\\Git\\bin\\bash.exe";
  try {
    Deno.statSync(installed);
    return installed;
  } catch {
    return needShell("bash");
  }
}
