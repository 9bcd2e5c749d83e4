/**
 * `deno task build`: mkvenv as JavaScript, `dist/mkvenv.js` and the chunks it loads, the program
 * the release binaries are compiled from (`deno task compile`) and the one `deno task bench`
 * times.
 *
 * 1. `deno bundle --code-splitting` joins main.ts, lib/ and the text-imported templates into
 *    `mkvenv.js`, and puts what is imported only with `import()` (pip seeding: wheels, zip,
 *    hashes, launchers; `--upgrade-deps`) into chunks beside it, with the code both sides share
 *    in chunks of its own. A run without pip never reads the seeding chunks: a third of the
 *    program that it would otherwise load, and whose code cache it would deserialize, on every
 *    run (1 ms of a 25 ms `--without-pip` build, measured with `deno task bench`).
 * 2. Every top-level function declaration of each file becomes a parenthesised function
 *    expression assigned at the top of the file. V8 compiles parenthesised functions eagerly,
 *    when it compiles the module, so they are in the code cache Deno keeps for it whichever
 *    command the first run was (Deno stores the cache at the end of a module's first run, with
 *    only the functions compiled by then). A declared function would be compiled on its first
 *    call, on every run whose first run did not call it: 1-2 ms of a `--without-pip` build.
 *    Assignments at the top keep what hoisting gave: every function exists before any other
 *    code of the file runs (the chunks import each other without cycles).
 *
 * The rewrite needs to know exactly where each function starts and ends, which takes a real
 * JavaScript parser: acorn, a small, dependency-free, long-maintained one (npm, build time
 * only; the program itself depends on nothing).
 */
import { parse } from "acorn";
import { dirname, fromFileUrl, join } from "../lib/disk/paths.ts";

const ROOT = join(dirname(fromFileUrl(import.meta.url)), "..");
const MAIN = join(ROOT, "main.ts");

/** A function declaration at the top level of a module: its name and source range. */
interface TopLevelFunction {
  name: string;
  start: number;
  end: number;
}

/** The parts of acorn's syntax tree the rewrite reads. */
interface AcornNode {
  type: string;
  start: number;
  end: number;
  id?: { name: string } | null;
  key?: AcornNode;
  value?: AcornNode;
  method?: boolean;
  kind?: string;
  computed?: boolean;
  async?: boolean;
  generator?: boolean;
  [child: string]: unknown;
}

function parseModule(source: string): AcornNode {
  return parse(source, {
    ecmaVersion: "latest",
    sourceType: "module",
    preserveParens: true,
  }) as unknown as AcornNode;
}

/** The module's top-level function declarations, in source order. */
export function topLevelFunctions(source: string): TopLevelFunction[] {
  return (parseModule(source).body as AcornNode[])
    .filter((node) => node.type === "FunctionDeclaration" && node.id)
    .map((node) => ({ name: node.id!.name, start: node.start, end: node.end }));
}

/**
 * `source` with every top-level function declaration turned into `var name = (function ...);`
 * at the top of the module. Behaviour is unchanged: each name is bound to the same function
 * before any other statement runs (a module's imports are bound before anything in any case).
 */
export function eagerFunctions(source: string): string {
  const functions = topLevelFunctions(source);
  const assignments = functions.map((f) => `var ${f.name} = (${source.slice(f.start, f.end)});`);
  let rest = "";
  let from = 0;
  for (const f of functions) {
    rest += source.slice(from, f.start);
    from = f.end;
  }
  rest += source.slice(from);
  return `${assignments.join("\n")}\n${rest}`;
}

/** Text to put in place of `source.slice(start, end)` (an insertion when they are equal). */
interface Edit {
  start: number;
  end: number;
  text: string;
}

function children(node: AcornNode): AcornNode[] {
  const out: AcornNode[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "type" || key === "start" || key === "end") continue;
    for (const child of Array.isArray(value) ? value : [value]) {
      if (child !== null && typeof child === "object" && typeof child.type === "string") {
        out.push(child as AcornNode);
      }
    }
  }
  return out;
}

function usesSuper(node: AcornNode): boolean {
  return node.type === "Super" || children(node).some(usesSuper);
}

