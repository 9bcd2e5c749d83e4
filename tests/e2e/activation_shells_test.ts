/**
 * The activation scripts in real shells. Two venvs made by mkvenv (a plain one, and one whose
 * directory name and --prompt are hostile, see tests/_shells.ts) are activated by sourcing
 * the script non-interactively in bash, zsh, dash, ksh, mksh, fish, tcsh, xonsh and nushell
 * (no rc files), which report, before activation, while active, after sourcing a second
 * time and after `deactivate`: the whole environment (tools/dumpenv), the prompt, where `python`
 * is found and whether `deactivate` exists; while active, the venv's python reports its
 * sys.prefix. Every value must equal the intended one byte for byte, the shell must reach
 * the end of the script, and no `marker` file may appear (a command in the name would create
 * one). Shells that show a prompt are also run interactively to check the prompt they print.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { renderActivationScripts } from "../../lib/venv/activation.ts";
import { computeLayout, defaultBuildOptions } from "../../lib/venv/layout.ts";
import {
  cshPromptEscape,
  cshQuote,
  fishQuote,
  nushellQuote,
  posixQuote,
  pythonQuote,
} from "../../lib/venv/shell_quote.ts";
import { fixture } from "../fixtures/probe_fixtures.ts";
import {
  HOSTILE_NAME,
  HOSTILE_PROMPT,
  isRequired,
  needShell,
  shellTest,
  which,
} from "../_shells.ts";
import { mkvenv, pyenvPythons, run } from "../_util.ts";

/** The base interpreter: $MKVENV_TEST_PYTHON, else pyenv's 3.12, else python3 on PATH. */
const BASE_PYTHON = Deno.env.get("MKVENV_TEST_PYTHON") ??
  pyenvPythons().find((p) => p.xy === "3.12")?.exe ?? which("python3") ?? "python3";
/** PYTHONHOME before activation: activation must remove it and deactivate put it back. */
const HOME_VALUE = `/opt/python home 'q' "dq" $HOME \\ é`;
/** The prompt each shell has before activation (fish's shows the last exit status). */
const BASE_PROMPT = "@@> ";

interface Venv {
  label: string;
  dir: string;
  prompt: string;
  bin: string;
}

interface World {
  root: string;
  /** Working directory of every shell: a command that ran would leave `marker` here. */
  work: string;
  home: string;
  basePath: string;
  basePython: string;
  /** The plain venv and the hostile one. */
  venvs: Venv[];
  /** The hostile venv without "$HOME" in its name, for xonsh (see its test). */
  noVarVenv: Venv;
}

let world: Promise<World> | undefined;

/**
 * Prints the environment of the process as `NAME=value\0` entries (what `env -0` does on
 * Linux, in Perl for macOS). Its path has no character any shell would read specially.
 */
const DUMP_ENV = join(Deno.makeTempDirSync({ prefix: "mkvenv-dumpenv-" }), "dumpenv");
Deno.writeTextFileSync(
  DUMP_ENV,
  '#!/usr/bin/perl\nprint map { "$_=$ENV{$_}\\0" } sort keys %ENV;\n',
  { mode: 0o755 },
);
addEventListener("unload", () => Deno.removeSync(join(DUMP_ENV, ".."), { recursive: true }));

/** Make the two venvs once for all the tests of this file; removed when the tests end. */
function setUp(): Promise<World> {
  world ??= (async () => {
    const root = await Deno.makeTempDir({ prefix: "mkvenv-activation-" });
    addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
    const work = join(root, "work");
    const home = join(root, "home");
    const baseBin = join(root, "basebin");
    for (const dir of [work, home, baseBin]) await Deno.mkdir(dir);
    // The "python" found before activation: the base interpreter, from a directory of its own.
    await Deno.symlink(BASE_PYTHON, join(baseBin, "python"));
    const basePath = [baseBin, "/usr/local/bin", "/usr/bin", "/bin"].join(":");
    const plain = join(root, "venv-plain");
    const hostile = join(root, HOSTILE_NAME);
    const noVar = join(root, HOSTILE_NAME.replace("$HOME ", ""));
    const made = await Promise.all([
      mkvenv(["--without-pip", "-p", BASE_PYTHON, plain]),
      mkvenv(["--without-pip", "-p", BASE_PYTHON, "--prompt", HOSTILE_PROMPT, hostile]),
      mkvenv(["--without-pip", "-p", BASE_PYTHON, "--prompt", HOSTILE_PROMPT, noVar]),
    ]);
    for (const r of made) assertEquals(r.code, 0, r.stderr);
    return {
      root,
      work,
      home,
      basePath,
      basePython: join(baseBin, "python"),
      venvs: [
        { label: "plain", dir: plain, prompt: "venv-plain", bin: join(plain, "bin") },
        { label: "hostile", dir: hostile, prompt: HOSTILE_PROMPT, bin: join(hostile, "bin") },
      ],
      noVarVenv: {
        label: "hostile without $HOME",
        dir: noVar,
        prompt: HOSTILE_PROMPT,
        bin: join(noVar, "bin"),
      },
    };
  })();
  return world;
}

