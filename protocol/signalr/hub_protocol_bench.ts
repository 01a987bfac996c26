/**
 * Hub protocol benchmarks: writing and parsing the message the Notifications service sends most
 * (a `ReceiveMessage` invocation carrying a Bitwarden envelope), with hubproof's JSON and
 * MessagePack protocols against the official `@microsoft/signalr` implementations as baselines,
 * and the streaming frame parsers over 1,000 messages cut into random chunks.
 *
 * Run: `deno task bench protocol/signalr/hub_protocol_bench.ts`
 *
 * @module
 */

import { JsonHubProtocol, NullLogger } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import {
  createEnvelope,
  PushType,
  REFERENCE_IDS,
  toHubJsonArgument,
  toHubMessagePackArgument,
} from "../bitwarden/mod.ts";
import {
  BinaryMessageParser,
  type HubMessage,
  jsonHubProtocol,
  messagePackHubProtocol,
  MessageType,
  splitBinaryMessages,
  splitTextMessages,
  TextMessageParser,
} from "./mod.ts";

const officialJson = new JsonHubProtocol();
const officialMsgpack = new MessagePackHubProtocol();
const logger = NullLogger.instance;

/**
 * The typical push: a cipher in an organization changed (type 0), three collections, sent by a
 * device that is excluded from delivery.
 */
const envelope = createEnvelope(PushType.SyncCipherUpdate, {
  Id: "5f0c1f7e-3b7a-4d33-9a51-2f4e8c0d9b11",
  UserId: null,
  OrganizationId: REFERENCE_IDS.organizationId,
  CollectionIds: [
    "0e6f4b7a-93c1-4b5e-8d0f-6a1c2b3d4e5f",
    "1f7a5c8b-a4d2-4c6f-9e10-7b2d3c4e5f60",
    "2a8b6d9c-b5e3-4d70-8f21-8c3e4d5f6071",
  ],
  RevisionDate: new Date("2024-05-17T09:41:26.8133333Z"),
}, REFERENCE_IDS.deviceId);

function invocation(argument: unknown): HubMessage {
  return { type: MessageType.Invocation, target: "ReceiveMessage", arguments: [argument] };
}

const jsonMessage = invocation(toHubJsonArgument(envelope));
/** As the service builds it: dates as timestamp `ExtData`. */
const msgpackServiceMessage = invocation(toHubMessagePackArgument(envelope));
const jsonFrame = jsonHubProtocol.writeMessage(jsonMessage) as string;
const msgpackFrame = messagePackHubProtocol.writeMessage(msgpackServiceMessage) as ArrayBuffer;
/** As a client sees it (dates as `Date`): a form both MessagePack writers accept. */
const msgpackMessage = messagePackHubProtocol.parseMessages(msgpackFrame)[0]!;

Deno.bench({
  name: "official JsonHubProtocol",
  group: "json write ReceiveMessage",
  baseline: true,
  fn: () => void officialJson.writeMessage(jsonMessage),
});
Deno.bench({
  name: "jsonHubProtocol",
  group: "json write ReceiveMessage",
  fn: () => void jsonHubProtocol.writeMessage(jsonMessage),
});
Deno.bench({
  name: "official JsonHubProtocol",
  group: "json parse ReceiveMessage",
  baseline: true,
  fn: () => void officialJson.parseMessages(jsonFrame, logger),
});
Deno.bench({
  name: "jsonHubProtocol",
  group: "json parse ReceiveMessage",
  fn: () => void jsonHubProtocol.parseMessages(jsonFrame),
});

Deno.bench({
  name: "official MessagePackHubProtocol",
  group: "msgpack write ReceiveMessage",
  baseline: true,
  fn: () => void officialMsgpack.writeMessage(msgpackMessage),
});
Deno.bench({
  name: "messagePackHubProtocol",
  group: "msgpack write ReceiveMessage",
  fn: () => void messagePackHubProtocol.writeMessage(msgpackMessage),
});
Deno.bench({
  name: "messagePackHubProtocol, ExtData dates (service path)",
  group: "msgpack write ReceiveMessage",
  fn: () => void messagePackHubProtocol.writeMessage(msgpackServiceMessage),
});
Deno.bench({
  name: "official MessagePackHubProtocol",
  group: "msgpack parse ReceiveMessage",
  baseline: true,
  fn: () => void officialMsgpack.parseMessages(msgpackFrame, logger),
});
Deno.bench({
  name: "messagePackHubProtocol",
  group: "msgpack parse ReceiveMessage",
  fn: () => void messagePackHubProtocol.parseMessages(msgpackFrame),
});

