/**
 * The SignalR MessagePack hub protocol (`messagepack`, binary transfer format): each message
 * is a VarInt length prefix followed by one MessagePack array whose first element is the
 * message type. The writer emits the ASP.NET Core server's layouts (6-element invocations,
 * 3-element Close, `91 06` Ping); the parser also accepts the official TS client's shorter
 * forms and ignores extra trailing elements and unknown message types.
 *
 * @module
 */

import {
  Decoder,
  decodeTimestampExtension,
  Encoder,
  encodeTimestampExtension,
  EXT_TIMESTAMP,
  ExtData,
  ExtensionCodec,
} from "@msgpack/msgpack";
import { ProtocolError } from "../errors.ts";
import { asBytes } from "./_bytes.ts";
import {
  buildClose,
  buildCompletion,
  buildIdMessage,
  buildInvocation,
  completionOutcome,
  headersToWrite,
  kindName,
  readAllowReconnect,
  readArguments,
  readHeaders,
  readOptionalError,
  readOptionalInvocationId,
  readRequiredString,
  readSequenceId,
  readStreamIds,
  streamIdsToWrite,
} from "./_fields.ts";
import { frameBinary, splitBinaryMessages } from "./binary_framing.ts";
import { type HubMessage, type HubProtocol, MessageType, TransferFormat } from "./messages.ts";

/** Name of the MessagePack hub protocol in the handshake. */
export const MESSAGEPACK_PROTOCOL_NAME = "messagepack";

/** Highest MessagePack hub protocol version (2 adds Ack and Sequence). */
export const MESSAGEPACK_PROTOCOL_VERSION = 2;

const COMPLETION_ERROR = 1;
const COMPLETION_VOID = 2;
const COMPLETION_RESULT = 3;

/** Ping is always this exact body, as every official implementation writes it. */
const PING_BODY = new Uint8Array([0x91, MessageType.Ping]);

/** Options for {@linkcode createMessagePackHubProtocol}. */
export interface MessagePackHubProtocolOptions {
  /**
   * How to decode MessagePack timestamps (extension type -1): `"date"` (default) yields a
   * `Date` like the official client; `"raw"` keeps an `ExtData` with type -1 and a copy of the
   * original 4, 8 or 12 data bytes so exact encodings can be checked. Writing accepts both
   * `Date` and `ExtData` arguments either way and encodes them as timestamp extensions.
   */
  readonly timestamps?: "date" | "raw";
}

function createCodec(timestamps: "date" | "raw"): ExtensionCodec {
  const codec = new ExtensionCodec();
  codec.register({
    type: EXT_TIMESTAMP,
    encode: encodeTimestampExtension,
    decode: timestamps === "date"
      ? decodeTimestampExtension
      : (data: Uint8Array) => new ExtData(EXT_TIMESTAMP, data.slice()),
  });
  return codec;
}

class MessagePackHubProtocol implements HubProtocol {
  readonly name = MESSAGEPACK_PROTOCOL_NAME;
  readonly version = MESSAGEPACK_PROTOCOL_VERSION;
  readonly transferFormat = TransferFormat.Binary;
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;

  constructor(timestamps: "date" | "raw") {
    const extensionCodec = createCodec(timestamps);
    this.#encoder = new Encoder({ extensionCodec });
    this.#decoder = new Decoder({ extensionCodec });
  }

  parseMessages(input: string | ArrayBuffer | Uint8Array): HubMessage[] {
    if (typeof input === "string") {
      throw new ProtocolError(
        "Invalid input for the MessagePack hub protocol: expected binary data",
      );
    }
    const messages: HubMessage[] = [];
    for (const body of splitBinaryMessages(asBytes(input))) {
      const message = this.parseBody(body);
      if (message) messages.push(message);
    }
    return messages;
  }

  writeMessage(message: HubMessage): ArrayBuffer {
    return frameBinary(this.writeBody(message)).buffer;
  }

  /** Decodes and validates one message body (no length prefix). */
  parseBody(body: Uint8Array): HubMessage | undefined {
    if (body.length === 0) throw new ProtocolError("Invalid MessagePack message: empty body");
    let value: unknown;
    try {
      value = this.#decoder.decode(body);
    } catch (error) {
      throw new ProtocolError(`Invalid MessagePack message: ${(error as Error).message}`);
    }
    if (!Array.isArray(value) || value.length === 0) {
      throw new ProtocolError("Invalid MessagePack message: expected a non-empty array");
    }
    return messageFromArray(value);
  }

  /** Encodes one message body (no length prefix) in the server's layout. */
  writeBody(message: HubMessage): Uint8Array {
    if (message.type === MessageType.Ping) return PING_BODY.slice();
    const layout = layoutFor(message);
    try {
      return this.#encoder.encodeSharedRef(layout);
    } catch (error) {
      throw new ProtocolError(`Cannot write message as MessagePack: ${(error as Error).message}`);
    }
  }
}

