/**
 * What Bitwarden clients read from a push, as checks of a received hub argument against the
 * envelope a change must produce. These are the MUST half of a delivery check: a push that
 * passes them makes a real client do the right thing, whatever its exact form; the exact
 * current-Bitwarden form is the SHOULD half (`checkDelivery`).
 *
 * Client facts (bitwarden/clients):
 * - `libs/common/src/models/response/notification.response.ts` @
 *   270d2fc79735029728619c977733b57c4987a831: the payload class per type and the fields it reads
 *   (`UserNotification` reads `UserId` and `Date` for 4/5/6/10/17, `LogOutNotification` reads
 *   `UserId` and `Reason`); a string `Payload` is `JSON.parse`d; every field is looked up by
 *   `BaseResponse.getResponseProperty` (exact name, then first letter's case flipped, then
 *   lower case).
 * - `libs/common/src/platform/server-notifications/internal/default-server-notifications.service.ts`
 *   @ 04be14ea265f33dd1594feb42c17e9ebad5f5c86 (`processNotification`): a push whose `ContextId`
 *   equals the device's own app id is dropped, so does one whose `Payload.UserId` is set and is
 *   not the account's; 4/5/6/10/17 only trigger a full sync (their `Date` is never used); LogOut
 *   logs out unless `Reason` is KdfChange (0) with the NoLogoutOnKdfChange flag on.
 * - `libs/common/src/platform/sync/core-sync.service.ts` @
 *   064baf67b677b5106fdc7ea0b31a507fea31978b: cipher, folder and send upserts fetch only an
 *   unknown item or one whose local revision date is older than the push's `RevisionDate`, so
 *   the acting device re-applying its own change (a null `ContextId`) is harmless; a cipher
 *   create with both `OrganizationId` and `CollectionIds` fetches only when a listed collection
 *   is one of the user's; a send upsert is applied only when `Payload.UserId` is the account.
 *
 * @module
 */

import { decodeTimestampToTimeSpec } from "@msgpack/msgpack";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { Envelope, JsonValue } from "../../protocol/bitwarden/mod.ts";
import type { InvocationMessage } from "../../protocol/signalr/mod.ts";
import { expectedMethod } from "./oracle.ts";
import { show } from "./_format.ts";

/** Who received the push. */
export interface Receiver {
  /** The account's user id (the token's `sub`), as the client compares `Payload.UserId`. */
  readonly userId: string;
}

/** Dates further than this from now are not the date of a change just made. */
const DATE_TOLERANCE_MS = 10 * 60_000;

/** Types whose client handler is an idempotent sync: a null ContextId is harmless. */
const IDEMPOTENT_SYNC = new Set<number>([
  PushType.SyncCipherUpdate,
  PushType.SyncCipherCreate,
  PushType.SyncLoginDelete,
  PushType.SyncFolderDelete,
  PushType.SyncFolderCreate,
  PushType.SyncFolderUpdate,
  PushType.SyncCipherDelete,
  PushType.SyncSendCreate,
  PushType.SyncSendUpdate,
  PushType.SyncSendDelete,
]);

const CIPHERS = new Set<number>([0, 1, 2, 9]);
const FOLDERS = new Set<number>([3, 7, 8]);
const USER_SYNCS = new Set<number>([4, 5, 6, 10, 17]);
const SENDS = new Set<number>([12, 13, 14]);
/** Upserts: the client compares `RevisionDate` with its local copy. */
const UPSERTS = new Set<number>([0, 1, 7, 8, 12, 13]);

/**
 * A field as `BaseResponse.getResponseProperty` finds it: the exact name, then the name with its
 * first letter's case flipped, then the all-lower-case name.
 *
 * @param record The object (anything else has no fields).
 * @param name The PascalCase name the client asks for.
 * @returns The value, or undefined.
 *
 * @example
 * ```ts
 * import { clientField } from "./client_reads.ts";
 * console.assert(clientField({ userId: "u" }, "UserId") === "u");
 * console.assert(clientField({ USERID: "u" }, "UserId") === undefined);
 * ```
 */
export function clientField(record: unknown, name: string): unknown {
  if (record === null || typeof record !== "object" || Array.isArray(record)) return undefined;
  const object = record as Record<string, unknown>;
  if (object[name] !== undefined) return object[name];
  const first = name.charAt(0);
  const flipped = (first === first.toUpperCase() ? first.toLowerCase() : first.toUpperCase()) +
    name.slice(1);
  if (object[flipped] !== undefined) return object[flipped];
  return object[flipped.toLowerCase()];
}

/**
 * The instant a client reads from a date field (`new Date(value)` on what the hub protocol
 * decoded: a MessagePack timestamp, a `Date`, or ISO text), or undefined when it is not a date.
 *
 * @param value The received value.
 * @returns Milliseconds since the epoch, or undefined.
 */
