import assert from "node:assert/strict";
import type { ConnectionGroups, HubClaims } from "../../protocol/bitwarden/mod.ts";
import { ProtocolError } from "../../protocol/mod.ts";
import { groupsForConnection } from "../../protocol/bitwarden/mod.ts";
import { cacheGroupsByClaims } from "./groups_cache.ts";

const USER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const ORG = "0a000000-0000-4000-8000-000000000001";

function countingRule() {
  const calls: HubClaims[] = [];
  const rule = (claims: HubClaims, installationId: string | null): ConnectionGroups => {
    calls.push(claims);
    return groupsForConnection(claims, installationId);
  };
  return { rule, calls };
}

Deno.test("the same claims object runs the rule once and shares its groups", () => {
  const { rule, calls } = countingRule();
  const groups = cacheGroupsByClaims(rule);
  const claims = { sub: USER, devicetype: "Android", orguser: ORG };
  const first = groups(claims, null);
  assert.equal(groups(claims, null), first);
  assert.equal(calls.length, 1);
  assert.deepEqual(first, groupsForConnection(claims, null));
});

Deno.test("equal but distinct claims objects, or another installation id, run the rule again", () => {
  const { rule, calls } = countingRule();
  const groups = cacheGroupsByClaims(rule);
  const claims = { sub: USER, devicetype: "Android", orguser: ORG };
  groups(claims, null);
  groups({ ...claims }, null);
  const installation = "11111111-1111-4111-8111-111111111111";
  const withInstallation = groups(claims, installation);
  assert.equal(calls.length, 3);
  assert.ok(withInstallation.groups.some((g) => g.startsWith("Installation_")));
});

Deno.test("refusals are not remembered and still throw the rule's error", () => {
  const { rule, calls } = countingRule();
  const groups = cacheGroupsByClaims(rule);
  const claims = { sub: USER, orguser: "not-a-guid" };
  assert.throws(() => groups(claims, null), ProtocolError);
  assert.throws(() => groups(claims, null), ProtocolError);
  assert.equal(calls.length, 2);
  assert.throws(() => groups(null as unknown as HubClaims, null), ProtocolError);
});
