/**
 * Activation in the shells of Windows, with real venvs made by mkvenv: Activate.ps1 in
 * PowerShell 7 (`pwsh`, every system) and Windows PowerShell 5.1 (`powershell`), activate.bat
 * and deactivate.bat in cmd.exe with delayed expansion off and on, and `activate` under Git
 * Bash. The values checked are the same as in tests/e2e/activation_shells_test.ts: before,
 * while active, after activating twice and after deactivate; a plain and a hostile venv; no
 * `marker` file may appear.
 *
 * None of these shells is on the development machine: GitHub Actions runs this file
 * (.github/workflows/activation.yml) with MKVENV_REQUIRE_SHELLS naming them, so there a
 * missing shell fails the test; elsewhere it is skipped with a note.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { cmdPromptEscape, powershellQuote } from "../../lib/venv/shell_quote.ts";
import { HOSTILE_NAME, HOSTILE_PROMPT, needShell, shellTest, which } from "../_shells.ts";
import { mkvenv, run } from "../_util.ts";

const WINDOWS = Deno.build.os === "windows";
const SEP = WINDOWS ? ";" : ":";
const NOT_IN_CI = { requiredInCi: false };
/** PYTHONHOME before activation: activation removes it, deactivate puts it back. */
const HOME_VALUE = WINDOWS ? "C:\\python home 'q' $HOME & ^ % ! é" : `/opt/python home 'q' $HOME é`;

interface Venv {
  label: string;
  dir: string;
  prompt: string;
  scripts: string;
  python: string;
}

interface World {
  root: string;
  work: string;
  venvs: Venv[];
}

let world: Promise<World> | undefined;

function basePython(): string {
  const python = Deno.env.get("MKVENV_TEST_PYTHON") ?? which("python3") ?? which("python");
  if (python === null) throw new Error("no Python on PATH; set MKVENV_TEST_PYTHON");
  return python;
}

/** A plain venv and a hostile one (without the characters Windows forbids in names). */
function setUp(): Promise<World> {
  world ??= (async () => {
    const root = await Deno.makeTempDir({ prefix: "mkvenv-activation-win-" });
    addEventListener("unload", () => {
      try {
        Deno.removeSync(root, { recursive: true });
      } catch {
        // a file still in use on Windows: the temporary directory is left behind
      }
    });
    const work = join(root, "work");
    await Deno.mkdir(work);
    const name = WINDOWS ? HOSTILE_NAME.replace(/["|*;\\]/g, "") : HOSTILE_NAME;
    // cmd.exe cannot carry a double quote (mkvenv refuses it for activate.bat).
    const prompt = WINDOWS ? HOSTILE_PROMPT.replaceAll('"', "") : HOSTILE_PROMPT;
    const venvs: Venv[] = [
      venv("plain", join(root, "venv-plain"), "venv-plain"),
      venv("hostile", join(root, name), prompt),
    ];
    const python = basePython();
    for (const v of venvs) {
      const args = ["--without-pip", "-p", python];
      if (v.label !== "plain") args.push("--prompt", v.prompt);
      const r = await mkvenv([...args, v.dir]);
      assertEquals(r.code, 0, r.stderr);
    }
    return { root, work, venvs };
  })();
  return world;
}

function venv(label: string, dir: string, prompt: string): Venv {
  const scripts = join(dir, WINDOWS ? "Scripts" : "bin");
  return { label, dir, prompt, scripts, python: join(scripts, WINDOWS ? "python.exe" : "python") };
}

/** The environment of the shells: this process's, with PYTHONHOME set and no venv active. */
function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(env)) {
    if (/^(VIRTUAL_ENV|_OLD_VIRTUAL|PROMPT$)/i.test(name)) delete env[name];
  }
  return { ...env, PYTHONHOME: HOME_VALUE, ...extra };
}

function assertNothingRan(w: World): void {
  const left = [...Deno.readDirSync(w.work)].map((e) => e.name);
  for (const name of left) Deno.removeSync(join(w.work, name), { recursive: true });
  assertEquals(left, [], "a command in a value was run");
}

function samePath(a: string | null | undefined, b: string): boolean {
  return WINDOWS ? a?.toLowerCase() === b.toLowerCase() : a === b;
}

// ---------------------------------------------------------------------------------------
// PowerShell

interface PsStage {
  VIRTUAL_ENV: string | null;
  VIRTUAL_ENV_PROMPT: string | null;
  PATH: string | null;
  PYTHONHOME: string | null;
  prompt: string;
  python: string | null;
  deactivate: boolean;
}

