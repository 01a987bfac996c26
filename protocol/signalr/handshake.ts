/**
 * The SignalR handshake: the client's first message names a hub protocol and version
 * (`{"protocol":"messagepack","version":1}` + `0x1E`, always JSON text); the server answers
 * `{}` + `0x1E` or `{"error":"..."}` + `0x1E` and closes. Error texts are the ASP.NET Core
 * server's, byte for byte, so clients see what they would see against the real server.
 *
 * @module
 */

import { HandshakeError } from "../errors.ts";
import { asBytes, utf8Decode } from "./_bytes.ts";
import { isPlainRecord } from "./_fields.ts";
import { TransferFormat } from "./messages.ts";
import { formatTextMessage, RECORD_SEPARATOR, RECORD_SEPARATOR_CODE } from "./text_framing.ts";

/** The client's handshake request. */
export interface HandshakeRequest {
  /** Hub protocol name (`json`, `messagepack`). */
  readonly protocol: string;
  /** Hub protocol version (a 32-bit integer). */
  readonly version: number;
}

/** The server's handshake response: empty on success. */
export interface HandshakeResponse {
  /** Why the handshake was refused, if it was. */
  readonly error?: string;
}

/** A parsed handshake plus how much of the input it used. */
export interface ParsedHandshake<T> {
  /** The parsed message. */
  readonly value: T;
  /**
   * How much input the handshake used, separator included: UTF-16 code units for string
   * input, bytes for binary input. What follows are hub messages.
   */
  readonly consumed: number;
}

/** What the server is willing to speak, for {@linkcode handshakeError}. */
export interface HandshakeCapabilities {
  /** Supported hub protocols by name, with their highest version and transfer format. */
  readonly protocols: readonly {
    readonly name: string;
    readonly version: number;
    readonly transferFormat: TransferFormat;
  }[];
  /** Transfer formats the current transport can carry. */
  readonly transferFormats: readonly TransferFormat[];
}

/** Response the server sends when the handshake cannot be parsed (details are logged, not sent). */
export const HANDSHAKE_PARSE_ERROR = "An unexpected error occurred during connection handshake.";

/** Response the server sends when no complete handshake arrives in time or it is too large. */
export const HANDSHAKE_CANCELED_ERROR = "Handshake was canceled.";

/**
 * Parses a client handshake request.
 *
 * @param input Received data (text or bytes); may hold hub messages after the handshake.
 * @returns The request and the amount consumed, or `undefined` while no `0x1E` has arrived.
 * @throws {HandshakeError} With the ASP.NET Core text, e.g.
 *   `Missing required property 'version'. Message content: {"protocol":"json"}`.
 *
 * @example
 * ```ts
 * import { parseHandshakeRequest } from "./handshake.ts";
 * import assert from "node:assert/strict";
 * const parsed = parseHandshakeRequest('{"protocol":"json","version":1}\x1e{"type":6}\x1e');
 * assert.deepEqual(parsed, { value: { protocol: "json", version: 1 }, consumed: 32 });
 * assert.equal(parseHandshakeRequest('{"protocol":"json"'), undefined);
 * ```
 */
export function parseHandshakeRequest(
  input: string | Uint8Array | ArrayBuffer,
): ParsedHandshake<HandshakeRequest> | undefined {
  const record = takeRecord(input);
  if (!record) return undefined;
  const obj = readObject(record.text);
  let protocol: string | undefined;
  let version: number | undefined;
  for (const [key, value] of Object.entries(obj)) {
    if (key === "protocol") {
      if (typeof value !== "string") {
        throw new HandshakeError("Expected 'protocol' to be of type String.");
      }
      protocol = value;
    } else if (key === "version") {
      if (typeof value !== "number") {
        throw new HandshakeError("Expected 'version' to be of type Number.");
      }
      if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
        throw new HandshakeError(`Expected 'version' to be a 32-bit integer: got ${value}`);
      }
      version = value;
    }
  }
  if (protocol === undefined) {
    throw new HandshakeError(
      `Missing required property 'protocol'. Message content: ${record.text}`,
    );
  }
  if (version === undefined) {
    throw new HandshakeError(
      `Missing required property 'version'. Message content: ${record.text}`,
    );
  }
  return { value: { protocol, version }, consumed: record.consumed };
}

/**
 * Writes a client handshake request.
 *
 * @param request Protocol name and version.
 * @returns The JSON text with its separator.
 *
 * @example
 * ```ts
 * import { writeHandshakeRequest } from "./handshake.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   writeHandshakeRequest({ protocol: "messagepack", version: 1 }),
 *   '{"protocol":"messagepack","version":1}\x1e',
 * );
 * ```
 */
export function writeHandshakeRequest(request: HandshakeRequest): string {
  return formatTextMessage(
    JSON.stringify({ protocol: request.protocol, version: request.version }),
  );
}

