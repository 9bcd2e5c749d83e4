/**
 * scripts/build.ts's rewrite of the bundle: top-level function declarations become eager,
 * hoisted assignments, and the module behaves as before.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { eagerFunctions, topLevelFunctions } from "../scripts/build.ts";

/** Evaluate a module's text and return what it exports. */
async function evaluate(source: string): Promise<Record<string, unknown>> {
  const url = `data:text/javascript;base64,${btoa(source)}`;
  return await import(url);
}

const MODULE = `
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
  assertEquals(topLevelFunctions(MODULE).map((f) => f.name), ["twice", "later", "counter"]);
});

Deno.test("eagerFunctions() keeps the module's behaviour, hoisting included", async () => {
  const rewritten = eagerFunctions(MODULE);
  assert(rewritten.startsWith("var twice = (function twice(x) {"), rewritten);
  assert(rewritten.includes("var later = (async function later() {"), rewritten);
  assert(rewritten.includes("var counter = (function* counter() {"), rewritten);
  assertEquals(topLevelFunctions(rewritten), []);
  const before = await evaluate(MODULE);
  const after = await evaluate(rewritten);
  assertEquals(after.text, before.text);
  assertEquals((after.table as unknown[])[0], 2);
  assertEquals(await (after.table as Promise<string>[])[1], "ok");
  assertEquals([...(after.counter as () => Iterable<number>)()], [1, 2]);
  assertEquals((after.twice as { name: string }).name, "twice");
  assertEquals(new (after.Box as new () => { m(): string })().m(), "inner");
});
