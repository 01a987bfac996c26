/**
 * Building envelopes on the producer side (the API's push engines).
 *
 * @module
 */

import { EnvelopeError } from "../errors.ts";
import { modelsForPushType } from "./payloads.ts";
import type { PushType } from "./push_type.ts";
import type { Envelope } from "./types.ts";
import { describeValue, isJsonObject, trustedDocument } from "./_json_read.ts";
import { readModel } from "./_payload_codec.ts";

/**
 * Creates an envelope as `new PushNotificationData<T>(type, payload, contextId)` does on the
 * API side. The payload is read strictly into the type's declared model: keys match
 * case-insensitively, unknown keys are refused, absent fields take their C# defaults (as an
 * object initializer leaves them), dates may be JS `Date`s (kind Utc) or ISO text. Fields the
 * hub reads but the API does not write (`Reason` for 4/5/6/10/17, `Enabled` for 19) are added
 * at their defaults, so the envelope equals what parsing the written message gives.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { createEnvelope } from "./envelope_create.ts";
 * const envelope = createEnvelope(5, { UserId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c", Date: new Date(0) });
 * strictEqual(envelope.payload.Date, "1970-01-01T00:00:00Z");
 * strictEqual(envelope.contextId, null);
 * ```
 * @param type A defined push type (0..27).
 * @param payload Payload fields (PascalCase preferred).
 * @param contextId Identifier of the acting device when the push excludes the current context.
 * @returns The envelope, payload in canonical form.
 * @throws {EnvelopeError} For an undefined type, an unknown key or an invalid value.
 */
export function createEnvelope(
  type: PushType | number,
  payload: Readonly<Record<string, unknown>>,
  contextId: string | null = null,
): Envelope {
  const models = modelsForPushType(type);
  if (models === undefined) {
    throw new EnvelopeError("Type", `Unknown push type: ${describeValue(type)}`);
  }
  if (!isJsonObject(payload)) {
    throw new EnvelopeError("Payload", `Expected an object: got ${describeValue(payload)}`);
  }
  if (contextId !== null && (typeof contextId !== "string" || !contextId.isWellFormed())) {
    throw new EnvelopeError(
      "ContextId",
      `Expected a string or null: got ${describeValue(contextId)}`,
    );
  }
  const read = readModel(payload, models.declared, "Payload", {
    doc: trustedDocument(payload),
    mode: "producer",
  });
  for (const field of models.resent.fields) {
    if (!Object.hasOwn(read, field.name)) read[field.name] = field.defaultValue;
  }
  return { type, payload: read, contextId };
}
