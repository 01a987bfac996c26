/**
 * The SignalR JSON hub protocol (`json`, text transfer format): one JSON object per message,
 * each followed by `0x1E`. The writer emits properties in the ASP.NET Core server's order;
 * the parser validates every message type and ignores unknown types.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import { asBytes, utf8Decode } from "./_bytes.ts";
import {
  buildClose,
  buildCompletion,
  buildIdMessage,
  buildInvocation,
  completionOutcome,
  headersToWrite,
  isPlainRecord,
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
import { type HubMessage, type HubProtocol, MessageType, TransferFormat } from "./messages.ts";
import { formatTextMessage, splitTextMessages } from "./text_framing.ts";

/** Name of the JSON hub protocol in the handshake. */
export const JSON_PROTOCOL_NAME = "json";

/**
 * Highest JSON hub protocol version: 2 adds the stateful-reconnect messages (Ack, Sequence).
 * Servers accept versions up to 2; clients send 1 unless stateful reconnect was negotiated.
 */
export const JSON_PROTOCOL_VERSION = 2;

/**
 * Parses one JSON hub message (without its separator).
 *
 * @param payload The JSON text.
 * @returns The message, or `undefined` for an unknown message type.
 * @throws {ProtocolError} When the JSON or the message is invalid.
 *
 * @example
 * ```ts
 * import { parseJsonHubMessage } from "./json_hub_protocol.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseJsonHubMessage('{"type":3,"invocationId":"123","result":1}'), {
 *   type: 3,
 *   invocationId: "123",
 *   result: 1,
 * });
 * ```
 */
export function parseJsonHubMessage(payload: string): HubMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (error) {
    throw new ProtocolError(`Error reading JSON: ${(error as Error).message}`);
  }
  if (!isPlainRecord(value)) {
    throw new ProtocolError(
      `Unexpected JSON Token Type '${jsonTokenName(value)}'. Expected a JSON Object`,
    );
  }
  return messageFromObject(value);
}

function jsonTokenName(value: unknown): string {
  if (value === null) return "Null";
  if (Array.isArray(value)) return "Array";
  if (typeof value === "boolean") return value ? "True" : "False";
  return typeof value === "number" ? "Number" : "String";
}

function messageFromObject(obj: Record<string, unknown>): HubMessage | undefined {
  if (!("type" in obj)) throw new ProtocolError("Missing required property 'type'");
  const type = obj.type;
  if (typeof type !== "number") throw new ProtocolError("Expected 'type' to be of type Number");
  const kind = kindName(type);
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      return buildInvocation(type, {
        headers: readHeaders(obj.headers),
        invocationId: type === MessageType.Invocation
          ? readOptionalInvocationId(obj.invocationId)
          : readRequiredString(obj.invocationId, "invocationId", kind),
        target: readRequiredString(obj.target, "target", kind),
        args: readArguments(obj.arguments),
        streamIds: readStreamIds(obj.streamIds),
      });
    case MessageType.StreamItem: {
      const headers = readHeaders(obj.headers);
      const id = readRequiredString(obj.invocationId, "invocationId", kind);
      if (!("item" in obj)) throw new ProtocolError("Missing required property 'item'");
      return buildIdMessage(type, headers, id, { value: obj.item });
    }
    case MessageType.Completion: {
      const headers = readHeaders(obj.headers);
      const id = readRequiredString(obj.invocationId, "invocationId", kind);
      const error = readOptionalError(obj.error);
      const hasResult = "result" in obj;
      if (error !== undefined && hasResult) {
        throw new ProtocolError("The 'error' and 'result' properties are mutually exclusive");
      }
      return buildCompletion(
        headers,
        id,
        error !== undefined
          ? { kind: "error", error }
          : hasResult
          ? { kind: "result", result: obj.result }
          : { kind: "void" },
      );
    }
    case MessageType.CancelInvocation:
      return buildIdMessage(
        type,
        readHeaders(obj.headers),
        readRequiredString(obj.invocationId, "invocationId", kind),
      );
    case MessageType.Ping:
      return { type: MessageType.Ping };
    case MessageType.Close:
      return buildClose(readOptionalError(obj.error), readAllowReconnect(obj.allowReconnect));
    case MessageType.Ack:
    case MessageType.Sequence:
      return { type, sequenceId: readSequenceId(obj.sequenceId, kind) };
    default:
      // Later protocol versions may add message types; like the official parsers, skip them.
      return undefined;
  }
}

