/**
 * Organization steps of a Bitwarden admin client beyond creating one (research bitwarden-api.md
 * §3.7-§3.9): find the organization's collection, invite a registered user with access to it,
 * confirm them, and tell a missing route (a deployment without the feature) from a failure.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { CaseUnsupported } from "../types.ts";
import { type Account, ApiError, type ApiSession } from "./api_client.ts";
import { membershipChanged } from "./identity_world.ts";

/**
 * Turns the answer of a deployment that lacks a route (404 or 405, or Bitwarden's
 * "Only allowed when not self hosted") into {@linkcode CaseUnsupported}; other errors pass.
 *
 * @param error What the call threw.
 * @param what The route, as the reason names it (`PUT /api/organizations/{id}/policies/{type}`).
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { ApiError } from "./api_client.ts";
 * import { unsupportedRoute } from "./org_client.ts";
 * const missing = unsupportedRoute(new ApiError(404, "x"), "PUT /x") as Error;
 * console.assert(missing.name === "CaseUnsupported");
 * const broken = unsupportedRoute(new ApiError(500, "x"), "PUT /x") as Error;
 * console.assert(broken.name === "ApiError");
 * ```
 */
export function unsupportedRoute(error: unknown, what: string): unknown {
  if (!(error instanceof ApiError)) return error;
  const selfHostedOnly = error.status === 400 && /not self.?hosted/i.test(error.message);
  if (error.status !== 404 && error.status !== 405 && !selfHostedOnly) return error;
  return new CaseUnsupported(
    `The target does not serve ${what}: ${error.message.split("\n")[0]}`,
  );
}

/**
 * The first collection of an organization its owner sees in `GET /api/sync` (organizations are
 * created with one, as clients create them).
 *
 * @param owner The owner's session.
 * @param organizationId The organization.
 * @returns The collection id (lowercase).
 */
export async function organizationCollection(
  owner: ApiSession,
  organizationId: string,
): Promise<string> {
  const sync = await owner.api("GET", "/sync?excludeDomains=true") as {
    collections?: { id?: string; organizationId?: string }[];
  };
  const collection = sync?.collections?.find((c) =>
    c.organizationId?.toLowerCase() === organizationId.toLowerCase()
  );
  if (!collection?.id) throw new Error(`The owner's sync lists no collection of ${organizationId}`);
  return collection.id.toLowerCase();
}

/** Options of {@linkcode inviteMember}. */
export interface InviteOptions {
  /** Collections the member gets read/write access to (default none). */
  readonly collectionIds?: readonly string[];
}

/**
 * Invites a registered user as a User member. The reference server and Vaultwarden (mail off)
 * make an existing user Accepted at once; a target that keeps them Invited until they accept
 * with the e-mailed token cannot be driven, so that is UNSUPPORTED.
 *
 * @param owner The owner's session.
 * @param organizationId The organization.
 * @param member The member's account.
 * @param options Collections to grant.
 * @returns The organization-user id of the Accepted member.
 * @throws {CaseUnsupported} When the target refuses the invite (4xx) or keeps the member Invited.
 */
export async function inviteMember(
  owner: ApiSession,
  organizationId: string,
  member: Account,
  options: InviteOptions = {},
): Promise<string> {
  const email = member.email.toLowerCase();
  try {
    await owner.api("POST", `/organizations/${organizationId}/users/invite`, {
      emails: [email],
      type: 2,
      collections: (options.collectionIds ?? []).map((id) => ({
        id,
        readOnly: false,
        hidePasswords: false,
        manage: false,
      })),
      groups: [],
      // Omitted rather than null: Vaultwarden 1.37.2 answers 422 to `permissions: null` (its
      // InviteData defaults only a missing map; src/api/core/organizations.rs).
      accessSecretsManager: false,
    });
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      throw new CaseUnsupported(
        `Needs organization members, but inviting one was refused: ${error.message.split("\n")[0]}`,
      );
    }
    throw error;
  }
  const list = await owner.api("GET", `/organizations/${organizationId}/users`) as {
    data?: { id?: string; email?: string; status?: number }[];
  };
  const row = list?.data?.find((m) => m.email?.toLowerCase() === email);
  if (!row?.id) throw new Error(`The member list of ${organizationId} does not show ${email}`);
  membershipChanged(owner, email);
  if (row.status !== 1) {
    throw new CaseUnsupported(
      `Needs organization members, but the invited user has status ${row.status} instead of Accepted (1): the target waits for the e-mailed invite token`,
    );
  }
  return row.id.toLowerCase();
}

/**
 * Confirms an Accepted member (`POST …/users/{id}/confirm` with an RSA-wrapped organization key,
 * EncString type 4, as clients send it).
 *
 * @param owner The owner's session.
 * @param organizationId The organization.
 * @param organizationUserId The member's organization-user id.
 */
export async function confirmMember(
  owner: ApiSession,
  organizationId: string,
  organizationUserId: string,
): Promise<void> {
  const key = `4.${Buffer.from(crypto.getRandomValues(new Uint8Array(256))).toString("base64")}`;
  await owner.api("POST", `/organizations/${organizationId}/users/${organizationUserId}/confirm`, {
    key,
    defaultUserCollectionName: null,
  });
  membershipChanged(owner);
}
