/**
 * Display helpers for traces and failure messages (private to the driver).
 *
 * @module
 */

import { type HubMessage, MessageType } from "../../protocol/signalr/mod.ts";

/**
 * Converts a decoded value into something `JSON.stringify` shows faithfully: bytes become hex,
 * MessagePack extension values become `{ext, hex}`, dates become ISO strings tagged as dates.
 *
 * @param value Any decoded value.
 * @returns A JSON-serialisable copy.
 */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Uint8Array) return { $bytes: hex(value) };
  if (value instanceof ArrayBuffer) return { $bytes: hex(new Uint8Array(value)) };
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (
      typeof record.type === "number" && record.data instanceof Uint8Array &&
      Object.keys(record).length === 2
    ) {
      return { $ext: record.type, hex: hex(record.data) };
    }
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(record)) out[key] = jsonSafe(inner);
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/**
 * Formats a value compactly for expected/actual texts.
 *
 * @param value Any value.
 * @param max Longest output.
 * @returns The text.
 */
export function show(value: unknown, max = 600): string {
  const text = JSON.stringify(jsonSafe(value));
  return text === undefined ? String(value) : text.length > max ? `${text.slice(0, max)}…` : text;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One-line summary of a hub message for a trace arrow.
 *
 * @param message The message.
 * @returns The summary.
 */
export function describeMessage(message: HubMessage): string {
  switch (message.type) {
    case MessageType.Invocation: {
      const first = message.arguments[0] as Record<string, unknown> | undefined;
      const type = first && typeof first === "object" ? (first.Type ?? first.type) : undefined;
      return `${message.target}(${message.arguments.length} arg${
        message.arguments.length === 1 ? "" : "s"
      }${type !== undefined ? `, Type ${type}` : ""})`;
    }
    case MessageType.Ping:
      return "Ping";
    case MessageType.Close:
      return `Close${message.error ? ` error=${JSON.stringify(message.error)}` : ""}${
        message.allowReconnect ? " allowReconnect" : ""
      }`;
    default:
      return `${MessageType[message.type] ?? "message"} (type ${message.type})`;
  }
}
