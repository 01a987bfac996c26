/**
 * The access-token claims real Bitwarden Identity issues for a user (research bitwarden-api.md
 * §2): identity claims, device claims and one `org*` claim per confirmed membership.
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import {
  CUSTOM_PERMISSIONS,
  MemberStatus,
  MemberType,
  type MemoryStore,
  type User,
} from "../kernel/store.ts";

/** Options of {@linkcode buildUserClaims}. */
export interface UserClaimsOptions {
  /** Token issuer. */
  readonly issuer: string;
  /** `client_id` (`web`, `desktop`, ...). */
  readonly clientId: string;
  /** Device identifier (`device` claim). */
  readonly deviceIdentifier: string;
  /** DeviceType number (written as the enum name). */
  readonly deviceType: number;
  /** Granted scopes. */
  readonly scopes: readonly string[];
  /** Issue time, epoch seconds. */
  readonly now: number;
  /** Lifetime in seconds. */
  readonly lifetime: number;
  /** `auth_time`, epoch seconds (default `now`). */
  readonly authTime?: number;
}

const ORG_CLAIM: Readonly<Record<number, string>> = {
  [MemberType.Owner]: "orgowner",
  [MemberType.Admin]: "orgadmin",
  [MemberType.User]: "orguser",
  [MemberType.Custom]: "orgcustom",
};

function addMulti(claims: Record<string, unknown>, name: string, value: string): void {
  const existing = claims[name];
  if (existing === undefined) claims[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else claims[name] = [existing, value];
}

/**
 * Builds the claims of a user access token. Multi-valued claims are a string for one value and
 * an array for several, as the real JWT handler writes them.
 *
 * @param store The store (for memberships).
 * @param user The user.
 * @param options Client, device, scopes and times.
 * @returns The JWT payload.
 */
export function buildUserClaims(
  store: MemoryStore,
  user: User,
  options: UserClaimsOptions,
): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    iss: options.issuer,
    nbf: options.now,
    iat: options.now,
    exp: options.now + options.lifetime,
    scope: [...options.scopes],
    amr: ["Application"],
    client_id: options.clientId,
    sub: user.id,
    auth_time: options.authTime ?? options.now,
    idp: "bitwarden",
    premium: user.premium,
    email: user.email,
    email_verified: user.emailVerified,
    sstamp: user.securityStamp,
  };
  if (user.name) claims.name = user.name;
  claims.device = options.deviceIdentifier;
  claims.devicetype = DeviceType[options.deviceType] ?? String(options.deviceType);
  for (const m of store.membershipsOf(user.id, MemberStatus.Confirmed)) {
    const claim = ORG_CLAIM[m.type];
    if (claim === undefined) continue;
    addMulti(claims, claim, m.organizationId);
    if (m.type === MemberType.Custom && m.permissions) {
      for (const permission of CUSTOM_PERMISSIONS) {
        if (m.permissions[permission] === true) {
          addMulti(claims, permission.toLowerCase(), m.organizationId);
        }
      }
    }
  }
  claims.jti = crypto.randomUUID().replaceAll("-", "").toUpperCase();
  return claims;
}
