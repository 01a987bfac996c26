import assert from "node:assert/strict";
import { formatServerSentEvent, SSE_PREAMBLE } from "./sse.ts";

Deno.test("Server-Sent Events framing matches the server's vectors", () => {
  assert.equal(SSE_PREAMBLE, ":\r\n");
  const vectors: [string, string][] = [
    ["", "\r\n"],
    ["Hello, World", "data: Hello, World\r\n\r\n"],
    ["Hello\r\nWorld", "data: Hello\r\ndata: World\r\n\r\n"],
    ["Hello\nWorld", "data: Hello\r\ndata: World\r\n\r\n"],
    ["Hello\n", "data: Hello\r\ndata: \r\n\r\n"],
    ["Hello\r\n", "data: Hello\r\ndata: \r\n\r\n"],
    ['{"type":6}\x1e', 'data: {"type":6}\x1e\r\n\r\n'],
  ];
  for (const [payload, event] of vectors) assert.equal(formatServerSentEvent(payload), event);
});
