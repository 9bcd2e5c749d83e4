/**
 * `installScripts`: a directory of the user's own scripts copied into the venv's bin directory,
 * with the placeholders CPython's venv defines filled in, each value quoted for the language of
 * the file it lands in (as mkvenv's own activation scripts are).
 */
import { BuildError, q } from "../errors.ts";
import { fsReason, kindOf, readRegularFile } from "../disk/disk.ts";
import { join } from "../disk/paths.ts";
import type { VenvContext } from "./context.ts";
import { pathFor } from "./layout.ts";
import { quoteFor, type ScriptLanguage, unsafeCharacter } from "./shell_quote.ts";

/** The placeholders `installScripts` fills in, and the context value each one takes. */
export const SCRIPT_PLACEHOLDERS: Readonly<Record<string, (c: VenvContext) => string>> = {
  __VENV_DIR__: (c) => c.envDir,
  __VENV_NAME__: (c) => c.envName,
  __VENV_PROMPT__: (c) => c.prompt,
  __VENV_BIN_NAME__: (c) => c.binName,
  __VENV_PYTHON__: (c) => c.envExe,
};

const PLACEHOLDER = /__VENV_(?:DIR|NAME|PROMPT|BIN_NAME|PYTHON)__/g;

/**
 * The language a script is written in, from its file name: `.ps1` PowerShell, `.bat`/`.cmd`
 * cmd.exe, `.py`/`.pyw`/`.xsh` Python, `.fish`, `.csh`/`.tcsh`, `.nu`; anything else (such as
 * `activate` or `.sh`) POSIX shell.
 */
export function scriptLanguage(name: string): ScriptLanguage {
  const ext = /\.([^.]+)$/.exec(name.toLowerCase())?.[1] ?? "";
  switch (ext) {
    case "ps1":
    case "psm1":
      return "powershell";
    case "bat":
    case "cmd":
      return "batch";
    case "py":
    case "pyw":
    case "xsh":
      return "python";
    case "fish":
      return "fish";
    case "csh":
    case "tcsh":
      return "csh";
    case "nu":
      return "nushell";
    default:
      return "posix";
  }
}

/**
 * `text` with every placeholder replaced, in one pass (a value holding placeholder-like text
 * is left as it is), each value quoted for `language`. Throws `BuildError` when a value holds
 * a character `language` cannot carry; `file` names the script in that message.
 */
function fillPlaceholders(
  text: string,
  context: VenvContext,
  language: ScriptLanguage,
  file: string,
): string {
  return text.replace(PLACEHOLDER, (name) => {
    const value = SCRIPT_PLACEHOLDERS[name]!(context);
    const unsafe = unsafeCharacter(language, value);
    if (unsafe !== null) {
      throw new BuildError(
        `Cannot install the script ${q(file)}: the value of ${name}, ${q(value)}, contains ${
          q(unsafe.character)
        }, which ${unsafe.reason}; choose another directory or prompt, or leave ${name} out of the script`,
      );
    }
    return quoteFor(language, value);
  });
}

/** The largest script file read: the whole file is held in memory to fill its placeholders. */
const SCRIPT_LIMIT = 64 * 1024 * 1024;

/**
 * Every file below `dir`, as paths relative to it (`/`-separated), sorted. As `os.walk` in
 * CPython's `install_scripts`, a link to a directory is not followed (a link to a file is).
 * Throws `BuildError` for a directory that cannot be listed, a link to nothing, and a named
 * pipe, socket or device, which CPython would open and wait on or copy from forever.
 */
