/**
 * scripts/eager.ts's rewrite for eager compilation: the module behaves the same, every function
 * V8 could compile eagerly is in parentheses (the rest: class methods, getters and setters,
 * methods that use `super`, a `__proto__` method), and `keepEager` takes the rewrite's
 * parentheses off exactly the functions it is not given, never the bundle's own; top-level
 * declarations become hoisted assignments.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse } from "acorn";
import {
  eagerFunctions,
  eagerModule,
  functionKey,
  keepEager,
  MARK,
  topLevelFunctions,
} from "../scripts/eager.ts";

const SAMPLE = `
export const early = later(2);
function later(x) { return x * 10; }
const add = (a) => (b) => a + b;
const named = function twice(n) { return n <= 0 ? 0 : 2 + twice(n - 1); };
const asObject = () => ({ kind: "object" });
const fallback = undefined ?? (() => "fallback");
const base = { hello() { return "base"; } };
const obj = {
  __proto__: base,
  count: 1,
  plain(x) { return this.count + x; },
  async later(x) { return await Promise.resolve(x + 1); },
  *pairs() { yield 1; yield 2; },
  async *stream() { yield "a"; },
  ["com" + "puted"](x) { return "c" + x; },
  "quoted-key"() { return "q"; },
  hello() { return "own+" + super.hello(); },
  get size() { return 3; },
  set size(v) { this.count = v; },
};
const protoMethod = { __proto__(x) { return "method " + x; } };
class Counter {
  #n = 0;
  bump(by = (() => 1)()) { this.#n += by; return this.#n; }
  static make() { return new Counter(); }
}
export async function results() {
  const items = [3, 1, 2].map((n) => n * 2).sort(function (a, b) { return a - b; });
  const out = [];
  for (const v of obj.pairs()) out.push(v);
  for await (const v of obj.stream()) out.push(v);
  const c = Counter.make();
  return {
    early, fallback: fallback(), sum: add(2)(3), twice: named(3), object: asObject(), items, out,
    plain: obj.plain(1), later: await obj.later(1), computed: obj.computed("x"),
    quoted: obj["quoted-key"](), hello: obj.hello(), size: obj.size,
    sizeSet: (obj.size = 7, obj.count), proto: Object.getPrototypeOf(obj) === base,
    protoMethod: protoMethod.__proto__("y"), counter: [c.bump(), c.bump(5)],
    names: [later.name, named.name, obj.plain.name],
  };
}
`;

/** Import a module's text (a fresh instance: a module is imported once per URL). */
async function importModule(source: string): Promise<Record<string, unknown>> {
  const fresh = `${source}\n// ${crypto.randomUUID()}\n`;
  return await import(`data:text/javascript;base64,${btoa(fresh)}`);
}

/** The sample's results, from a fresh instance of `source`. */
async function evaluate(source: string): Promise<unknown> {
  const module = await importModule(source);
  return await (module.results as () => Promise<unknown>)();
}

interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

/** Each function literal with its parent, in the rewritten program. */
function functionsWithParents(source: string): { node: Node; parent: Node }[] {
  const found: { node: Node; parent: Node }[] = [];
  const visit = (node: Node, parent: Node | null) => {
    if (
      parent !== null &&
      (node.type === "FunctionExpression" || node.type === "ArrowFunctionExpression")
    ) {
      found.push({ node, parent });
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "type" || key === "start" || key === "end") continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === "object" && typeof child.type === "string") {
          visit(child as Node, node);
        }
      }
    }
  };
  visit(
    parse(source, {
      ecmaVersion: "latest",
      sourceType: "module",
      preserveParens: true,
    }) as unknown as Node,
    null,
  );
  return found;
}

/** The functions in parentheses: kind and the first 30 characters inside. */
function parenthesised(source: string): string[] {
  return functionsWithParents(source)
    .filter(({ parent }) => parent.type === "ParenthesizedExpression")
    .map(({ node }) =>
      `${node.type}: ${source.slice(node.start, node.end).slice(0, 30).split("\n")[0]}`
    );
}

