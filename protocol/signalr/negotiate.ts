/**
 * The `POST {hub}/negotiate` exchange: picking the negotiate version from the query, and
 * writing the response JSON in the ASP.NET Core server's property order.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";

/** Highest negotiate version the server speaks (1 adds `connectionToken`). */
export const NEGOTIATE_VERSION = 1;

/** Transport names as they appear in `availableTransports`. */
export type TransportName = "WebSockets" | "ServerSentEvents" | "LongPolling";

/** Transports in the fixed order the server lists them, with their transfer formats. */
const TRANSPORT_FORMATS: readonly (readonly [TransportName, readonly string[]])[] = [
  ["WebSockets", ["Text", "Binary"]],
  ["ServerSentEvents", ["Text"]],
  ["LongPolling", ["Text", "Binary"]],
];

/** Options for {@linkcode parseNegotiateVersion}. */
export interface NegotiateVersionOptions {
  /** Lowest accepted version, like the server's `MinimumProtocolVersion` (default 0). */
  readonly minimumVersion?: number;
}

const INT32 = /^[\t\n\v\f\r ]*[+-]?[0-9]+[\t\n\v\f\r ]*$/;

/**
 * Picks the negotiate version from the `negotiateVersion` query value: absent means 0,
 * anything above the server's version is lowered to 1.
 *
 * @param value The raw query value, or `null` when absent.
 * @param options The minimum accepted version.
 * @returns 0 or 1.
 * @throws {ProtocolError} With the server's text, sent back as `{"error":"..."}`:
 *   `The client requested a non-integer protocol version.` or
 *   `The client requested version '<n>', but the server does not support this version.`
 *
 * @example
 * ```ts
 * import { parseNegotiateVersion } from "./negotiate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseNegotiateVersion("1"), 1);
 * assert.equal(parseNegotiateVersion("7"), 1);
 * assert.equal(parseNegotiateVersion(null), 0);
 * ```
 */
export function parseNegotiateVersion(
  value: string | null,
  options: NegotiateVersionOptions = {},
): number {
  const minimum = options.minimumVersion ?? 0;
  let requested = 0;
  if (value !== null) {
    const parsed = INT32.test(value) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < -0x80000000 || parsed > 0x7fffffff) {
      throw new ProtocolError("The client requested a non-integer protocol version.");
    }
    requested = parsed === 0 ? 0 : parsed; // no "-0" in the error text
  }
  if (requested < minimum) {
    throw new ProtocolError(
      `The client requested version '${requested}', but the server does not support this version.`,
    );
  }
  return Math.min(requested, NEGOTIATE_VERSION);
}

/** Input for {@linkcode buildNegotiateResponse}. */
export interface NegotiateResponseInit {
  /** The version chosen by {@linkcode parseNegotiateVersion}. */
  readonly negotiateVersion: number;
  /** The public connection id. */
  readonly connectionId: string;
  /** The secret token the client connects with (v1 only; ignored for v0). */
  readonly connectionToken?: string;
  /** Enabled transports; listed in the server's fixed order whatever the input order. */
  readonly transports: readonly TransportName[];
  /** True when stateful reconnect was requested and is allowed. */
  readonly useStatefulReconnect?: boolean;
}

/**
 * Writes the negotiate response JSON: `useStatefulReconnect` (only when true), `negotiateVersion`,
 * `connectionId`, `connectionToken` (v1 only), `availableTransports`.
 *
 * @param init Version, ids and enabled transports.
 * @returns The JSON body.
 *
 * @example
 * ```ts
 * import { buildNegotiateResponse } from "./negotiate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   buildNegotiateResponse({ negotiateVersion: 0, connectionId: "abc", transports: ["WebSockets"] }),
 *   '{"negotiateVersion":0,"connectionId":"abc","availableTransports":' +
 *     '[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}',
 * );
 * ```
 */
export function buildNegotiateResponse(init: NegotiateResponseInit): string {
  const body: Record<string, unknown> = {};
  if (init.useStatefulReconnect === true) body.useStatefulReconnect = true;
  body.negotiateVersion = init.negotiateVersion;
  if (init.connectionId) body.connectionId = init.connectionId;
  if (init.negotiateVersion > 0 && init.connectionToken) {
    body.connectionToken = init.connectionToken;
  }
  body.availableTransports = TRANSPORT_FORMATS
    .filter(([name]) => init.transports.includes(name))
    .map(([transport, transferFormats]) => ({ transport, transferFormats }));
  return JSON.stringify(body);
}

/**
 * Writes the negotiate error body the server returns (with HTTP 200).
 *
 * @param message The error text.
 * @returns `{"error":"..."}`.
 *
 * @example
 * ```ts
 * import { negotiateErrorBody } from "./negotiate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(negotiateErrorBody("Nope."), '{"error":"Nope."}');
 * ```
 */
export function negotiateErrorBody(message: string): string {
  return JSON.stringify({ error: message });
}

/**
 * Turns 16 random bytes into a connection id or token: 22 characters of unpadded base64url,
 * safe to append to a URL unescaped (the official client does exactly that).
 *
 * @param bytes Exactly 16 bytes from a cryptographic random source supplied by the caller.
 * @returns The 22-character id.
 * @throws {RangeError} When `bytes` is not 16 bytes long.
 *
 * @example
 * ```ts
 * import { connectionIdFromBytes } from "./negotiate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(connectionIdFromBytes(new Uint8Array(16)), "AAAAAAAAAAAAAAAAAAAAAA");
 * ```
 */
export function connectionIdFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) {
    throw new RangeError(`Expected 16 random bytes for a connection id: got ${bytes.length}`);
  }
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
