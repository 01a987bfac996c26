/**
 * What the Vaultwarden-like stand-in puts on the wire, as pure functions: the error bodies
 * Vaultwarden 1.37.2 answers with (its JSON error model, Rocket's HTML catcher pages), its hub
 * handshake rule and its MessagePack hub messages. Observed on a real 1.37.2 with raw probes and
 * read in `dani-garcia/vaultwarden` @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a):
 * `src/api/notifications.rs` (hub, `create_update`, `create_anonymous_update`), `src/error.rs`
 * (error body), `src/ratelimit.rs` (429 messages). Test tree only.
 *
 * @module
 */

import { encode } from "@msgpack/msgpack";
import { frameBinary } from "../../protocol/signalr/mod.ts";

/** Headers every Vaultwarden answer carries that a client might look at. */
const VW_HEADERS = { server: "Rocket", "cache-control": "no-cache, no-store, max-age=0" };

/**
 * Vaultwarden's JSON error answer (`src/error.rs`): the message repeated in `validationErrors`
 * and `errorModel`, as Bitwarden's ErrorResponseModel. 429s carry no `Retry-After` (probed).
 *
 * @param status HTTP status.
 * @param message The error message.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { vaultwardenError } from "./_vaultwarden_wire.ts";
 * const answer = vaultwardenError(429, "Too many login requests");
 * console.assert(answer.status === 429 && !answer.headers.has("retry-after"));
 * ```
 */
export function vaultwardenError(status: number, message: string): Response {
  return Response.json({
    message,
    validationErrors: { "": [message] },
    errorModel: { message, object: "error" },
    error: "",
    error_description: "",
    exceptionMessage: null,
    exceptionStackTrace: null,
    innerExceptionMessage: null,
    object: "error",
  }, { status, headers: VW_HEADERS });
}

const REASONS: Readonly<Record<number, [string, string]>> = {
  400: [
    "Bad Request",
    "The request could not be understood by the server due to malformed syntax.",
  ],
  404: ["Not Found", "The requested resource could not be found."],
  422: ["Unprocessable Entity", "The request was well-formed but was unable to be followed."],
};

/**
 * Rocket's default catcher page, which Vaultwarden answers outside `/api` (no route, a failed
 * WebSocket guard, a missing query): HTML, not JSON.
 *
 * @param status 400, 404 or 422.
 * @returns The response.
 */
export function rocketHtmlError(status: 400 | 404 | 422): Response {
  const [reason, text] = REASONS[status]!;
  const body = `<!DOCTYPE html>\n<html lang="en">\n<head>\n    <meta charset="utf-8">\n` +
    `    <title>${status} ${reason}</title>\n</head>\n<body align="center">\n` +
    `    <div role="main" align="center">\n        <h1>${status}: ${reason}</h1>\n` +
    `        <p>${text}</p>\n        <hr />\n    </div>\n</body>\n</html>`;
  return new Response(body, {
    status,
    headers: { ...VW_HEADERS, "content-type": "text/html; charset=utf-8" },
  });
}

/**
 * The JSON 404 Vaultwarden's `/api` catcher answers for a route it lacks.
 *
 * @returns The response.
 */
export function apiNotFound(): Response {
  return Response.json({
    error: {
      code: 404,
      reason: "Not Found",
      description: "The requested resource could not be found.",
    },
  }, { status: 404, headers: VW_HEADERS });
}

/** The handshake answer `{}` + 0x1E, which Vaultwarden sends as a binary frame. */
export const HANDSHAKE_ANSWER: Uint8Array<ArrayBuffer> = new Uint8Array([0x7b, 0x7d, 0x1e]);

/**
 * Vaultwarden's handshake rule: a text frame whose JSON (one trailing 0x1E stripped) has
 * `protocol` "messagepack" and `version` 1 (other fields ignored, as serde does) is answered;
 * any other text, a JSON handshake included, is ignored without a word.
 *
 * @param text The text frame.
 * @returns Whether to answer it.
 *
 * @example
 * ```ts
 * import { isMessagePackHandshake } from "./_vaultwarden_wire.ts";
 * console.assert(isMessagePackHandshake('{"protocol":"messagepack","version":1}\x1e'));
 * console.assert(!isMessagePackHandshake('{"protocol":"json","version":1}\x1e'));
 * ```
 */
