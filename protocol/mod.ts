/**
 * The pure protocol layer of hubproof: bytes in, messages out; envelopes in, recipients out.
 * No sockets, clocks or environment.
 *
 * - {@link ./errors.ts}: `ProtocolError` and its subclasses, the only errors parsers throw;
 * - {@link ./signalr/mod.ts}: the ASP.NET Core SignalR wire protocol (handshake, framing, JSON
 *   and MessagePack hub protocols, negotiate);
 * - {@link ./bitwarden/mod.ts}: the Bitwarden push model (push types, payload models, envelope
 *   codecs for queue, `/send` and both hub protocols, groups and routing).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { EnvelopeError, parseQueueMessage } from "./mod.ts";
 * try {
 *   parseQueueMessage('{"Type":11,"Payload":{"UserId":"abc"}}');
 * } catch (error) {
 *   strictEqual(error instanceof EnvelopeError && error.field, "Payload.UserId");
 * }
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./signalr/mod.ts";
export * from "./bitwarden/mod.ts";
