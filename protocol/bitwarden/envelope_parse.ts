/**
 * Parsing the two transport forms of a push envelope into an {@linkcode Envelope}, accepting
 * exactly what the real `HubHelpers` accepts: System.Text.Json with
 * `PropertyNameCaseInsensitive = true`, so PascalCase queue messages (nulls omitted) and
 * camelCase `/send` bodies (explicit nulls) both parse, and unknown keys are ignored.
 *
 * Binding rules reproduced (each failure is an {@linkcode EnvelopeError} naming the field):
 * - `Type` must be a JSON integer 0..255 (a string such as `"LogOut"` is refused); a missing
 *   `Type` reads as 0 (`SyncCipherUpdate`), as STJ leaves the constructor argument at its default;
 * - `ContextId` must be a string or null;
 * - for a defined type, `Payload` must be an object and is read into the model the hub
 *   deserializes (see `PUSH_TYPE_MODELS[type].resent`): GUIDs in 36-char `D` form, dates in
 *   STJ's ISO 8601 profile, booleans as JSON booleans, enums as integers; null only for
 *   nullable fields; absent fields take their C# defaults; `Policy` (type 25) must be present;
 * - for an undefined type number the payload is not examined (the real server logs and sends
 *   nothing); a non-object payload is kept as `{}`.
 *
 * @module
 */

import { EnvelopeError } from "../errors.ts";
import { modelsForPushType } from "./payloads.ts";
import type { Envelope, JsonValue } from "./types.ts";
import {
  asciiLower,
  describeValue,
  isJsonObject,
  type JsonDocument,
  parseJsonDocument,
} from "./_json_read.ts";
import { readModel } from "./_payload_codec.ts";

/**
 * Whether a message or body is blank (`string.IsNullOrWhiteSpace`): the real queue consumer
 * deletes such messages without dispatching them, and `/send` answers 200 without sending.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { isBlankMessage } from "./envelope_parse.ts";
 * strictEqual(isBlankMessage(" \n"), true);
 * ```
 * @param text Message text.
 * @returns True when empty or whitespace only.
 */
export function isBlankMessage(text: string): boolean {
  return text.trim() === "";
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes queue message text as `DecodeMessageText` does: if the text (spaces, tabs and line
 * breaks removed) is strict standard base64 decoding to valid UTF-8, the decoded text (the
 * legacy base64 form); otherwise the raw text. Blank text is returned unchanged.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { decodeQueueMessageText } from "./envelope_parse.ts";
 * strictEqual(decodeQueueMessageText(btoa('{"Type":5}')), '{"Type":5}');
 * strictEqual(decodeQueueMessageText('{"Type":5}'), '{"Type":5}');
 * ```
 * @param text Queue message text.
 * @returns The JSON text to parse.
 */
export function decodeQueueMessageText(text: string): string {
  if (isBlankMessage(text)) return text;
  const compact = text.replace(/[ \t\r\n]/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return text;
  try {
    const binary = atob(compact);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return text;
  }
}

function readType(root: Record<string, unknown>, key: string, doc: JsonDocument): number {
  const value = root[key];
  if (typeof value === "number" && value <= 255 && doc.isPlainInteger(root, key)) return value;
  throw new EnvelopeError("Type", `Expected an integer 0..255: got ${describeValue(value)}`);
}

function readEnvelope(text: string): Envelope {
  if (isBlankMessage(text)) {
    throw new EnvelopeError("", "Empty message: blank text is never dispatched");
  }
  const doc = parseJsonDocument(text);
  const root = doc.root;
  if (!isJsonObject(root)) {
    throw new EnvelopeError("", `Expected a JSON object: got ${describeValue(root)}`);
  }
  let type = 0;
  let payload: unknown = undefined;
  let contextId: string | null = null;
  for (const key of Object.keys(root)) {
    const name = asciiLower(key);
    if (name === "type") type = readType(root, key, doc);
    else if (name === "payload") payload = root[key];
    else if (name === "contextid") {
      const value = root[key];
      if (value !== null && (typeof value !== "string" || !value.isWellFormed())) {
        throw new EnvelopeError(
          "ContextId",
          `Expected a string or null: got ${describeValue(value)}`,
        );
      }
      contextId = value;
    }
  }
  const models = modelsForPushType(type);
  if (models === undefined) {
    return {
      type,
      payload: isJsonObject(payload) ? payload as Record<string, JsonValue> : {},
      contextId,
    };
  }
  if (payload === undefined || payload === null) {
    throw new EnvelopeError(
      "Payload",
      `Missing payload: ${models.name} needs a ${models.resent.name}`,
    );
  }
  if (!isJsonObject(payload)) {
    throw new EnvelopeError("Payload", `Expected an object: got ${describeValue(payload)}`);
  }
  const extra = models.declared === models.resent ? undefined : models.declared;
  return {
    type,
    payload: readModel(payload, models.resent, "Payload", { doc, mode: "hub" }, extra),
    contextId,
  };
}

/**
 * Parses an Azure Storage Queue message of the `notifications` queue: base64 first (legacy),
 * else raw JSON, then the envelope.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseQueueMessage } from "./envelope_parse.ts";
 * const envelope = parseQueueMessage('{"Type":11,"Payload":{"UserId":"D2EA5B72-6D47-4D20-B5A3-B7A6E89D8E7C"}}');
 * strictEqual(envelope.payload.UserId, "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c");
 * strictEqual(envelope.payload.Reason, null);
 * ```
 * @param text The message text as received.
 * @returns The envelope (payload in canonical PascalCase form).
 * @throws {EnvelopeError} Naming the offending field (`""` for the whole message).
 */
export function parseQueueMessage(text: string): Envelope {
  return readEnvelope(decodeQueueMessageText(text));
}

/**
 * Parses a `POST /send` body (UTF-8 text; a leading byte-order mark is ignored, as the
 * controller's `StreamReader` does).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseSendBody } from "./envelope_parse.ts";
 * const envelope = parseSendBody('{"type":18,"payload":{"organizationId":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa","enabled":true},"contextId":null}');
 * strictEqual(envelope.payload.Enabled, true);
 * ```
 * @param text The request body.
 * @returns The envelope.
 * @throws {EnvelopeError} Naming the offending field (`""` for the whole body).
 */
export function parseSendBody(text: string): Envelope {
  return readEnvelope(text.startsWith("\uFEFF") ? text.slice(1) : text);
}
