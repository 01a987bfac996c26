/**
 * The soak benchmark's population and push schedule, as pure functions shared by the
 * orchestrator (`bench/soak.ts`) and its load processes (`bench/_soak_loader.ts`): who each
 * connection is, where push number `seq` goes, what each `/send` body is, and how many
 * deliveries each connection is owed after the first `sent` pushes. Both sides compute the same
 * answers from the same plan, so no list of pushes crosses a process boundary.
 *
 * Population: connection `c` belongs to user `floor(c / devicesPerUser)` (a user with several
 * devices) and is a member of organization `c % organizations`. Schedule: even pushes go to one
 * organization (a shared cipher changed: `SyncCipherUpdate` with `organizationId`), odd pushes to
 * one user (a personal cipher created: `SyncCipherCreate` with `userId`), each cycling through
 * its targets in order. Every push carries its number in the cipher id and its send time in
 * `revisionDate`.
 *
 * @module
 */

/** The population of one soak run. */
export interface SoakPlan {
  /** Hub connections in total. */
  readonly connections: number;
  /** Organizations; connection `c` is a member of `c % organizations`. */
  readonly organizations: number;
  /** Connections (devices) per user. */
  readonly devicesPerUser: number;
}

/** Where one push goes. */
export interface PushTarget {
  /** Organization- or user-targeted. */
  readonly kind: "organization" | "user";
  /** Index of the organization or user. */
  readonly index: number;
}

function guid(prefix: string, n: number): string {
  return `${prefix}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/**
 * The user id of user `index`.
 *
 * @param index User index.
 * @returns A GUID.
 */
export function soakUserId(index: number): string {
  return guid("b0000000", index);
}

/**
 * The organization id of organization `index`.
 *
 * @param index Organization index.
 * @returns A GUID.
 */
export function soakOrganizationId(index: number): string {
  return guid("0a000000", index);
}

/**
 * Number of users of the plan.
 *
 * @param plan The plan.
 * @returns `ceil(connections / devicesPerUser)`.
 */
export function soakUsers(plan: SoakPlan): number {
  return Math.ceil(plan.connections / plan.devicesPerUser);
}

/**
 * The target of push number `seq`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { pushTarget } from "./_soak_plan.ts";
 * const plan = { connections: 10, organizations: 3, devicesPerUser: 2 };
 * deepStrictEqual(pushTarget(0, plan), { kind: "organization", index: 0 });
 * deepStrictEqual(pushTarget(7, plan), { kind: "user", index: 3 });
 * deepStrictEqual(pushTarget(8, plan), { kind: "organization", index: 1 });
 * ```
 * @param seq Push number, from 0.
 * @param plan The plan.
 * @returns Organization or user index.
 */
export function pushTarget(seq: number, plan: SoakPlan): PushTarget {
  const k = Math.floor(seq / 2);
  return seq % 2 === 0
    ? { kind: "organization", index: k % plan.organizations }
    : { kind: "user", index: k % soakUsers(plan) };
}

/**
 * Whether connection `connection` is a recipient of push `seq`.
 *
 * @param seq Push number.
 * @param connection Connection index.
 * @param plan The plan.
 * @returns True when the push is meant for it.
 */
export function isRecipient(seq: number, connection: number, plan: SoakPlan): boolean {
  const target = pushTarget(seq, plan);
  return target.kind === "organization"
    ? connection % plan.organizations === target.index
    : Math.floor(connection / plan.devicesPerUser) === target.index;
}

/** How many of `k = 0 .. count-1` satisfy `k % modulus === residue`. */
function countResidue(count: number, modulus: number, residue: number): number {
  return residue < count ? Math.floor((count - 1 - residue) / modulus) + 1 : 0;
}

/**
 * Deliveries connection `connection` is owed once pushes `0 .. sent-1` went out.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { expectedDeliveries, isRecipient } from "./_soak_plan.ts";
 * const plan = { connections: 10, organizations: 3, devicesPerUser: 2 };
 * let counted = 0;
 * for (let seq = 0; seq < 50; seq++) if (isRecipient(seq, 4, plan)) counted++;
 * strictEqual(expectedDeliveries(4, 50, plan), counted);
 * ```
 * @param connection Connection index.
 * @param sent Pushes sent so far.
 * @param plan The plan.
 * @returns The count.
 */
export function expectedDeliveries(connection: number, sent: number, plan: SoakPlan): number {
  const organizationPushes = Math.ceil(sent / 2);
  const userPushes = Math.floor(sent / 2);
  return countResidue(organizationPushes, plan.organizations, connection % plan.organizations) +
    countResidue(userPushes, soakUsers(plan), Math.floor(connection / plan.devicesPerUser));
}

/**
 * The `POST /send` body of push `seq`: the cipher id carries `seq`, `revisionDate` the send time.
 *
 * @param seq Push number.
 * @param plan The plan.
 * @param now Send time in epoch milliseconds.
 * @returns The JSON body.
 */
export function pushBody(seq: number, plan: SoakPlan, now: number): string {
  const target = pushTarget(seq, plan);
  const organization = target.kind === "organization";
  return JSON.stringify({
    type: organization ? 0 : 1,
    payload: {
      id: guid("c0000000", seq),
      userId: organization ? null : soakUserId(target.index),
      organizationId: organization ? soakOrganizationId(target.index) : null,
      collectionIds: organization ? ["0e6f4b7a-93c1-4b5e-8d0f-6a1c2b3d4e5f"] : null,
      revisionDate: new Date(now).toISOString(),
    },
    contextId: "soak-api-device",
  });
}

/**
 * The push number carried by a received cipher id (see {@linkcode pushBody}).
 *
 * @param id The payload's `Id`.
 * @returns The number, or undefined when the id is not one of the soak's.
 */
export function seqOfCipherId(id: unknown): number | undefined {
  if (typeof id !== "string" || !/^c0000000-0000-4000-8000-[0-9a-f]{12}$/.test(id)) {
    return undefined;
  }
  return parseInt(id.slice(24), 16);
}
