/**
 * Identities for cases: the acting authority of `--act-as-authority` (when present) and the
 * claims a Bitwarden access token carries for a device of a user.
 *
 * @module
 */

import type { ActingAuthority, TokenFault } from "../../testing/mod.ts";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, CaseUnsupported } from "../types.ts";

/** A case context that may carry the harness authority (`--act-as-authority`). */
export type ContextWithAuthority = CaseContext & { readonly authority?: ActingAuthority };

/**
 * Returns the harness authority of a case context.
 *
 * @param ctx The case context.
 * @returns The authority.
 * @throws {CaseUnsupported} When the run has no `--act-as-authority`.
 */
export function requireAuthority(ctx: CaseContext): ActingAuthority {
  const authority = (ctx as ContextWithAuthority).authority;
  if (!authority) {
    throw new CaseUnsupported("Needs tokens with arbitrary claims: run with --act-as-authority");
  }
  return authority;
}

/** A fresh lowercase GUID. */
export function newGuid(): string {
  return crypto.randomUUID();
}

/** What a device token says about its holder. */
export interface DeviceIdentity {
  /** User id (`sub`). */
  readonly userId: string;
  /** Device identifier (`device` claim, the client's appId). */
  readonly deviceId: string;
  /** Device type, or null for a token without `devicetype`. */
  readonly deviceType: DeviceType | null;
  /** Organizations the user is a confirmed member of. */
  readonly organizations: readonly string[];
  /**
   * The claim carrying the memberships (default `orguser`). Bitwarden writes one of four by
   * role; a hub must read all of them, so worlds vary it.
   */
  readonly organizationClaim?: OrganizationClaim;
}

/** The access-token claims that make organization memberships (research bitwarden-server.md §4.2). */
export type OrganizationClaim = "orgowner" | "orgadmin" | "orguser" | "orgcustom";

/** Every organization claim, in the order Bitwarden's CurrentContext reads them. */
export const ORGANIZATION_CLAIMS: readonly OrganizationClaim[] = [
  "orgowner",
  "orgadmin",
  "orguser",
  "orgcustom",
];

/**
 * Builds the claims of a Bitwarden password-grant access token for a device.
 *
 * @param identity Who and which device.
 * @returns The claims (the authority adds `iss`, `iat`, `nbf`, `exp`, `jti`).
 *
 * @example
 * ```ts
 * import { deviceClaims } from "./identity.ts";
 * const claims = deviceClaims({ userId: "u", deviceId: "d", deviceType: 9, organizations: ["o"] });
 * console.assert(claims.devicetype === "ChromeBrowser" && claims.orguser === "o");
 * ```
 */
export function deviceClaims(identity: DeviceIdentity): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    sub: identity.userId,
    client_id: "web",
    scope: ["api", "offline_access"],
    amr: ["Application"],
    idp: "bitwarden",
    premium: false,
    email: `${identity.userId}@conformance.invalid`,
    email_verified: true,
    sstamp: newGuid(),
    device: identity.deviceId,
  };
  if (identity.deviceType !== null) claims.devicetype = DeviceType[identity.deviceType];
  const claim = identity.organizationClaim ?? "orguser";
  if (identity.organizations.length === 1) claims[claim] = identity.organizations[0];
  else if (identity.organizations.length > 1) claims[claim] = [...identity.organizations];
  return claims;
}

/**
 * Mints an access token for a device through the harness authority.
 *
 * @param authority The authority.
 * @param identity Who and which device.
 * @param options Optional fault and claim overrides.
 * @returns The token.
 */
export async function mintDeviceToken(
  authority: ActingAuthority,
  identity: DeviceIdentity,
  options: { fault?: TokenFault; claims?: Record<string, unknown> } = {},
): Promise<string> {
  return await authority.mint({
    claims: { ...deviceClaims(identity), ...options.claims },
    ...(options.fault ? { fault: options.fault } : {}),
  });
}

/**
 * Mints an internal (`/send`) token through the harness authority, shaped like the one
 * `client_credentials` gives `internal.*` clients.
 *
 * @param authority The authority.
 * @returns The token.
 */
export async function mintInternalToken(authority: ActingAuthority): Promise<string> {
  return await authority.mint({
    claims: {
      client_id: "internal.conformance",
      client_sub: "conformance",
      sub: "conformance",
      scope: ["internal"],
    },
  });
}
