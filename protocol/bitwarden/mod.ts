/**
 * The pure Bitwarden push model: push types, payload models, envelope codecs for every wire
 * form (queue, `/send`, JSON hub, MessagePack hub), .NET date handling, group names, and the
 * routing of envelopes and connections exactly as the real Notifications service does it.
 * No sockets, clocks or environment.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { createEnvelope, parseSendBody, routeEnvelope, writeQueueMessage, writeSendBody } from "./mod.ts";
 * const envelope = createEnvelope(11, { UserId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c" }, "device-1");
 * strictEqual(writeQueueMessage(envelope), '{"Type":11,"Payload":{"UserId":"d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c"},"ContextId":"device-1"}');
 * deepStrictEqual(parseSendBody(writeSendBody(envelope)), envelope);
 * deepStrictEqual(routeEnvelope(envelope).targets, [{ kind: "user", userId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c" }]);
 * ```
 *
 * @module
 */

export * from "./push_type.ts";
export * from "./client_type.ts";
export * from "./types.ts";
export * from "./guid.ts";
export * from "./dotnet_date.ts";
export * from "./payloads.ts";
export * from "./envelope_parse.ts";
export * from "./envelope_create.ts";
export * from "./envelope_write.ts";
export * from "./hub_argument.ts";
export * from "./groups.ts";
export * from "./routing.ts";
export * from "./connection_groups.ts";
export * from "./reference_literals.ts";
export * from "./master_password.ts";