/**
 * Writes the server's handshake response.
 *
 * @param error Why the handshake is refused; omit for success.
 * @returns `{}` or `{"error":"..."}`, with its separator.
 *
 * @example
 * ```ts
 * import { writeHandshakeResponse } from "./handshake.ts";
 * import assert from "node:assert/strict";
 * assert.equal(writeHandshakeResponse(), "{}\x1e");
 * ```
 */
export function writeHandshakeResponse(error?: string): string {
  return formatTextMessage(error === undefined ? "{}" : JSON.stringify({ error }));
}

/**
 * Parses the server's handshake response, as a client does.
 *
 * @param input Received data (text or bytes); may hold hub messages after the response.
 * @returns The response and the amount consumed, or `undefined` while no `0x1E` has arrived.
 * @throws {HandshakeError} When the response is not a JSON object, has a non-string `error`,
 *   or carries a `type` (a hub message instead of a handshake response).
 *
 * @example
 * ```ts
 * import { parseHandshakeResponse } from "./handshake.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseHandshakeResponse('{}\x1e{"type":6}\x1e'), { value: {}, consumed: 3 });
 * ```
 */
export function parseHandshakeResponse(
  input: string | Uint8Array | ArrayBuffer,
): ParsedHandshake<HandshakeResponse> | undefined {
  const record = takeRecord(input);
  if (!record) return undefined;
  const obj = readObject(record.text);
  if (obj.type) throw new HandshakeError("Expected a handshake response from the server.");
  if (!("error" in obj)) return { value: {}, consumed: record.consumed };
  if (typeof obj.error !== "string") {
    throw new HandshakeError("Expected 'error' to be of type String.");
  }
  return { value: { error: obj.error }, consumed: record.consumed };
}

/**
 * Decides whether the server accepts a parsed request, in the ASP.NET Core server's order:
 * unknown protocol, unsupported version, transfer format the transport cannot carry.
 *
 * @param request The parsed request.
 * @param capabilities Supported protocols and the current transport's transfer formats.
 * @returns The error text to send, or `undefined` to accept.
 *
 * @example
 * ```ts
 * import { handshakeError } from "./handshake.ts";
 * import assert from "node:assert/strict";
 * const capabilities = {
 *   protocols: [{ name: "json", version: 2, transferFormat: 1 }],
 *   transferFormats: [1, 2],
 * };
 * assert.equal(
 *   handshakeError({ protocol: "xml", version: 1 }, capabilities),
 *   "The protocol 'xml' is not supported.",
 * );
 * ```
 */
export function handshakeError(
  request: HandshakeRequest,
  capabilities: HandshakeCapabilities,
): string | undefined {
  const protocol = capabilities.protocols.find((p) => p.name === request.protocol);
  if (!protocol) return `The protocol '${request.protocol}' is not supported.`;
  if (request.version > protocol.version) {
    return `The server does not support version ${request.version} of the '${protocol.name}' protocol.`;
  }
  if (!capabilities.transferFormats.includes(protocol.transferFormat)) {
    return `Cannot use the '${protocol.name}' protocol on the current transport. ` +
      `The transport does not support '${
        TransferFormat[protocol.transferFormat]
      }' transfer format.`;
  }
  return undefined;
}

interface Record0 {
  readonly text: string;
  readonly consumed: number;
}

function takeRecord(input: string | Uint8Array | ArrayBuffer): Record0 | undefined {
  if (typeof input === "string") {
    const end = input.indexOf(RECORD_SEPARATOR);
    return end < 0 ? undefined : { text: input.slice(0, end), consumed: end + 1 };
  }
  const bytes = asBytes(input);
  const end = bytes.indexOf(RECORD_SEPARATOR_CODE);
  if (end < 0) return undefined;
  try {
    return { text: utf8Decode(bytes.subarray(0, end), "handshake"), consumed: end + 1 };
  } catch (error) {
    throw new HandshakeError((error as Error).message);
  }
}

/**
 * Reads the first JSON value of `text` and requires an object. Like the server's reader it
 * stops at the end of that value, so trailing bytes before the separator are ignored.
 */
function readObject(text: string): Record<string, unknown> {
  const start = text.search(/[^ \t\n\r]/);
  const first = start < 0 ? "" : text[start];
  if (first !== "{") {
    throw new HandshakeError(
      `Unexpected JSON Token Type '${tokenName(first)}'. Expected a JSON Object.`,
    );
  }
  const end = endOfObject(text, start);
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start, end));
  } catch (error) {
    throw new HandshakeError(`Error reading JSON: ${(error as Error).message}`);
  }
  if (!isPlainRecord(value)) throw new HandshakeError("Error reading JSON: expected an object");
  return value;
}

function tokenName(first: string | undefined): string {
  switch (first) {
    case "[":
      return "Array";
    case '"':
      return "String";
    case "n":
      return "Null";
    case "t":
      return "True";
    case "f":
      return "False";
    case "":
    case undefined:
      return "None";
    default:
      return /[-0-9]/.test(first) ? "Number" : "Invalid";
  }
}

/** Index just past the object that opens at `start` (or the text's end when unbalanced). */
function endOfObject(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}
