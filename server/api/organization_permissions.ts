/**
 * Who may do what in an organization, as pure rules over memberships (the organization
 * routes apply them and turn a refusal into Bitwarden's answer). The texts are the real
 * server's, from bitwarden/server `src/Core/AdminConsole/OrganizationFeatures/OrganizationUsers`
 * (`UpdateOrganizationUserCommand`, `RemoveOrganizationUserCommand`) and
 * `OrganizationService.ValidateOrganizationUserUpdatePermissions`.
 *
 * @module
 */

import {
  CUSTOM_PERMISSIONS,
  type CustomPermission,
  type Membership,
  MemberType,
} from "../kernel/mod.ts";

/** The part of a membership the rules read. */
export type MemberRole = Pick<Membership, "type" | "permissions">;

/**
 * Whether a member holds a permission: owners and admins hold every one, a custom member the
 * ones set on it, a user none; no membership holds none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasPermission } from "./organization_permissions.ts";
 * assert.equal(hasPermission({ type: 1, permissions: null }, "manageUsers"), true);
 * assert.equal(hasPermission({ type: 2, permissions: null }, "manageUsers"), false);
 * assert.equal(hasPermission(undefined, "managePolicies"), false);
 * ```
 * @param member The acting member, if any.
 * @param permission The permission.
 * @returns Whether it is held.
 */
export function hasPermission(
  member: MemberRole | undefined,
  permission: CustomPermission,
): boolean {
  if (!member) return false;
  if (member.type === MemberType.Owner || member.type === MemberType.Admin) return true;
  return member.type === MemberType.Custom && member.permissions?.[permission] === true;
}

/**
 * Why a member (who already manages users) may not give another member a type and custom
 * permissions, or null when it may: only owners make owners, custom members make no admins,
 * and a custom member grants only custom permissions it holds itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grantRefusal } from "./organization_permissions.ts";
 * assert.equal(grantRefusal({ type: 0, permissions: null }, 0, null), null);
 * assert.equal(
 *   grantRefusal({ type: 1, permissions: null }, 0, null),
 *   "Only an Owner can configure another Owner's account.",
 * );
 * ```
 * @param own The acting member.
 * @param newType The member type to give.
 * @param permissions The custom permissions to give (null: none given).
 * @returns The refusal text, or null.
 */
export function grantRefusal(
  own: MemberRole,
  newType: number,
  permissions: Readonly<Record<CustomPermission, boolean>> | null,
): string | null {
  if (own.type === MemberType.Owner) return null;
  if (newType === MemberType.Owner) return "Only an Owner can configure another Owner's account.";
  if (own.type === MemberType.Admin) return null;
  if (newType === MemberType.Admin) return "Custom users can not manage Admins or Owners.";
  if (
    newType === MemberType.Custom && permissions !== null &&
    CUSTOM_PERMISSIONS.some((p) => permissions[p] && own.permissions?.[p] !== true)
  ) {
    return "Custom users can only grant the same custom permissions that they have.";
  }
  return null;
}

/**
 * Why a member (who already manages users) may not remove another, or null when it may:
 * custom members remove no admins, only owners remove owners, and the last confirmed owner
 * stays.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removalRefusal } from "./organization_permissions.ts";
 * const owner = { type: 0, permissions: null };
 * assert.equal(removalRefusal(owner, owner, 2), null);
 * assert.equal(removalRefusal(owner, owner, 1), "Organization must have at least one confirmed owner.");
 * ```
 * @param own The acting member.
 * @param target The member to remove.
 * @param confirmedOwners Confirmed owners of the organization, the target included.
 * @returns The refusal text, or null.
 */
export function removalRefusal(
  own: MemberRole,
  target: MemberRole,
  confirmedOwners: number,
): string | null {
  if (target.type === MemberType.Admin && own.type === MemberType.Custom) {
    return "Custom users can not remove admins.";
  }
  if (target.type === MemberType.Owner) {
    if (own.type !== MemberType.Owner) return "Only owners can delete other owners.";
    if (confirmedOwners <= 1) return "Organization must have at least one confirmed owner.";
  }
  return null;
}
