import assert from "node:assert/strict";
import { FramingError } from "../errors.ts";
import {
  formatTextMessage,
  RECORD_SEPARATOR,
  splitTextMessages,
  TextMessageParser,
} from "./text_framing.ts";

Deno.test("text framing", async (t) => {
  await t.step("format and split", () => {
    assert.equal(RECORD_SEPARATOR, "\x1e");
    assert.equal(formatTextMessage('{"type":6}'), '{"type":6}\x1e');
    assert.deepEqual(splitTextMessages(""), []);
    assert.deepEqual(splitTextMessages("a\x1e\x1eb\x1e"), ["a", "", "b"]);
    assert.throws(() => splitTextMessages("a\x1eb"), FramingError);
  });

  await t.step("streaming parser buffers an unterminated tail", () => {
    const parser = new TextMessageParser();
    assert.deepEqual(parser.push("ab"), []);
    assert.equal(parser.bufferedBytes, 2);
    assert.deepEqual(parser.push("c\x1ed"), ["abc"]);
    assert.deepEqual(parser.push("\x1e\x1e"), ["d", ""]);
    assert.equal(parser.bufferedBytes, 0);
  });

  await t.step("UTF-8 characters split across byte chunks", () => {
    const bytes = new TextEncoder().encode("h\u00e9\u{1f600}\x1e");
    const parser = new TextMessageParser();
    const out: string[] = [];
    for (const byte of bytes) out.push(...parser.push(new Uint8Array([byte])));
    assert.deepEqual(out, ["h\u00e9\u{1f600}"]);
  });

  await t.step("maxMessageSize counts UTF-8 bytes plus the separator", () => {
    const ok = new TextMessageParser({ maxMessageSize: 4 });
    assert.deepEqual(ok.push("\u00e9a\x1e"), ["\u00e9a"]); // 3 bytes + separator
    const tooBig = new TextMessageParser({ maxMessageSize: 4 });
    assert.throws(() => tooBig.push("\u00e9ab\x1e"), {
      name: "FramingError",
      message: "The maximum message size of 4B was exceeded",
    });
    assert.throws(() => tooBig.push("\x1e"), FramingError, "parser stays failed");
  });

  await t.step("an oversized tail fails before its separator arrives", () => {
    const parser = new TextMessageParser({ maxMessageSize: 32768 });
    assert.deepEqual(parser.push("x".repeat(32767)), []);
    assert.throws(() => parser.push("x"), {
      message: "The maximum message size of 32768B was exceeded",
    });
  });

  await t.step("invalid UTF-8 in a complete message is a ProtocolError", () => {
    const parser = new TextMessageParser();
    assert.throws(() => parser.push(new Uint8Array([0xff, 0x1e])), {
      name: "ProtocolError",
      message: "Invalid UTF-8 in text message",
    });
  });
});
