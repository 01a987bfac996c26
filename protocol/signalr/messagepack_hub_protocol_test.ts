import assert from "node:assert/strict";
import { encode, ExtData } from "@msgpack/msgpack";
import { ProtocolError } from "../errors.ts";
import { frameBinary } from "./binary_framing.ts";
import { type HubMessage, MessageType, TransferFormat } from "./messages.ts";
import {
  createMessagePackHubProtocol,
  messagePackHubProtocol,
} from "./messagepack_hub_protocol.ts";

function hex(buffer: ArrayBuffer | string): string {
  assert.ok(buffer instanceof ArrayBuffer);
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function bytes(text: string): Uint8Array {
  return new Uint8Array(text.split(" ").map((b) => parseInt(b, 16)));
}

function framed(value: unknown): Uint8Array {
  return frameBinary(encode(value));
}

Deno.test("MessagePack hub protocol", async (t) => {
  await t.step("identity", () => {
    assert.equal(messagePackHubProtocol.name, "messagepack");
    assert.equal(messagePackHubProtocol.version, 2);
    assert.equal(messagePackHubProtocol.transferFormat, TransferFormat.Binary);
  });

  await t.step("the spec's invocation vector both ways", () => {
    const body = "96 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90";
    const message: HubMessage = { type: 1, invocationId: "xyz", target: "method", arguments: [42] };
    assert.equal(hex(messagePackHubProtocol.writeMessage(message)), "11 " + body);
    assert.deepEqual(messagePackHubProtocol.parseMessages(bytes("11 " + body)), [message]);
  });

  await t.step("server layouts for every type", () => {
    const cases: [HubMessage, string][] = [
      [{ type: 6 }, "02 91 06"],
      [{ type: 7 }, "04 93 07 c0 c2"],
      [{ type: 7, error: "e", allowReconnect: true }, "05 93 07 a1 65 c3"],
      [{ type: 8, sequenceId: 36 }, "03 92 08 24"],
      [{ type: 9, sequenceId: 1 }, "03 92 09 01"],
      [{ type: 5, invocationId: "1" }, "05 93 05 80 a1 31"],
      [{ type: 2, invocationId: "1", item: null }, "06 94 02 80 a1 31 c0"],
      [{ type: 3, invocationId: "1", error: "e" }, "08 95 03 80 a1 31 01 a1 65"],
      [{ type: 3, invocationId: "1" }, "06 94 03 80 a1 31 02"],
      [{ type: 3, invocationId: "1", result: 1 }, "07 95 03 80 a1 31 03 01"],
      [
        { type: 1, headers: { a: "b" }, target: "T", arguments: [], streamIds: ["s"] },
        "0e 96 01 81 a1 61 a1 62 c0 a1 54 90 91 a1 73",
      ],
      [
        { type: 4, invocationId: "1", target: "T", arguments: [] },
        "09 96 04 80 a1 31 a1 54 90 90",
      ],
    ];
    for (const [message, expected] of cases) {
      const written = messagePackHubProtocol.writeMessage(message);
      assert.equal(hex(written), expected, JSON.stringify(message));
      assert.equal((written as ArrayBuffer).byteLength, bytes(expected).length);
    }
  });

  await t.step("accepts the TS client's shorter forms and extra elements", () => {
    assert.deepEqual(messagePackHubProtocol.parseMessages(bytes("03 92 07 c0")), [{ type: 7 }]);
    assert.deepEqual(
      messagePackHubProtocol.parseMessages(framed([1, {}, null, "T", [1]])),
      [{ type: 1, target: "T", arguments: [1] }],
    );
    assert.deepEqual(
      messagePackHubProtocol.parseMessages(framed([1, {}, "", "T", [], ["s"], "extra"])),
      [{ type: 1, target: "T", arguments: [], streamIds: ["s"] }],
    );
    assert.deepEqual(messagePackHubProtocol.parseMessages(framed([6, "extra"])), [{ type: 6 }]);
    assert.deepEqual(
      messagePackHubProtocol.parseMessages(framed([3, { h: "v" }, "1", 2, "ignored"])),
      [{ type: 3, headers: { h: "v" }, invocationId: "1" }],
    );
    assert.deepEqual(messagePackHubProtocol.parseMessages(framed([42, "future"])), []);
    const several = new Uint8Array([...bytes("02 91 06"), ...bytes("03 92 08 24")]);
    assert.deepEqual(messagePackHubProtocol.parseMessages(several.buffer), [
      { type: 6 },
      { type: 8, sequenceId: 36 },
    ]);
  });

  await t.step("timestamps: Date by default, ExtData in raw mode, both encode as ext -1", () => {
    const date = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    const message: HubMessage = { type: 1, target: "T", arguments: [date] };
    const written = new Uint8Array(messagePackHubProtocol.writeMessage(message) as ArrayBuffer);
    assert.ok(hex(written.buffer).includes("d7 ff"), "timestamp 64 ext");
    assert.deepEqual(messagePackHubProtocol.parseMessages(written), [message]);
    const raw = createMessagePackHubProtocol({ timestamps: "raw" });
    const [parsed] = raw.parseMessages(written) as unknown as [{ arguments: [ExtData] }];
    assert.ok(parsed.arguments[0] instanceof ExtData);
    assert.equal(parsed.arguments[0].type, -1);
    assert.equal((parsed.arguments[0].data as Uint8Array).length, 8);
    const rewritten = raw.writeMessage(parsed as unknown as HubMessage) as ArrayBuffer;
    assert.deepEqual(new Uint8Array(rewritten), written);
  });

  await t.step("clear errors", () => {
    const cases: [Uint8Array | string, string][] = [
      ["x", "Invalid input for the MessagePack hub protocol"],
      [bytes("00"), "Invalid MessagePack message: empty body"],
      [bytes("01 c1"), "Invalid MessagePack message: "],
      [framed({ type: 1 }), "Invalid MessagePack message: expected a non-empty array"],
      [framed([]), "Invalid MessagePack message: expected a non-empty array"],
      [framed(["1"]), "Invalid MessagePack message: expected an integer message type first"],
      [framed([1, {}, null, "T"]), "Invalid payload for Invocation message"],
      [framed([1, [], null, "T", []]), "Expected 'headers'"],
      [framed([1, { a: 1 }, null, "T", []]), "Expected header 'a'"],
      [framed([1, {}, null, "", []]), "Expected 'target' to be a non-empty string"],
      [framed([1, {}, null, "T", {}]), "Expected 'arguments' to be of type Array"],
      [framed([1, {}, null, "T", [], [1]]), "Expected 'streamIds'"],
      [framed([4, {}, null, "T", []]), "Expected 'invocationId' to be a non-empty string"],
      [framed([2, {}, "1"]), "Invalid payload for StreamItem message"],
      [framed([3, {}, "1", 4, 1]), "Invalid invocation result kind: 4"],
      [framed([3, {}, "1", 3]), "Invalid payload for Completion message"],
      [framed([3, {}, "1", 1, 5]), "Expected the Completion error to be of type String"],
      [framed([5, {}]), "Invalid payload for CancelInvocation message"],
      [framed([7]), "Invalid payload for Close message"],
      [framed([7, null, 1]), "Expected 'allowReconnect' to be of type Boolean"],
      [framed([8]), "Invalid payload for Ack message"],
      [framed([9, "1"]), "Expected 'sequenceId' to be an integer"],
      [bytes("03 91 06"), "Incomplete message"],
      [bytes("03 91 06 c0"), "Invalid MessagePack message: Extra"],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => messagePackHubProtocol.parseMessages(input),
        (error: unknown) => error instanceof ProtocolError && error.message.startsWith(message),
        `${message} <- ${typeof input === "string" ? input : [...input]}`,
      );
    }
  });

  await t.step("round trip of every type", () => {
    const messages: HubMessage[] = [
      {
        type: MessageType.Invocation,
        target: "T",
        arguments: [null, { a: [1] }, new Uint8Array([1])],
      },
      { type: MessageType.StreamItem, headers: { h: "v" }, invocationId: "1", item: "x" },
      { type: MessageType.Completion, invocationId: "1", error: "boom" },
      { type: MessageType.StreamInvocation, invocationId: "2", target: "S", arguments: [] },
      { type: MessageType.CancelInvocation, invocationId: "2" },
      { type: MessageType.Ping },
      { type: MessageType.Close, error: "e", allowReconnect: true },
      { type: MessageType.Ack, sequenceId: 5 },
      { type: MessageType.Sequence, sequenceId: 1 },
    ];
    const chunks = messages.map((m) =>
      new Uint8Array(messagePackHubProtocol.writeMessage(m) as ArrayBuffer)
    );
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    assert.deepEqual(messagePackHubProtocol.parseMessages(all), messages);
  });
});
