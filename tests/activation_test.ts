/**
 * Rendering of the activation scripts (lib/venv/activation.ts) for every platform: which files,
 * line endings, every value quoted for its file's language, and refusals. PowerShell and
 * cmd.exe are not installed here, so their text is checked by reading the values back with
 * the readers in tests/_shells.ts; the other scripts run in real shells in
 * tests/e2e/activation_shells_test.ts.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  ACTIVATION_SCRIPTS,
  renderActivationScripts,
  type ScriptFile,
  substitute,
} from "../lib/venv/activation.ts";
import { BuildError } from "../lib/errors.ts";
import { computeLayout, defaultBuildOptions, type VenvLayout } from "../lib/venv/layout.ts";
import {
  cshPromptEscape,
  cshQuote,
  fishQuote,
  nushellQuote,
  posixQuote,
  pythonQuote,
} from "../lib/venv/shell_quote.ts";
import { fixture } from "./fixtures/probe_fixtures.ts";
import { HOSTILE_NAME, HOSTILE_PROMPT, readBatch, readPowershell } from "./_shells.ts";

/** HOSTILE_NAME without the characters Windows forbids in names (`"`, `|`, `*`) or `;`. */
const WINDOWS_NAME = HOSTILE_NAME.replace(/["|*;]/g, "");
/** HOSTILE_PROMPT without `"`, which a .bat file cannot carry. */
const BAT_PROMPT = HOSTILE_PROMPT.replaceAll('"', "");

const POSIX_SCRIPTS = [
  "activate",
  "activate.fish",
  "activate.csh",
  "Activate.ps1",
  "activate.nu",
  "activate.xsh",
  "activate_this.py",
];

function layout(name: string, envDir: string, prompt: string | null = null): VenvLayout {
  const info = fixture(name);
  return computeLayout(info, envDir, { ...defaultBuildOptions(info.platform), prompt, cwd: "/" });
}

function text(file: ScriptFile): string {
  assert(typeof file.content === "string");
  return file.content;
}

function byName(files: ScriptFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path.split(/[\\/]/).pop()!, text(f)]));
}

Deno.test("renderActivationScripts() writes the same seven scripts on linux and macos", () => {
  for (const name of ["cpython-3.7-linux", "cpython-3.12-darwin", "cpython-3.14-linux"]) {
    const l = layout(name, "/home/me/proj/.venv");
    const files = renderActivationScripts(l);
    assertEquals(files.map((f) => f.path), POSIX_SCRIPTS.map((s) => `${l.binDir}/${s}`), name);
    for (const f of files) assertEquals(f.mode, 0o644, f.path);
  }
});

Deno.test("renderActivationScripts() adds activate.bat and deactivate.bat on windows", () => {
  for (const name of ["cpython-3.7-windows", "cpython-3.12-windows", "cpython-3.13-windows"]) {
    const l = layout(name, "C:\\Users\\me\\proj\\.venv");
    const files = renderActivationScripts(l);
    assertEquals(
      files.map((f) => f.path),
      [...POSIX_SCRIPTS, "activate.bat", "deactivate.bat"].map((s) =>
        `C:\\Users\\me\\proj\\.venv\\Scripts\\${s}`
      ),
      name,
    );
  }
});

Deno.test("the .bat files have CRLF line endings and every other script LF only", () => {
  const files = renderActivationScripts(layout("cpython-3.12-windows", `C:\\x\\${WINDOWS_NAME}`));
  for (const [name, content] of byName(files)) {
    if (name.endsWith(".bat")) {
      assert(content.endsWith("\r\n"), name);
      assertEquals(content.replaceAll("\r\n", "").includes("\n"), false, `${name}: bare LF`);
      assertEquals(content.replaceAll("\r\n", "").includes("\r"), false, `${name}: bare CR`);
    } else {
      assertEquals(content.includes("\r"), false, `${name}: CR`);
      assert(content.endsWith("\n"), name);
    }
  }
});

Deno.test("no placeholder is left in any script, and values are substituted once", () => {
  for (const name of ["cpython-3.12-linux", "cpython-3.13-windows"]) {
    const files = renderActivationScripts(layout(name, "/srv/__MKVENV_DIR__", "__MKVENV_PROMPT__"));
    for (const f of files) {
      const unquoted = text(f).replace(/__MKVENV_(DIR|PROMPT)__/g, "");
      assertEquals(/__MKVENV_[A-Z_]+__/.test(unquoted), false, f.path);
    }
  }
  assertEquals(
    substitute("[__MKVENV_A__|__MKVENV_B__]", { A: "__MKVENV_B__", B: "b" }),
    "[__MKVENV_B__|b]",
  );
  throws(() => substitute("__MKVENV_NOPE__", {}), /__MKVENV_NOPE__/);
});

