/**
 * Compares what a connection received with what it should have received: the exact hub argument
 * per protocol (keys and casing, value types, timestamps, ContextId), and a casing-blind identity
 * key used to match deliveries to injected envelopes.
 *
 * @module
 */

import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { toHubJsonArgument, toHubMessagePackArgument } from "../../protocol/bitwarden/mod.ts";
import type { InvocationMessage } from "../../protocol/signalr/mod.ts";
import { expectedMethod } from "./oracle.ts";
import { show } from "./_format.ts";
import type { HubProtocolName } from "./hub_client.ts";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?$/;

function field(record: unknown, name: string): unknown {
  if (record === null || typeof record !== "object") return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function collectGuids(value: unknown, into: string[]): void {
  if (typeof value === "string" && GUID.test(value)) into.push(value.toLowerCase());
  else if (Array.isArray(value)) { for (const inner of value) collectGuids(inner, into); }
  else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    for (const inner of Object.values(value)) collectGuids(inner, into);
  }
}

/** Cipher pushes: keyed by the item and its organization only (see {@linkcode pushKey}). */
const CIPHER_TYPES = new Set<unknown>([0, 1, 2, 9]);

/**
 * A key identifying a push regardless of casing and ContextId: its type and the GUIDs of its
 * payload as the hub re-sends it. Cases give every injected envelope fresh GUIDs, so keys are unique per case.
 * A cipher push is keyed by its `Id` and `OrganizationId` only: an organization cipher reaches a
 * member with `UserId` null (group form), the member's id (Bitwarden's per-user fan-out) or null
 * with the `CollectionIds` (Vaultwarden), and all are the same push.
 *
 * @param type Push type.
 * @param payload Payload (any casing).
 * @returns The key.
 *
 * @example
 * ```ts
 * import { pushKey } from "./compare.ts";
 * const Id = "e1a7a1c4-0000-4000-8000-000000000001";
 * const OrganizationId = "a1a1a1a1-0000-4000-8000-00000000000a";
 * const group = pushKey(1, { Id, UserId: null, OrganizationId });
 * const fanOut = pushKey(1, { Id, UserId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c", OrganizationId, CollectionIds: [] });
 * console.assert(group === fanOut);
 * ```
 */
export function pushKey(type: unknown, payload: unknown): string {
  const guids: string[] = [];
  if (CIPHER_TYPES.has(type)) {
    collectGuids([field(payload, "Id"), field(payload, "OrganizationId")], guids);
  } else {
    collectGuids(payload, guids);
  }
  return `${type}:${guids.sort().join(",")}`;
}

/**
 * The identity key of an injected envelope.
 *
 * @param envelope The envelope.
 * @returns Its key.
 */
export function envelopeKey(envelope: Envelope): string {
  // Keyed on what the hub re-sends: the real server drops fields its payload model lacks.
  const projected = toHubMessagePackArgument(envelope);
  return pushKey(envelope.type, field(projected, "Payload") ?? envelope.payload);
}

/**
 * The identity key of a received invocation (its first argument), or undefined when it does not
 * look like a push envelope at all.
 *
 * @param invocation The invocation.
 * @returns The key.
 */
export function invocationKey(invocation: InvocationMessage): string | undefined {
  const argument = invocation.arguments[0];
  const type = field(argument, "Type");
  if (type === undefined) return undefined;
  return pushKey(type, field(argument, "Payload"));
}

/** Normalises dates so equal instants compare equal whatever their encoding width. */
function normalise(value: unknown, path: string, loose: ReadonlySet<string>): unknown {
  if (loose.has(path.toLowerCase())) {
    const ts = timestampOf(value);
    return ts === undefined ? { $notADate: show(value) } : { $anyDate: true };
  }
  const ts = timestampOf(value);
  if (ts !== undefined) return { $ts: ts };
  if (Array.isArray(value)) return value.map((v, i) => normalise(v, `${path}[${i}]`, loose));
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = normalise(inner, path ? `${path}.${key}` : key, loose);
    }
    return out;
  }
  return value;
}

/** Seconds.nanoseconds of a timestamp extension, Date or ISO string; undefined otherwise. */
function timestampOf(value: unknown): string | undefined {
  if (value instanceof Date) {
    return `${Math.floor(value.getTime() / 1000)}.${
      String((value.getTime() % 1000) * 1e6).padStart(9, "0")
    }`;
  }
  if (typeof value === "string") {
    const match = ISO_DATE.exec(value);
    if (!match) return undefined;
    const ms = Date.parse(`${match[1]}${match[3] ?? "Z"}`);
    if (Number.isNaN(ms)) return undefined;
    return `${ms / 1000}.${(match[2] ?? "").padEnd(9, "0")}`;
  }
  if (value !== null && typeof value === "object") {
    const ext = value as { type?: unknown; data?: unknown };
    if (ext.type === -1 && ext.data instanceof Uint8Array) return decodeTimestamp(ext.data);
  }
  return undefined;
}