const STREAM_MESSAGES = 1_000;

/** A deterministic PRNG (mulberry32) so every run cuts the stream the same way. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` into chunks of 1..`maxChunk` bytes, sizes drawn from a seeded PRNG. */
function randomChunks(bytes: Uint8Array, maxChunk: number): Uint8Array[] {
  const random = prng(0x5eed);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const size = 1 + Math.floor(random() * maxChunk);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const textStream = jsonFrame.repeat(STREAM_MESSAGES);
const textBytes = new TextEncoder().encode(textStream);

const textFrames = Array<Uint8Array>(STREAM_MESSAGES).fill(new TextEncoder().encode(jsonFrame));
const binaryFrames = Array<Uint8Array>(STREAM_MESSAGES).fill(new Uint8Array(msgpackFrame));
// Chunks average ~1/4 of a message, so most messages span several chunks.
const textChunks = randomChunks(textBytes, Math.ceil(jsonFrame.length / 2));
const binaryBytes = concat(binaryFrames);
const binaryChunks = randomChunks(binaryBytes, Math.ceil(msgpackFrame.byteLength / 2));

function assertCount(count: number): void {
  if (count !== STREAM_MESSAGES) {
    throw new Error(`Stream parser lost messages: expected ${STREAM_MESSAGES}, got ${count}`);
  }
}

/** Pushes every chunk and checks that exactly the 1,000 messages came out. */
function feed(
  parser: { push(chunk: Uint8Array): unknown[] },
  chunks: readonly Uint8Array[],
): void {
  let count = 0;
  for (const chunk of chunks) count += parser.push(chunk).length;
  assertCount(count);
}

Deno.bench({
  name: `splitTextMessages, one ${textBytes.length} B string`,
  group: "text framing 1,000 messages",
  baseline: true,
  fn: () => assertCount(splitTextMessages(textStream).length),
});
Deno.bench({
  name: "TextMessageParser, whole buffer in one push",
  group: "text framing 1,000 messages",
  fn: () => assertCount(new TextMessageParser({ maxMessageSize: 32_768 }).push(textBytes).length),
});
Deno.bench({
  name: "TextMessageParser, one message per push",
  group: "text framing 1,000 messages",
  fn: () => feed(new TextMessageParser({ maxMessageSize: 32_768 }), textFrames),
});
Deno.bench({
  name: `TextMessageParser, ${textChunks.length} random chunks`,
  group: "text framing 1,000 messages",
  fn: () => feed(new TextMessageParser({ maxMessageSize: 32_768 }), textChunks),
});
Deno.bench({
  name: `splitBinaryMessages, one ${binaryBytes.length} B buffer`,
  group: "binary framing 1,000 messages",
  baseline: true,
  fn: () => assertCount(splitBinaryMessages(binaryBytes).length),
});
Deno.bench({
  name: "BinaryMessageParser, whole buffer in one push",
  group: "binary framing 1,000 messages",
  fn: () =>
    assertCount(new BinaryMessageParser({ maxMessageSize: 32_768 }).push(binaryBytes).length),
});
Deno.bench({
  name: "BinaryMessageParser, one message per push",
  group: "binary framing 1,000 messages",
  fn: () => feed(new BinaryMessageParser({ maxMessageSize: 32_768 }), binaryFrames),
});
Deno.bench({
  name: `BinaryMessageParser, ${binaryChunks.length} random chunks`,
  group: "binary framing 1,000 messages",
  fn: () => feed(new BinaryMessageParser({ maxMessageSize: 32_768 }), binaryChunks),
});