export function isMessagePackHandshake(text: string): boolean {
  const body = text.endsWith("\x1e") ? text.slice(0, -1) : text;
  try {
    const value = JSON.parse(body) as { protocol?: unknown; version?: unknown };
    return typeof value === "object" && value !== null && value.protocol === "messagepack" &&
      value.version === 1;
  } catch {
    return false;
  }
}

/** A payload value: strings, null, arrays of strings, dates (sent as timestamps). */
export type WireValue = string | number | boolean | null | Date | readonly string[];

/**
 * A main-hub message as `create_update` writes it:
 * `[1, {}, nil, "ReceiveMessage", [{ContextId, Type, Payload}]]`, VarInt-framed.
 *
 * @param type The UpdateType.
 * @param payload Payload fields in Vaultwarden's order.
 * @param contextId The acting device, or null.
 * @returns The binary frame.
 */
export function receiveMessageFrame(
  type: number,
  payload: Readonly<Record<string, WireValue>>,
  contextId: string | null,
): Uint8Array<ArrayBuffer> {
  return frameBinary(encode([1, {}, null, "ReceiveMessage", [{
    ContextId: contextId,
    Type: type,
    Payload: payload,
  }]]));
}

/**
 * An anonymous-hub message as `create_anonymous_update` writes it: no ContextId, and the user id
 * repeated at the top level.
 *
 * @param authRequestId The auth request (the socket's token).
 * @param userId The approving user.
 * @returns The binary frame.
 */
export function authResponseFrame(authRequestId: string, userId: string): Uint8Array<ArrayBuffer> {
  return frameBinary(encode([1, {}, null, "AuthRequestResponseRecieved", [{
    Type: 16,
    Payload: { Id: authRequestId, UserId: userId },
    UserId: userId,
  }]]));
}

/**
 * The JSON 422 Rocket answers under `/api` when a JSON body does not deserialize into the route's
 * data type (a failed `Json<T>` data guard), pretty-printed as Rocket's default catcher writes it.
 *
 * @returns The response.
 */
export function apiUnprocessable(): Response {
  const body = {
    error: {
      code: 422,
      reason: "Unprocessable Entity",
      description:
        "The request was well-formed but was unable to be followed due to semantic errors.",
    },
  };
  return new Response(JSON.stringify(body, null, 2), {
    status: 422,
    headers: { ...VW_HEADERS, "content-type": "application/json" },
  });
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/**
 * Whether a body deserializes into Vaultwarden's `InviteData`
 * (`src/api/core/organizations.rs` @ 1.37.2): `emails` and `groups` string arrays, `type` a
 * number or string, `collections` absent, null or `{id, readOnly, hidePasswords, manage}` items,
 * and `permissions` absent or a map; serde refuses an explicit `"permissions": null` ("invalid
 * type: null, expected a map", seen in a real 1.37.2's log).
 *
 * @param body The parsed JSON body.
 * @returns Whether the data guard accepts it.
 *
 * @example
 * ```ts
 * import { isInviteData } from "./_vaultwarden_wire.ts";
 * const invite = { emails: ["a@example.com"], groups: [], type: 2, collections: null };
 * console.assert(isInviteData(invite));
 * console.assert(!isInviteData({ ...invite, permissions: null }));
 * ```
 */
export function isInviteData(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const b = body as Record<string, unknown>;
  const collection = (c: unknown) => {
    const item = c as Record<string, unknown> | null;
    return typeof item === "object" && item !== null && typeof item.id === "string" &&
      ["readOnly", "hidePasswords", "manage"].every((k) => typeof item[k] === "boolean");
  };
  const collectionsOk = b.collections === undefined || b.collections === null ||
    (Array.isArray(b.collections) && b.collections.every(collection));
  const permissionsOk = b.permissions === undefined ||
    (typeof b.permissions === "object" && b.permissions !== null &&
      !Array.isArray(b.permissions));
  return isStringArray(b.emails) && isStringArray(b.groups) &&
    (typeof b.type === "number" || typeof b.type === "string") && collectionsOk && permissionsOk;
}
