/**
 * Server-Sent Events framing for the SSE transport: each payload becomes one event whose
 * lines are `data: ` fields, ended by an empty line.
 *
 * @module
 */

/** First bytes of every SSE response: a comment, so browsers that wait for data start reading. */
export const SSE_PREAMBLE = ":\r\n";

/**
 * Formats one payload as a Server-Sent Event: every line (split on `\n`, a trailing `\r`
 * dropped) becomes `data: <line>\r\n`, then `\r\n` ends the event. An empty payload is
 * just `\r\n`.
 *
 * @param payload The text to send (for example framed JSON hub messages).
 * @returns The event text.
 *
 * @example
 * ```ts
 * import { formatServerSentEvent } from "./sse.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatServerSentEvent("Hello\nWorld"), "data: Hello\r\ndata: World\r\n\r\n");
 * ```
 */
export function formatServerSentEvent(payload: string): string {
  if (payload.length === 0) return "\r\n";
  let out = "";
  for (const line of payload.split("\n")) {
    out += `data: ${line.endsWith("\r") ? line.slice(0, -1) : line}\r\n`;
  }
  return out + "\r\n";
}
