/**
 * Configuration helpers every layer may use (they import nothing of ours): the one
 * command-line parser and the value checks that give flags and options one message format,
 * `Invalid {name}: expected {what}, got {value}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags, parseInteger } from "./mod.ts";
 * const { timeout } = parseFlags(["--timeout=5000"], { timeout: { type: "string" } });
 * assert.equal(parseInteger("--timeout", timeout!, { min: 1, max: 3_600_000 }), 5000);
 * ```
 *
 * @module
 */

export {
  FlagError,
  flagLists,
  type FlagSpec,
  type FlagTable,
  type FlagValues,
  parseFlags,
  parseOrExit,
} from "./flags.ts";
export {
  durationMs,
  integerInRange,
  invalid,
  numberInRange,
  parseInteger,
  positiveInteger,
  type Range,
  shown,
} from "./values.ts";