Deno.test("each POSIX-side script carries the path and prompt quoted for its own language", () => {
  const dir = `/tmp/${HOSTILE_NAME}`;
  const scripts = byName(
    renderActivationScripts(layout("cpython-3.12-linux", dir, HOSTILE_PROMPT)),
  );
  const expect: [string, string][] = [
    ["activate", `VIRTUAL_ENV=${posixQuote(dir)}\n`],
    ["activate", `VIRTUAL_ENV_PROMPT=${posixQuote(HOSTILE_PROMPT)}\n`],
    ["activate.fish", `set -gx VIRTUAL_ENV ${fishQuote(dir)}\n`],
    ["activate.fish", `set -gx VIRTUAL_ENV_PROMPT ${fishQuote(HOSTILE_PROMPT)}\n`],
    ["activate.csh", `setenv VIRTUAL_ENV ${cshQuote(dir)}\n`],
    ["activate.csh", `setenv VIRTUAL_ENV_PROMPT ${cshQuote(HOSTILE_PROMPT)}\n`],
    [
      "activate.csh",
      `set prompt = ${cshQuote(`(${cshPromptEscape(HOSTILE_PROMPT)}) `)}"$prompt:q"\n`,
    ],
    ["activate.nu", `let venv = ${nushellQuote(dir)}\n`],
    ["activate.nu", `let prompt = ${nushellQuote(HOSTILE_PROMPT)}\n`],
    ["activate.xsh", `venv = ${pythonQuote(dir)}\n`],
    ["activate.xsh", `prompt = ${pythonQuote(HOSTILE_PROMPT)}\n`],
    ["activate_this.py", `venv = ${pythonQuote(dir)}\n`],
    ["activate_this.py", `os.environ["VIRTUAL_ENV_PROMPT"] = ${pythonQuote(HOSTILE_PROMPT)}\n`],
    ["activate_this.py", `os.path.join(venv, ${pythonQuote("lib/python3.12/site-packages")})`],
  ];
  for (const [name, line] of expect) {
    assert(scripts.get(name)!.includes(line), `${name} lacks ${JSON.stringify(line)}`);
  }
});

Deno.test("Activate.ps1 is printable ASCII and its values read back as the path and prompt", () => {
  for (
    const [name, dir, promptText] of [
      ["cpython-3.12-linux", `/tmp/${HOSTILE_NAME}`, HOSTILE_PROMPT],
      ["cpython-3.13-windows", `C:\\Users\\me\\${WINDOWS_NAME}`, BAT_PROMPT],
    ] as const
  ) {
    const l = layout(name, dir, promptText);
    const ps1 = byName(renderActivationScripts(l)).get("Activate.ps1")!;
    assert(/^[\x20-\x7e\n]*$/.test(ps1), "only printable ASCII and LF");
    const value = (variable: string) => {
      const m = new RegExp(`^    \\$${variable} = (.*)$`, "m").exec(ps1);
      assert(m !== null, variable);
      return readPowershell(m[1]!);
    };
    assertEquals(value("VenvDir"), dir);
    assertEquals(value("Prompt"), promptText);
    assert(ps1.includes(`$BinDir = Join-Path -Path $VenvDir -ChildPath '${l.binName}'\n`));
  }
});