function decodeTimestamp(data: Uint8Array): string | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length === 4) return `${view.getUint32(0)}.000000000`;
  if (data.length === 8) {
    const high = view.getUint32(0);
    const nanos = high >>> 2;
    const seconds = (high & 0x3) * 2 ** 32 + view.getUint32(4);
    return `${seconds}.${String(nanos).padStart(9, "0")}`;
  }
  if (data.length === 12) {
    const nanos = view.getUint32(0);
    const seconds = view.getBigInt64(4);
    return `${seconds}.${String(nanos).padStart(9, "0")}`;
  }
  return undefined;
}

function isTimestampExt(value: unknown): boolean {
  return value !== null && typeof value === "object" && (value as { type?: unknown }).type === -1 &&
    (value as { data?: unknown }).data instanceof Uint8Array;
}

function diff(expected: unknown, actual: unknown, path: string, out: string[]): void {
  if (out.length >= 8) return;
  const label = path || "argument";
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
      out.push(`${label}: expected ${show(expected, 200)}, got ${show(actual, 200)}`);
      return;
    }
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!(key in a)) {
        const other = Object.keys(a).find((k) => k.toLowerCase() === key.toLowerCase());
        out.push(
          `${path ? `${path}.` : ""}${key}: missing${
            other ? ` (found "${other}": wrong casing)` : ""
          }`,
        );
      } else diff(e[key], a[key], path ? `${path}.${key}` : key, out);
    }
    for (const key of Object.keys(a)) {
      if (!(key in e)) out.push(`${path ? `${path}.` : ""}${key}: unexpected key`);
    }
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push(`${label}: expected ${show(expected, 200)}, got ${show(actual, 200)}`);
      return;
    }
    expected.forEach((item, i) => diff(item, actual[i], `${path}[${i}]`, out));
    return;
  }
  if (!Object.is(expected, actual)) {
    out.push(`${label}: expected ${show(expected, 200)}, got ${show(actual, 200)}`);
  }
}

/**
 * Checks one received invocation against the envelope it carries: method, a single argument,
 * and that argument equal to the reference projection for the protocol (MessagePack: PascalCase
 * map, nils present, timestamps as extension -1; JSON: camelCase, explicit nulls, ISO dates).
 *
 * @param envelope The injected envelope.
 * @param invocation What the connection received.
 * @param protocol The connection's hub protocol.
 * @param options `anyDate`: paths (`Payload.RevisionDate`, any casing) the server chose, where any
 * well-formed date of the protocol matches (sub-tick precision is not a difference).
 * @returns Human-readable differences; empty when it matches.
 */
export function checkDelivery(
  envelope: Envelope,
  invocation: InvocationMessage,
  protocol: HubProtocolName,
  options: { readonly anyDate?: readonly string[] } = {},
): string[] {
  const problems: string[] = [];
  const method = expectedMethod(envelope);
  if (invocation.target !== method) {
    problems.push(`method: expected "${method}", got "${invocation.target}"`);
  }
  if (invocation.arguments.length !== 1) {
    problems.push(`arguments: expected exactly 1, got ${invocation.arguments.length}`);
  }
  const expected = protocol === "json"
    ? toHubJsonArgument(envelope)
    : toHubMessagePackArgument(envelope);
  const actual = invocation.arguments[0];
  // Bitwarden re-creates a Policy on deserialisation, so its dates are "now", not the input.
  const loose = new Set<string>([
    ...(envelope.type === 25 ? ["payload.policy.creationdate", "payload.policy.revisiondate"] : []),
    ...(options.anyDate ?? []).map((path) => path.toLowerCase()),
  ]);
  if (protocol === "messagepack") {
    const nonExt: string[] = [];
    findDates(expected, actual, "", nonExt);
    for (const path of nonExt) {
      problems.push(`${path}: expected a MessagePack timestamp (extension -1)`);
    }
  }
  diff(normalise(expected, "", loose), normalise(actual, "", loose), "", problems);
  return problems;
}

/** Paths where the expected value is a timestamp extension but the actual one is not. */
function findDates(expected: unknown, actual: unknown, path: string, out: string[]): void {
  if (isTimestampExt(expected) || expected instanceof Date) {
    if (!isTimestampExt(actual) && actual !== undefined) out.push(path);
    return;
  }
  if (
    expected !== null && typeof expected === "object" && actual !== null &&
    typeof actual === "object"
  ) {
    for (const [key, inner] of Object.entries(expected)) {
      findDates(
        inner,
        (actual as Record<string, unknown>)[key],
        path ? `${path}.${key}` : key,
        out,
      );
    }
  }
}
