/**
 * `deno task build`: mkvenv as one JavaScript file, `dist/mkvenv.js`, the program the release
 * binaries are compiled from (`deno task compile`) and the one `deno task bench` times.
 *
 * 1. `deno bundle` joins main.ts, lib/ and the text-imported templates into one module. One,
 *    not a program split into chunks loaded with `import()`: a compiled binary keeps the code
 *    cache of the modules its first run loaded before it started, and never of a chunk
 *    imported later (Deno's cli/rt/code_cache.rs), so a seeding chunk would be compiled anew
 *    by every run with pip. lib/ imports everything statically for the same reason.
 * 2. Every function of the module is made one that V8 compiles when it compiles the module
 *    (`eagerModule`), so that all of them are in the code cache Deno keeps for it, which it
 *    makes then, whichever command the first run was. Compiled on first call instead, they
 *    cost a `--without-pip` build 2-3 ms on every run. Top-level function declarations become
 *    parenthesised function expressions assigned at the top of the module (which keeps what
 *    hoisting gave: every function exists before any other code runs); function expressions,
 *    arrows and object-literal methods inside them are put in parentheses, V8's sign of a
 *    function called soon. Class methods stay as they are: JavaScript has no other way to
 *    write them.
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

/** The program's file name in the directory it is built into. */
export const ENTRY = "mkvenv.js";

/** Bundle main.ts into one module and rewrite it (see the header); returns its text. */
export async function buildProgram(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-build-" });
  try {
    const bundle = join(dir, ENTRY);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "--output", bundle, MAIN],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const banner = "// mkvenv, built by scripts/build.ts from main.ts; do not edit.\n";
    return banner + eagerModule(await Deno.readTextFile(bundle));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Write the program into the directory `dir` (default dist/) as `ENTRY`; returns its path,
 * which is what `deno run` and `deno compile` take.
 */
export async function build(dir = join(ROOT, "dist")): Promise<string> {
  const program = await buildProgram();
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, ENTRY);
  await Deno.writeTextFile(path, program);
  return path;
}

if (import.meta.main) {
  console.log(await build(Deno.args[0]));
}
