/**
 * Checks for configuration values, shared by option objects and command-line flags so every
 * bad value is reported the same way: `Invalid {name}: expected {what}, got {value}`, as a
 * `RangeError` (a number out of range) or a `TypeError` (not a number at all), where `name` is an
 * option path (`option timers.keepAliveMs`) or a flag (`--timeout`).
 *
 * @module
 */

/**
 * Renders a value for an error message: text as given (an empty one as `""`), nothing as
 * `nothing`, anything else as JSON or text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shown } from "./values.ts";
 * assert.equal(shown("5s"), "5s");
 * assert.equal(shown(""), '""');
 * assert.equal(shown(-1), "-1");
 * assert.equal(shown(undefined), "nothing");
 * ```
 * @param value Any value.
 * @returns Its text.
 */
export function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return value === "" ? '""' : value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Builds the one message format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { invalid } from "./values.ts";
 * assert.equal(invalid("--port", "an integer 0..65535", "x"), "Invalid --port: expected an integer 0..65535, got x");
 * ```
 * @param name The option or flag.
 * @param expected What a valid value is.
 * @param got The value given.
 * @returns `Invalid {name}: expected {expected}, got {got}`.
 */
export function invalid(name: string, expected: string, got: unknown): string {
  return `Invalid ${name}: expected ${expected}, got ${shown(got)}`;
}

/** Bounds of {@linkcode integerInRange}, {@linkcode numberInRange} and {@linkcode parseInteger}. */
export interface Range {
  /** Smallest valid value (default no bound). */
  readonly min?: number;
  /** Largest valid value (default no bound). */
  readonly max?: number;
  /**
   * What a valid value is, in words, when the bounds alone do not say it (default from the
   * bounds: `an integer 1..256`, `a positive integer`, `a non-negative number`, ...).
   */
  readonly expected?: string;
}

/** What a valid value is, in words: `an integer 1..256`, `a non-negative number`, ... */
function expected(kind: "integer" | "number", range: Range): string {
  if (range.expected !== undefined) return range.expected;
  const a = kind === "integer" ? "an integer" : "a number";
  const { min, max } = range;
  if (min !== undefined && max !== undefined) return `${a} ${min}..${max}`;
  if (min === 0 && kind === "number") return "a non-negative number";
  if (min === 1 && kind === "integer") return "a positive integer";
  if (min !== undefined) return `${a} of at least ${min}`;
  if (max !== undefined) return `${a} of at most ${max}`;
  return kind === "integer" ? "an integer" : "a finite number";
}

function inRange(value: number, range: Range): boolean {
  return (range.min === undefined || value >= range.min) &&
    (range.max === undefined || value <= range.max);
}

/**
 * Checks that a value is a finite number within a range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberInRange } from "./values.ts";
 * assert.equal(numberInRange("option ratio", 0.5, { min: 0, max: 1 }), 0.5);
 * assert.throws(() => numberInRange("option ratio", 2, { min: 0, max: 1 }), /expected a number 0..1, got 2/);
 * ```
 * @param name The option or flag.
 * @param value The value.
 * @param range Bounds (inclusive).
 * @returns The value.
 * @throws {RangeError} naming the option when out of range or not finite.
 */
export function numberInRange(name: string, value: unknown, range: Range = {}): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !inRange(value, range)) {
    throw new RangeError(invalid(name, expected("number", range), value));
  }
  return value;
}

/**
 * Checks that a value is a safe integer within a range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integerInRange } from "./values.ts";
 * assert.equal(integerInRange("--concurrency", 4, { min: 1, max: 256 }), 4);
 * assert.throws(() => integerInRange("--concurrency", 0, { min: 1, max: 256 }), /expected an integer 1..256, got 0/);
 * ```
 * @param name The option or flag.
 * @param value The value.
 * @param range Bounds (inclusive).
 * @returns The value.
 * @throws {RangeError} naming the option.
 */
export function integerInRange(name: string, value: unknown, range: Range = {}): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || !inRange(value, range)) {
    throw new RangeError(invalid(name, expected("integer", range), value));
  }
  return value;
}

/**
 * Checks that a value is an integer of at least 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positiveInteger } from "./values.ts";
 * assert.equal(positiveInteger("option batchSize", 32), 32);
 * assert.throws(() => positiveInteger("option batchSize", 0), /Invalid option batchSize: expected a positive integer, got 0/);
 * ```
 * @param name The option or flag.
 * @param value The value.
 * @returns The value.
 * @throws {RangeError} naming the option.
 */
export function positiveInteger(name: string, value: unknown): number {
  return integerInRange(name, value, { min: 1 });
}

/**
 * Checks a duration in milliseconds: a finite number of at least 0 (0 usually turns a timer
 * off), or within the given range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { durationMs } from "./values.ts";
 * assert.equal(durationMs("option timers.keepAliveMs", 15_000), 15_000);
 * assert.throws(
 *   () => durationMs("option timers.keepAliveMs", -1),
 *   /Invalid option timers.keepAliveMs: expected a non-negative number, got -1/,
 * );
 * ```
 * @param name The option or flag.
 * @param value The value.
 * @param range Bounds (default `min: 0`).
 * @returns The value.
 * @throws {RangeError} naming the option.
 */
export function durationMs(name: string, value: unknown, range: Range = { min: 0 }): number {
  return numberInRange(name, value, range);
}

/**
 * Parses the decimal text of an integer (a flag or environment value) and checks its range:
 * `"1e3"`, `"0x10"`, `" 5"` and `"5.0"` are refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseInteger } from "./values.ts";
 * assert.equal(parseInteger("--timeout", "5000", { min: 1 }), 5000);
 * assert.throws(() => parseInteger("--timeout", "5s", { min: 1 }), /Invalid --timeout: expected a positive integer, got 5s/);
 * ```
 * @param name The flag.
 * @param text The text given.
 * @param range Bounds (inclusive).
 * @returns The integer.
 * @throws {RangeError} naming the flag.
 */
export function parseInteger(name: string, text: string, range: Range = {}): number {
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || !inRange(n, range)) {
    // The text as given, not the NaN it became.
    throw new RangeError(invalid(name, expected("integer", range), text));
  }
  return n;
}
