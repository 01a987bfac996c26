/**
 * Cross-checks against the official implementation (`@microsoft/signalr` JSON protocol and
 * `@microsoft/signalr-protocol-msgpack`): what we write they parse into the same message, and
 * what they write we parse into the same message. The official parsers' known normalisations,
 * applied before comparing:
 * - both official parsers ignore StreamInvocation (4) and CancelInvocation (5): the client
 *   never receives them, so they parse to `[]`;
 * - the official MessagePack parser always sets `headers` (`{}` when empty), always sets
 *   `streamIds: []` (it never reads the 6th element), sets `error`/`result`/`allowReconnect`
 *   to `undefined` when absent, and yields `allowReconnect: false` / `error: null` from our
 *   3-element Close;
 * - the official MessagePack writer writes Close as `[7, nil]`, dropping `error` and
 *   `allowReconnect`.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { JsonHubProtocol, NullLogger } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { hubMessage, jsonValue, msgpackValue, RUNS } from "./_testing.ts";
import { jsonHubProtocol } from "./json_hub_protocol.ts";
import { type HubMessage, MessageType } from "./messages.ts";
import { messagePackHubProtocol } from "./messagepack_hub_protocol.ts";

const officialJson = new JsonHubProtocol();
const officialMsgpack = new MessagePackHubProtocol();
const logger = NullLogger.instance;

function clientNeverReceives(message: HubMessage): boolean {
  return message.type === MessageType.StreamInvocation ||
    message.type === MessageType.CancelInvocation;
}

/** Undoes the official MessagePack parser's normalisations listed above. */
function fromOfficialMsgpack(message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(message)) {
    if (v === undefined) continue;
    if (k === "headers" && Object.keys(v as object).length === 0) continue;
    if (k === "streamIds") continue;
    if (message.type === MessageType.Close && (v === null || v === false)) continue;
    out[k] = v;
  }
  return out;
}

function withoutStreamIds(message: HubMessage): Record<string, unknown> {
  const { streamIds: _, ...rest } = message as unknown as Record<string, unknown>;
  return rest;
}

Deno.test("JSON: official parser reads what we write", () => {
  fc.assert(
    fc.property(hubMessage(jsonValue), (message) => {
      const parsed = officialJson.parseMessages(
        jsonHubProtocol.writeMessage(message) as string,
        logger,
      );
      assert.deepStrictEqual(parsed, clientNeverReceives(message) ? [] : [message]);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("JSON: we read what the official writer writes", () => {
  fc.assert(
    fc.property(hubMessage(jsonValue), (message) => {
      // deno-lint-ignore no-explicit-any
      const text = officialJson.writeMessage(message as any);
      assert.deepStrictEqual(jsonHubProtocol.parseMessages(text), [message]);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("MessagePack: official parser reads what we write", () => {
  fc.assert(
    fc.property(hubMessage(msgpackValue), (message) => {
      const written = messagePackHubProtocol.writeMessage(message);
      assert.ok(written instanceof ArrayBuffer);
      const parsed = officialMsgpack.parseMessages(written, logger);
      if (clientNeverReceives(message)) {
        assert.deepStrictEqual(parsed, []);
        return;
      }
      assert.equal(parsed.length, 1);
      assert.deepStrictEqual(
        fromOfficialMsgpack(parsed[0] as unknown as Record<string, unknown>),
        withoutStreamIds(message),
      );
    }),
    { numRuns: RUNS },
  );
});

Deno.test("MessagePack: we read what the official writer writes", () => {
  fc.assert(
    fc.property(hubMessage(msgpackValue), (message) => {
      // deno-lint-ignore no-explicit-any
      const written = officialMsgpack.writeMessage(message as any);
      const expected = message.type === MessageType.Close ? { type: MessageType.Close } : message;
      assert.deepStrictEqual(messagePackHubProtocol.parseMessages(written), [expected]);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("MessagePack: Ping and the TS client's Close are byte-exact", () => {
  const ping = new Uint8Array(officialMsgpack.writeMessage({ type: MessageType.Ping }));
  assert.deepEqual(
    new Uint8Array(messagePackHubProtocol.writeMessage({ type: MessageType.Ping }) as ArrayBuffer),
    ping,
  );
  const close = new Uint8Array(officialMsgpack.writeMessage({ type: MessageType.Close }));
  assert.deepEqual([...close], [0x03, 0x92, 0x07, 0xc0]);
  assert.deepEqual(messagePackHubProtocol.parseMessages(close), [{ type: MessageType.Close }]);
});
