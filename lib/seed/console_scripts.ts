/**
 * The console scripts of installed distributions (`bin/pip` and friends): which names a
 * distribution gets, the Python text that calls its entry point, the POSIX header that runs the
 * venv's interpreter from any path, and Windows `.exe` launchers in the format of distlib's
 * launchers (launcher executable + `#!` line + ZIP archive holding `__main__.py`). Pure.
 */
import type { PythonVersion } from "../discovery/interpreter.ts";
import { shPythonWord } from "../venv/shell_quote.ts";
import { type EntryPoint, normalizeName } from "./wheel.ts";
import { concatBytes, writeZip } from "./zip.ts";

/**
 * The longest `#!` line (with its newline) written as a plain shebang: 127 bytes, the limit of
 * Linux before 5.1 and of several BSDs (Linux 5.1+ allows 255, macOS 512).
 */
export const SHEBANG_LIMIT = 127;

/**
 * The console scripts a distribution gets, as pip installs them with ensurepip's
 * `--default-pip`: pip's own `pip`, `pipX`, `pipX.Y` entries (fixed at the wheel's build) are
 * replaced by names for the interpreter `version`, and likewise setuptools' `easy_install`
 * and `easy_install-X.Y`. Other distributions keep their entries.
 */
export function consoleScriptEntries(
  wheel: { name: string; consoleScripts: readonly EntryPoint[] },
  version: PythonVersion,
): EntryPoint[] {
  const entries = wheel.consoleScripts;
  const [major, minor] = version;
  const rename = (base: string, pattern: RegExp, names: string[]): EntryPoint[] => {
    const main = entries.find((e) => e.name === base);
    if (main === undefined) return [...entries];
    return [
      ...entries.filter((e) => !pattern.test(e.name)),
      ...names.map((name) => ({ ...main, name })),
    ];
  };
  switch (normalizeName(wheel.name)) {
    case "pip":
      return rename("pip", /^pip(\d+(\.\d+)?)?$/, ["pip", `pip${major}`, `pip${major}.${minor}`]);
    case "setuptools":
      return rename("easy_install", /^easy_install(-\d+\.\d+)?$/, [
        "easy_install",
        `easy_install-${major}.${minor}`,
      ]);
    default:
      return [...entries];
  }
}

/**
 * The Python text of a console script (everything after its header): import the entry
 * point's object and exit with what calling it returns. `argv[0]` loses the `.exe` or
 * `-script.py` a Windows launcher adds, so programs print their plain name.
 * Throws `RangeError` for an entry point without an object to call.
 */
export function scriptBody(entry: EntryPoint): string {
  if (entry.attr === null) {
    throw new RangeError(`the entry point ${entry.name} names a module without an object to call`);
  }
  const [first, ...rest] = entry.attr.split(".");
  const call = ["_entry_point", ...rest].join(".");
  return [
    "import sys",
    `from ${entry.module} import ${first} as _entry_point`,
    "",
    'if __name__ == "__main__":',
    '    for _suffix in (".exe", "-script.pyw", "-script.py"):',
    "        if sys.argv[0].endswith(_suffix):",
    "            sys.argv[0] = sys.argv[0][: -len(_suffix)]",
    "            break",
    `    sys.exit(${call}())`,
    "",
  ].join("\n");
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * The first line(s) of a POSIX script run by `python`: a plain `#!python` line when the path
 * has no space or tab and the line fits `SHEBANG_LIMIT`; otherwise `#!/bin/sh` and a line that
 * `sh` runs as `exec python "$0" "$@"` and Python reads as a string expression. The path is
 * never expanded by `sh`, whatever it contains. Throws `RangeError` for a path with a line
 * break or NUL.
 */
export function posixScriptHeader(python: string): string {
  const plain = `#!${python}\n`;
  if (!/[ \t\r\n\0]/.test(python) && utf8Length(plain) <= SHEBANG_LIMIT) return plain;
  return `#!/bin/sh\n'exec' ${shPythonWord(python)} "$0" "$@"\n`;
}

/** The whole POSIX console script for `entry`, run by the venv interpreter `python`. */
export function posixScript(python: string, entry: EntryPoint): string {
  return posixScriptHeader(python) + scriptBody(entry);
}

/** The processor a Windows executable is built for. */
export type WindowsMachine = "x86" | "amd64" | "arm64";

/** The machine of a PE executable from its first bytes (≥ 4 KiB), or null when not PE. */
export function peMachine(head: Uint8Array): WindowsMachine | null {
  if (head.length < 64 || head[0] !== 0x4d || head[1] !== 0x5a) return null;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const pe = dv.getUint32(0x3c, true);
  if (pe + 6 > head.length || dv.getUint32(pe, true) !== 0x00004550) return null;
  switch (dv.getUint16(pe + 4, true)) {
    case 0x014c:
      return "x86";
    case 0x8664:
      return "amd64";
    case 0xaa64:
      return "arm64";
    default:
      return null;
  }
}

/**
 * The name of the launcher pip's wheel ships (`pip/_vendor/distlib/<name>`) for a console
 * (`t`) or GUI (`w`) script on `machine`.
 */
export function launcherName(machine: WindowsMachine, gui: boolean): string {
  const kind = gui ? "w" : "t";
  if (machine === "x86") return `${kind}32.exe`;
  return machine === "arm64" ? `${kind}64-arm.exe` : `${kind}64.exe`;
}

/**
 * A Windows script executable: `launcher`, then the `#!` line naming `python` (quoted when
 * it has a space), then a ZIP archive whose `__main__.py` is `body`. The launcher finds the
 * `#!` line just before the archive and runs `python <this .exe> args`; Python runs the archive.
 */
export function windowsLauncherScript(
  parts: { launcher: Uint8Array; python: string; body: string },
): Uint8Array {
  const { launcher, python, body } = parts;
  const exe = python.includes(" ") ? `"${python}"` : python;
  const encoder = new TextEncoder();
  const archive = writeZip([{ name: "__main__.py", data: encoder.encode(body) }]);
  return concatBytes([launcher, encoder.encode(`#!${exe}\r\n`), archive]);
}
