/**
 * `pyvenv.cfg`: rendered with the keys, order and value formats of the interpreter's own venv
 * (spec §4), plus mkvenv's `mkvenv` key; and parsed the way `site.py` reads it.
 */
import type { InterpreterInfo } from "../discovery/interpreter.ts";
import { atLeast, type BuildOptions, pathFor, type VenvLayout } from "./layout.ts";

import { MKVENV_VERSION } from "../version.ts";

export { MKVENV_VERSION };

/**
 * Python's `repr()` of a str, as venv writes `prompt`: single quotes unless the text has `'`
 * and no `"`; backslash escapes for the quote, `\`, and non-printable characters.
 */
export function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp >= 0x80 && cp < 0xa0) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp === 0xad) out += "\\xad";
    else if (
      /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch) || (ch !== " " && /\p{Zs}/u.test(ch))
    ) {
      out += cp <= 0xffff
        ? "\\u" + cp.toString(16).padStart(4, "0")
        : "\\U" + cp.toString(16).padStart(8, "0");
    } else out += ch;
  }
  return out + quote;
}

/** What goes into `pyvenv.cfg` besides the layout and the interpreter. */
export interface CfgInput {
  options: BuildOptions;
  /** Our command line that re-creates this venv (already quoted), for the `command` key. */
  command: string;
}

/**
 * The text of `pyvenv.cfg`, newline-terminated lines `key = value` (CRLF on Windows, as
 * CPython's text-mode write gives there).
 */
export function renderPyvenvCfg(
  info: InterpreterInfo,
  layout: VenvLayout,
  input: CfgInput,
): string {
  const path = pathFor(info.platform);
  const lines: [string, string][] = [
    ["home", path.dirname(info.baseExecutable)],
    ["include-system-site-packages", input.options.systemSitePackages ? "true" : "false"],
    ["version", info.version.join(".")],
  ];
  if (input.options.prompt !== null && atLeast(info.version, 3, 8)) {
    lines.push(["prompt", pythonRepr(layout.prompt)]);
  }
  if (atLeast(info.version, 3, 11)) {
    lines.push(["executable", info.realpathExecutable]);
    lines.push(["command", input.command]);
  }
  lines.push(["mkvenv", MKVENV_VERSION]);
  const eol = info.platform === "windows" ? "\r\n" : "\n";
  return lines.map(([k, v]) => `${k} = ${v}${eol}`).join("");
}

/**
 * Parse `pyvenv.cfg` text as `site.py` does: each line with `=` split at the first `=`, key
 * stripped and lower-cased, value stripped. Later keys win.
 */
export function parsePyvenvCfg(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf("=");
    if (at < 0) continue;
    values.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  return values;
}

/**
 * Undo `pythonRepr` for a `prompt` value read back from `pyvenv.cfg` (for `--upgrade`).
 * Returns the text unchanged when it is not a quoted literal.
 */
export function parsePythonStrLiteral(text: string): string {
  const quote = text[0];
  if (text.length < 2 || (quote !== "'" && quote !== '"') || text.at(-1) !== quote) return text;
  const body = text.slice(1, -1);
  return body.replace(
    /\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\\'"tnr])/g,
    (_m, esc: string) => {
      switch (esc[0]) {
        case "x":
        case "u":
        case "U":
          return String.fromCodePoint(parseInt(esc.slice(1), 16));
        case "t":
          return "\t";
        case "n":
          return "\n";
        case "r":
          return "\r";
        default:
          return esc;
      }
    },
  );
}