function filesBelow(dir: string, rel = ""): { rel: string; mode: number }[] {
  const found: { rel: string; mode: number }[] = [];
  const here = rel === "" ? dir : join(dir, rel);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(here)];
  } catch (e: unknown) {
    throw new BuildError(
      `Cannot read the scripts in ${q(here)}: ${fsReason(e)}; make it readable or remove it`,
      { cause: e },
    );
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    const path = join(dir, child);
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(path);
    } catch (e: unknown) {
      // Deno hands a name that is not UTF-8 over with U+FFFD in place of its bytes, a name
      // that leads nowhere.
      const why = !(e instanceof Deno.errors.NotFound)
        ? fsReason(e)
        : entry.name.includes("\uFFFD")
        ? "its name is not valid UTF-8, which mkvenv cannot read; rename it"
        : "it is a symbolic link to nothing; remove it or make it lead to a script";
      throw new BuildError(`Cannot read the script ${q(path)}: ${why}`, { cause: e });
    }
    if (st.isDirectory) {
      if (!entry.isSymlink) found.push(...filesBelow(dir, child));
    } else if (st.isFile) {
      // The source's permissions, but never setuid, setgid or writable by others: the venv's
      // bin directory is on PATH of whoever activates it (CPython's copymode keeps them all).
      found.push({ rel: child, mode: (st.mode ?? 0o644) & 0o755 });
    } else {
      throw new BuildError(
        `Cannot read the script ${q(path)}: it is ${kindOf(st)}, not a file; remove it`,
      );
    }
  }
  return found;
}

/**
 * Install the scripts of `dir` into the venv of `context`: the files below `dir/common`, then
 * those below `dir/posix` (or `dir/nt` for a Windows venv), at the same relative paths in the
 * bin directory, each with the mode of its source less setuid, setgid and group or other
 * write. Text files (valid UTF-8) get their placeholders filled in (`fillPlaceholders`); other
 * files are copied byte for byte. Existing
 * files are replaced. Throws `BuildError` when `dir` cannot be read or a value cannot be
 * written into a script.
 */
export function installScriptsFrom(context: VenvContext, dir: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(dir);
  } catch (e: unknown) {
    throw new BuildError(
      `Cannot install the scripts of ${q(dir)}: ${
        e instanceof Deno.errors.NotFound ? "it does not exist" : fsReason(e)
      }; pass a directory with a common/ and a posix/ or nt/ subdirectory`,
      { cause: e },
    );
  }
  if (!st.isDirectory) {
    throw new BuildError(
      `Cannot install the scripts of ${q(dir)}: it is not a directory; pass a directory with ` +
        `a common/ and a posix/ or nt/ subdirectory`,
    );
  }
  const path = pathFor(context.layout.platform);
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const encoder = new TextEncoder();
  const osName = context.layout.platform === "windows" ? "nt" : "posix";
  for (const sub of ["common", osName]) {
    const root = join(dir, sub);
    let rootInfo: Deno.FileInfo | null = null;
    try {
      rootInfo = Deno.statSync(root);
    } catch (e: unknown) {
      // No such subdirectory: nothing of this kind to install. Anything else is said.
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new BuildError(
          `Cannot read the scripts in ${q(root)}: ${fsReason(e)}; make it readable or remove it`,
          { cause: e },
        );
      }
    }
    if (!rootInfo?.isDirectory) continue;
    for (const file of filesBelow(root)) {
      const source = join(root, file.rel);
      let data: Uint8Array;
      try {
        data = readRegularFile(source, { limit: SCRIPT_LIMIT }).bytes;
      } catch (e: unknown) {
        throw new BuildError(
          `Cannot read the script ${q(source)}: ${fsReason(e)}; make it a readable file of at ` +
            `most 64 MiB, or remove it`,
          { cause: e },
        );
      }
      let text: string | null = null;
      try {
        text = decoder.decode(data);
      } catch {
        // not UTF-8: a binary file, copied as it is
      }
      const target = path.join(context.binPath, ...file.rel.split("/"));
      context.files.mkdir(path.dirname(target));
      const name = file.rel.split("/").pop()!;
      const content = text === null
        ? data
        : encoder.encode(fillPlaceholders(text, context, scriptLanguage(name), source));
      context.files.writeFile(target, content, file.mode);
    }
  }
}