Deno.test("the eager rewrite keeps what the module does, all eager or none", async () => {
  const expected = await evaluate(SAMPLE);
  const marked = eagerModule(SAMPLE);
  assert(marked.includes(MARK));
  for (const hot of [null, new Set<string>()]) {
    const program = keepEager(marked, hot);
    assert(!program.includes(MARK));
    assertEquals(await evaluate(program), expected);
  }
  // With none hot, only the bundle's own parentheses are left.
  assertEquals(parenthesised(keepEager(marked, new Set())).sort(), [
    'ArrowFunctionExpression: () => "fallback"',
    "ArrowFunctionExpression: () => 1",
  ]);
});

Deno.test("keepEager keeps the rewrite's parentheses on the functions it is given only", async () => {
  const marked = eagerModule(SAMPLE);
  const functions = functionsWithParents(marked).map(({ node }) => node);
  const twice = functions.find((f) => marked.startsWith("function twice", f.start))!;
  const sum = functions.find((f) => marked.startsWith("(a) => (", f.start))!;
  const program = keepEager(
    marked,
    new Set([functionKey(twice.start, twice.end), functionKey(sum.start, sum.end)]),
  );
  assertEquals(
    parenthesised(program).sort(),
    [
      "ArrowFunctionExpression: () => 1",
      'ArrowFunctionExpression: () => "fallback"',
      "ArrowFunctionExpression: (a) => (b) => a + b",
      "FunctionExpression: function twice(n) { return n <",
    ].sort(),
  );
  assertEquals(await evaluate(program), await evaluate(SAMPLE));
});

Deno.test("the eager rewrite parenthesises every function but class and special methods", () => {
  const rewritten = keepEager(eagerModule(SAMPLE), null);
  const left: string[] = [];
  for (const { parent } of functionsWithParents(rewritten)) {
    if (parent.type === "ParenthesizedExpression") continue;
    const head = rewritten.slice(parent.start, rewritten.indexOf("(", parent.start));
    left.push(`${parent.type}: ${head}`);
  }
  // Left as they are: the class's methods, the getter and the setter, the method that calls
  // super, and the __proto__ method.
  assertEquals(left.sort(), [
    "MethodDefinition: bump",
    "MethodDefinition: static make",
    "Property: __proto__",
    "Property: get size",
    "Property: hello",
    "Property: set size",
  ]);
  // Top-level declarations became assignments at the top, before the code that uses them.
  assert(rewritten.indexOf("var later = (function later") < rewritten.indexOf("const early"));
  assert(!/^function /m.test(rewritten));
});

const HOISTING = `
var table = [twice(1), later()];
function twice(x) {
  return 2 * x;
}
const text = \`function fake() {
}
\`;
async function later() {
  return "ok";
}
function* counter() {
  yield 1;
  yield 2;
}
class Box {
  m() { return inner(); function inner() { return "inner"; } }
}
export { table, text, twice, later, counter, Box };
`;

Deno.test("topLevelFunctions() finds the module's own declarations, not text or nested ones", () => {
  assertEquals(topLevelFunctions(HOISTING).map((f) => f.name), ["twice", "later", "counter"]);
});

Deno.test("eagerFunctions() keeps the module's behaviour, hoisting included", async () => {
  const rewritten = keepEager(eagerFunctions(HOISTING), null);
  assert(rewritten.startsWith("var twice = (function twice(x) {"), rewritten);
  assert(rewritten.includes("var later = (async function later() {"), rewritten);
  assert(rewritten.includes("var counter = (function* counter() {"), rewritten);
  assertEquals(topLevelFunctions(rewritten), []);
  const before = await importModule(HOISTING);
  const after = await importModule(rewritten);
  assertEquals(after.text, before.text);
  assertEquals((after.table as unknown[])[0], 2);
  assertEquals(await (after.table as Promise<string>[])[1], "ok");
  assertEquals([...(after.counter as () => Iterable<number>)()], [1, 2]);
  assertEquals((after.twice as { name: string }).name, "twice");
  assertEquals(new (after.Box as new () => { m(): string })().m(), "inner");
});
