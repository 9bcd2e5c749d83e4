/**
 * The quoting rules of lib/venv/shell_quote.ts. Each quoted value is read back by the real
 * language where it is installed here (sh, fish, tcsh, nushell, Python); PowerShell and
 * cmd.exe are not, so their literals are read back by small readers that follow the
 * documented parsing rules of those languages.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import {
  batchQuote,
  cmdPromptEscape,
  cshPromptEscape,
  cshQuote,
  fishQuote,
  nushellQuote,
  posixQuote,
  powershellQuote,
  pythonQuote,
  type ScriptLanguage,
  unsafeCharacter,
} from "../lib/venv/shell_quote.ts";
import { run, tempDir } from "./_util.ts";
import { HOSTILE_VALUES, needShell, readBatch, readPowershell, shellTest } from "./_shells.ts";

/** The shells run here are all required by the end-to-end activation tests already. */
const ONLY_WHEN_INSTALLED = { requiredInCi: false };

/** Run `program` (written to a file) with `shell args... file`; one value per output line. */
async function readBack(
  shell: string,
  args: string[],
  program: string,
  file = "program",
): Promise<string[]> {
  await using tmp = await tempDir();
  const path = join(tmp.path, file);
  await Deno.writeTextFile(path, program);
  const r = await run(needShell(shell), [...args, path], {
    cwd: tmp.path,
    env: { LC_ALL: "C.UTF-8", PYTHONIOENCODING: "utf-8" },
  });
  assertEquals(r.stderr, "");
  assertEquals(r.code, 0);
  const entries = await Array.fromAsync(Deno.readDir(tmp.path));
  assertEquals(entries.map((e) => e.name), [file], "nothing else was created (no marker)");
  return r.stdout.split("\n").slice(0, -1);
}

Deno.test({
  name: "posixQuote() values read back unchanged by sh, nothing expanded",
  ...shellTest("sh", ONLY_WHEN_INSTALLED),
  async fn() {
    const program = HOSTILE_VALUES.map((v) => `printf '%s\\n' ${posixQuote(v)}\n`).join("");
    assertEquals(await readBack("sh", [], program), HOSTILE_VALUES);
  },
});

Deno.test("posixQuote() leaves safe words bare and quotes everything else", () => {
  assertEquals(posixQuote("/usr/bin/python3.12"), "/usr/bin/python3.12");
  assertEquals(posixQuote(""), "''");
  assertEquals(posixQuote("a b"), "'a b'");
  assertEquals(posixQuote("it's"), `'it'"'"'s'`);
  assertEquals(posixQuote("é"), "'é'");
});

Deno.test({
  name: "fishQuote() values read back unchanged by fish, backslashes included",
  ...shellTest("fish", ONLY_WHEN_INSTALLED),
  async fn() {
    const program = HOSTILE_VALUES.map((v) => `printf '%s\\n' ${fishQuote(v)}\n`).join("");
    assertEquals(await readBack("fish", ["--no-config"], program), HOSTILE_VALUES);
  },
});

Deno.test("fishQuote() escapes backslashes and single quotes only", () => {
  assertEquals(fishQuote(`a\\b'c"$d`), `'a\\\\b\\'c"$d'`);
});

Deno.test({
  name: "cshQuote() values read back unchanged by tcsh, history references included",
  ...shellTest("tcsh", ONLY_WHEN_INSTALLED),
  async fn() {
    const program = HOSTILE_VALUES.map((v) => `printf '%s\\n' ${cshQuote(v)}\n`).join("");
    assertEquals(await readBack("tcsh", ["-f"], program), HOSTILE_VALUES);
  },
});

Deno.test("cshQuote() escapes ! even inside single quotes", () => {
  assertEquals(cshQuote("a!b'c"), `'a\\!b'\\''c'`);
});

Deno.test("cshPromptEscape() and cmdPromptEscape() escape each prompt language", () => {
  assertEquals(cshPromptEscape("100% \\ !"), "100%% \\\\ \\!");
  assertEquals(cmdPromptEscape("$P$G costs $5"), "$$P$$G costs $$5");
});

Deno.test({
  name: "nushellQuote() values read back unchanged by nushell, nothing interpolated",
  ...shellTest("nu", ONLY_WHEN_INSTALLED),
  async fn() {
    const program = HOSTILE_VALUES.map((v) => `print ${nushellQuote(v)}\n`).join("");
    assertEquals(await readBack("nu", ["-n"], program, "program.nu"), HOSTILE_VALUES);
  },
});

Deno.test({
  name: "pythonQuote() values read back unchanged by Python",
  ...shellTest("python3", ONLY_WHEN_INSTALLED),
  async fn() {
    const values = [...HOSTILE_VALUES, "\x01\x1b\x7f"];
    const program = "import json\n" +
      values.map((v) => `print(json.dumps(${pythonQuote(v)}))\n`).join("");
    const got = await readBack("python3", ["-I"], program);
    assertEquals(got.map((line) => JSON.parse(line) as string), values);
  },
});

Deno.test("powershellQuote() writes printable ASCII that reads back to the value", () => {
  for (const value of HOSTILE_VALUES) {
    const text = powershellQuote(value);
    assert(/^[\x20-\x7e]*$/.test(text), `not printable ASCII: ${text}`);
    assertEquals(readPowershell(text), value);
  }
});

Deno.test("powershellQuote() never leaves a typographic quote inside a literal", () => {
  const text = powershellQuote("a‘b’c‚d‛e");
  assertEquals(
    text,
    "('a' + [char]0x2018 + 'b' + [char]0x2019 + 'c' + [char]0x201A + 'd' + [char]0x201B + 'e')",
  );
  assertEquals(powershellQuote("it's"), "'it''s'");
  assertEquals(powershellQuote(""), "''");
  // A sum that starts with a [char] would add numbers: a string always comes first.
  assertEquals(powershellQuote("🐍"), "('' + [char]0xD83D + [char]0xDC0D)");
});

Deno.test("batchQuote() text reads back unchanged with delayed expansion off and on", () => {
  for (const value of HOSTILE_VALUES) {
    if (unsafeCharacter("batch", value) !== null) continue;
    assertEquals(readBatch(batchQuote(value, { delayedExpansion: false }), false), value);
    assertEquals(readBatch(batchQuote(value, { delayedExpansion: true }), true), value);
  }
  assertEquals(batchQuote("100% ^ !", { delayedExpansion: false }), "100%% ^ !");
  assertEquals(batchQuote("100% ^ !", { delayedExpansion: true }), "100%% ^^ ^!");
  assertEquals(batchQuote("a ^ b", { delayedExpansion: true }), "a ^ b");
});

Deno.test("unsafeCharacter() refuses NUL and line breaks everywhere, and more in cmd.exe", () => {
  const all: ScriptLanguage[] = [
    "posix",
    "fish",
    "csh",
    "powershell",
    "batch",
    "nushell",
    "python",
  ];
  for (const language of all) {
    for (const bad of ["\0", "\n", "\r"]) {
      assertEquals(unsafeCharacter(language, `a${bad}b`)?.character, bad, language);
    }
    for (const value of HOSTILE_VALUES) {
      if (language === "batch" && value.includes('"')) continue;
      assertEquals(unsafeCharacter(language, value), null, `${language}: ${value}`);
    }
  }
  assertEquals(unsafeCharacter("batch", 'say "hi"')?.character, '"');
  assertEquals(unsafeCharacter("batch", "bell\x07")?.character, "\x07");
  assertEquals(unsafeCharacter("posix", 'say "hi"'), null);
});
