/**
 * The backplane's message format on the Redis channel: JSON
 * `{"v":1,"origin":"<instance id>","envelope":{"type":..,"payload":{..},"contextId":..}}`.
 * The origin lets every instance ignore its own publications (Redis echoes them to the
 * publisher's own subscriber). Pure: text in, message out.
 *
 * @module
 */

import type { Envelope, JsonValue } from "../../protocol/bitwarden/types.ts";

/** One envelope as carried between instances. */
export interface BackplaneMessage {
  /** Instance id of the publisher. */
  readonly origin: string;
  /** The envelope, already parsed and normalised by the publisher. */
  readonly envelope: Envelope;
}

const VERSION = 1;

/**
 * Serialises a backplane message.
 *
 * @param message Origin and envelope.
 * @returns The channel payload.
 */
export function encodeBackplaneMessage(message: BackplaneMessage): string {
  const { type, payload, contextId } = message.envelope;
  return JSON.stringify({
    v: VERSION,
    origin: message.origin,
    envelope: { type, payload, contextId },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses a backplane message.
 *
 * @param text The channel payload.
 * @returns Origin and envelope.
 * @throws {TypeError} When the text is not a version 1 backplane message; the message names the field.
 */
export function decodeBackplaneMessage(text: string): BackplaneMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`Invalid backplane message: not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new TypeError("Invalid backplane message: not a JSON object");
  if (value.v !== VERSION) {
    throw new TypeError(
      `Invalid backplane message: unsupported version ${JSON.stringify(value.v)}`,
    );
  }
  const { origin, envelope } = value;
  if (typeof origin !== "string" || origin === "") {
    throw new TypeError("Invalid backplane message: origin must be a non-empty string");
  }
  if (!isObject(envelope)) {
    throw new TypeError("Invalid backplane message: envelope must be an object");
  }
  const { type, payload, contextId } = envelope;
  if (typeof type !== "number" || !Number.isInteger(type)) {
    throw new TypeError("Invalid backplane message: envelope.type must be an integer");
  }
  if (!isObject(payload)) {
    throw new TypeError("Invalid backplane message: envelope.payload must be an object");
  }
  if (contextId !== null && typeof contextId !== "string") {
    throw new TypeError("Invalid backplane message: envelope.contextId must be a string or null");
  }
  return {
    origin,
    envelope: { type, payload: payload as { readonly [key: string]: JsonValue }, contextId },
  };
}