/**
 * The edits that make V8 compile every function inside the module eagerly too: each arrow
 * function and function expression not yet in parentheses is put in them, and each method of
 * an object literal (`name(a) {...}`) becomes a parenthesised function expression
 * (`name: (function (a) {...})`), which behaves the same for every use mkvenv makes of it. Left
 * as they are: getters and setters, methods that use `super` or are named `__proto__`, and the
 * methods of classes, which JavaScript has no other way to write.
 */
function innerFunctionEdits(source: string): Edit[] {
  const edits: Edit[] = [];
  const visit = (node: AcornNode, parent: AcornNode | null) => {
    const isFunction = node.type === "ArrowFunctionExpression" ||
      node.type === "FunctionExpression";
    const isMethodValue = parent !== null && parent.value === node &&
      (parent.type === "MethodDefinition" ||
        (parent.type === "Property" && (parent.method === true || parent.kind !== "init")));
    if (isFunction && !isMethodValue && parent?.type !== "ParenthesizedExpression") {
      edits.push({ start: node.start, end: node.start, text: "(" });
      edits.push({ start: node.end, end: node.end, text: ")" });
    }
    const key = node.key;
    const value = node.value;
    if (
      node.type === "Property" && node.method === true && node.kind === "init" && key && value &&
      !(node.computed !== true && /^["']?__proto__["']?$/.test(source.slice(key.start, key.end))) &&
      !usesSuper(value)
    ) {
      // `async *name(a) {}`: the modifiers before the key go, and come back after it.
      const keyStart = node.computed === true ? source.lastIndexOf("[", key.start) : key.start;
      const keyEnd = node.computed === true ? source.indexOf("]", key.end) + 1 : key.end;
      const modifiers = `${value.async ? "async " : ""}function${value.generator ? "*" : ""}`;
      edits.push({ start: node.start, end: keyStart, text: "" });
      edits.push({ start: keyEnd, end: value.start, text: `: (${modifiers} ` });
      edits.push({ start: value.end, end: value.end, text: ")" });
    }
    for (const child of children(node)) visit(child, node);
  };
  visit(parseModule(source), null);
  return edits;
}

/** `source` with `edits` applied; they must not overlap. */
function applyEdits(source: string, edits: Edit[]): string {
  // From the end, so that positions stay valid; at one position a ")" closes before a "(".
  const order = [...edits].sort((a, b) => b.start - a.start || (a.text === "(" ? -1 : 1));
  let out = source;
  for (const edit of order) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

/** `source` rewritten so that V8 compiles all its functions when it compiles the module. */
export function eagerModule(source: string): string {
  const hoisted = eagerFunctions(source);
  return applyEdits(hoisted, innerFunctionEdits(hoisted));
}

/** The program's files: the entry (`ENTRY`) and the chunks it imports, by file name. */
export type Program = Map<string, string>;

/** The entry's file name in a program; its chunks are named by `deno bundle`. */
export const ENTRY = "mkvenv.js";

/** The first line of every file of a program: what made it, and how an old one is recognised. */
const BANNER = "// mkvenv, built by scripts/build.ts from main.ts; do not edit.\n";

/** Bundle main.ts with its chunks and rewrite each file (see the header). */
export async function buildProgram(): Promise<Program> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-build-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "deno",
        "--code-splitting",
        "--outdir",
        dir,
        MAIN,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const program: Program = new Map();
    for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      if (!entry.isFile || !entry.name.endsWith(".js")) continue;
      const text = eagerModule(await Deno.readTextFile(join(dir, entry.name)));
      program.set(entry.name === "main.js" ? ENTRY : entry.name, BANNER + text);
    }
    if (!program.has(ENTRY)) throw new Error(`deno bundle wrote no main.js into ${dir}`);
    return program;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Write the program into the directory `dir` (default dist/), removing the chunks of an earlier
 * build (the `.js` files that start with the banner); returns the entry's path, which is what
 * `deno run` and `deno compile` take.
 */
export async function build(dir = join(ROOT, "dist")): Promise<string> {
  const program = await buildProgram();
  await Deno.mkdir(dir, { recursive: true });
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isFile && entry.name.endsWith(".js") && !program.has(entry.name)) {
      const head = (await Deno.readTextFile(path)).slice(0, BANNER.length);
      if (head === BANNER) await Deno.remove(path);
    }
  }
  for (const [name, text] of program) await Deno.writeTextFile(join(dir, name), text);
  return join(dir, ENTRY);
}

if (import.meta.main) {
  console.log(await build(Deno.args[0]));
}
