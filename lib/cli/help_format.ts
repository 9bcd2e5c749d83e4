/**
 * Help and usage text laid out as Python's argparse lays it out (its default `HelpFormatter`),
 * so `mkvenv --help` reads like `python -m venv --help`: the usage wrapped with the positionals
 * on their own lines, help columns at 24, text wrapped by textwrap's rules (which may break after
 * a hyphen inside a word). The width is the terminal's minus 2, as argparse takes it.
 */

/** One entry of a help section: its invocation (`-p PYTHON, --python PYTHON`) and help. */
export interface HelpItem {
  invocation: string;
  help: string;
}

/** What a help text is made of. */
export interface HelpSpec {
  prog: string;
  /** Usage parts of the options (`[-h]`, `[--symlinks | --copies]`), in order. */
  optionalParts: readonly string[];
  /** Usage parts of the positionals (`ENV_DIR`, `[ENV_DIR ...]`). */
  positionalParts: readonly string[];
  description: string;
  sections: readonly { title: string; items: readonly HelpItem[] }[];
  epilog: string;
}

/**
 * The width argparse formats for: `$COLUMNS` when it is a positive number, else the width of
 * the terminal on stdout, else 80; minus 2 (Python's `shutil.get_terminal_size`).
 */
export function terminalWidth(): number {
  const columns = Number(Deno.env.get("COLUMNS"));
  if (Number.isInteger(columns) && columns > 0) return columns - 2;
  try {
    return Deno.consoleSize().columns - 2;
  } catch {
    return 80 - 2;
  }
}

const LETTER = "[^\\d\\W]";
const WORD_PUNCT = "[\\w!\"'&.,?]";
/**
 * textwrap's chunks: runs of whitespace; an em-dash between words; words, split after a hyphen
 * that has two letters before it and a letter after it.
 */
const CHUNK = new RegExp(
  `(\\s+` +
    `|(?<=${WORD_PUNCT})-{2,}(?=\\w)` +
    `|\\S+?(?:-(?:(?<=${LETTER}{2}-)|(?<=${LETTER}-${LETTER}-))(?=${LETTER}-?${LETTER})` +
    `|(?=\\s|$)|(?<=${WORD_PUNCT})(?=-{2,}\\w)))`,
  "g",
);

/** `text` with its whitespace collapsed, wrapped to `width` as `textwrap.wrap` does. */
export function wrapText(text: string, width: number): string[] {
  const chunks = (text.replace(/\s+/g, " ").trim().match(CHUNK) ?? []).reverse();
  const lines: string[] = [];
  while (chunks.length > 0) {
    const line: string[] = [];
    let length = 0;
    if (lines.length > 0 && chunks.at(-1)!.trim() === "") chunks.pop();
    while (chunks.length > 0 && length + chunks.at(-1)!.length <= width) {
      length += chunks.at(-1)!.length;
      line.push(chunks.pop()!);
    }
    if (chunks.length > 0 && chunks.at(-1)!.length > width) {
      // A word longer than a line: break it, after its last hyphen in reach if it has one.
      const chunk = chunks.at(-1)!;
      const room = Math.max(width - length, 1);
      let end = room;
      const hyphen = chunk.lastIndexOf("-", room - 1);
      if (hyphen > 0 && /[^-]/.test(chunk.slice(0, hyphen))) end = hyphen + 1;
      line.push(chunk.slice(0, end));
      chunks[chunks.length - 1] = chunk.slice(end);
    }
    if (line.length > 0 && line.at(-1)!.trim() === "") line.pop();
    if (line.length > 0) lines.push(line.join(""));
  }
  return lines;
}

/** Parts laid out in lines of at most `width` columns, after `indent` (or the `prefix`). */
function partLines(
  parts: readonly string[],
  indent: string,
  width: number,
  prefix?: string,
): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  let length = (prefix ?? indent).length - 1;
  for (const part of parts) {
    if (length + 1 + part.length > width && line.length > 0) {
      lines.push(indent + line.join(" "));
      line = [];
      length = indent.length - 1;
    }
    line.push(part);
    length += part.length + 1;
  }
  if (line.length > 0) lines.push(indent + line.join(" "));
  if (prefix !== undefined && lines.length > 0) lines[0] = lines[0]!.slice(indent.length);
  return lines;
}

/** The usage block (`usage: prog ...`), wrapped for `width`, without a final newline. */
export function formatUsage(spec: HelpSpec, width: number): string {
  const prefix = "usage: ";
  const all = [spec.prog, ...spec.optionalParts, ...spec.positionalParts].join(" ");
  if (prefix.length + all.length <= width) return prefix + all;
  let lines: string[];
  if (prefix.length + spec.prog.length <= 0.75 * width) {
    const indent = " ".repeat(prefix.length + spec.prog.length + 1);
    lines = partLines([spec.prog, ...spec.optionalParts], indent, width, prefix);
    lines.push(...partLines(spec.positionalParts, indent, width));
  } else {
    // A long prog: the parts go on the lines after it.
    const indent = " ".repeat(prefix.length);
    lines = [
      spec.prog,
      ...partLines(spec.optionalParts, indent, width),
      ...partLines(spec.positionalParts, indent, width),
    ];
  }
  return prefix + lines.join("\n");
}

/** The whole `--help` text for `width` (argparse's width: the terminal's minus 2). */
export function formatHelp(spec: HelpSpec, width: number): string {
  const out = [formatUsage(spec, width), ""];
  const fill = (text: string) => wrapText(text, Math.max(width, 11));
  out.push(...fill(spec.description), "");
  const longest = Math.max(
    ...spec.sections.flatMap((s) => s.items.map((i) => i.invocation.length + 2)),
  );
  const helpAt = Math.min(longest + 2, Math.min(24, Math.max(width - 20, 4)));
  const helpWidth = Math.max(width - helpAt, 11);
  for (const section of spec.sections) {
    out.push(`${section.title}:`);
    for (const item of section.items) {
      const lines = wrapText(item.help, helpWidth);
      const head = `  ${item.invocation}`;
      if (item.invocation.length <= helpAt - 4) {
        out.push(head.padEnd(helpAt) + (lines.shift() ?? ""));
      } else out.push(head);
      for (const line of lines) out.push(" ".repeat(helpAt) + line);
    }
    out.push("");
  }
  out.push(...fill(spec.epilog));
  return out.join("\n") + "\n";
}
