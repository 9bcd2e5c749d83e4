/**
 * Quoting of values for the languages mkvenv writes: every rule for turning a string into a
 * literal of some shell lives here.
 */

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
