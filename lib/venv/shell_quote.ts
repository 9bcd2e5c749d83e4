/**
 * Quoting of values for the languages mkvenv writes: every rule for turning a string into a
 * literal of some shell lives here. Each `*Quote` function returns text that the language reads
 * back as exactly `value`; the caller first checks with `unsafeCharacter` that the language can
 * carry the value at all.
 */

/** The languages mkvenv writes values into. */
export type ScriptLanguage =
  | "posix"
  | "fish"
  | "csh"
  | "powershell"
  | "batch"
  | "nushell"
  | "python";

const POSIX_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote `value` as one word for a POSIX shell (sh, bash, zsh, dash, ksh): unchanged when it is
 * made of safe characters only, else single-quoted with each `'` written as `'"'"'`.
 */
export function posixQuote(value: string): string {
  if (value === "") return "''";
  if (POSIX_SAFE.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** Join `argv` into one POSIX shell command line that re-creates the same words. */
export function posixCommandLine(argv: readonly string[]): string {
  return argv.map(posixQuote).join(" ");
}

/**
 * Quote `value` for fish: single quotes, inside which fish still reads `\\` and `\'` as escapes
 * (so a POSIX-quoted backslash would be lost).
 */
export function fishQuote(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/**
 * Quote `value` for csh and tcsh: single quotes, with `'` written as `'\''` and `!` as `\!`,
 * because csh expands history references even inside single quotes (also in sourced files).
 */
export function cshQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`).replaceAll("!", "\\!")}'`;
}

/**
 * Escape `text` for tcsh's `prompt` variable, which has its own escapes: `%` starts a prompt
 * sequence, `!` stands for the history number and `\` escapes the next character.
 */
export function cshPromptEscape(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("!", "\\!").replaceAll("%", "%%");
}

/**
 * Write `value` as a PowerShell expression of type string made of printable ASCII only:
 * single-quoted runs (`'` doubled) joined with `[char]0xNNNN` for every other character.
 * Windows PowerShell 5.1 reads a script without a byte order mark in the ANSI code page, so
 * non-ASCII text in the file itself would be misread; PowerShell also takes the typographic
 * quotes U+2018–U+201B as single quotes, which this way never appear inside a literal. The
 * sum always starts with a string, as `[char] + [char]` would add numbers.
 */
export function powershellQuote(value: string): string {
  const parts: string[] = [];
  let run = "";
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0x20 && unit < 0x7f) {
      run += unit === 0x27 ? "''" : value[i];
      continue;
    }
    if (run !== "" || parts.length === 0) parts.push(`'${run}'`);
    run = "";
    parts.push(`[char]0x${unit.toString(16).toUpperCase().padStart(4, "0")}`);
  }
  if (run !== "" || parts.length === 0) parts.push(`'${run}'`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(" + ")})`;
}

/**
 * Escape `value` for the inside of a `set "NAME=value"` line of a cmd.exe batch file. `%` is
 * doubled (batch files expand `%...%` before anything else). With delayed expansion on, a
 * line holding a `!` also reads `^` as an escape and `!...!` as a variable, so then `^` and
 * `!` get a caret; inside the quotes `&|<>()^` need nothing else. `"` cannot be carried (see
 * `unsafeCharacter`).
 */
export function batchQuote(value: string, options: { delayedExpansion: boolean }): string {
  let out = value.replaceAll("%", "%%");
  if (options.delayedExpansion && value.includes("!")) {
    out = out.replaceAll("^", "^^").replaceAll("!", "^!");
  }
  return out;
}

/** Escape `text` for cmd.exe's `PROMPT` variable, where `$` starts a prompt code. */
export function cmdPromptEscape(text: string): string {
  return text.replaceAll("$", () => "$$");
}

/**
 * Quote `value` as a nushell string: double quotes, in which nushell reads backslash escapes
 * but no interpolation (that needs `$"..."`).
 */
export function nushellQuote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * Quote `value` as a Python (and xonsh) string literal: double quotes, with `\`, `"` and every
 * control character escaped; other characters are written as they are (source files are UTF-8).
 */
export function pythonQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\" || ch === '"') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** Quote `value` as a literal of `language` (batch: delayed expansion off). */
export function quoteFor(language: ScriptLanguage, value: string): string {
  switch (language) {
    case "posix":
      return posixQuote(value);
    case "fish":
      return fishQuote(value);
    case "csh":
      return cshQuote(value);
    case "powershell":
      return powershellQuote(value);
    case "batch":
      return batchQuote(value, { delayedExpansion: false });
    case "nushell":
      return nushellQuote(value);
    case "python":
      return pythonQuote(value);
  }
}

/** What `unsafeCharacter` found: the character, and why as a clause ("which ..."). */
export interface UnsafeCharacter {
  character: string;
  reason: string;
}

/**
 * The first character of `value` that a script in `language` cannot carry safely, or null.
 * No script can hold a NUL, and a line break would end a command (or a `set` line) early.
 * cmd.exe has no way to escape `"` inside `set "NAME=value"`, and other control characters
 * do not survive its line reader.
 */
export function unsafeCharacter(language: ScriptLanguage, value: string): UnsafeCharacter | null {
  for (const ch of value) {
    if (ch === "\0") return { character: ch, reason: "no script can carry" };
    if (ch === "\n" || ch === "\r") {
      return { character: ch, reason: "would end a line of the script early" };
    }
    if (language !== "batch") continue;
    if (ch === '"') {
      return { character: ch, reason: "cmd.exe cannot escape inside a quoted value" };
    }
    const code = ch.codePointAt(0)!;
    if ((code < 0x20 && ch !== "\t") || code === 0x7f) {
      return { character: ch, reason: "cmd.exe cannot read back from a batch file" };
    }
  }
  return null;
}

/**
 * Quote one argument the way the Windows C runtime splits command lines (CommandLineToArgvW):
 * wrapped in double quotes when needed, with backslashes before quotes doubled.
 */
export function windowsArgQuote(value: string): string {
  if (value !== "" && !/[\s"]/.test(value)) return value;
  let out = '"';
  let backslashes = 0;
  for (const ch of value) {
    if (ch === "\\") {
      backslashes++;
    } else if (ch === '"') {
      out += "\\".repeat(backslashes * 2 + 1) + '"';
      backslashes = 0;
    } else {
      out += "\\".repeat(backslashes) + ch;
      backslashes = 0;
    }
  }
  return out + "\\".repeat(backslashes * 2) + '"';
}

/** Join `argv` into one Windows command line that re-creates the same arguments. */
export function windowsCommandLine(argv: readonly string[]): string {
  return argv.map(windowsArgQuote).join(" ");
}

/**
 * Write `value` as one word that both `sh` and Python read without error: for `sh` it is
 * exactly `value`; for Python it is a run of adjacent string literals (an expression statement
 * whose value does not matter). Single-quoted runs carry everything except `'` and `\`, which
 * are written `"'"` and `"\\"` (the same in both languages), so `$`, backticks, `!`, `"` and
 * spaces are never expanded by `sh`. Throws `RangeError` for a line break or NUL, which
 * cannot be written this way.
 */
export function shPythonWord(value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new RangeError("the value contains a line break or NUL");
  }
  if (value === "") return "''";
  let out = "";
  for (const piece of value.split(/(['\\])/)) {
    if (piece === "") continue;
    if (piece === "'") out += `"'"`;
    else if (piece === "\\") out += `"\\\\"`;
    else out += `'${piece}'`;
  }
  return out;
}
