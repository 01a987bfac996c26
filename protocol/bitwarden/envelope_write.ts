/**
 * Writing an envelope in the two transport forms, byte for byte as the real push engines do:
 * - `AzureQueuePushEngine`: STJ with `WhenWritingNull` and no naming policy, so PascalCase keys
 *   and null properties (including `ContextId`) left out; plain text, not base64;
 * - `NotificationsApiPushEngine`: `JsonContent.Create` (web defaults), so camelCase keys and
 *   every property written, nulls included.
 *
 * Both serialize the typed C# object, so the payload is projected through the type's declared
 * model: its fields only, in declaration order, GUIDs lowercase, dates as STJ writes them, and
 * STJ's default escaping (non-ASCII and `"&'+<>` as `\uXXXX`).
 *
 * @module
 */

import { EnvelopeError } from "../errors.ts";
import { modelsForPushType } from "./payloads.ts";
import type { Envelope } from "./types.ts";
import { describeValue, isJsonObject } from "./_json_read.ts";
import { projectModel } from "./_payload_codec.ts";
import { stringifyStj } from "./_stj_write.ts";

function checkHeader(envelope: Envelope): void {
  const { type, contextId } = envelope;
  if (!Number.isInteger(type) || type < 0 || type > 255) {
    throw new EnvelopeError("Type", `Expected an integer 0..255: got ${describeValue(type)}`);
  }
  if (contextId !== null && typeof contextId !== "string") {
    throw new EnvelopeError(
      "ContextId",
      `Expected a string or null: got ${describeValue(contextId)}`,
    );
  }
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isJsonObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null) {
      Object.defineProperty(out, key, { value: withoutNulls(item), enumerable: true });
    }
  }
  return out;
}

/**
 * Writes the queue message text `AzureQueuePushEngine` enqueues.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { createEnvelope } from "./envelope_create.ts";
 * import { writeQueueMessage } from "./envelope_write.ts";
 * strictEqual(
 *   writeQueueMessage(createEnvelope(11, { UserId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c" })),
 *   '{"Type":11,"Payload":{"UserId":"d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c"}}',
 * );
 * ```
 * @param envelope The envelope.
 * @returns JSON text: PascalCase, nulls omitted.
 * @throws {EnvelopeError} When a declared field holds an invalid value.
 */
export function writeQueueMessage(envelope: Envelope): string {
  checkHeader(envelope);
  const models = modelsForPushType(envelope.type);
  const payload = models === undefined
    ? withoutNulls(envelope.payload)
    : projectModel(envelope.payload, models.declared, "Payload", {
      naming: "pascal",
      omitNulls: true,
      dates: "text",
    });
  return stringifyStj({
    Type: envelope.type,
    Payload: payload,
    ...(envelope.contextId === null ? {} : { ContextId: envelope.contextId }),
  });
}

/**
 * Writes the `POST /send` body `NotificationsApiPushEngine` sends.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { createEnvelope } from "./envelope_create.ts";
 * import { writeSendBody } from "./envelope_write.ts";
 * strictEqual(
 *   writeSendBody(createEnvelope(11, { UserId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c" })),
 *   '{"type":11,"payload":{"userId":"d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c","reason":null},"contextId":null}',
 * );
 * ```
 * @param envelope The envelope.
 * @returns JSON text: camelCase, explicit nulls.
 * @throws {EnvelopeError} When a declared field holds an invalid value.
 */
export function writeSendBody(envelope: Envelope): string {
  checkHeader(envelope);
  const models = modelsForPushType(envelope.type);
  const payload = models === undefined
    ? envelope.payload
    : projectModel(envelope.payload, models.declared, "Payload", {
      naming: "camel",
      omitNulls: false,
      dates: "text",
    });
  return stringifyStj({ type: envelope.type, payload, contextId: envelope.contextId });
}