Deno.test("activate.bat carries the path and prompt for cmd.exe with delayed expansion off and on", () => {
  const dir = `C:\\Users\\me\\${WINDOWS_NAME}`;
  const bat = byName(renderActivationScripts(layout("cpython-3.12-windows", dir, BAT_PROMPT)))
    .get("activate.bat")!;
  const lines = bat.split("\r\n");
  const delayedFrom = lines.indexOf(":mkvenv_delayed");
  assert(delayedFrom > 0 && lines.includes(":mkvenv_end"));
  const setText = (name: string, delayed: boolean) => {
    const found = lines.filter((line, i) =>
      line.startsWith(`set "${name}=`) && line !== `set "${name}="` &&
      (i > delayedFrom) === delayed
    );
    assertEquals(found.length, 1, `${name} (delayed: ${delayed})`);
    const line = found[0]!;
    assertEquals(line.split('"').length, 3, `one pair of quotes: ${line}`);
    return line.slice(`set "${name}=`.length, -1);
  };
  for (const delayed of [false, true]) {
    assertEquals(readBatch(setText("VIRTUAL_ENV", delayed), delayed), dir);
    assertEquals(readBatch(setText("VIRTUAL_ENV_PROMPT", delayed), delayed), BAT_PROMPT);
  }
  // In PROMPT "$" starts a code: the prefix is written with "$$".
  const cmdPrompt = BAT_PROMPT.replaceAll("$", "$$$$");
  const prompt = setText("PROMPT", false);
  assert(prompt.startsWith("(") && prompt.endsWith(") %PROMPT%"), prompt);
  assertEquals(readBatch(prompt.slice(1, -") %PROMPT%".length), false), cmdPrompt);
  assertEquals(readBatch(setText("_MKVENV_PROMPT_TEXT", true), true), cmdPrompt);
  assertEquals(setText("PROMPT", true), "(!_MKVENV_PROMPT_TEXT!) !PROMPT!");
  assert(lines.includes('set "PATH=%VIRTUAL_ENV%\\Scripts;%PATH%"'));
  assert(lines.includes('set "PATH=!VIRTUAL_ENV!\\Scripts;!PATH!"'));
});

Deno.test("activate.bat is ASCII until it has switched the code page to UTF-8", () => {
  const dir = `C:\\Users\\Zoë\\${WINDOWS_NAME}`;
  const bat = byName(renderActivationScripts(layout("cpython-3.12-windows", dir, BAT_PROMPT)))
    .get("activate.bat")!;
  const lines = bat.split("\r\n");
  const switched = lines.findIndex((l) => l.includes('chcp.com" 65001'));
  const restored = lines.findIndex((l) => l.includes('chcp.com" %_MKVENV_CODEPAGE%'));
  assert(switched > 0 && restored > switched);
  const ascii = (l: string) => [...l].every((ch) => ch.charCodeAt(0) < 0x80);
  assert(lines.slice(0, switched + 1).every(ascii), "ASCII before the switch");
  assert(lines.slice(restored).every(ascii), "ASCII after the switch back");
  assert(!lines.every(ascii), "the non-ASCII path is in the file");
  const deactivate = byName(renderActivationScripts(layout("cpython-3.12-windows", dir)))
    .get("deactivate.bat")!;
  assert(ascii(deactivate), "deactivate.bat holds no value: ASCII only");
});

Deno.test("activate for Git Bash and Cygwin on windows converts the C:\\ path with cygpath", () => {
  const dir = `C:\\Users\\me\\${WINDOWS_NAME}`;
  const sh = byName(renderActivationScripts(layout("cpython-3.12-windows", dir))).get("activate")!;
  assert(sh.includes(`VIRTUAL_ENV=${posixQuote(dir)}\n`));
  assert(sh.includes('cygpath -u "$VIRTUAL_ENV"'));
  assert(sh.includes("PATH=$VIRTUAL_ENV/Scripts${PATH:+:$PATH}\n"));
});

Deno.test("a path or prompt a script cannot carry is refused, naming the character and script", () => {
  const refuse = (l: VenvLayout, pattern: RegExp) =>
    throws(() => renderActivationScripts(l), (e: unknown) => {
      assert(e instanceof BuildError, String(e));
      assert(pattern.test(e.message), e.message);
      return true;
    });
  refuse(
    layout("cpython-3.12-linux", "/tmp/a\nb"),
    /^Cannot write the activation script "activate" for the path "\/tmp\/a\\nb": it contains "\\n", .*; choose a directory without it$/,
  );
  refuse(
    layout("cpython-3.12-linux", "/tmp/ab", "x\ry"),
    /"activate" for the prompt "x\\ry": it contains "\\r"/,
  );
  refuse(layout("cpython-3.12-linux", "/tmp/ab", "nul\0"), /it contains "\\u0000"/);
  refuse(
    layout("cpython-3.12-windows", "C:\\ab", 'say "hi"'),
    /^Cannot write the activation script "activate.bat" for the prompt "say \\"hi\\"": it contains "\\"", which cmd.exe .*; choose another --prompt$/,
  );
  refuse(layout("cpython-3.12-windows", "C:\\a\x07b"), /"activate.bat" for the path .*"\\u0007"/);
  // A double quote is fine where the language can carry it.
  assertEquals(
    renderActivationScripts(layout("cpython-3.12-linux", "/tmp/ab", 'say "hi"')).length,
    7,
  );
});

Deno.test("ACTIVATION_SCRIPTS names each template once", () => {
  const names = ACTIVATION_SCRIPTS.map((s) => s.name);
  assertEquals(new Set(names).size, names.length);
});
