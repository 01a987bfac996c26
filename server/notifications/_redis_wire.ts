/**
 * The backplane's message format on the Redis channel: JSON
 * `{"v":1,"origin":"<instance id>","id":"<publication id>","envelope":{"type":..,"payload":{..},"contextId":..}}`.
 * The origin lets every instance ignore its own publications (Redis echoes them to the
 * publisher's own subscriber). The id lets receivers drop a publication they already handled:
 * a publish retried after a lost reply may have reached Redis the first time. `id` was added
 * after the first release, so it is optional on input (older publishers send none).
 * Pure: text in, message out.
 *
 * @module
 */

import type { Envelope, JsonValue } from "../../protocol/bitwarden/mod.ts";

/** One envelope as carried between instances. */
export interface BackplaneMessage {
  /** Instance id of the publisher. */
  readonly origin: string;
  /** Unique id of this publication (null from publishers that predate it). */
  readonly id: string | null;
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
    ...(message.id === null ? {} : { id: message.id }),
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
  const { origin, envelope, id } = value;
  if (typeof origin !== "string" || origin === "") {
    throw new TypeError("Invalid backplane message: origin must be a non-empty string");
  }
  if (id !== undefined && (typeof id !== "string" || id === "")) {
    throw new TypeError("Invalid backplane message: id must be a non-empty string");
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
    id: id ?? null,
    envelope: { type, payload: payload as { readonly [key: string]: JsonValue }, contextId },
  };
}
