/**
 * Makes trace data JSON-serialisable: bytes as base64, dates as ISO strings, bigints as strings,
 * maps as objects, cycles and functions named instead of crashing `JSON.stringify`.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/**
 * Converts a value into plain JSON data.
 *
 * @param value Anything a case recorded.
 * @returns A JSON-serialisable copy.
 *
 * @example
 * ```ts
 * import { toJsonSafe } from "./_json_safe.ts";
 * toJsonSafe(new Uint8Array([1, 2])); // { $bytes: "AQI=" }
 * ```
 */
export function toJsonSafe(value: unknown): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
    if (typeof v === "bigint") return v.toString();
    if (v === undefined) return null;
    if (typeof v === "function" || typeof v === "symbol") return `[${typeof v}]`;
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("base64") };
    if (v instanceof ArrayBuffer) {
      return { $bytes: Buffer.from(new Uint8Array(v)).toString("base64") };
    }
    if (v instanceof Error) return { name: v.name, message: v.message };
    const obj = v as object;
    if (seen.has(obj)) return "[Circular]";
    seen.add(obj);
    try {
      if (Array.isArray(obj)) return obj.map(walk);
      if (obj instanceof Map) {
        return Object.fromEntries([...obj].map(([k, x]) => [String(k), walk(x)]));
      }
      if (obj instanceof Set) return [...obj].map(walk);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(obj)) out[k] = walk(x);
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  return walk(value);
}