export function clientDate(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === "string") {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const ext = value as { type?: unknown; data?: unknown } | null;
  if (ext && typeof ext === "object" && ext.type === -1 && ext.data instanceof Uint8Array) {
    try {
      const spec = decodeTimestampToTimeSpec(ext.data);
      return spec.sec * 1000 + Math.floor(spec.nsec / 1e6);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function isNil(value: unknown): boolean {
  return value === null || value === undefined;
}

function expectEqual(problems: string[], path: string, want: JsonValue | undefined, got: unknown) {
  const wanted = want ?? null;
  if (wanted === null ? !isNil(got) : got !== wanted) {
    problems.push(`${path}: clients need ${show(wanted)}, got ${show(got)}`);
  }
}

function checkUserId(
  problems: string[],
  got: unknown,
  receiver: Receiver,
  required: boolean,
): void {
  if (got === receiver.userId) return;
  if (isNil(got) && !required) return;
  problems.push(
    isNil(got)
      ? `Payload.UserId: clients apply this type only for ${receiver.userId}, got ${show(got)}`
      : `Payload.UserId: ${
        show(got)
      } is not the receiving account ${receiver.userId} (clients drop the push)`,
  );
}

function checkRevisionDate(problems: string[], got: unknown): void {
  const ms = clientDate(got);
  if (ms === undefined) {
    problems.push(`Payload.RevisionDate: ${show(got)} is not a date clients can read`);
  } else if (Math.abs(ms - Date.now()) > DATE_TOLERANCE_MS) {
    problems.push(
      `Payload.RevisionDate: ${new Date(ms).toISOString()} is not near the time of the change`,
    );
  }
}

function checkCipher(
  problems: string[],
  expected: Envelope,
  payload: unknown,
  receiver: Receiver,
): void {
  const want = expected.payload;
  expectEqual(problems, "Payload.Id", want.Id, clientField(payload, "Id"));
  checkUserId(problems, clientField(payload, "UserId"), receiver, false);
  expectEqual(
    problems,
    "Payload.OrganizationId",
    want.OrganizationId,
    clientField(payload, "OrganizationId"),
  );
  const collections = clientField(payload, "CollectionIds");
  if (!isNil(collections) && !Array.isArray(collections)) {
    problems.push(`Payload.CollectionIds: ${show(collections)} is not a list`);
  } else if (
    expected.type === PushType.SyncCipherCreate && !isNil(want.OrganizationId) &&
    Array.isArray(collections)
  ) {
    // With both set, a create is fetched only when a listed collection is the user's.
    const known = Array.isArray(want.CollectionIds) ? want.CollectionIds : [];
    if (
      collections.length === 0 || (known.length > 0 && !known.some((c) => collections.includes(c)))
    ) {
      problems.push(
        `Payload.CollectionIds: ${show(collections)} names none of the cipher's collections ${
          show(known)
        } (clients then skip the create)`,
      );
    }
  }
  if (UPSERTS.has(expected.type)) checkRevisionDate(problems, clientField(payload, "RevisionDate"));
}

function checkContext(problems: string[], expected: Envelope, got: unknown): void {
  const want = expected.contextId;
  if (got === want || (want === null && isNil(got))) return;
  if (isNil(got) && IDEMPOTENT_SYNC.has(expected.type)) return;
  problems.push(
    want === null
      ? `ContextId: clients need null, got ${show(got)} (that device would drop the push)`
      : `ContextId: clients need ${show(want)}${
        IDEMPOTENT_SYNC.has(expected.type) ? " or null" : ""
      }, got ${show(got)}`,
  );
}

/**
 * Checks what clients read from one received push, against the envelope the change must produce
 * (the main form: the receiver's user, the acting device, the item's ids). For types
 * {@linkcode modelsClientReads} does not cover (notification center, policies, auto-confirm, ...)
 * only the method, Type and ContextId are checked here: callers hold those to the exact form.
 *
 * @param expected The envelope the change must produce.
 * @param invocation What the connection received.
 * @param receiver The receiving account.
 * @returns Problems a real client would act on wrongly; empty when clients are served.
 *
 * @example
 * ```ts
 * import { clientReadProblems } from "./client_reads.ts";
 * const userId = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
 * // Vaultwarden's form of SyncVault: {UserId, Date}; clients read only UserId.
 * const problems = clientReadProblems(
 *   { type: 5, payload: { UserId: userId, Reason: null }, contextId: null },
 *   {
 *     type: 1, headers: {}, target: "ReceiveMessage",
 *     arguments: [{ ContextId: null, Type: 5, Payload: { UserId: userId, Date: new Date() } }],
 *   },
 *   { userId },
 * );
 * console.assert(problems.length === 0);
 * ```
 */
export function clientReadProblems(
  expected: Envelope,
  invocation: InvocationMessage,
  receiver: Receiver,
): string[] {
  const problems: string[] = [];
  const method = expectedMethod(expected);
  if (invocation.target !== method) {
    problems.push(`method: clients listen for "${method}", got "${invocation.target}"`);
  }
  const argument = invocation.arguments[0];
  if (argument === null || typeof argument !== "object" || Array.isArray(argument)) {
    return [...problems, `argument: ${show(argument)} is not an object`];
  }
  const type = clientField(argument, "Type");
  if (type !== expected.type) {
    problems.push(`Type: clients need ${expected.type}, got ${show(type)}`);
  }
  checkContext(problems, expected, clientField(argument, "ContextId"));
  let payload = clientField(argument, "Payload");
  if (typeof payload === "string") {
    try {
      payload = JSON.parse(payload);
    } catch {
      // Clients keep the string; every field read below then finds nothing.
    }
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return [...problems, `Payload: ${show(payload)} is not an object`];
  }
  const want = expected.payload;
  const userId = clientField(payload, "UserId");
  if (CIPHERS.has(expected.type)) {
    checkCipher(problems, expected, payload, receiver);
  } else if (FOLDERS.has(expected.type)) {
    expectEqual(problems, "Payload.Id", want.Id, clientField(payload, "Id"));
    checkUserId(problems, userId, receiver, false);
    if (UPSERTS.has(expected.type)) {
      checkRevisionDate(problems, clientField(payload, "RevisionDate"));
    }
  } else if (USER_SYNCS.has(expected.type)) {
    checkUserId(problems, userId, receiver, false);
  } else if (expected.type === PushType.LogOut) {
    checkUserId(problems, userId, receiver, false);
    expectEqual(problems, "Payload.Reason", want.Reason, clientField(payload, "Reason"));
  } else if (SENDS.has(expected.type)) {
    expectEqual(problems, "Payload.Id", want.Id, clientField(payload, "Id"));
    checkUserId(problems, userId, receiver, expected.type !== PushType.SyncSendDelete);
    if (UPSERTS.has(expected.type)) {
      checkRevisionDate(problems, clientField(payload, "RevisionDate"));
    }
  } else if (
    expected.type === PushType.AuthRequest || expected.type === PushType.AuthRequestResponse
  ) {
    expectEqual(problems, "Payload.Id", want.Id, clientField(payload, "Id"));
    checkUserId(problems, userId, receiver, true);
  }
  return problems;
}

/**
 * Whether {@linkcode clientReadProblems} models what clients read of a push type; for the others
 * the exact form is the client-relied check too.
 *
 * @param type The push type.
 * @returns True for the types 0-17 (ciphers, folders, user syncs, LogOut, sends, auth requests).
 */
export function modelsClientReads(type: number): boolean {
  return CIPHERS.has(type) || FOLDERS.has(type) || USER_SYNCS.has(type) || SENDS.has(type) ||
    type === PushType.LogOut || type === PushType.AuthRequest ||
    type === PushType.AuthRequestResponse;
}

/** A received push on a named connection, in arrival order. */
export interface ReceivedPush {
  /** Connection name. */
  readonly endpoint: string;
  /** The invocation. */
  readonly invocation: InvocationMessage;
}

/**
 * Successive upserts of one item (cipher, folder, send) on one connection whose `RevisionDate`
 * does not increase, as clients compare it: in milliseconds, skipping the fetch when their copy
 * is as new (`core-sync.service.ts`, see the module notes). Deletes are not compared: clients
 * do not read their date.
 *
 * @param pushes Every push of a world, in arrival order per connection.
 * @returns One problem per push that clients would skip.
 *
 * @example
 * ```ts
 * import { revisionOrderProblems } from "./client_reads.ts";
 * const push = (date: string) => ({
 *   endpoint: "u0-d0",
 *   invocation: {
 *     type: 1, headers: {}, target: "ReceiveMessage",
 *     arguments: [{ Type: 8, Payload: { Id: "f", UserId: "u", RevisionDate: date } }],
 *   },
 * });
 * const problems = revisionOrderProblems([push("2026-01-01T00:00:01Z"), push("2026-01-01T00:00:01Z")]);
 * console.assert(problems.length === 1);
 * ```
 */
export function revisionOrderProblems(pushes: readonly ReceivedPush[]): string[] {
  const last = new Map<string, number>();
  const problems: string[] = [];
  for (const { endpoint, invocation } of pushes) {
    const argument = invocation.arguments[0];
    const type = clientField(argument, "Type");
    if (typeof type !== "number" || !UPSERTS.has(type)) continue;
    const payload = clientField(argument, "Payload");
    const id = clientField(payload, "Id");
    const ms = clientDate(clientField(payload, "RevisionDate"));
    if (typeof id !== "string" || ms === undefined) continue;
    // Ciphers, folders and sends have distinct ids; the family keeps them apart anyway.
    const family = CIPHERS.has(type) ? "cipher" : FOLDERS.has(type) ? "folder" : "send";
    const key = `${endpoint}|${family}|${id}`;
    const previous = last.get(key);
    if (previous !== undefined && ms <= previous) {
      problems.push(
        `${endpoint}: ${family} ${id} pushed again (Type ${type}) with RevisionDate ${
          new Date(ms).toISOString()
        }, not after the previous ${
          new Date(previous).toISOString()
        } (clients keep their copy and skip the change)`,
      );
    }
    last.set(key, Math.max(ms, previous ?? ms));
  }
  return problems;
}
