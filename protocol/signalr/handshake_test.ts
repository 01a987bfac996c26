import assert from "node:assert/strict";
import { HandshakeError } from "../errors.ts";
import {
  HANDSHAKE_PARSE_ERROR,
  handshakeError,
  parseHandshakeRequest,
  parseHandshakeResponse,
  writeHandshakeRequest,
  writeHandshakeResponse,
} from "./handshake.ts";
import { TransferFormat } from "./messages.ts";

const CAPABILITIES = {
  protocols: [
    { name: "json", version: 2, transferFormat: TransferFormat.Text },
    { name: "messagepack", version: 2, transferFormat: TransferFormat.Binary },
  ],
  transferFormats: [TransferFormat.Text, TransferFormat.Binary],
};

Deno.test("handshake request", async (t) => {
  await t.step("valid requests, string and bytes, with trailing hub messages", () => {
    const text = '{"protocol":"messagepack","version":1}\x1e';
    assert.equal(writeHandshakeRequest({ protocol: "messagepack", version: 1 }), text);
    assert.deepEqual(parseHandshakeRequest(text + "\x02\x91\x06"), {
      value: { protocol: "messagepack", version: 1 },
      consumed: text.length,
    });
    const bytes = new TextEncoder().encode('{"protocol":"j\u00e9","version":2}\x1erest');
    assert.deepEqual(parseHandshakeRequest(bytes), {
      value: { protocol: "j\u00e9", version: 2 },
      consumed: bytes.length - 4,
    });
    assert.deepEqual(parseHandshakeRequest(bytes.buffer)?.value.version, 2);
  });

  await t.step("the server's accepted variants", () => {
    const cases: [string, string, number][] = [
      ['{"protocol":"dummy","version":1}\x1e', "dummy", 1],
      ['{"protocol":"","version":10}\x1e', "", 10],
      ['{"protocol":"","version":10,"unknown":null}\x1e', "", 10],
      ['{"protocol":"first","protocol":"second","version":1}\x1e', "second", 1],
      ['{"protocol":"json","version":1} trailing\x1e', "json", 1],
    ];
    for (const [text, protocol, version] of cases) {
      assert.deepEqual(parseHandshakeRequest(text)?.value, { protocol, version }, text);
    }
  });

  await t.step("no separator yet means wait for more", () => {
    assert.equal(parseHandshakeRequest("42"), undefined);
    assert.equal(parseHandshakeRequest('{"protocol":"json","version":1}'), undefined);
    assert.equal(parseHandshakeRequest(new Uint8Array([0x7b])), undefined);
  });

  await t.step("invalid requests carry the server's texts", () => {
    const cases: [string, string][] = [
      ["42\x1e", "Unexpected JSON Token Type 'Number'. Expected a JSON Object."],
      ['"42"\x1e', "Unexpected JSON Token Type 'String'. Expected a JSON Object."],
      ["null\x1e", "Unexpected JSON Token Type 'Null'. Expected a JSON Object."],
      ["[]\x1e", "Unexpected JSON Token Type 'Array'. Expected a JSON Object."],
      ["{}\x1e", "Missing required property 'protocol'. Message content: {}"],
      [
        '{"protocol":"json"}\x1e',
        `Missing required property 'version'. Message content: {"protocol":"json"}`,
      ],
      ['{"version":1}\x1e', `Missing required property 'protocol'. Message content: {"version":1}`],
      // A hub message sent before the handshake.
      [
        '{"type":4,"invocationId":"42","target":"foo","arguments":{}}\x1e',
        "Missing required property 'protocol'. Message content: " +
        '{"type":4,"invocationId":"42","target":"foo","arguments":{}}',
      ],
      ['{"version":"123"}\x1e', "Expected 'version' to be of type Number."],
      ['{"protocol":null,"version":123}\x1e', "Expected 'protocol' to be of type String."],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseHandshakeRequest(text), { name: "HandshakeError", message }, text);
    }
    assert.throws(
      () => parseHandshakeRequest('{"protocol":"json","version":1.5}\x1e'),
      HandshakeError,
    );
    assert.throws(() => parseHandshakeRequest('{"protocol":"json",\x1e'), HandshakeError);
    assert.throws(() => parseHandshakeRequest(new Uint8Array([0xc3, 0x1e])), HandshakeError);
  });

  await t.step("server decisions", () => {
    assert.equal(handshakeError({ protocol: "json", version: 1 }, CAPABILITIES), undefined);
    assert.equal(handshakeError({ protocol: "messagepack", version: 2 }, CAPABILITIES), undefined);
    assert.equal(
      handshakeError({ protocol: "protobuf", version: 1 }, CAPABILITIES),
      "The protocol 'protobuf' is not supported.",
    );
    assert.equal(
      handshakeError({ protocol: "json", version: 3 }, CAPABILITIES),
      "The server does not support version 3 of the 'json' protocol.",
    );
    assert.equal(
      handshakeError({ protocol: "messagepack", version: 1 }, {
        ...CAPABILITIES,
        transferFormats: [TransferFormat.Text],
      }),
      "Cannot use the 'messagepack' protocol on the current transport. " +
        "The transport does not support 'Binary' transfer format.",
    );
    assert.equal(
      HANDSHAKE_PARSE_ERROR,
      "An unexpected error occurred during connection handshake.",
    );
  });
});

Deno.test("handshake response", async (t) => {
  await t.step("write", () => {
    assert.equal(writeHandshakeResponse(), "{}\x1e");
    assert.equal(
      writeHandshakeResponse("The protocol 'x' is not supported."),
      `{"error":"The protocol 'x' is not supported."}\x1e`,
    );
  });

  await t.step("parse, with hub messages after it", () => {
    assert.deepEqual(parseHandshakeResponse('{}\x1e{"type":6}\x1e'), { value: {}, consumed: 3 });
    assert.deepEqual(parseHandshakeResponse('{"error":"dummy"}\x1e'), {
      value: { error: "dummy" },
      consumed: 18,
    });
    assert.deepEqual(parseHandshakeResponse('{"unknown":null}\x1e')?.value, {});
    assert.deepEqual(parseHandshakeResponse(new Uint8Array([0x7b, 0x7d, 0x1e, 0x02])), {
      value: {},
      consumed: 3,
    });
    assert.equal(parseHandshakeResponse("{}"), undefined);
  });

  await t.step("invalid responses", () => {
    assert.throws(() => parseHandshakeResponse('{"type":6}\x1e'), {
      name: "HandshakeError",
      message: "Expected a handshake response from the server.",
    });
    assert.throws(() => parseHandshakeResponse('{"error":null}\x1e'), {
      message: "Expected 'error' to be of type String.",
    });
    assert.throws(() => parseHandshakeResponse("[]\x1e"), {
      message: "Unexpected JSON Token Type 'Array'. Expected a JSON Object.",
    });
  });
});
