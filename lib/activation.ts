/**
 * Activation scripts: rendered from the templates in `templates/`, each value quoted for the
 * language of the file it lands in.
 */
import activateTemplate from "../templates/activate" with { type: "text" };
import type { VenvLayout } from "./layout.ts";
import { pathFor } from "./layout.ts";
import { posixQuote } from "./shell_quote.ts";

/** A file to write into the venv. */
export interface ScriptFile {
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/**
 * Substitute `__MKVENV_<NAME>__` placeholders in one pass: a value that contains placeholder-like
 * text is never substituted again.
 */
export function substitute(template: string, values: Record<string, string>): string {
  return template.replace(/__MKVENV_([A-Z_]+?)__/g, (whole, name: string) => values[name] ?? whole);
}

/** The activation scripts for `layout`. Pure. */
export function renderActivationScripts(layout: VenvLayout): ScriptFile[] {
  const path = pathFor(layout.platform);
  return [{
    path: path.join(layout.binDir, "activate"),
    content: substitute(activateTemplate, {
      DIR: posixQuote(layout.envDir),
      BIN_NAME: posixQuote(layout.binName),
      PROMPT: posixQuote(layout.prompt),
    }),
    mode: 0o644,
  }];
}
