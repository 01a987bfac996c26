/**
 * SignalR group names of the main hub (`NotificationsHub.GetUserGroup`,
 * `GetOrganizationGroup`, `GetInstallationGroup`). Ids are written as given: pass the
 * `Guid.ToString()` form (lowercase `D`), as the real server does. Client types are written
 * as the enum NAME, as C# string interpolation of an enum does (an undefined value prints as
 * its number).
 *
 * @module
 */

import { ClientType } from "./client_type.ts";
import { CLIENT_TYPE_NAMES } from "./payloads.ts";

/**
 * The name .NET prints for a `ClientType` value.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { clientTypeName } from "./groups.ts";
 * strictEqual(clientTypeName(2), "Browser");
 * strictEqual(clientTypeName(9), "9");
 * ```
 * @param clientType Numeric client type.
 * @returns The enum name, or the number for an undefined value.
 */
export function clientTypeName(clientType: ClientType | number): string {
  return CLIENT_TYPE_NAMES[clientType] ?? String(clientType);
}

function isAll(clientType: ClientType | number | null | undefined): boolean {
  return clientType === undefined || clientType === null || clientType === ClientType.All;
}

/**
 * `UserClientType_{userId}_{clientType}`: a user's connections of one client type.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { userClientTypeGroup } from "./groups.ts";
 * strictEqual(userClientTypeGroup("d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c", 4), "UserClientType_d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c_Mobile");
 * ```
 * @param userId The user GUID.
 * @param clientType The client type (the real server never builds this group for All).
 * @returns The group name.
 */
export function userClientTypeGroup(userId: string, clientType: ClientType | number): string {
  return `UserClientType_${userId}_${clientTypeName(clientType)}`;
}

/**
 * `Organization_{orgId}`, or `OrganizationClientType_{orgId}_{clientType}` for a client type
 * other than All.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { organizationGroup } from "./groups.ts";
 * strictEqual(organizationGroup("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"), "Organization_aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
 * strictEqual(organizationGroup("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", 1), "OrganizationClientType_aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa_Web");
 * ```
 * @param organizationId The organization GUID.
 * @param clientType Client type; absent, null or All gives the plain group.
 * @returns The group name.
 */
export function organizationGroup(
  organizationId: string,
  clientType?: ClientType | number | null,
): string {
  return isAll(clientType)
    ? `Organization_${organizationId}`
    : `OrganizationClientType_${organizationId}_${clientTypeName(clientType!)}`;
}

/**
 * `Installation_{installationId}`, or `Installation_ClientType_{installationId}_{clientType}`
 * for a client type other than All.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { installationGroup } from "./groups.ts";
 * strictEqual(installationGroup("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb", 3), "Installation_ClientType_bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb_Desktop");
 * ```
 * @param installationId The installation GUID.
 * @param clientType Client type; absent, null or All gives the plain group.
 * @returns The group name.
 */
export function installationGroup(
  installationId: string,
  clientType?: ClientType | number | null,
): string {
  return isAll(clientType)
    ? `Installation_${installationId}`
    : `Installation_ClientType_${installationId}_${clientTypeName(clientType!)}`;
}
