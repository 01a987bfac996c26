/**
 * The identity and groups of a main-hub connection, as `NotificationsHub.OnConnectedAsync`
 * computes them from the access token's claims (through `CurrentContext.SetContextAsync`).
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import {
  ClientType,
  clientTypeForDevice,
  IdentityClientType,
  parseDeviceTypeClaim,
  parseIdentityClientTypeClaim,
} from "./client_type.ts";
import { EMPTY_GUID, parseDotnetGuid } from "./guid.ts";
import { installationGroup, organizationGroup, userClientTypeGroup } from "./groups.ts";
import type { ConnectionGroups, HubClaims } from "./types.ts";
import { describeValue } from "./_json_read.ts";

/** The organization membership claims, in the order `CurrentContext` reads them. */
export const ORGANIZATION_CLAIMS: readonly string[] = Object.freeze([
  "orgowner",
  "orgadmin",
  "orguser",
  "orgcustom",
]);

function claimText(value: unknown, claim: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  // A JSON object or nested array becomes a claim whose value is its JSON text.
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (typeof text !== "string") throw new ProtocolError(`Unreadable claim: ${claim}`);
  return text;
}

/**
 * The values of a claim: a JWT claim may be a single value or an array (one .NET `Claim`
 * per element); null elements are skipped.
 */
function claimValues(claims: HubClaims, claim: string): string[] {
  if (!Object.hasOwn(claims, claim)) return [];
  const value = claims[claim];
  const items = Array.isArray(value) ? value : [value];
  return items.filter((item) => item !== null && item !== undefined)
    .map((item) => claimText(item, claim));
}

function firstClaim(claims: HubClaims, claim: string): string | null {
  return claimValues(claims, claim)[0] ?? null;
}

/**
 * Computes what the real hub derives at connect time:
 * - `userId`: the raw first `sub` value (SignalR's user identifier), or null;
 * - `deviceId`: the first `device` value, or null;
 * - `clientType`: from `devicetype` (name or number, via `DeviceTypes.ToClientType`), All when
 *   absent or unknown;
 * - `groups`, in the real order: `UserClientType_{u}_{ct}` when `sub` parses as a GUID (.NET
 *   `Guid.TryParse` formats; the group uses its lowercase form) and the client type is not
 *   All; `Installation_{i}` (+ `Installation_ClientType_{i}_{ct}`) when `installationId` is set
 *   and not the empty GUID; then `Organization_{o}` (+ `OrganizationClientType_{o}_{ct}`) for
 *   each value of `orgowner`, `orgadmin`, `orguser`, `orgcustom`. A name appears once (the real
 *   server adds duplicates to the same group, which is idempotent).
 *
 * A `type` claim of `Send` (name or number) short-circuits like `CurrentContext` does: no
 * device, client type All, no organizations.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { groupsForConnection } from "./connection_groups.ts";
 * deepStrictEqual(
 *   groupsForConnection({ sub: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c", devicetype: "ChromeBrowser", orguser: "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" }, null).groups,
 *   [
 *     "UserClientType_d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c_Web",
 *     "Organization_aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
 *     "OrganizationClientType_aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa_Web",
 *   ],
 * );
 * ```
 * @param claims The validated access token's claims (raw names; arrays for multi-valued claims).
 * @param installationId The Notifications service's own installation id (`GlobalSettings.Installation.Id`), or null.
 * @returns The connection's identity and groups.
 * @throws {ProtocolError} When an organization claim is not a GUID (the real hub fails the
 *   connection: `new Guid(value)` throws) or a claim value cannot be read as text.
 * @throws {TypeError} When `installationId` is not a GUID (a configuration error).
 */
export function groupsForConnection(
  claims: HubClaims,
  installationId: string | null,
): ConnectionGroups {
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new ProtocolError(`Invalid claims: expected an object, got ${describeValue(claims)}`);
  }
  let installation: string | null = null;
  if (installationId !== null) {
    installation = parseDotnetGuid(installationId) ?? null;
    if (installation === null) {
      throw new TypeError(`Invalid installation id: ${describeValue(installationId)}`);
    }
  }
  const userId = firstClaim(claims, "sub");
  const userGuid = userId === null ? undefined : parseDotnetGuid(userId);
  const isSend =
    parseIdentityClientTypeClaim(firstClaim(claims, "type")) === IdentityClientType.Send;
  const deviceId = isSend ? null : firstClaim(claims, "device");
  const clientType = isSend
    ? ClientType.All
    : clientTypeForDevice(parseDeviceTypeClaim(firstClaim(claims, "devicetype")));
  const groups: string[] = [];
  if (clientType !== ClientType.All && userGuid !== undefined) {
    groups.push(userClientTypeGroup(userGuid, clientType));
  }
  if (installation !== null && installation !== EMPTY_GUID) {
    groups.push(installationGroup(installation));
    if (clientType !== ClientType.All) groups.push(installationGroup(installation, clientType));
  }
  if (!isSend) {
    for (const claim of ORGANIZATION_CLAIMS) {
      for (const value of claimValues(claims, claim)) {
        const organizationId = parseDotnetGuid(value);
        if (organizationId === undefined) {
          throw new ProtocolError(
            `Invalid organization claim: ${claim} is not a GUID: ${describeValue(value)}`,
          );
        }
        groups.push(organizationGroup(organizationId));
        if (clientType !== ClientType.All) {
          groups.push(organizationGroup(organizationId, clientType));
        }
      }
    }
  }
  return { userId, deviceId, clientType, groups: [...new Set(groups)] };
}