function powershellScript(v: Venv, out: string): string {
  return `$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$results = [ordered]@{}
function global:prompt { '@@> ' }
function Record([string]$Stage) {
    $shown = (& { prompt } 6>&1 | ForEach-Object { [string]$_ }) -join ''
    $python = Get-Command -Name python -CommandType Application -ErrorAction SilentlyContinue |
        Select-Object -First 1
    $found = $null
    if ($python) { $found = $python.Source }
    $results[$Stage] = [ordered]@{
        VIRTUAL_ENV = [Environment]::GetEnvironmentVariable('VIRTUAL_ENV')
        VIRTUAL_ENV_PROMPT = [Environment]::GetEnvironmentVariable('VIRTUAL_ENV_PROMPT')
        PATH = [Environment]::GetEnvironmentVariable('PATH')
        PYTHONHOME = [Environment]::GetEnvironmentVariable('PYTHONHOME')
        prompt = $shown
        python = $found
        deactivate = [bool](Get-Command -Name deactivate -CommandType Function -ErrorAction SilentlyContinue)
    }
}
$activate = ${powershellQuote(join(v.scripts, "Activate.ps1"))}
Record 'before'
. $activate
Record 'active'
$results['prefix'] = [string](& python -c 'import sys, json; print(json.dumps(sys.prefix))')
. $activate
Record 'again'
deactivate
Record 'after'
& $activate
Record 'run'
deactivate -NonDestructive
Record 'nondestructive'
deactivate
$results['end'] = $true
$json = $results | ConvertTo-Json -Depth 5
[IO.File]::WriteAllText(${
    powershellQuote(out)
  }, $json, (New-Object System.Text.UTF8Encoding $false))
`;
}

for (const shell of ["pwsh", "powershell"]) {
  Deno.test({
    name: `Activate.ps1 in ${shell}: sets and restores everything, nothing run`,
    ...shellTest(shell, NOT_IN_CI),
    async fn() {
      const w = await setUp();
      for (const v of w.venvs) {
        const script = join(w.root, "check.ps1");
        const out = join(w.root, "ps-result.json");
        await Deno.writeTextFile(script, powershellScript(v, out));
        const r = await run(needShell(shell), [
          "-NoProfile",
          "-NonInteractive",
          "-ExecutionPolicy",
          "Bypass",
          "-File",
          script,
        ], { cwd: w.work, clearEnv: true, env: baseEnv() });
        assertNothingRan(w);
        assertEquals(r.code, 0, `${v.label}: ${r.stdout}${r.stderr}`);
        const res = JSON.parse(await Deno.readTextFile(out)) as Record<string, PsStage> & {
          prefix: string;
          end: boolean;
        };
        assert(res.end);
        const before = res.before!;
        assertEquals(before.VIRTUAL_ENV, null);
        assertEquals(before.VIRTUAL_ENV_PROMPT, null);
        assertEquals(before.PYTHONHOME, HOME_VALUE);
        assertEquals(before.prompt, "@@> ");
        assertEquals(before.deactivate, false);
        for (const stage of ["active", "again", "run"]) {
          const s = res[stage]!;
          assertEquals(s.VIRTUAL_ENV, v.dir, stage);
          assertEquals(s.VIRTUAL_ENV_PROMPT, v.prompt, stage);
          assertEquals(s.PATH, `${v.scripts}${SEP}${before.PATH}`, stage);
          assertEquals(s.PYTHONHOME, null, stage);
          assertEquals(s.prompt, `(${v.prompt}) @@> `, stage);
          assert(samePath(s.python, v.python), `${stage}: ${s.python}`);
          assertEquals(s.deactivate, true, stage);
        }
        assert(samePath(JSON.parse(res.prefix) as string, v.dir), res.prefix);
        for (const stage of ["after", "nondestructive"]) {
          const s = res[stage]!;
          assertEquals(
            { ...s, deactivate: stage === "after" ? s.deactivate : false },
            before,
            stage,
          );
        }
        assertEquals(res.nondestructive!.deactivate, true, "-NonDestructive keeps deactivate");
      }
    },
  });
}

// ---------------------------------------------------------------------------------------
// cmd.exe

function cmdScript(delayed: boolean): string {
  const v = (name: string) => (delayed ? `!${name}!` : `%${name}%`);
  const dump = (stage: string) =>
    `cmd /d /u /c set > "${v("MKVENV_TEST_OUT")}\\${stage}.env"\r\n` +
    `"%SystemRoot%\\System32\\chcp.com" > "${v("MKVENV_TEST_OUT")}\\${stage}.cp"\r\n`;
  const activate = `pushd "${v("MKVENV_TEST_SCRIPTS")}"\r\ncall activate.bat\r\npopd\r\n`;
  return "@echo off\r\n" +
    dump("before") +
    activate +
    dump("active") +
    `python -c "import sys, json; print(json.dumps([sys.prefix, sys.executable]))" > ` +
    `"${v("MKVENV_TEST_OUT")}\\active.py"\r\n` +
    activate +
    dump("again") +
    "call deactivate\r\n" +
    dump("after") +
    `echo done> "${v("MKVENV_TEST_OUT")}\\end"\r\n`;
}

function readSetOutput(bytes: Uint8Array): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of new TextDecoder("utf-16le").decode(bytes).split("\r\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env.set(line.slice(0, eq).toUpperCase(), line.slice(eq + 1));
  }
  return env;
}

