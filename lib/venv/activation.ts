/**
 * Activation scripts: rendered from the templates in `templates/`, each value quoted for the
 * language of the file it lands in, in one substitution pass. Pure: the builder writes the
 * files.
 */
import activateTemplate from "../../templates/activate" with { type: "text" };
import activateBatTemplate from "../../templates/activate.bat" with { type: "text" };
import activateCshTemplate from "../../templates/activate.csh" with { type: "text" };
import activateFishTemplate from "../../templates/activate.fish" with { type: "text" };
import activateNuTemplate from "../../templates/activate.nu" with { type: "text" };
import activatePs1Template from "../../templates/Activate.ps1" with { type: "text" };
import activateThisTemplate from "../../templates/activate_this.py" with { type: "text" };
import activateXshTemplate from "../../templates/activate.xsh" with { type: "text" };
import deactivateBatTemplate from "../../templates/deactivate.bat" with { type: "text" };
import { BuildError, q } from "../errors.ts";
import type { VenvLayout } from "./layout.ts";
import { pathFor } from "./layout.ts";
import {
  batchQuote,
  cmdPromptEscape,
  cshPromptEscape,
  cshQuote,
  quoteFor,
  type ScriptLanguage,
  unsafeCharacter,
} from "./shell_quote.ts";

/** A file to write into the venv. */
export interface ScriptFile {
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/** One activation script: where its template comes from and how its values are written. */
export interface ActivationScript {
  /** File name in the venv's bin directory. */
  name: string;
  template: string;
  language: ScriptLanguage;
  /** cmd.exe wants CRLF; everything else gets LF. */
  lineEnding: "\n" | "\r\n";
  /** Written into venvs for Windows only (cmd.exe), or for every platform. */
  windowsOnly: boolean;
}

/**
 * Every activation script mkvenv writes, in the order they are checked and written. CPython
 * writes `activate`, `activate.csh`, `activate.fish` and `Activate.ps1` (by version and OS,
 * spec §7.1); mkvenv writes all of them on every OS and version, plus nushell, xonsh and
 * `activate_this.py`; the `.bat` pair only for Windows.
 */
export const ACTIVATION_SCRIPTS: readonly ActivationScript[] = [
  script("activate", activateTemplate, "posix"),
  script("activate.fish", activateFishTemplate, "fish"),
  script("activate.csh", activateCshTemplate, "csh"),
  script("Activate.ps1", activatePs1Template, "powershell"),
  script("activate.nu", activateNuTemplate, "nushell"),
  script("activate.xsh", activateXshTemplate, "python"),
  script("activate_this.py", activateThisTemplate, "python"),
  {
    ...script("activate.bat", activateBatTemplate, "batch"),
    lineEnding: "\r\n",
    windowsOnly: true,
  },
  {
    ...script("deactivate.bat", deactivateBatTemplate, "batch"),
    lineEnding: "\r\n",
    windowsOnly: true,
  },
];

function script(name: string, template: string, language: ScriptLanguage): ActivationScript {
  return { name, template, language, lineEnding: "\n", windowsOnly: false };
}

/**
 * Substitute `__MKVENV_<NAME>__` placeholders in one pass: a value that contains
 * placeholder-like text is never substituted again. Throws an `Error` (a bug in mkvenv) when
 * the template names a placeholder `values` does not have.
 */
export function substitute(template: string, values: Record<string, string>): string {
  return template.replace(/__MKVENV_([A-Z_]+?)__/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`No value for the placeholder ${whole}`);
    return value;
  });
}

/** The raw values an activation script carries, before quoting. */
interface RawValues {
  dir: string;
  binName: string;
  prompt: string;
  /** site-packages relative to `dir`. */
  sitePackages: string;
}

function rawValues(layout: VenvLayout): RawValues {
  const path = pathFor(layout.platform);
  return {
    dir: layout.envDir,
    binName: layout.binName,
    prompt: layout.prompt,
    sitePackages: path.relative(layout.envDir, layout.purelibDir),
  };
}

/** The placeholder values of `script`, quoted for its language. */
function placeholderValues(script: ActivationScript, raw: RawValues): Record<string, string> {
  const quote = (value: string) => quoteFor(script.language, value);
  const values: Record<string, string> = {
    DIR: quote(raw.dir),
    BIN_NAME: quote(raw.binName),
    PROMPT: quote(raw.prompt),
    SITE_PACKAGES: quote(raw.sitePackages),
  };
  if (script.language === "csh") {
    values.CSH_PROMPT = cshQuote(`(${cshPromptEscape(raw.prompt)}) `);
  }
  if (script.language === "batch") {
    const delayed = { delayedExpansion: true };
    values.DIR_DELAYED = batchQuote(raw.dir, delayed);
    values.PROMPT_DELAYED = batchQuote(raw.prompt, delayed);
    values.CMD_PROMPT = batchQuote(cmdPromptEscape(raw.prompt), { delayedExpansion: false });
    values.CMD_PROMPT_DELAYED = batchQuote(cmdPromptEscape(raw.prompt), delayed);
  }
  return values;
}

/**
 * Refuse a value `script` cannot carry: throws `BuildError` naming the character, the value
 * and the script.
 */
function checkValues(script: ActivationScript, raw: RawValues): void {
  const checks: [what: string, value: string, remedy: string][] = [
    ["path", raw.dir, "choose a directory without it"],
    ["prompt", raw.prompt, "choose another --prompt"],
  ];
  for (const [what, value, remedy] of checks) {
    const unsafe = unsafeCharacter(script.language, value);
    if (unsafe === null) continue;
    throw new BuildError(
      `Cannot write the activation script ${q(script.name)} for the ${what} ${q(value)}: ` +
        `it contains ${q(unsafe.character)}, which ${unsafe.reason}; ${remedy}`,
    );
  }
}

/** The scripts written for `layout`'s platform. */
function activationScriptsFor(layout: VenvLayout): ActivationScript[] {
  return ACTIVATION_SCRIPTS.filter((s) => !s.windowsOnly || layout.platform === "windows");
}

/**
 * The activation scripts for `layout`, rendered. Pure. Throws `BuildError` when the venv's
 * path or prompt holds a character one of the scripts cannot carry safely (a line break, a
 * NUL; for the `.bat` files also `"` and control characters).
 */
export function renderActivationScripts(layout: VenvLayout): ScriptFile[] {
  const path = pathFor(layout.platform);
  const raw = rawValues(layout);
  const scripts = activationScriptsFor(layout);
  for (const s of scripts) checkValues(s, raw);
  return scripts.map((s) => {
    let content = substitute(s.template.replaceAll("\r\n", "\n"), placeholderValues(s, raw));
    if (s.lineEnding === "\r\n") content = content.replaceAll("\n", "\r\n");
    return { path: path.join(layout.binDir, s.name), content, mode: 0o644 };
  });
}
