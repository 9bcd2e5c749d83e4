import assert from "node:assert/strict";
import { paired } from "../bench/bench.ts";

Deno.test("bench: a cost is the median of its difference within each round, with quartiles", () => {
  const a = [12, 50, 13, 15, 11, 30, 14, 16];
  const b = [10, 45, 11, 12, 9, 20, 12, 10];
  // Per round: 2 5 2 3 2 10 2 6 -> sorted 2 2 2 2 3 5 6 10.
  assert.deepEqual(paired([a], [b]), { median: 2.5, q1: 2, q3: 6 });
});

Deno.test("bench: several sides on each hand, divided per target, over the rounds all ran", () => {
  const eight = [80, 90, 100];
  const one = [10, 20];
  const floorOne = [5, 5, 5];
  const floorEight = [40, 40, 40];
  // Rounds 0 and 1 only: (80 + 5 - 10 - 40) / 7 = 5, (90 + 5 - 20 - 40) / 7 = 5.
  assert.deepEqual(paired([eight, floorOne], [one, floorEight], 7), { median: 5, q1: 5, q3: 5 });
  assert.ok(Number.isNaN(paired([], []).median));
});
