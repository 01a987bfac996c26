import assert from "node:assert/strict";
import {
  durationMs,
  integerInRange,
  invalid,
  numberInRange,
  parseInteger,
  positiveInteger,
} from "./values.ts";

Deno.test("one message format for every check", () => {
  assert.equal(invalid("--x", "a thing", undefined), "Invalid --x: expected a thing, got nothing");
  const cases: [() => unknown, RegExp][] = [
    [
      () => integerInRange("--max-pending", -1, { min: 0 }),
      /^Invalid --max-pending: expected an integer of at least 0, got -1$/,
    ],
    [
      () =>
        parseInteger("--seed", "1.5", {
          expected: "a 32-bit integer",
          min: -(2 ** 31),
          max: 2 ** 31 - 1,
        }),
      /^Invalid --seed: expected a 32-bit integer, got 1.5$/,
    ],
    [
      () => positiveInteger("option batchSize", 0),
      /^Invalid option batchSize: expected a positive integer, got 0$/,
    ],
    [() => positiveInteger("option batchSize", 1.5), /expected a positive integer, got 1.5$/],
    [
      () => integerInRange("--port", 70000, { min: 0, max: 65535 }),
      /^Invalid --port: expected an integer 0..65535, got 70000$/,
    ],
    [() => integerInRange("--n", 3, { max: 2 }), /expected an integer of at most 2, got 3$/],
    [() => integerInRange("--n", 3, { min: 5 }), /expected an integer of at least 5, got 3$/],
    [() => integerInRange("--n", "3"), /expected an integer, got 3$/],
    [() => numberInRange("option r", Number.NaN), /expected a finite number, got NaN$/],
    [
      () => numberInRange("option r", Infinity, { min: 0 }),
      /expected a non-negative number, got Infinity$/,
    ],
    [
      () => durationMs("option timers.keepAliveMs", -1),
      /^Invalid option timers.keepAliveMs: expected a non-negative number, got -1$/,
    ],
    [() => durationMs("option t", 5, { min: 10, max: 20 }), /expected a number 10..20, got 5$/],
    [
      () => parseInteger("--timeout", "1e3", { min: 1 }),
      /^Invalid --timeout: expected a positive integer, got 1e3$/,
    ],
    [() => parseInteger("--timeout", "", { min: 1 }), /got ""$/],
    [
      () => parseInteger("--seed", "9007199254740993"),
      /expected an integer, got 9007199254740993$/,
    ],
  ];
  for (const [run, message] of cases) {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.match((error as Error).message, message);
      return true;
    });
  }
});

Deno.test("valid values come back unchanged", () => {
  assert.equal(positiveInteger("x", 7), 7);
  assert.equal(integerInRange("x", -3, { min: -5, max: 0 }), -3);
  assert.equal(numberInRange("x", 0.25, { min: 0, max: 1 }), 0.25);
  assert.equal(durationMs("x", 0), 0);
  assert.equal(parseInteger("x", "-12", { min: -20 }), -12);
});
