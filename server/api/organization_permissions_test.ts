import assert from "node:assert/strict";
import { CUSTOM_PERMISSIONS, type CustomPermission, MemberType } from "../kernel/mod.ts";
import {
  grantRefusal,
  hasPermission,
  type MemberRole,
  removalRefusal,
} from "./organization_permissions.ts";

function permissions(...held: CustomPermission[]): Record<CustomPermission, boolean> {
  return Object.fromEntries(CUSTOM_PERMISSIONS.map((p) => [p, held.includes(p)])) as Record<
    CustomPermission,
    boolean
  >;
}

const OWNER: MemberRole = { type: MemberType.Owner, permissions: null };
const ADMIN: MemberRole = { type: MemberType.Admin, permissions: null };
const USER: MemberRole = { type: MemberType.User, permissions: null };
const MANAGER: MemberRole = { type: MemberType.Custom, permissions: permissions("manageUsers") };

Deno.test("hasPermission: owners and admins hold all, custom members what is set, users none", () => {
  for (const permission of CUSTOM_PERMISSIONS) {
    assert.equal(hasPermission(OWNER, permission), true, permission);
    assert.equal(hasPermission(ADMIN, permission), true, permission);
    assert.equal(hasPermission(USER, permission), false, permission);
    assert.equal(hasPermission(MANAGER, permission), permission === "manageUsers", permission);
  }
  assert.equal(hasPermission(undefined, "manageUsers"), false);
  // A user carrying permissions (stale data) still holds none: only Custom reads them.
  assert.equal(
    hasPermission(
      { type: MemberType.User, permissions: permissions("manageUsers") },
      "manageUsers",
    ),
    false,
  );
});

Deno.test("grantRefusal: who may give which type and permissions", () => {
  const cases: [MemberRole, number, Record<CustomPermission, boolean> | null, string | null][] = [
    [OWNER, MemberType.Owner, null, null],
    [OWNER, MemberType.Custom, permissions(...CUSTOM_PERMISSIONS), null],
    [ADMIN, MemberType.Owner, null, "Only an Owner can configure another Owner's account."],
    [ADMIN, MemberType.Admin, null, null],
    [ADMIN, MemberType.Custom, permissions("manageSso"), null],
    [MANAGER, MemberType.Owner, null, "Only an Owner can configure another Owner's account."],
    [MANAGER, MemberType.Admin, null, "Custom users can not manage Admins or Owners."],
    [MANAGER, MemberType.User, null, null],
    [MANAGER, MemberType.Custom, permissions("manageUsers"), null],
    [MANAGER, MemberType.Custom, null, null],
    [
      MANAGER,
      MemberType.Custom,
      permissions("manageUsers", "managePolicies"),
      "Custom users can only grant the same custom permissions that they have.",
    ],
  ];
  for (const [own, type, given, expected] of cases) {
    assert.equal(grantRefusal(own, type, given), expected, `${own.type} gives ${type}`);
  }
});

Deno.test("removalRefusal: admins, owners and the last confirmed owner", () => {
  const cases: [MemberRole, MemberRole, number, string | null][] = [
    [MANAGER, ADMIN, 1, "Custom users can not remove admins."],
    [MANAGER, USER, 1, null],
    [ADMIN, ADMIN, 1, null],
    [ADMIN, OWNER, 2, "Only owners can delete other owners."],
    [MANAGER, OWNER, 2, "Only owners can delete other owners."],
    [OWNER, OWNER, 2, null],
    [OWNER, OWNER, 1, "Organization must have at least one confirmed owner."],
    [OWNER, USER, 1, null],
  ];
  for (const [own, target, owners, expected] of cases) {
    assert.equal(
      removalRefusal(own, target, owners),
      expected,
      `${own.type} removes ${target.type}`,
    );
  }
});
