import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { jsonHubProtocol, parseJsonHubMessage, writeJsonHubMessage } from "./json_hub_protocol.ts";
import { type HubMessage, MessageType, TransferFormat } from "./messages.ts";

Deno.test("JSON hub protocol", async (t) => {
  await t.step("identity", () => {
    assert.equal(jsonHubProtocol.name, "json");
    assert.equal(jsonHubProtocol.version, 2);
    assert.equal(jsonHubProtocol.transferFormat, TransferFormat.Text);
  });

  await t.step("writer: the server's property order and omissions for every type", () => {
    const cases: [HubMessage, string][] = [
      [
        {
          type: 1,
          headers: { a: "b" },
          invocationId: "1",
          target: "T",
          arguments: [1, "x"],
          streamIds: ["s"],
        },
        '{"type":1,"headers":{"a":"b"},"invocationId":"1","target":"T","arguments":[1,"x"],"streamIds":["s"]}',
      ],
      [
        { type: 1, headers: {}, invocationId: "", target: "T", arguments: [], streamIds: [] },
        '{"type":1,"target":"T","arguments":[]}',
      ],
      [
        { type: 2, invocationId: "1", item: { a: 1 } },
        '{"type":2,"invocationId":"1","item":{"a":1}}',
      ],
      [{ type: 2, invocationId: "1" }, '{"type":2,"invocationId":"1","item":null}'],
      [{ type: 3, invocationId: "123", result: 1 }, '{"type":3,"invocationId":"123","result":1}'],
      [{ type: 3, invocationId: "1", result: null }, '{"type":3,"invocationId":"1","result":null}'],
      [{ type: 3, invocationId: "1", error: "e" }, '{"type":3,"invocationId":"1","error":"e"}'],
      [{ type: 3, invocationId: "1" }, '{"type":3,"invocationId":"1"}'],
      [
        { type: 4, invocationId: "1", target: "S", arguments: [] },
        '{"type":4,"invocationId":"1","target":"S","arguments":[]}',
      ],
      [{ type: 5, invocationId: "1" }, '{"type":5,"invocationId":"1"}'],
      [{ type: 6 }, '{"type":6}'],
      [{ type: 7 }, '{"type":7}'],
      [{ type: 7, allowReconnect: false }, '{"type":7}'],
      [
        { type: 7, error: "Connection closed with an error.", allowReconnect: true },
        '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}',
      ],
      [{ type: 8, sequenceId: 2 }, '{"type":8,"sequenceId":2}'],
      [{ type: 9, sequenceId: 1 }, '{"type":9,"sequenceId":1}'],
    ];
    for (const [message, json] of cases) {
      assert.equal(jsonHubProtocol.writeMessage(message), json + "\x1e");
    }
  });

  await t.step("writer rejects what JSON cannot carry", () => {
    assert.throws(
      () => writeJsonHubMessage({ type: 1, target: "T", arguments: [1n] }),
      ProtocolError,
    );
    assert.throws(() => writeJsonHubMessage({ type: 42 } as unknown as HubMessage), ProtocolError);
  });

  await t.step("parser: what the official TS client sends", () => {
    const input = '{"target":"Echo","arguments":[42],"invocationId":"0","type":1}\x1e' +
      '{"type":6}\x1e{"invocationId":"s2","result":42,"type":3}\x1e{"type":7}\x1e';
    assert.deepEqual(jsonHubProtocol.parseMessages(input), [
      { type: 1, invocationId: "0", target: "Echo", arguments: [42] },
      { type: 6 },
      { type: 3, invocationId: "s2", result: 42 },
      { type: 7 },
    ]);
    assert.deepEqual(jsonHubProtocol.parseMessages(new TextEncoder().encode('{"type":6}\x1e')), [
      { type: 6 },
    ]);
    assert.deepEqual(jsonHubProtocol.parseMessages(""), []);
  });

  await t.step("parser: normalisations and ignored input", () => {
    assert.deepEqual(
      parseJsonHubMessage(
        '{"type":1,"invocationId":"","target":"T","arguments":[],"streamIds":[],"headers":{},"x":1}',
      ),
      { type: 1, target: "T", arguments: [] },
    );
    assert.deepEqual(parseJsonHubMessage('{"type":7,"error":null,"allowReconnect":false}'), {
      type: 7,
    });
    assert.deepEqual(parseJsonHubMessage('{"type":3,"invocationId":"1","result":null}'), {
      type: 3,
      invocationId: "1",
      result: null,
    });
    assert.equal(parseJsonHubMessage('{"type":99,"whatever":[]}'), undefined);
    assert.deepEqual(jsonHubProtocol.parseMessages('{"type":10}\x1e{"type":6}\x1e'), [{ type: 6 }]);
  });

  await t.step("parser: clear errors", () => {
    const cases: [string, string][] = [
      ["{", "Error reading JSON: "],
      ["42", "Unexpected JSON Token Type 'Number'. Expected a JSON Object"],
      ["[]", "Unexpected JSON Token Type 'Array'. Expected a JSON Object"],
      ["{}", "Missing required property 'type'"],
      ['{"type":"1"}', "Expected 'type' to be of type Number"],
      ['{"type":1,"arguments":[]}', "Missing required property 'target': Invocation"],
      ['{"type":1,"target":"","arguments":[]}', "Expected 'target' to be a non-empty string"],
      ['{"type":1,"target":"T"}', "Missing required property 'arguments'"],
      ['{"type":1,"target":"T","arguments":{}}', "Expected 'arguments' to be of type Array"],
      ['{"type":1,"target":"T","arguments":[],"invocationId":5}', "Expected 'invocationId'"],
      ['{"type":1,"target":"T","arguments":[],"streamIds":[1]}', "Expected 'streamIds'"],
      ['{"type":1,"target":"T","arguments":[],"headers":{"Foo":1}}', "Expected header 'Foo'"],
      ['{"type":1,"target":"T","arguments":[],"headers":[]}', "Expected 'headers'"],
      ['{"type":2,"invocationId":"1"}', "Missing required property 'item'"],
      ['{"type":2,"item":1}', "Missing required property 'invocationId': StreamItem"],
      [
        '{"type":3,"invocationId":"1","error":"e","result":1}',
        "The 'error' and 'result' properties are mutually exclusive",
      ],
      ['{"type":3,"invocationId":"1","error":5}', "Expected 'error' to be of type String"],
      ['{"type":3}', "Missing required property 'invocationId': Completion"],
      ['{"type":4,"target":"T","arguments":[]}', "Missing required property 'invocationId'"],
      ['{"type":5,"invocationId":""}', "Expected 'invocationId' to be a non-empty string"],
      ['{"type":7,"allowReconnect":"yes"}', "Expected 'allowReconnect' to be of type Boolean"],
      ['{"type":8}', "Missing required property 'sequenceId': Ack"],
      ['{"type":9,"sequenceId":"1"}', "Expected 'sequenceId' to be an integer: Sequence"],
    ];
    for (const [json, message] of cases) {
      assert.throws(
        () => parseJsonHubMessage(json),
        (error: unknown) => error instanceof ProtocolError && error.message.startsWith(message),
        json,
      );
    }
    assert.throws(() => jsonHubProtocol.parseMessages('{"type":6}'), {
      name: "FramingError",
    });
  });

  await t.step("round trip of every type", () => {
    const messages: HubMessage[] = [
      { type: MessageType.Invocation, target: "T", arguments: [null, { a: [1] }] },
      { type: MessageType.StreamItem, headers: { h: "v" }, invocationId: "1", item: "x" },
      { type: MessageType.Completion, invocationId: "1", error: "boom" },
      { type: MessageType.StreamInvocation, invocationId: "2", target: "S", arguments: [] },
      { type: MessageType.CancelInvocation, invocationId: "2" },
      { type: MessageType.Ping },
      { type: MessageType.Close, error: "e", allowReconnect: true },
      { type: MessageType.Ack, sequenceId: 5 },
      { type: MessageType.Sequence, sequenceId: 1 },
    ];
    const text = messages.map((m) => jsonHubProtocol.writeMessage(m)).join("");
    assert.deepEqual(jsonHubProtocol.parseMessages(text), messages);
  });
});
