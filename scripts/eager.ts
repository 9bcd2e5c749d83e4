/**
 * The rewrite that makes V8 compile a module's functions when it compiles the module, so that
 * they are in the code cache Deno makes then (scripts/build.ts explains why that matters), and
 * its undoing for the functions a run never calls (`keepEager`).
 *
 * V8 compiles a function eagerly when it is a function expression in parentheses, its sign of a
 * function called soon; one compiled eagerly also compiles its parenthesised inner functions.
 * Top-level function declarations become parenthesised function expressions assigned at the top
 * of the module (which keeps what hoisting gave: every function exists before any other code
 * runs); function expressions, arrows and object-literal methods inside them are put in
 * parentheses. Class methods stay as they are: JavaScript has no other way to write them.
 *
 * Each "(" the rewrite adds is followed by `MARK`, so that `keepEager` can tell the rewrite's
 * parentheses from the bundle's own; the final program holds no mark.
 *
 * The rewrite needs to know exactly where each function starts and ends, which takes a real
 * JavaScript parser: acorn, a small, dependency-free, long-maintained one (npm, build time only;
 * the program itself depends on nothing).
 */
import { parse } from "acorn";

/** Follows each "(" the rewrite adds (see the header). */
export const MARK = "/*eager*/";

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
  const assignments = functions.map((f) =>
    `var ${f.name} = (${MARK}${source.slice(f.start, f.end)});`
  );
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
      edits.push({ start: node.start, end: node.start, text: `(${MARK}` });
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
      edits.push({ start: keyEnd, end: value.start, text: `: (${MARK}${modifiers} ` });
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
  const order = [...edits].sort((a, b) => b.start - a.start || (a.text.startsWith("(") ? -1 : 1));
  let out = source;
  for (const edit of order) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

/**
 * `source` rewritten so that V8 compiles all its functions when it compiles the module, each
 * added "(" followed by `MARK`; `keepEager` makes the final program of it.
 */
export function eagerModule(source: string): string {
  const hoisted = eagerFunctions(source);
  return applyEdits(hoisted, innerFunctionEdits(hoisted));
}

/** Where a function is in a module: its start and end offsets, as V8's coverage names them. */
export function functionKey(start: number, end: number): string {
  return `${start}:${end}`;
}

/**
 * The final program from `eagerModule`'s output: the functions in `hot` (by `functionKey` in
 * `source`; null for all) keep the parentheses the rewrite gave them, the others lose them and
 * are compiled if and when they are called; no `MARK` is left.
 */
export function keepEager(source: string, hot: ReadonlySet<string> | null): string {
  const edits: Edit[] = [];
  const visit = (node: AcornNode) => {
    const fn = node.expression as AcornNode | undefined;
    if (
      node.type === "ParenthesizedExpression" && fn && source.startsWith(`(${MARK}`, node.start)
    ) {
      const markEnd = node.start + 1 + MARK.length;
      if (hot === null || hot.has(functionKey(fn.start, fn.end))) {
        edits.push({ start: node.start + 1, end: markEnd, text: "" });
      } else {
        edits.push({ start: node.start, end: markEnd, text: "" });
        edits.push({ start: node.end - 1, end: node.end, text: "" });
      }
    }
    for (const child of children(node)) visit(child);
  };
  visit(parseModule(source));
  return applyEdits(source, edits);
}
