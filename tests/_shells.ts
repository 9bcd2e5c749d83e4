/**
 * Shared by the activation tests: the hostile names every activation test uses, and which
 * shells are on this machine (a missing shell fails the test in CI, and is skipped with a
 * note elsewhere).
 */
import { delimiter, join } from "node:path";

/**
 * A directory name in the spirit of virtualenv's hostile fixture: spaces, both quote kinds,
 * `$`, a command substitution, backticks, `;`, `&`, `|`, `!`, `%`, `^`, `*`, a backslash,
 * non-ASCII letters and an emoji, plus text that looks like variables of each shell. Any
 * command it manages to run creates a file called `marker` in the shell's working directory.
 */
export const HOSTILE_NAME =
  `env 'sq' "dq" $HOME $(touch marker) \`touch marker\` ; & | ! !! % %PATH% !PATH! ^ * \\ é ü 🐍 {x} #`;

/** A `--prompt` as hostile as the name, with the prompt escapes of every shell added. */
export const HOSTILE_PROMPT =
  `p $(touch marker) \`touch marker\` 'sq' "dq" \\ \\\\ \\$ ! !! % %% %n ^ * ; & | ~ {env_name} {x} ё 🐍`;

/** Values for the quoting round trips: the hostile texts and their edge cases. */
export const HOSTILE_VALUES: readonly string[] = [
  "",
  "plain",
  " leading and trailing space ",
  HOSTILE_NAME,
  HOSTILE_PROMPT,
  "'",
  "''",
  '"',
  "\\",
  "ends with a backslash\\",
  "\\'",
  "a\\!b",
  "!",
  "!!",
  "$",
  "${PATH}",
  "%",
  "%%",
  "%1",
  "%~dp0",
  "^",
  "^!",
  "tab\there",
  "‘curly’ ‚low‛ “double” „low”",
  "-n",
  "--",
  "ü é ё 中文 🐍 \u{1F468}\u{200D}\u{1F469}",
];

/** The first executable called `name` on PATH (with a Windows extension there), or null. */
export function which(name: string): string | null {
  const windows = Deno.build.os === "windows";
  const extensions = windows ? [".exe", ".cmd", ".bat", ""] : [""];
  for (const dir of (Deno.env.get("PATH") ?? "").split(delimiter)) {
    if (dir === "") continue;
    for (const ext of extensions) {
      const candidate = join(dir, name + ext);
      try {
        const st = Deno.statSync(candidate);
        if (st.isFile && (windows || ((st.mode ?? 0o111) & 0o111) !== 0)) return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/**
 * Whether a test that needs `command` must run: when `MKVENV_REQUIRE_SHELLS` (a
 * comma-separated list) is set, if it names the command; otherwise in CI (`CI=true`), unless
 * `requiredInCi` is false (tests that other tests already cover, or for other systems).
 */
export function isRequired(command: string, requiredInCi = true): boolean {
  const list = Deno.env.get("MKVENV_REQUIRE_SHELLS");
  if (list !== undefined) return list.split(",").map((s) => s.trim()).includes(command);
  return requiredInCi && Deno.env.get("CI") === "true";
}

/**
 * `Deno.test` options for a test that needs `command`: ignored, with a note, when it is
 * missing and not required; when it is missing and required, the test runs and `needShell`
 * fails it.
 */
export function shellTest(
  command: string,
  options: { requiredInCi?: boolean } = {},
): { ignore: boolean } {
  if (which(command) !== null || isRequired(command, options.requiredInCi)) {
    return { ignore: false };
  }
  console.log(`note: ${command} is not installed here; tests that need it are skipped`);
  return { ignore: true };
}

/** The path of `command`, or throw: a required shell is missing. */
export function needShell(command: string): string {
  const path = which(command);
  if (path === null) {
    throw new Error(`${command} is required here (CI or MKVENV_REQUIRE_SHELLS) but not installed`);
  }
  return path;
}

/**
 * Read a PowerShell string expression as powershellQuote() writes it: `'...'` (with `''` for
 * `'`), or a parenthesised sum of such literals and `[char]0xNNNN`. Throws on anything else.
 */
export function readPowershell(text: string): string {
  const inner = text.startsWith("(") && text.endsWith(")") ? text.slice(1, -1) : text;
  const token = /\s*(?:'((?:[^']|'')*)'|\[char\]0x([0-9A-F]{4}))\s*(\+|$)/y;
  let out = "";
  let end = false;
  while (!end) {
    const m = token.exec(inner);
    if (m === null) throw new Error(`not a string expression: ${text}`);
    if (m[1] !== undefined) out += m[1].replaceAll("''", "'");
    else out += String.fromCharCode(parseInt(m[2]!, 16));
    end = m[3] === "";
  }
  return out;
}

/**
 * Read the text between `set "NAME=` and the closing `"` the way cmd.exe reads a line of a
 * batch file: phase 1 turns `%%` into `%` (a lone `%` would start a variable); with delayed
 * expansion on, a token holding `!` then has `^x` read as `x` and `!NAME!` expanded (a lone
 * `!` vanishes). Throws where the text would expand a variable.
 */
export function readBatch(text: string, delayed: boolean): string {
  let phase1 = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "%") {
      phase1 += text[i];
    } else if (text[i + 1] === "%") {
      phase1 += "%";
      i++;
    } else {
      throw new Error(`a lone % in ${text}`);
    }
  }
  if (!delayed || !phase1.includes("!")) return phase1;
  let out = "";
  for (let i = 0; i < phase1.length; i++) {
    const ch = phase1[i]!;
    if (ch === "^") out += phase1[++i] ?? "";
    else if (ch === "!") throw new Error(`an unescaped ! in ${text}`);
    else out += ch;
  }
  return out;
}