/**
 * Serializes one message as JSON with the ASP.NET Core server's property order, without the
 * separator: `type`, `headers` (non-empty only), `invocationId` (non-empty only), then the
 * type's fields (`streamIds` non-empty only, `allowReconnect` only when true).
 *
 * @param message The message.
 * @returns The JSON text.
 * @throws {ProtocolError} For an unknown type or a value JSON cannot represent (a `BigInt`, a cycle).
 *
 * @example
 * ```ts
 * import { writeJsonHubMessage } from "./json_hub_protocol.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   writeJsonHubMessage({ type: 3, invocationId: "123", result: 1 }),
 *   '{"type":3,"invocationId":"123","result":1}',
 * );
 * ```
 */
export function writeJsonHubMessage(message: HubMessage): string {
  const out: Record<string, unknown> = { type: message.type };
  const headers = headersToWrite(message);
  if (headers) out.headers = headers;
  if ("invocationId" in message && message.invocationId) out.invocationId = message.invocationId;
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      out.target = message.target;
      out.arguments = message.arguments;
      const streamIds = streamIdsToWrite(message);
      if (streamIds) out.streamIds = streamIds;
      break;
    }
    case MessageType.StreamItem:
      out.item = message.item === undefined ? null : message.item;
      break;
    case MessageType.Completion: {
      const outcome = completionOutcome(message);
      if (outcome.kind === "error") out.error = outcome.error;
      if (outcome.kind === "result") out.result = outcome.result;
      break;
    }
    case MessageType.CancelInvocation:
    case MessageType.Ping:
      break;
    case MessageType.Close:
      if (typeof message.error === "string") out.error = message.error;
      if (message.allowReconnect === true) out.allowReconnect = true;
      break;
    case MessageType.Ack:
    case MessageType.Sequence:
      out.sequenceId = message.sequenceId;
      break;
    default:
      throw new ProtocolError(
        `Cannot write message: unknown message type ${(message as { type: unknown }).type}`,
      );
  }
  try {
    return JSON.stringify(out);
  } catch (error) {
    throw new ProtocolError(`Cannot write message as JSON: ${(error as Error).message}`);
  }
}

class JsonHubProtocol implements HubProtocol {
  readonly name = JSON_PROTOCOL_NAME;
  readonly version = JSON_PROTOCOL_VERSION;
  readonly transferFormat = TransferFormat.Text;

  parseMessages(input: string | ArrayBuffer | Uint8Array): HubMessage[] {
    const text = typeof input === "string" ? input : utf8Decode(asBytes(input), "JSON hub message");
    const messages: HubMessage[] = [];
    for (const payload of splitTextMessages(text)) {
      const message = parseJsonHubMessage(payload);
      if (message) messages.push(message);
    }
    return messages;
  }

  writeMessage(message: HubMessage): string {
    return formatTextMessage(writeJsonHubMessage(message));
  }
}

/**
 * The JSON hub protocol, shaped like `@microsoft/signalr`'s `JsonHubProtocol`.
 * `parseMessages` also accepts UTF-8 bytes; `writeMessage` returns the framed text.
 *
 * @example
 * ```ts
 * import { jsonHubProtocol } from "./json_hub_protocol.ts";
 * import assert from "node:assert/strict";
 * assert.equal(jsonHubProtocol.writeMessage({ type: 6 }), '{"type":6}\x1e');
 * assert.deepEqual(jsonHubProtocol.parseMessages('{"type":6}\x1e'), [{ type: 6 }]);
 * ```
 */
export const jsonHubProtocol: HubProtocol = new JsonHubProtocol();