function layoutFor(message: HubMessage): unknown[] {
  const headers = headersToWrite(message) ?? {};
  switch (message.type) {
    case MessageType.Invocation:
      return [
        message.type,
        headers,
        message.invocationId || null,
        message.target,
        message.arguments,
        streamIdsToWrite(message) ?? [],
      ];
    case MessageType.StreamInvocation:
      return [
        message.type,
        headers,
        message.invocationId,
        message.target,
        message.arguments,
        streamIdsToWrite(message) ?? [],
      ];
    case MessageType.StreamItem:
      return [message.type, headers, message.invocationId, message.item ?? null];
    case MessageType.Completion: {
      const outcome = completionOutcome(message);
      if (outcome.kind === "error") {
        return [message.type, headers, message.invocationId, COMPLETION_ERROR, outcome.error];
      }
      if (outcome.kind === "result") {
        return [message.type, headers, message.invocationId, COMPLETION_RESULT, outcome.result];
      }
      return [message.type, headers, message.invocationId, COMPLETION_VOID];
    }
    case MessageType.CancelInvocation:
      return [message.type, headers, message.invocationId];
    case MessageType.Close:
      return [
        message.type,
        typeof message.error === "string" ? message.error : null,
        message.allowReconnect === true,
      ];
    case MessageType.Ack:
    case MessageType.Sequence:
      return [message.type, message.sequenceId];
    default:
      throw new ProtocolError(
        `Cannot write message: unknown message type ${(message as { type: unknown }).type}`,
      );
  }
}

function requireLength(items: unknown[], min: number, kind: string): void {
  if (items.length < min) {
    throw new ProtocolError(
      `Invalid payload for ${kind} message: expected at least ${min} elements, got ${items.length}`,
    );
  }
}

function messageFromArray(items: unknown[]): HubMessage | undefined {
  const type = items[0];
  if (typeof type !== "number" || !Number.isInteger(type)) {
    throw new ProtocolError("Invalid MessagePack message: expected an integer message type first");
  }
  const kind = kindName(type);
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      requireLength(items, 5, kind);
      return buildInvocation(type, {
        headers: readHeaders(items[1]),
        invocationId: type === MessageType.Invocation
          ? readOptionalInvocationId(items[2])
          : readRequiredString(items[2], "invocationId", kind),
        target: readRequiredString(items[3], "target", kind),
        args: readArguments(items[4]),
        streamIds: readStreamIds(items[5]),
      });
    case MessageType.StreamItem:
      requireLength(items, 4, kind);
      return buildIdMessage(
        type,
        readHeaders(items[1]),
        readRequiredString(items[2], "invocationId", kind),
        { value: items[3] },
      );
    case MessageType.Completion: {
      requireLength(items, 4, kind);
      const headers = readHeaders(items[1]);
      const id = readRequiredString(items[2], "invocationId", kind);
      const resultKind = items[3];
      if (resultKind === COMPLETION_VOID) return buildCompletion(headers, id, { kind: "void" });
      if (resultKind !== COMPLETION_ERROR && resultKind !== COMPLETION_RESULT) {
        throw new ProtocolError(`Invalid invocation result kind: ${String(resultKind)}`);
      }
      requireLength(items, 5, kind);
      if (resultKind === COMPLETION_RESULT) {
        return buildCompletion(headers, id, { kind: "result", result: items[4] });
      }
      if (typeof items[4] !== "string") {
        throw new ProtocolError("Expected the Completion error to be of type String");
      }
      return buildCompletion(headers, id, { kind: "error", error: items[4] });
    }
    case MessageType.CancelInvocation:
      requireLength(items, 3, kind);
      return buildIdMessage(
        type,
        readHeaders(items[1]),
        readRequiredString(items[2], "invocationId", kind),
      );
    case MessageType.Ping:
      return { type: MessageType.Ping };
    case MessageType.Close:
      requireLength(items, 2, kind);
      return buildClose(readOptionalError(items[1]), readAllowReconnect(items[2]));
    case MessageType.Ack:
    case MessageType.Sequence:
      requireLength(items, 2, kind);
      return { type, sequenceId: readSequenceId(items[1], kind) } as HubMessage;
    default:
      // Later protocol versions may add message types; like the official parsers, skip them.
      return undefined;
  }
}

/**
 * Creates a MessagePack hub protocol instance, a drop-in for `@microsoft/signalr-protocol-msgpack`'s
 * `MessagePackHubProtocol` (pass it to `HubConnectionBuilder.withHubProtocol`).
 *
 * @param options Timestamp decoding mode.
 * @returns The protocol; `writeMessage` returns an `ArrayBuffer` spanning exactly the framed bytes.
 *
 * @example
 * ```ts
 * import { createMessagePackHubProtocol } from "./messagepack_hub_protocol.ts";
 * import assert from "node:assert/strict";
 * const protocol = createMessagePackHubProtocol({ timestamps: "raw" });
 * assert.deepEqual([...new Uint8Array(protocol.writeMessage({ type: 6 }) as ArrayBuffer)], [2, 0x91, 6]);
 * ```
 */
export function createMessagePackHubProtocol(
  options: MessagePackHubProtocolOptions = {},
): HubProtocol {
  return new MessagePackHubProtocol(options.timestamps ?? "date");
}

/**
 * The MessagePack hub protocol with timestamps decoded to `Date`, like the official client.
 *
 * @example
 * ```ts
 * import { messagePackHubProtocol } from "./messagepack_hub_protocol.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array([0x04, 0x93, 0x07, 0xc0, 0xc2]);
 * assert.deepEqual(messagePackHubProtocol.parseMessages(bytes), [{ type: 7 }]);
 * ```
 */
export const messagePackHubProtocol: HubProtocol = createMessagePackHubProtocol();
