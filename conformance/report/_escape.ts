/**
 * Escaping for XML and HTML output: target-provided text (payloads, close reasons, error messages)
 * must never become markup, and characters XML 1.0 forbids are replaced.
 *
 * @module
 */

// XML 1.0 allows tab, newline, carriage return and U+0020 upward, minus surrogates and U+FFFE/U+FFFF.
const INVALID_XML =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Escapes text for XML or HTML element content and quoted attribute values.
 *
 * @param text Any text.
 * @returns Text with `& < > " '` escaped and forbidden characters replaced by U+FFFD.
 *
 * @example
 * ```ts
 * import { escapeMarkup } from "./_escape.ts";
 * escapeMarkup("<script>"); // "&lt;script&gt;"
 * ```
 */
export function escapeMarkup(text: string): string {
  return text
    .replace(INVALID_XML, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Cuts text to a length, marking the cut with an ellipsis.
 *
 * @param text Any text.
 * @param max Most characters kept.
 * @returns The text, shortened if needed.
 */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
