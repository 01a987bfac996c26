/**
 * Field checks and message builders shared by the JSON and MessagePack hub protocols
 * (private to this folder). Both parsers produce the same canonical message shapes:
 * empty `headers` and empty `streamIds` are omitted, `invocationId` is omitted for
 * non-blocking invocations, `allowReconnect` only appears when true, and a Completion
 * carries `error`, `result` (possibly `null`) or neither.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import {
  type CompletionMessage,
  type HubMessage,
  type InvocationMessage,
  type MessageHeaders,
  MessageType,
} from "./messages.ts";

/** True for plain objects (JSON objects, decoded MessagePack maps), not arrays, dates or buffers. */
export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads optional headers; returns `undefined` when absent or empty. */
export function readHeaders(value: unknown): MessageHeaders | undefined {
  if (value === undefined) return undefined;
  if (!isPlainRecord(value)) {
    throw new ProtocolError("Expected 'headers' to be a map of strings to strings");
  }
  const entries = Object.entries(value);
  for (const [key, headerValue] of entries) {
    if (typeof headerValue !== "string") {
      throw new ProtocolError(`Expected header '${key}' to be of type String`);
    }
  }
  return entries.length === 0 ? undefined : Object.fromEntries(entries) as MessageHeaders;
}

/** Reads the id of an Invocation: `undefined`, `null` and `""` mean non-blocking. */
export function readOptionalInvocationId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") {
    throw new ProtocolError("Expected 'invocationId' to be of type String");
  }
  return value;
}

/** Reads a required, non-empty string field. */
export function readRequiredString(value: unknown, field: string, kind: string): string {
  if (value === undefined) throw new ProtocolError(`Missing required property '${field}': ${kind}`);
  if (typeof value !== "string" || value === "") {
    throw new ProtocolError(`Expected '${field}' to be a non-empty string: ${kind}`);
  }
  return value;
}

/** Reads the required `arguments` array. */
export function readArguments(value: unknown): unknown[] {
  if (value === undefined) throw new ProtocolError("Missing required property 'arguments'");
  if (!Array.isArray(value)) throw new ProtocolError("Expected 'arguments' to be of type Array");
  return value;
}

/** Reads optional stream ids; returns `undefined` when absent, `null` or empty. */
export function readStreamIds(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((id) => typeof id !== "string")) {
    throw new ProtocolError("Expected 'streamIds' to be an array of strings");
  }
  return value.length === 0 ? undefined : value as string[];
}

/** Reads a required sequence id (an integer). */
export function readSequenceId(value: unknown, kind: string): number {
  if (value === undefined) {
    throw new ProtocolError(`Missing required property 'sequenceId': ${kind}`);
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new ProtocolError(`Expected 'sequenceId' to be an integer: ${kind}`);
  }
  return value;
}

/** Reads an optional error text (`null` counts as absent). */
export function readOptionalError(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ProtocolError("Expected 'error' to be of type String");
  return value;
}

/** Reads an optional `allowReconnect` flag (`null` counts as absent). */
export function readAllowReconnect(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") {
    throw new ProtocolError("Expected 'allowReconnect' to be of type Boolean");
  }
  return value;
}

/** Fields of an Invocation or StreamInvocation, already validated. */
export interface InvocationFields {
  /** Headers, if any. */
  readonly headers: MessageHeaders | undefined;
  /** Id, if blocking. */
  readonly invocationId: string | undefined;
  /** Method name. */
  readonly target: string;
  /** Arguments. */
  readonly args: unknown[];
  /** Upload stream ids, if any. */
  readonly streamIds: string[] | undefined;
}

/** Builds an Invocation (type 1) or StreamInvocation (type 4) in canonical shape. */
export function buildInvocation(
  type: MessageType.Invocation | MessageType.StreamInvocation,
  fields: InvocationFields,
): HubMessage {
  const message: Record<string, unknown> = { type };
  if (fields.headers) message.headers = fields.headers;
  if (fields.invocationId !== undefined) message.invocationId = fields.invocationId;
  message.target = fields.target;
  message.arguments = fields.args;
  if (fields.streamIds) message.streamIds = fields.streamIds;
  return message as unknown as InvocationMessage;
}

/** The outcome carried by a Completion. */
export type CompletionOutcome =
  | { readonly kind: "error"; readonly error: string }
  | { readonly kind: "result"; readonly result: unknown }
  | { readonly kind: "void" };

/** Builds a Completion (type 3) in canonical shape. */
export function buildCompletion(
  headers: MessageHeaders | undefined,
  invocationId: string,
  outcome: CompletionOutcome,
): CompletionMessage {
  const message: Record<string, unknown> = { type: MessageType.Completion };
  if (headers) message.headers = headers;
  message.invocationId = invocationId;
  if (outcome.kind === "error") message.error = outcome.error;
  if (outcome.kind === "result") message.result = outcome.result;
  return message as unknown as CompletionMessage;
}

/** Builds a message of types 2 or 5 (id plus optional extra field) in canonical shape. */
export function buildIdMessage(
  type: MessageType.StreamItem | MessageType.CancelInvocation,
  headers: MessageHeaders | undefined,
  invocationId: string,
  item?: { readonly value: unknown },
): HubMessage {
  const message: Record<string, unknown> = { type };
  if (headers) message.headers = headers;
  message.invocationId = invocationId;
  if (item) message.item = item.value;
  return message as unknown as HubMessage;
}

/** Builds a Close (type 7) in canonical shape. */
export function buildClose(error: string | undefined, allowReconnect: boolean): HubMessage {
  const message: Record<string, unknown> = { type: MessageType.Close };
  if (error !== undefined) message.error = error;
  if (allowReconnect) message.allowReconnect = true;
  return message as unknown as HubMessage;
}

/** Names the message type for error messages. */
export function kindName(type: number): string {
  return MessageType[type] ?? `type ${type}`;
}

/** Outcome of a Completion about to be written, with the official writers' precedence. */
export function completionOutcome(message: CompletionMessage): CompletionOutcome {
  if (typeof message.error === "string") return { kind: "error", error: message.error };
  if (message.result !== undefined) return { kind: "result", result: message.result };
  return { kind: "void" };
}

/** Message headers to write, or `undefined` when there are none. */
export function headersToWrite(message: HubMessage): MessageHeaders | undefined {
  const headers = "headers" in message ? message.headers : undefined;
  return headers && Object.keys(headers).length > 0 ? headers : undefined;
}

/** Stream ids to write, or `undefined` when there are none. */
export function streamIdsToWrite(message: HubMessage): string[] | undefined {
  const ids = "streamIds" in message ? message.streamIds : undefined;
  return ids && ids.length > 0 ? ids : undefined;
}