/** The environment every shell starts with: nothing from this machine's rc files. */
function shellEnv(w: World, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: w.basePath,
    HOME: w.home,
    XDG_CONFIG_HOME: join(w.home, ".config"),
    XDG_DATA_HOME: join(w.home, ".local/share"),
    LC_ALL: "C.UTF-8",
    TERM: "dumb",
    // Interactive bash draws a prompt wider than the terminal scrolled sideways.
    COLUMNS: "4000",
    USER: "tester",
    ENV: "/dev/null",
    PYTHONHOME: HOME_VALUE,
    ...extra,
  };
}

async function runShell(
  w: World,
  shell: string,
  args: string[],
  options: {
    script?: string;
    stdin?: string;
    env?: Record<string, string>;
    unset?: string[];
    file?: string;
  } = {},
) {
  const argv = [...args];
  let scriptPath: string | undefined;
  if (options.script !== undefined) {
    scriptPath = join(w.root, options.file ?? "script");
    await Deno.writeTextFile(scriptPath, options.script);
    argv.push(scriptPath);
  }
  try {
    const env = shellEnv(w, options.env);
    for (const name of options.unset ?? []) delete env[name];
    const r = await run(needShell(shell), argv, {
      cwd: w.work,
      clearEnv: true,
      env,
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    });
    const left = [...Deno.readDirSync(w.work)].map((e) => e.name);
    for (const name of left) Deno.removeSync(join(w.work, name), { recursive: true });
    assertEquals(left, [], `${shell} created files: a command in a value was run`);
    return r;
  } finally {
    if (scriptPath) await Deno.remove(scriptPath);
  }
}

/** The sections `\x01label\x02content` a script printed. */
function sections(out: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of out.split("\x01").slice(1)) {
    const cut = part.indexOf("\x02");
    map.set(part.slice(0, cut), part.slice(cut + 1));
  }
  return map;
}

function parseEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of text.split("\0")) {
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** What a shell printed, checked against the intended values. */
interface Expect {
  /** The prompt shown before activation and after deactivate. */
  basePrompt: string;
  /** The prompt while active, or null when the script checks it another way. */
  activePrompt: string | null;
  /** Environment variables the shell itself changes between stages. */
  noise?: string[];
  /** Where the venv's python is expected (the shell's own `which` wording). */
  which?: (path: string) => string;
}

function check(out: string, venv: Venv, w: World, expect: Expect): Map<string, string> {
  const s = sections(out);
  assert(s.has("end"), `the script did not reach its end; it printed:\n${out}`);
  const env = (stage: string) => {
    const e = parseEnv(s.get(`${stage}.env`) ?? "");
    for (const name of expect.noise ?? []) e.delete(name);
    return e;
  };
  const which = expect.which ?? ((p: string) => p);
  const before = env("before");
  assertEquals(before.get("VIRTUAL_ENV"), undefined);
  assertEquals(before.get("VIRTUAL_ENV_PROMPT"), undefined);
  assertEquals(before.get("PATH"), w.basePath);
  assertEquals(before.get("PYTHONHOME"), HOME_VALUE);
  assertEquals(s.get("before.which"), which(w.basePython));
  assertEquals(s.get("before.prompt"), expect.basePrompt);
  assertEquals(s.get("before.deactivate"), "no");

  const active = env("active");
  assertEquals(active.get("VIRTUAL_ENV"), venv.dir);
  assertEquals(active.get("VIRTUAL_ENV_PROMPT"), venv.prompt);
  assertEquals(active.get("PATH"), `${venv.bin}:${w.basePath}`);
  assertEquals(active.get("PYTHONHOME"), undefined);
  assertEquals(s.get("active.which"), which(join(venv.bin, "python")));
  if (expect.activePrompt !== null) assertEquals(s.get("active.prompt"), expect.activePrompt);
  assertEquals(s.get("active.deactivate"), "yes");
  assertEquals(s.get("active.prefix"), venv.dir, "sys.prefix of the python found");

  // Sourcing a second time changes nothing.
  assertEquals(env("again"), active);
  assertEquals(s.get("again.prompt"), s.get("active.prompt"));
  assertEquals(s.get("again.which"), s.get("active.which"));

  // deactivate puts everything back, byte for byte, and removes itself.
  assertEquals(env("after"), before);
  assertEquals(s.get("after.prompt"), expect.basePrompt);
  assertEquals(s.get("after.which"), s.get("before.which"));
  assertEquals(s.get("after.deactivate"), "no");
  return s;
}

const PREFIX_CODE = "import sys; sys.stdout.write(sys.prefix)";

// ---------------------------------------------------------------------------------------
// sh, bash, zsh, dash, ksh, mksh

const POSIX_SHELLS: { shell: string; args: string[]; strict: string }[] = [
  { shell: "bash", args: ["--norc", "--noprofile"], strict: "set -eu\nset -o pipefail\n" },
  { shell: "zsh", args: ["-f"], strict: "set -eu\nset -o pipefail\n" },
  { shell: "dash", args: [], strict: "set -eu\n" },
  { shell: "ksh", args: [], strict: "set -eu\nset -o pipefail\n" },
  { shell: "mksh", args: [], strict: "set -eu\nset -o pipefail\n" },
];

function posixStage(shell: string, stage: string): string {
  return [
    `printf '\\001${stage}.env\\002'; ${DUMP_ENV}`,
    `printf '\\001${stage}.prompt\\002%s' "$PS1"`,
    // ksh93 prints the path quoted for ksh: let ksh read it back.
    shell === "ksh"
      ? `eval "w=$(command -v python || echo none)"`
      : `w=$(command -v python || echo none)`,
    `printf '\\001${stage}.which\\002%s' "$w"`,
    `if type deactivate >/dev/null 2>&1; then d=yes; else d=no; fi`,
    `printf '\\001${stage}.deactivate\\002%s' "$d"`,
  ].join("\n") + "\n";
}

function posixScript(shell: string, venv: Venv, strict: string): string {
  const activate = posixQuote(join(venv.bin, "activate"));
  return strict +
    `PS1=${posixQuote(BASE_PROMPT)}\n` +
    posixStage(shell, "before") +
    `. ${activate}\n` +
    posixStage(shell, "active") +
    `printf '\\001active.prefix\\002'; python -c ${posixQuote(PREFIX_CODE)}\n` +
    `. ${activate}\n` +
    posixStage(shell, "again") +
    "deactivate\n" +
    posixStage(shell, "after") +
    "printf '\\001end\\002'\n";
}

for (const { shell, args, strict } of POSIX_SHELLS) {
  Deno.test({
    name: `activate in ${shell} (set -eu): sets and restores everything, nothing run`,
    ...shellTest(shell),
    async fn() {
      const w = await setUp();
      for (const venv of w.venvs) {
        const r = await runShell(w, shell, args, { script: posixScript(shell, venv, strict) });
        assertEquals(r.stderr, "", `${venv.label}: stderr`);
        const s = check(r.stdout, venv, w, {
          basePrompt: BASE_PROMPT,
          activePrompt: venv.label === "plain" ? `(${venv.prompt}) ${BASE_PROMPT}` : null,
        });
        // The hostile prompt is escaped for the shell's prompt language: shown below.
        const ps1 = s.get("active.prompt")!;
        assert(ps1.startsWith("(") && ps1.endsWith(`) ${BASE_PROMPT}`), ps1);
      }
    },
  });

  Deno.test({
    name: `activate in interactive ${shell} shows the prompt exactly as written`,
    ...shellTest(shell),
    async fn() {
      const w = await setUp();
      const variants: [string, string][] = [["", "default options"]];
      if (shell === "zsh") variants.push(["setopt promptsubst promptbang\n", "promptsubst"]);
      if (shell === "bash") variants.push(["set -o posix\n", "posix mode"]);
      if (shell === "bash") variants.push(["shopt -u promptvars\n", "no promptvars"]);
      for (const venv of w.venvs) {
        for (const [setup, what] of variants) {
          const stdin = setup + `PS1=${posixQuote(BASE_PROMPT)}\n` +
            `. ${posixQuote(join(venv.bin, "activate"))}\nexit\n`;
          const r = await runShell(w, shell, [...args, "-i"], { stdin });
          const shown = `(${venv.prompt}) ${BASE_PROMPT}`;
          assert(r.stderr.includes(shown), `${venv.label}, ${what}: ${JSON.stringify(r.stderr)}`);
        }
      }
    },
  });

  Deno.test({
    name: `activate run as a program by ${shell} says to source it and fails`,
    ...shellTest(shell),
    async fn() {
      const w = await setUp();
      const venv = w.venvs[1]!;
      const r = await runShell(w, shell, [...args, join(venv.bin, "activate")]);
      assert(r.code !== 0, `exit status ${r.code}`);
      assert(r.stderr.includes("must be sourced"), r.stderr);
      assertEquals(r.stdout, "");
    },
  });
}

/** Run `script`; it prints `¦`-separated values: returned split. */
async function fields(w: World, shell: string, args: string[], script: string, file?: string) {
  const r = await runShell(w, shell, args, {
    script,
    ...(file ? { file } : {}),
    ...(shell === "xonsh" ? { unset: ["PYTHONHOME"] } : {}),
  });
  assertEquals(r.stderr, "", shell);
  return r.stdout.split("¦");
}

for (const { shell, args, strict } of POSIX_SHELLS) {
  Deno.test({
    name:
      `activate in ${shell}: VIRTUAL_ENV_DISABLE_PROMPT, an unset PS1, deactivate nondestructive`,
    ...shellTest(shell),
    async fn() {
      const w = await setUp();
      const venv = w.venvs[1]!;
      const activate = `. ${posixQuote(join(venv.bin, "activate"))}\n`;
      const show = `printf '%s¦' "\${PS1-unset}" "\${VIRTUAL_ENV_PROMPT-unset}" ` +
        `"\${VIRTUAL_ENV-unset}" "$(type deactivate >/dev/null 2>&1 && echo fn || echo none)"\n`;
      const script = strict +
        `PS1=${posixQuote(BASE_PROMPT)}\nVIRTUAL_ENV_DISABLE_PROMPT=1\n` + activate + show +
        "deactivate nondestructive\n" + show +
        "deactivate\nunset VIRTUAL_ENV_DISABLE_PROMPT PS1\n" + activate + show +
        "deactivate\n" + show;
      assertEquals(await fields(w, shell, args, script), [
        ...[BASE_PROMPT, venv.prompt, venv.dir, "fn"],
        ...[BASE_PROMPT, "unset", "unset", "fn"],
        ...["unset", venv.prompt, venv.dir, "fn"],
        ...["unset", "unset", "unset", "none"],
        "",
      ]);
    },
  });
}

Deno.test({
  name: "activate.fish: VIRTUAL_ENV_DISABLE_PROMPT keeps the prompt, deactivate nondestructive",
  ...shellTest("fish"),
  async fn() {
    const w = await setUp();
    const venv = w.venvs[1]!;
    const show = 'printf \'%s¦\' (fish_prompt) "$VIRTUAL_ENV_PROMPT" "$VIRTUAL_ENV" ' +
      "(functions -q deactivate; and echo fn; or echo none)\n";
    const script =
      "function fish_prompt; printf '@@> '; end\nset -gx VIRTUAL_ENV_DISABLE_PROMPT 1\n" +
      `source ${fishQuote(join(venv.bin, "activate.fish"))}\n` + show +
      "deactivate nondestructive\n" + show;
    assertEquals(await fields(w, "fish", ["--no-config"], script), [
      ...[BASE_PROMPT, venv.prompt, venv.dir, "fn"],
      ...[BASE_PROMPT, "", "", "fn"],
      "",
    ]);
  },
});

Deno.test({
  name: "activate.csh: VIRTUAL_ENV_DISABLE_PROMPT keeps the prompt, deactivate nondestructive",
  ...shellTest("tcsh"),
  async fn() {
    const w = await setUp();
    const venv = w.venvs[1]!;
    const show = `printf '%s¦' "$prompt:q" "$?VIRTUAL_ENV_PROMPT" "$?VIRTUAL_ENV"\n` +
      "set d = `alias deactivate | wc -c`\nprintf '%s¦' $d\n";
    const script = `set prompt = ${cshQuote(BASE_PROMPT)}\nsetenv VIRTUAL_ENV_DISABLE_PROMPT 1\n` +
      `source ${cshQuote(join(venv.bin, "activate.csh"))}\n` + show +
      "deactivate nondestructive\n" + show;
    const got = await fields(w, "tcsh", ["-f"], script);
    assertEquals(got.slice(0, 3), [BASE_PROMPT, "1", "1"]);
    assert(Number(got[3]) > 0, "the alias is there");
    assertEquals(got.slice(4, 7), [BASE_PROMPT, "0", "0"]);
    assert(Number(got[7]) > 0, "the alias is kept");
  },
});

Deno.test({
  name: "activate.nu and activate.xsh leave the prompt alone under VIRTUAL_ENV_DISABLE_PROMPT",
  ...shellTest("nu"),
  async fn() {
    const w = await setUp();
    const venv = w.venvs[1]!;
    const nu = `$env.PROMPT_COMMAND = {|| ${nushellQuote(BASE_PROMPT)} }\n` +
      `$env.VIRTUAL_ENV_DISABLE_PROMPT = "1"\n` +
      `overlay use ${nushellQuote(join(venv.bin, "activate.nu"))}\n` +
      `print -n $"(do $env.PROMPT_COMMAND)¦($env.VIRTUAL_ENV_PROMPT)¦"\n`;
    assertEquals(await fields(w, "nu", ["-n"], nu, "script.nu"), [BASE_PROMPT, venv.prompt, ""]);
    if (shellTest("xonsh").ignore) return;
    const xsh = "from xonsh.prompt.base import PromptFormatter\n" +
      "$VIRTUAL_ENV_DISABLE_PROMPT = '1'\n" +
      `source @(${pythonQuote(join(w.venvs[0]!.bin, "activate.xsh"))})\n` +
      "$PROMPT_FIELDS.reset()\n" +
      `print(PromptFormatter()("{env_name}") + "¦" + $VIRTUAL_ENV_PROMPT + "¦", end="")\n`;
    assertEquals(await fields(w, "xonsh", ["--no-rc"], xsh, "script.xsh"), ["", "venv-plain", ""]);
  },
});

Deno.test({
  name: "activate passes shellcheck as sh and as bash, hostile values included",
  ...shellTest("shellcheck"),
  async fn() {
    const w = await setUp();
    const files = w.venvs.map((v) => join(v.bin, "activate"));
    for (const dialect of ["sh", "bash", "dash", "ksh"]) {
      const r = await run(needShell("shellcheck"), ["-s", dialect, ...files]);
      assertEquals(r.stdout + r.stderr, "", dialect);
      assertEquals(r.code, 0, dialect);
    }
  },
});

// ---------------------------------------------------------------------------------------
// fish

function fishStage(stage: string): string {
  return [
    `printf '\\001${stage}.env\\002'; ${DUMP_ENV}`,
    `printf '\\001${stage}.prompt\\002'; false; fish_prompt`,
    `printf '\\001${stage}.which\\002'; command -v python; or printf none`,
    `printf '\\001${stage}.deactivate\\002'; functions -q deactivate; and printf yes; or printf no`,
  ].join("\n") + "\n";
}

Deno.test({
  name: "activate.fish in fish: sets and restores everything, the prompt gets the last status",
  ...shellTest("fish"),
  async fn() {
    const w = await setUp();
    for (const venv of w.venvs) {
      const activate = fishQuote(join(venv.bin, "activate.fish"));
      const script = "function fish_prompt; printf '@@[%s]> ' $status; end\n" +
        fishStage("before") +
        `source ${activate}\n` +
        fishStage("active") +
        `printf '\\001active.prefix\\002'; python -c ${fishQuote(PREFIX_CODE)}\n` +
        `source ${activate}\n` +
        fishStage("again") +
        "deactivate\n" +
        fishStage("after") +
        "printf '\\001end\\002'\n";
      const r = await runShell(w, "fish", ["--no-config"], { script });
      assertEquals(r.stderr, "", venv.label);
      const which = (p: string) => `${p}\n`;
      check(r.stdout, venv, w, {
        basePrompt: "@@[1]> ",
        activePrompt: `(${venv.prompt}) @@[1]> `,
        which,
      });
    }
  },
});

// ---------------------------------------------------------------------------------------
// csh / tcsh

function cshStage(stage: string): string {
  return [
    `printf '\\001${stage}.env\\002'; ${DUMP_ENV}`,
    `printf '\\001${stage}.prompt\\002%s' "$prompt:q"`,
    `printf '\\001${stage}.which\\002'; which python`,
    `printf '\\001${stage}.deactivate\\002'`,
    `set d = \`alias deactivate | wc -c\``,
    `if ($d > 0) then`,
    `  printf yes`,
    `else`,
    `  printf no`,
    `endif`,
  ].join("\n") + "\n";
}

Deno.test({
  name: "activate.csh in tcsh: sets and restores everything, PYTHONHOME included",
  ...shellTest("tcsh"),
  async fn() {
    const w = await setUp();
    for (const venv of w.venvs) {
      const activate = cshQuote(join(venv.bin, "activate.csh"));
      const script = `set prompt = ${cshQuote(BASE_PROMPT)}\n` +
        cshStage("before") +
        `source ${activate}\n` +
        cshStage("active") +
        `printf '\\001active.prefix\\002'; python -c ${cshQuote(PREFIX_CODE)}\n` +
        `source ${activate}\n` +
        cshStage("again") +
        "deactivate\n" +
        cshStage("after") +
        "printf '\\001end\\002'\n";
      const r = await runShell(w, "tcsh", ["-f"], { script });
      assertEquals(r.stderr, "", venv.label);
      check(r.stdout, venv, w, {
        basePrompt: BASE_PROMPT,
        // tcsh reads % ! \ in its prompt as escapes: the prefix is written escaped.
        activePrompt: `(${cshPromptEscape(venv.prompt)}) ${BASE_PROMPT}`,
        which: (p) => `${p}\n`,
      });
    }
  },
});

Deno.test({
  name: "activate.csh in interactive tcsh shows the prompt exactly as written",
  ...shellTest("tcsh"),
  async fn() {
    const w = await setUp();
    for (const venv of w.venvs) {
      const stdin = `set prompt = ${cshQuote(BASE_PROMPT)}\n` +
        `source ${cshQuote(join(venv.bin, "activate.csh"))}\nexit\n`;
      const r = await runShell(w, "tcsh", ["-f", "-i"], { stdin });
      const shown = `(${venv.prompt}) ${BASE_PROMPT}`;
      assert((r.stdout + r.stderr).includes(shown), `${venv.label}: ${r.stdout}${r.stderr}`);
    }
  },
});

// ---------------------------------------------------------------------------------------
// nushell

function nuStage(stage: string): string {
  return [
    `print -n "\\u{1}${stage}.env\\u{2}"`,
    `^${DUMP_ENV}`,
    `print -n $"\\u{1}${stage}.prompt\\u{2}(do $env.PROMPT_COMMAND)"`,
    `print -n $"\\u{1}${stage}.which\\u{2}(which python | get path | append 'none' | first)"`,
    `let active = (overlay list | where active | get name | any {|n| $n == 'activate' })`,
    `print -n $"\\u{1}${stage}.deactivate\\u{2}(if $active { 'yes' } else { 'no' })"`,
  ].join("\n") + "\n";
}

Deno.test({
  name: "activate.nu in nushell: an overlay that sets and restores everything",
  ...shellTest("nu"),
  async fn() {
    const w = await setUp();
    // PYTHONHOME from the process's environment, and set in the nushell session (which hiding
    // a variable in an overlay does not bring back by itself).
    for (const [venv, session] of w.venvs.flatMap((v) => [[v, false], [v, true]] as const)) {
      const activate = nushellQuote(join(venv.bin, "activate.nu"));
      const script = `$env.PROMPT_COMMAND = {|| ${nushellQuote(BASE_PROMPT)} }\n` +
        (session ? `$env.PYTHONHOME = ${nushellQuote(HOME_VALUE)}\n` : "") +
        nuStage("before") +
        `overlay use ${activate}\n` +
        nuStage("active") +
        `print -n "\\u{1}active.prefix\\u{2}"\n^python -c ${nushellQuote(PREFIX_CODE)}\n` +
        `overlay use ${activate}\n` +
        nuStage("again") +
        "deactivate\n" +
        nuStage("after") +
        `print -n "\\u{1}end\\u{2}"\n`;
      const r = await runShell(w, "nu", ["-n"], {
        script,
        file: "script.nu",
        ...(session ? { unset: ["PYTHONHOME"] } : {}),
      });
      assertEquals(r.stderr, "", venv.label);
      check(r.stdout, venv, w, {
        basePrompt: BASE_PROMPT,
        activePrompt: `(${venv.prompt}) ${BASE_PROMPT}`,
        noise: ["LAST_EXIT_CODE"],
      });
    }
  },
});

// ---------------------------------------------------------------------------------------
// xonsh

function xonshStage(stage: string): string {
  return [
    `print("\\x01${stage}.env\\x02", end="", flush=True)`,
    `![${DUMP_ENV}]`,
    `$PROMPT_FIELDS.reset()`,
    `print("\\x01${stage}.prompt\\x02" + PromptFormatter()("{env_name}"), end="")`,
    `print("\\x01${stage}.which\\x02" + $(sh -c "command -v python || echo none").strip(), end="")`,
    `print("\\x01${stage}.deactivate\\x02" + ("yes" if "deactivate" in aliases else "no"), end="")`,
  ].join("\n") + "\n";
}

function xonshScript(venv: Venv): string {
  const activate = pythonQuote(join(venv.bin, "activate.xsh"));
  return "from xonsh.prompt.base import PromptFormatter\n" +
    // xonsh is itself a Python: PYTHONHOME is set once it runs.
    `$PYTHONHOME = ${pythonQuote(HOME_VALUE)}\n` +
    xonshStage("before") +
    `source @(${activate})\n` +
    xonshStage("active") +
    `print("\\x01active.prefix\\x02", end="", flush=True)\n` +
    `python -c ${pythonQuote(PREFIX_CODE)}\n` +
    `source @(${activate})\n` +
    xonshStage("again") +
    "deactivate\n" +
    xonshStage("after") +
    `print("\\x01end\\x02", end="")\n`;
}

Deno.test({
  name: "activate.xsh in xonsh: sets and restores everything, {env_name} shows the prompt",
  ...shellTest("xonsh"),
  async fn() {
    const w = await setUp();
    // xonsh expands "$HOME" in PATH entries whatever the quoting (no escape exists): the
    // hostile name is used without it here, and with it in the next test.
    for (const venv of [w.venvs[0]!, w.noVarVenv]) {
      const r = await runShell(w, "xonsh", ["--no-rc"], {
        script: xonshScript(venv),
        file: "script.xsh",
        unset: ["PYTHONHOME"],
      });
      assertEquals(r.stderr, "", venv.label);
      check(r.stdout, venv, w, {
        basePrompt: "",
        activePrompt: `(${venv.prompt}) `,
        noise: ["XONSH_CAPTURE_ALWAYS"],
      });
    }
  },
});

Deno.test({
  name: "activate.xsh warns when xonsh would expand a $NAME in the path on PATH",
  ...shellTest("xonsh"),
  async fn() {
    const w = await setUp();
    const venv = w.venvs[1]!;
    const script = `source @(${pythonQuote(join(venv.bin, "activate.xsh"))})\n` +
      `print($VIRTUAL_ENV + "|" + $VIRTUAL_ENV_PROMPT, end="")\n`;
    const r = await runShell(w, "xonsh", ["--no-rc"], {
      script,
      file: "script.xsh",
      unset: ["PYTHONHOME"],
    });
    assertEquals(r.stdout, `${venv.dir}|${venv.prompt}`);
    assert(r.stderr.startsWith("activate.xsh: xonsh expands the variables in "), r.stderr);
    assert(r.stderr.includes("commands of the environment will not be found"), r.stderr);
  },
});

// ---------------------------------------------------------------------------------------
// activate_this.py

Deno.test("activate_this.py in a plain base python: prefix, sys.path, .pth files, environment", async () => {
  const w = await setUp();
  for (const venv of w.venvs) {
    const lib = [...Deno.readDirSync(join(venv.dir, "lib"))].map((e) => e.name);
    const sitePackages = join(
      venv.dir,
      "lib",
      lib.find((n) => n.startsWith("python"))!,
      "site-packages",
    );
    const extra = join(w.root, `pth target ${venv.label}`);
    await Deno.mkdir(extra);
    await Deno.writeTextFile(join(sitePackages, "mkvenv_probe_mod.py"), "WHERE = 'venv'\n");
    await Deno.writeTextFile(join(extra, "mkvenv_pth_mod.py"), "WHERE = 'pth'\n");
    await Deno.writeTextFile(join(sitePackages, "mkvenv-probe.pth"), `${extra}\n`);
    const activateThis = join(venv.bin, "activate_this.py");
    const code = [
      "import json, os, sys",
      `os.environ["PYTHONHOME"] = ${pythonQuote(HOME_VALUE)}`,
      "before = {'prefix': sys.prefix, 'path': list(sys.path), 'env': dict(os.environ)}",
      `path = ${pythonQuote(activateThis)}`,
      'ns = {"__file__": path}',
      'exec(open(path, encoding="utf-8").read(), ns)',
      "import mkvenv_probe_mod, mkvenv_pth_mod",
      "after = {'prefix': sys.prefix, 'exec_prefix': sys.exec_prefix, 'path': sys.path,",
      "         'env': dict(os.environ), 'mods': [mkvenv_probe_mod.WHERE, mkvenv_pth_mod.WHERE],",
      "         'names': sorted(n for n in ns if n not in ('__file__', '__builtins__', '__doc__'))}",
      "sys.stdout.write(json.dumps({'before': before, 'after': after}))",
    ].join("\n");
    const r = await run(BASE_PYTHON, ["-I", "-c", code], {
      cwd: w.work,
      clearEnv: true,
      env: { PATH: w.basePath, LC_ALL: "C.UTF-8", HOME: w.home },
    });
    assertEquals(r.stderr, "", venv.label);
    type State = { prefix: string; path: string[]; env: Record<string, string> };
    const { before, after } = JSON.parse(r.stdout) as {
      before: State;
      after: State & { exec_prefix: string; mods: string[]; names: string[] };
    };
    assert(before.prefix !== venv.dir);
    assertEquals(after.prefix, venv.dir);
    assertEquals(after.exec_prefix, venv.dir);
    assertEquals(after.path, [sitePackages, extra, ...before.path]);
    assertEquals(after.mods, ["venv", "pth"]);
    assertEquals(after.names, [], "nothing left in the caller's namespace");
    const expectedEnv: Record<string, string> = {
      ...before.env,
      VIRTUAL_ENV: venv.dir,
      VIRTUAL_ENV_PROMPT: venv.prompt,
      PATH: `${venv.bin}:${w.basePath}`,
    };
    delete expectedEnv.PYTHONHOME;
    assertEquals(after.env, expectedEnv);
  }
});

// ---------------------------------------------------------------------------------------
// Git Bash, MSYS2 and Cygwin: the scripts of a Windows venv convert its C:\ path. A stand-in
// for cygpath maps C:\fake\<name> to <root>/fake/<name>, as Cygwin's would to /cygdrive/c/...

Deno.test({
  name: "activate, activate.fish and activate.csh of a windows venv convert the path with cygpath",
  ...shellTest("bash"),
  async fn() {
    const w = await setUp();
    const name = HOSTILE_NAME.replace(/["|*;\\]/g, "");
    const info = fixture("cpython-3.12-windows");
    const layout = computeLayout(info, `C:\\fake\\${name}`, {
      ...defaultBuildOptions("windows"),
      prompt: null,
      cwd: "C:\\",
    });
    const dir = join(w.root, "cyg");
    const tools = join(w.root, "cygtools");
    await Deno.mkdir(dir);
    await Deno.mkdir(tools);
    for (const f of renderActivationScripts(layout)) {
      await Deno.writeTextFile(join(dir, f.path.split("\\").pop()!), f.content as string);
    }
    const cygpath = join(tools, "cygpath");
    await Deno.writeTextFile(
      cygpath,
      "#!/bin/sh\n# Test stand-in for cygpath -u: C:\\fake\\x -> <root>/fake/x\n" +
        `[ "$1" = -u ] || exit 2\n` +
        `printf '%s\\n' "$2" | sed -e 's|^C:.fake.|${w.root}/fake/|' -e 's|\\\\|/|g'\n`,
    );
    await Deno.chmod(cygpath, 0o755);
    const converted = `${w.root}/fake/${name}`;
    const path = `${tools}:${w.basePath}`;
    const expected = `${converted}|${converted}/Scripts:${path}`;
    const show = `printf '%s|%s' "$VIRTUAL_ENV" "$PATH"\n`;
    const cases: [string, string[], string][] = [
      ["bash", ["--norc"], `. ${posixQuote(join(dir, "activate"))}\n${show}`],
      ["dash", [], `. ${posixQuote(join(dir, "activate"))}\n${show}`],
      ["zsh", ["-f"], `. ${posixQuote(join(dir, "activate"))}\n${show}`],
      [
        "fish",
        ["--no-config"],
        `source ${fishQuote(join(dir, "activate.fish"))}\n` +
        `printf '%s|%s' "$VIRTUAL_ENV" (string join : $PATH)\n`,
      ],
      ["tcsh", ["-f"], `source ${cshQuote(join(dir, "activate.csh"))}\n${show}`],
    ];
    for (const [shell, args, script] of cases) {
      if (which(shell) === null && !isRequired(shell)) continue;
      const r = await runShell(w, shell, args, { script, env: { PATH: path } });
      assertEquals(r.stderr, "", shell);
      assertEquals(r.stdout, expected, shell);
    }
  },
});
