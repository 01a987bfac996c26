/**
 * Private: JSON reading with the System.Text.Json limits that matter here (maximum depth 64)
 * and access to the source text of numbers, which STJ checks when reading integers
 * (`1.0` and `1e0` are not a byte).
 *
 * @module
 */

import { EnvelopeError } from "../errors.ts";

/** Default `JsonSerializerOptions.MaxDepth`. */
const MAX_DEPTH = 64;

/** A parsed JSON text that remembers which number tokens were written as plain integers. */
export interface JsonDocument {
  /** The parsed value. */
  readonly root: unknown;
  /**
   * Whether `holder[key]` is a number token written as a plain non-negative integer
   * (digits only), the only form STJ accepts for an unsigned integer.
   */
  isPlainInteger(holder: object, key: string): boolean;
}

type Reviver = (
  this: unknown,
  key: string,
  value: unknown,
  context?: { source?: string },
) => unknown;

function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) {
        throw new EnvelopeError("", `Invalid JSON: nesting deeper than ${MAX_DEPTH} levels`);
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/**
 * Parses JSON text, throwing {@linkcode EnvelopeError} with field `""` for anything STJ would
 * refuse before binding (syntax, depth, invalid UTF-16).
 *
 * @param text The JSON text.
 * @returns The document.
 */
export function parseJsonDocument(text: string): JsonDocument {
  if (!text.isWellFormed()) {
    throw new EnvelopeError("", "Invalid JSON: text is not well-formed UTF-16");
  }
  checkDepth(text);
  const plainIntegers = new WeakMap<object, Set<string>>();
  const reviver: Reviver = function (key, value, context) {
    if (
      typeof value === "number" && typeof this === "object" && this !== null &&
      context?.source !== undefined && /^[0-9]+$/.test(context.source)
    ) {
      let keys = plainIntegers.get(this);
      if (keys === undefined) plainIntegers.set(this, keys = new Set());
      keys.add(key);
    }
    return value;
  };
  let root: unknown;
  try {
    root = JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new EnvelopeError("", `Invalid JSON: ${detail}`, { cause: error });
  }
  return {
    root,
    isPlainInteger: (holder, key) => plainIntegers.get(holder)?.has(key) ?? false,
  };
}

/** A document for values that did not come from JSON text (producer input): every integer is plain. */
export function trustedDocument(root: unknown): JsonDocument {
  return {
    root,
    isPlainInteger: (holder, key) => {
      const value = (holder as Record<string, unknown>)[key];
      return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 &&
        !Object.is(value, -0);
    },
  };
}

/** Lower-cases ASCII letters only, for case-insensitive key matching (`OrdinalIgnoreCase` on ASCII). */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Whether a value is a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/**
 * Describes a value for an error message: its JSON text, shortened.
 *
 * @param value Any value.
 * @returns For example `"abc"`, `42`, `null`, `an object`.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a Date";
  if (typeof value === "object" && value !== null) return "an object";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
    return `a ${typeof value}`;
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
