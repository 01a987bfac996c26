/**
 * Private: JSON text as System.Text.Json writes it with its default encoder
 * (`JavaScriptEncoder.Default`): compact, object keys in insertion order, and every character
 * outside printable ASCII plus `"`, `&`, `'`, `+`, `<`, `>` and the backtick escaped as an
 * upper-case `\uXXXX` (`\b \t \n \f \r` and `\\` keep their short forms).
 *
 * @module
 */

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0c: "\\f",
  0x0d: "\\r",
  0x5c: "\\\\",
};
const HTML_SENSITIVE = new Set([0x22, 0x26, 0x27, 0x2b, 0x3c, 0x3e, 0x60]);

function escapeString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) out += short;
    else if (c < 0x20 || c > 0x7e || HTML_SENSITIVE.has(c)) {
      out += `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    } else out += text[i];
  }
  return `${out}"`;
}

/**
 * Serializes a JSON value as STJ's writer would.
 *
 * @param value A JSON value (plain objects, arrays, strings, finite numbers, booleans, null).
 * @returns The JSON text.
 * @throws {TypeError} For values JSON cannot carry.
 */
export function stringifyStj(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`Cannot write a non-finite number: ${value}`);
      }
      return JSON.stringify(value);
    case "string":
      return escapeString(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(stringifyStj).join(",")}]`;
      const parts = Object.entries(value as Record<string, unknown>)
        .map(([key, item]) => `${escapeString(key)}:${stringifyStj(item)}`);
      return `{${parts.join(",")}}`;
    }
    default:
      throw new TypeError(`Cannot write a ${typeof value} as JSON`);
  }
}
