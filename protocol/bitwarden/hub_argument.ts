/**
 * The single argument `HubHelpers` passes to `SendAsync`: the envelope re-serialized from the
 * typed object it deserialized, so the payload goes through the type's RE-SENT model (unknown
 * keys dropped, absent fields at their defaults, types 4/5/6/10/17 as `{UserId, Reason}`,
 * type 19 as `{OrganizationId, Enabled}`).
 *
 * Deliberate difference: for type 25, `Policy.CreationDate` and `Policy.RevisionDate` are
 * forwarded as given; the real server re-sends `DateTime.UtcNow` at deserialization time
 * (`internal set` properties STJ does not populate), which pure code cannot reproduce.
 *
 * @module
 */

import { EnvelopeError } from "../errors.ts";
import { modelsForPushType, type PushTypeModels } from "./payloads.ts";
import type { Envelope } from "./types.ts";
import { projectModel } from "./_payload_codec.ts";

function modelsOf(envelope: Envelope): PushTypeModels {
  const models = modelsForPushType(envelope.type);
  if (models === undefined) {
    throw new EnvelopeError("Type", `Unknown push type: ${envelope.type} is never sent to clients`);
  }
  if (envelope.contextId !== null && typeof envelope.contextId !== "string") {
    throw new EnvelopeError("ContextId", "Expected a string or null");
  }
  return models;
}

/**
 * The argument as the JSON hub protocol carries it (ASP.NET Core `JsonHubProtocol` defaults):
 * camelCase keys, nulls written, dates as STJ text.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { createEnvelope } from "./envelope_create.ts";
 * import { toHubJsonArgument } from "./hub_argument.ts";
 * const userId = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
 * deepStrictEqual(
 *   toHubJsonArgument(createEnvelope(4, { UserId: userId, Date: new Date(0) })),
 *   { type: 4, payload: { userId, reason: null }, contextId: null },
 * );
 * ```
 * @param envelope A parsed or created envelope of a defined type.
 * @returns `{type, payload, contextId}`, ready for `JSON.stringify`.
 * @throws {EnvelopeError} For an undefined type or an invalid field value.
 */
export function toHubJsonArgument(envelope: Envelope): Record<string, unknown> {
  const models = modelsOf(envelope);
  return {
    type: envelope.type,
    payload: projectModel(envelope.payload, models.resent, "Payload", {
      naming: "camel",
      omitNulls: false,
      dates: "text",
    }),
    contextId: envelope.contextId,
  };
}

/**
 * The argument as the MessagePack hub protocol carries it (MessagePack-CSharp contractless
 * resolver): a map with PascalCase keys in declaration order, nils present, GUIDs as lowercase
 * strings, enums as integers, dates as timestamp extensions (type -1).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ExtData } from "@msgpack/msgpack";
 * import { createEnvelope } from "./envelope_create.ts";
 * import { toHubMessagePackArgument } from "./hub_argument.ts";
 * const argument = toHubMessagePackArgument(createEnvelope(8, {
 *   Id: "e1a7a1c4-0000-4000-8000-000000000001",
 *   UserId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c",
 *   RevisionDate: new Date(0),
 * }));
 * strictEqual(Object.keys(argument).join(), "Type,Payload,ContextId");
 * strictEqual(((argument.Payload as Record<string, unknown>).RevisionDate as ExtData).type, -1);
 * ```
 * @param envelope A parsed or created envelope of a defined type.
 * @returns `{Type, Payload, ContextId}`, ready for `@msgpack/msgpack`'s `encode`.
 * @throws {EnvelopeError} For an undefined type or an invalid field value.
 */
export function toHubMessagePackArgument(envelope: Envelope): Record<string, unknown> {
  const models = modelsOf(envelope);
  return {
    Type: envelope.type,
    Payload: projectModel(envelope.payload, models.resent, "Payload", {
      naming: "pascal",
      omitNulls: false,
      dates: "msgpack",
    }),
    ContextId: envelope.contextId,
  };
}
