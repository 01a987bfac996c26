import assert from "node:assert/strict";
import { FramingError } from "../errors.ts";
import {
  BinaryMessageParser,
  frameBinary,
  readVarIntLength,
  splitBinaryMessages,
  writeVarIntLength,
} from "./binary_framing.ts";

const VARINTS: [number, number[]][] = [
  [0, [0x00]],
  [1, [0x01]],
  [127, [0x7f]],
  [128, [0x80, 0x01]],
  [16383, [0xff, 0x7f]],
  [16384, [0x80, 0x80, 0x01]],
  [2097151, [0xff, 0xff, 0x7f]],
  [2097152, [0x80, 0x80, 0x80, 0x01]],
  [268435455, [0xff, 0xff, 0xff, 0x7f]],
  [268435456, [0x80, 0x80, 0x80, 0x80, 0x01]],
  [2 ** 31 - 1, [0xff, 0xff, 0xff, 0xff, 0x07]],
];

Deno.test("binary framing", async (t) => {
  await t.step("VarInt boundaries both ways", () => {
    for (const [length, bytes] of VARINTS) {
      assert.deepEqual([...writeVarIntLength(length)], bytes, `write ${length}`);
      assert.deepEqual(readVarIntLength(new Uint8Array(bytes)), {
        length,
        prefixBytes: bytes.length,
      });
    }
  });

  await t.step("lengths out of range cannot be written", () => {
    assert.throws(() => writeVarIntLength(2 ** 31), RangeError);
    assert.throws(() => writeVarIntLength(-1), RangeError);
    assert.throws(() => writeVarIntLength(1.5), RangeError);
  });

  await t.step("prefixes over 2 GiB - 1 or longer than 5 bytes are rejected", () => {
    const message = "Messages over 2GB in size are not supported";
    for (
      const bytes of [
        [0xff, 0xff, 0xff, 0xff, 0x08],
        [0x80, 0x80, 0x80, 0x80, 0x80],
        [0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      ]
    ) {
      assert.throws(() => readVarIntLength(new Uint8Array(bytes)), {
        name: "FramingError",
        message,
      });
      assert.throws(() => new BinaryMessageParser().push(new Uint8Array(bytes)), { message });
    }
  });

  await t.step("frame and split", () => {
    const framed = frameBinary(new Uint8Array([0x91, 0x06]));
    assert.deepEqual([...framed], [0x02, 0x91, 0x06]);
    assert.equal(framed.buffer.byteLength, 3);
    const bodies = splitBinaryMessages(new Uint8Array([0x02, 0x91, 0x06, 0x00, 0x01, 0x2a]));
    assert.deepEqual(bodies.map((b) => [...b]), [[0x91, 0x06], [], [0x2a]]);
    assert.throws(() => splitBinaryMessages(new Uint8Array([0x03, 0x91, 0x06])), FramingError);
    assert.throws(() => splitBinaryMessages(new Uint8Array([0x80])), FramingError);
  });

  await t.step("streaming: partial prefix and partial body wait for more", () => {
    const body = new Uint8Array(200).map((_, i) => i);
    const framed = frameBinary(body);
    const parser = new BinaryMessageParser();
    assert.deepEqual(parser.push(framed.subarray(0, 1)), []);
    assert.deepEqual(parser.push(framed.subarray(1, 50)), []);
    const out = parser.push(new Uint8Array([...framed.subarray(50), 0x02, 0x91]));
    assert.deepEqual(out.map((b) => [...b]), [[...body]]);
    assert.deepEqual(parser.push(new Uint8Array([0x06])).map((b) => [...b]), [[0x91, 0x06]]);
    assert.equal(parser.bufferedBytes, 0);
  });

  await t.step("maxMessageSize counts prefix and body, checked on the prefix", () => {
    const ok = new BinaryMessageParser({ maxMessageSize: 3 });
    assert.equal(ok.push(new Uint8Array([0x02, 0x91, 0x06])).length, 1);
    const parser = new BinaryMessageParser({ maxMessageSize: 32768 });
    assert.throws(() => parser.push(new Uint8Array([0xff, 0xff, 0x01])), {
      name: "FramingError",
      message: "The maximum message size of 32768B was exceeded",
    });
    assert.throws(() => parser.push(new Uint8Array([0x00])), FramingError, "stays failed");
  });
});
