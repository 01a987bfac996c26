/**
 * Robustness: arbitrary bytes, strings and structurally plausible garbage fed to every
 * parser. The only exception allowed out is a `ProtocolError` (or subclass); every
 * property runs `RUNS` (2,000) times.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { ProtocolError } from "../errors.ts";
import { jsonValue, msgpackValue, RUNS } from "./_testing.ts";
import { BinaryMessageParser, frameBinary } from "./binary_framing.ts";
import { parseHandshakeRequest, parseHandshakeResponse } from "./handshake.ts";
import { jsonHubProtocol } from "./json_hub_protocol.ts";
import {
  createMessagePackHubProtocol,
  messagePackHubProtocol,
} from "./messagepack_hub_protocol.ts";
import { parseNegotiateVersion } from "./negotiate.ts";
import { TextMessageParser } from "./text_framing.ts";

const rawMsgpack = createMessagePackHubProtocol({ timestamps: "raw" });

/** Runs `parse`; passes when it returns or throws a ProtocolError, fails on anything else. */
function onlyProtocolErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      assert.fail(`Expected only ProtocolError, got ${(error as Error)?.name}: ${error}`);
    }
  }
}

const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.json().map((j) => j + "\x1e"),
  fc.string({ maxLength: 32 }).map((s) => s + "\x1e" + s),
);
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  anyText.map((t) => new TextEncoder().encode(t)),
);

Deno.test("robustness: handshake parsers", () => {
  fc.assert(
    fc.property(fc.oneof(anyText, anyBytes), (input) => {
      onlyProtocolErrors(() => parseHandshakeRequest(input));
      onlyProtocolErrors(() => parseHandshakeResponse(input));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("robustness: handshake objects with arbitrary property values", () => {
  const field = fc.oneof(jsonValue, fc.integer(), fc.double());
  fc.assert(
    fc.property(
      fc.record({ protocol: field, version: field, error: field, type: field }, {
        requiredKeys: [],
      }),
      (obj) => {
        const text = JSON.stringify(obj) + "\x1e";
        onlyProtocolErrors(() => parseHandshakeRequest(text));
        onlyProtocolErrors(() => parseHandshakeResponse(text));
      },
    ),
    { numRuns: RUNS },
  );
});

const chunks = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.constant(new Uint8Array([0x1e]))),
  {
    maxLength: 8,
  },
);

Deno.test("robustness: streaming text parser", () => {
  fc.assert(
    fc.property(
      chunks,
      fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
      fc.array(anyText, { maxLength: 3 }),
      (byteChunks, maxMessageSize, textChunks) => {
        const parser = new TextMessageParser(
          maxMessageSize === undefined ? {} : { maxMessageSize },
        );
        for (const chunk of [...byteChunks, ...textChunks]) {
          onlyProtocolErrors(() => parser.push(chunk));
        }
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("robustness: streaming binary parser", () => {
  fc.assert(
    fc.property(
      chunks,
      fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
      (byteChunks, maxMessageSize) => {
        const parser = new BinaryMessageParser(
          maxMessageSize === undefined ? {} : { maxMessageSize },
        );
        for (const chunk of byteChunks) onlyProtocolErrors(() => parser.push(chunk));
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("robustness: JSON hub protocol on arbitrary text and bytes", () => {
  fc.assert(
    fc.property(fc.oneof(anyText, anyBytes), (input) => {
      onlyProtocolErrors(() => jsonHubProtocol.parseMessages(input));
    }),
    { numRuns: RUNS },
  );
});

const plausibleFields = fc.record({
  type: fc.oneof(fc.integer({ min: -1, max: 11 }), jsonValue),
  headers: fc.oneof(jsonValue, fc.dictionary(fc.string(), jsonValue, { maxKeys: 2 })),
  invocationId: jsonValue,
  target: jsonValue,
  arguments: jsonValue,
  streamIds: jsonValue,
  item: jsonValue,
  result: jsonValue,
  error: jsonValue,
  allowReconnect: jsonValue,
  sequenceId: fc.oneof(jsonValue, fc.double()),
}, { requiredKeys: [] });

Deno.test("robustness: JSON hub protocol on plausible messages", () => {
  fc.assert(
    fc.property(plausibleFields, (obj) => {
      onlyProtocolErrors(() => jsonHubProtocol.parseMessages(JSON.stringify(obj) + "\x1e"));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("robustness: MessagePack hub protocol on arbitrary bytes", () => {
  fc.assert(
    fc.property(anyBytes, (input) => {
      onlyProtocolErrors(() => messagePackHubProtocol.parseMessages(input));
      onlyProtocolErrors(() => rawMsgpack.parseMessages(input));
      onlyProtocolErrors(() => messagePackHubProtocol.parseMessages(frameBinary(input)));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("robustness: MessagePack hub protocol on plausible arrays", () => {
  const element = fc.oneof(msgpackValue, fc.integer({ min: -1, max: 11 }));
  fc.assert(
    fc.property(
      fc.integer({ min: -1, max: 11 }),
      fc.array(element, { maxLength: 7 }),
      fc.boolean(),
      (type, rest, withExtension) => {
        const body = encode([type, ...rest]);
        onlyProtocolErrors(() => messagePackHubProtocol.parseMessages(frameBinary(body)));
        // Timestamp extensions with every data length, including invalid ones.
        const ext = withExtension ? [0xc7, rest.length, 0xff, ...new Uint8Array(rest.length)] : [];
        const withExt = new Uint8Array([
          0x93,
          type & 0x7f,
          0x80,
          ...ext,
          ...(ext.length ? [] : [0xc0]),
        ]);
        onlyProtocolErrors(() => messagePackHubProtocol.parseMessages(frameBinary(withExt)));
        onlyProtocolErrors(() => rawMsgpack.parseMessages(frameBinary(withExt)));
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("robustness: negotiate version", () => {
  fc.assert(
    fc.property(
      fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String)), { nil: null }),
      fc.integer({ min: 0, max: 2 }),
      (value, minimumVersion) => {
        try {
          const version = parseNegotiateVersion(value, { minimumVersion });
          assert.ok(version === 0 || version === 1);
        } catch (error) {
          assert.ok(error instanceof ProtocolError, String(error));
        }
      },
    ),
    { numRuns: RUNS },
  );
});
