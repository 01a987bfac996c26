/**
 * Connection groups computed once per verified token instead of once per connection. The token
 * cache (`server/auth/token_cache.ts`) hands every connection that presents the same token the
 * same claims object, so a `WeakMap` keyed by that object finds the groups of a client's
 * reconnects and parallel connections without running the rule again, and those connections
 * share one groups array (the rule's result is read-only: the registry and the hub connection
 * only read it). Entries go when the claims object does.
 *
 * @module
 */

import type { ConnectionGroups, HubClaims } from "../../protocol/bitwarden/mod.ts";

/** The rule that turns claims into groups (`groupsForConnection` or a test override). */
export type GroupsRule = (claims: HubClaims, installationId: string | null) => ConnectionGroups;

/**
 * Wraps a groups rule so that it runs once per claims object and installation id.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { groupsForConnection } from "../../protocol/bitwarden/mod.ts";
 * import { cacheGroupsByClaims } from "./groups_cache.ts";
 * const groups = cacheGroupsByClaims(groupsForConnection);
 * const claims = { sub: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c", devicetype: "Android" };
 * strictEqual(groups(claims, null), groups(claims, null));
 * ```
 * @param rule The rule computing the groups; it must depend on nothing but its arguments.
 * @returns The same rule, remembered per claims object.
 */
export function cacheGroupsByClaims(rule: GroupsRule): GroupsRule {
  const known = new WeakMap<object, { installationId: string | null; groups: ConnectionGroups }>();
  return (claims, installationId) => {
    // Claims that are not an object go to the rule, which refuses them with its own error.
    if (typeof claims !== "object" || claims === null) return rule(claims, installationId);
    const hit = known.get(claims);
    if (hit !== undefined && hit.installationId === installationId) return hit.groups;
    const groups = rule(claims, installationId);
    known.set(claims, { installationId, groups });
    return groups;
  };
}
