/**
 * The users and organizations of the end-to-end producer cases, built through the target's own
 * identity and API and pooled per run (registration is slow on real servers): an owner whose
 * organization has a collection and a confirmed member with access to it, the owner of another
 * organization, and a stranger in none. Each case then logs in fresh devices, so tokens carry
 * the memberships as they are now.
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, CaseUnsupported, type ResolvedTarget } from "../types.ts";
import { ApiSession } from "./api_client.ts";
import {
  createOrganization,
  giveBackAccounts,
  type Lease,
  leaseAccounts,
  leaseFromPool,
  type PooledAccount,
  registerAccounts,
} from "./identity_world.ts";
import { confirmMember, inviteMember, organizationCollection } from "./org_client.ts";
import { usableProtocols } from "./protocol_support.ts";
import type { WatchedDevice } from "./push_watch.ts";

/** The accounts and organizations of an organization case. */
export interface OrganizationWorld {
  /** Owner of `organizationId`; acts in the cases. */
  readonly owner: PooledAccount;
  /** Confirmed User member of `organizationId` with access to `collectionId`. */
  readonly member: PooledAccount;
  /** Owner of `otherOrganizationId`, not a member of `organizationId`. */
  readonly other: PooledAccount;
  /** A user in no organization. */
  readonly stranger: PooledAccount;
  /** The organization. */
  readonly organizationId: string;
  /** Its collection. */
  readonly collectionId: string;
  /** The other organization. */
  readonly otherOrganizationId: string;
}

// Found once per run: a target that cannot build organizations cannot build them for any case.
const UNSUPPORTED = new WeakMap<ResolvedTarget, CaseUnsupported>();

/**
 * A web device of an account for setup calls: any one the run already logged in for it (setup
 * happens before the case's connections watch anything), else a new login.
 *
 * @param ctx The case context.
 * @param account The account.
 * @returns The session.
 */
export async function adminSession(ctx: CaseContext, account: PooledAccount): Promise<ApiSession> {
  return await ApiSession.login(ctx, account.account, {
    deviceType: DeviceType.ChromeBrowser,
    name: `${account.label}-admin`,
    shared: true,
  });
}

async function buildOrganizationWorld(ctx: CaseContext): Promise<OrganizationWorld> {
  const accounts = await registerAccounts(
    ctx,
    ["owner", "member", "other", "stranger"].map((role) =>
      `e2e-${role}-${crypto.randomUUID().slice(0, 4)}`
    ),
  );
  const [owner, member, other, stranger] = accounts as [
    PooledAccount,
    PooledAccount,
    PooledAccount,
    PooledAccount,
  ];
  let admins: ApiSession[];
  try {
    admins = await Promise.all([adminSession(ctx, owner), adminSession(ctx, other)]);
  } catch (error) {
    // No organization exists yet: the accounts are as good as new for the next world.
    giveBackAccounts(ctx, accounts);
    throw error;
  }
  const [ownerAdmin, otherAdmin] = admins as [ApiSession, ApiSession];
  const organizationId = await createOrganization(ownerAdmin);
  const collectionId = await organizationCollection(ownerAdmin, organizationId);
  const memberId = await inviteMember(ownerAdmin, organizationId, member.account, {
    collectionIds: [collectionId],
  });
  await confirmMember(ownerAdmin, organizationId, memberId);
  const otherOrganizationId = await createOrganization(otherAdmin);
  return {
    owner,
    member,
    other,
    stranger,
    organizationId,
    collectionId,
    otherOrganizationId,
  };
}

/**
 * Leases an organization world of the run (building one when none is free).
 *
 * @param ctx The case context.
 * @returns The lease; release it in `finally`.
 * @throws {CaseUnsupported} When the target cannot register users, create organizations (a
 * self-hosted Bitwarden answers "Only allowed when not self hosted") or confirm members.
 */
export async function leaseOrganizationWorld(
  ctx: CaseContext,
): Promise<Lease<OrganizationWorld>> {
  const known = UNSUPPORTED.get(ctx.target);
  if (known) throw known;
  try {
    return await leaseFromPool(ctx, "e2e-organization-world", () => buildOrganizationWorld(ctx));
  } catch (error) {
    if (error instanceof CaseUnsupported) UNSUPPORTED.set(ctx.target, error);
    throw error;
  }
}

/**
 * Leases a user and a stranger (no organizations needed).
 *
 * @param ctx The case context.
 * @returns The lease of `[user, stranger]`.
 */
export async function leasePersonalWorld(ctx: CaseContext): Promise<Lease<PooledAccount[]>> {
  return await leaseAccounts(ctx, "e2e-personal", 2);
}

/** One device to log in for a case. */
export interface DeviceSpec {
  /** Connection name. */
  readonly name: string;
  /** Its account. */
  readonly account: PooledAccount;
  /** Device type of the login. */
  readonly deviceType: DeviceType;
}

/**
 * Logs every device in (fresh device identifiers), giving the connections the run's hub
 * protocols the target speaks in turn, so a user with two devices is watched on both protocols
 * when the run exercises both and the target speaks both.
 *
 * @param ctx The case context.
 * @param specs The devices.
 * @returns The watched devices, in order.
 */
export async function loginDevices(
  ctx: CaseContext,
  specs: readonly DeviceSpec[],
): Promise<WatchedDevice[]> {
  const sessions = await Promise.all(
    specs.map((spec) =>
      ApiSession.login(ctx, spec.account.account, { deviceType: spec.deviceType, name: spec.name })
    ),
  );
  const protocols = sessions.length === 0
    ? []
    : await usableProtocols(ctx, () => Promise.resolve(sessions[0]!.accessToken));
  return specs.map((spec, i) => ({
    name: spec.name,
    session: sessions[i]!,
    protocol: protocols[i % protocols.length]!,
  }));
}
