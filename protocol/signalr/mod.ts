/**
 * The pure SignalR protocol layer: handshake, text and binary framing, the JSON and
 * MessagePack hub protocols, negotiate and Server-Sent Events formatting. Bytes in,
 * messages out; no sockets, no clocks.
 *
 * @example
 * ```ts
 * import { jsonHubProtocol, parseHandshakeRequest } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const input = '{"protocol":"json","version":1}\x1e{"type":6}\x1e';
 * const handshake = parseHandshakeRequest(input)!;
 * assert.equal(handshake.value.protocol, "json");
 * assert.deepEqual(jsonHubProtocol.parseMessages(input.slice(handshake.consumed)), [{ type: 6 }]);
 * ```
 *
 * @module
 */

export * from "./messages.ts";
export * from "./handshake.ts";
export * from "./text_framing.ts";
export * from "./binary_framing.ts";
export * from "./json_hub_protocol.ts";
export * from "./messagepack_hub_protocol.ts";
export * from "./negotiate.ts";
export * from "./sse.ts";