for (const delayed of [false, true]) {
  Deno.test({
    name: `activate.bat and deactivate.bat in cmd.exe, delayed expansion ${
      delayed ? "on" : "off"
    }: sets and restores everything`,
    ...shellTest("cmd", NOT_IN_CI),
    async fn() {
      const w = await setUp();
      for (const v of w.venvs) {
        const out = join(w.root, `cmd-${v.label}-${delayed}`);
        await Deno.mkdir(out);
        const script = join(w.root, "check.cmd");
        await Deno.writeTextFile(script, cmdScript(delayed));
        // With delayed expansion off PROMPT is set beforehand; with it on, it is not set.
        const env = baseEnv({
          MKVENV_TEST_OUT: out,
          MKVENV_TEST_SCRIPTS: v.scripts,
          ...(delayed ? {} : { PROMPT: "$P$G" }),
        });
        const r = await run(needShell("cmd"), ["/d", delayed ? "/v:on" : "/v:off", "/c", script], {
          cwd: w.work,
          clearEnv: true,
          env,
        });
        assertNothingRan(w);
        assertEquals(r.code, 0, `${v.label}: ${r.stdout}${r.stderr}`);
        await Deno.stat(join(out, "end"));
        const stage = (name: string) => readSetOutput(Deno.readFileSync(join(out, `${name}.env`)));
        const before = stage("before");
        assertEquals(before.get("PYTHONHOME"), HOME_VALUE);
        assertEquals(before.get("VIRTUAL_ENV"), undefined);
        // Set beforehand or not, the prompt shown was $P$G: the prefix goes before it.
        const basePrompt = "$P$G";
        for (const name of ["active", "again"]) {
          const s = stage(name);
          assertEquals(s.get("VIRTUAL_ENV"), v.dir, name);
          assertEquals(s.get("VIRTUAL_ENV_PROMPT"), v.prompt, name);
          assertEquals(s.get("PATH"), `${v.scripts};${before.get("PATH")}`, name);
          assertEquals(s.get("PYTHONHOME"), undefined, name);
          assertEquals(s.get("PROMPT"), `(${cmdPromptEscape(v.prompt)}) ${basePrompt}`, name);
        }
        const [prefix, executable] = JSON.parse(
          await Deno.readTextFile(join(out, "active.py")),
        ) as [string, string];
        assert(samePath(prefix, v.dir), prefix);
        assert(samePath(executable, v.python), executable);
        // deactivate.bat puts back PATH, PROMPT (unset, if it was) and PYTHONHOME exactly.
        assertEquals(stage("after"), before);
        // activate.bat switched the code page to UTF-8 only while it ran.
        const cp = (name: string) => Deno.readTextFileSync(join(out, `${name}.cp`));
        assertEquals(cp("active"), cp("before"));
        assertEquals(cp("after"), cp("before"));
      }
    },
  });
}

// ---------------------------------------------------------------------------------------
// Git Bash

function gitBash(): string {
  const installed = "C:\\Program Files\\Git\\bin\\bash.exe";
  try {
    Deno.statSync(installed);
    return installed;
  } catch {
    return needShell("bash");
  }
}

Deno.test({
  name: "activate under Git Bash on windows: the path is converted with cygpath",
  ignore: !WINDOWS || shellTest("bash", NOT_IN_CI).ignore,
  async fn() {
    const w = await setUp();
    for (const v of w.venvs) {
      const script = `set -eu
PS1='@@> '
before=$PATH
. "$(cygpath -u "$MKVENV_TEST_SCRIPTS")/activate"
printf '%s\\n' "$VIRTUAL_ENV" "$(cygpath -u "$MKVENV_TEST_DIR")" "$VIRTUAL_ENV_PROMPT" "$PS1"
case $PATH in "$VIRTUAL_ENV/Scripts:$before") echo path-ok ;; *) echo "path: $PATH" ;; esac
python -c 'import sys, json; print(json.dumps(sys.prefix))'
deactivate
[ "$PATH" = "$before" ] && echo restored
[ "\${VIRTUAL_ENV-unset}" = unset ] && echo unset
`;
      const file = join(w.root, "check.sh");
      await Deno.writeTextFile(file, script);
      const r = await run(gitBash(), ["--norc", "--noprofile", file], {
        cwd: w.work,
        clearEnv: true,
        env: baseEnv({ MKVENV_TEST_SCRIPTS: v.scripts, MKVENV_TEST_DIR: v.dir }),
      });
      assertNothingRan(w);
      assertEquals(r.stderr, "", v.label);
      const [ve, converted, vep, ps1, pathOk, prefix, restored, unset] = r.stdout.split("\n");
      assertEquals(ve, converted);
      assertEquals(vep, v.prompt);
      assert(ps1!.startsWith("(") && ps1!.endsWith(") @@> "), ps1);
      if (v.label === "plain") assertEquals(ps1, `(${v.prompt}) @@> `);
      assertEquals(pathOk, "path-ok");
      assert(samePath(JSON.parse(prefix!) as string, v.dir), prefix);
      assertEquals([restored, unset], ["restored", "unset"]);
    }
  },
});
