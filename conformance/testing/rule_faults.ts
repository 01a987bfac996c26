/**
 * Building blocks for deliberately broken targets: each returns some members of the reference
 * service's {@linkcode DeliveryRules}, wrapping the default rule, to be spread over
 * `defaultDeliveryRules` (see {@linkcode withFaults}). Test tree only.
 *
 * @module
 */

import type { ConnectionGroups, Envelope, HubClaims, Route } from "../../protocol/bitwarden/mod.ts";
import { defaultDeliveryRules, type DeliveryRules } from "../../server/notifications/mod.ts";

/** Some members of the delivery rules, replacing the default ones. */
export type RuleFault = Partial<DeliveryRules>;

/** The group every `/hub` connection of an {@linkcode everyoneWhen} fault joins. */
const EVERYONE = "hubproof-fault:everyone";

/**
 * The default rules with faults spread over them (later faults win per member).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withFaults } from "./rule_faults.ts";
 * const rules = withFaults({ anonymousGroup: () => null });
 * assert.equal(rules.anonymousGroup("abc"), null);
 * ```
 * @param faults Rule replacements.
 * @returns Complete rules.
 */
export function withFaults(...faults: readonly (RuleFault | undefined)[]): DeliveryRules {
  return Object.assign({}, defaultDeliveryRules, ...faults);
}

/**
 * Changes the default route of every envelope.
 *
 * @param change Gets the default route and the envelope.
 * @returns The `routeEnvelope` fault.
 */
export function routeWith(change: (route: Route, envelope: Envelope) => Route): RuleFault {
  return { routeEnvelope: (e) => change(defaultDeliveryRules.routeEnvelope(e), e) };
}

/**
 * Changes the default groups of every `/hub` connection.
 *
 * @param change Gets the default groups and the claims.
 * @returns The `groupsForConnection` fault.
 */
export function groupsWith(
  change: (groups: ConnectionGroups, claims: HubClaims) => ConnectionGroups,
): RuleFault {
  return {
    groupsForConnection: (claims, installationId) =>
      change(defaultDeliveryRules.groupsForConnection(claims, installationId), claims),
  };
}

/**
 * Delivers an envelope to every `/hub` connection when `when` holds for its default route
 * (a fan-out bug): every connection joins one extra group, and such routes target it alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { everyoneWhen, withFaults } from "./rule_faults.ts";
 * const rules = withFaults(everyoneWhen((route) => route.targets.length === 0));
 * const groups = rules.groupsForConnection({ sub: "6f7d4f2e-7e4c-4a8e-9a53-1f8d2d6e2a10" }, null);
 * const route = rules.routeEnvelope({ type: 999, payload: {}, contextId: null });
 * assert.ok(route.targets.length === 1 && route.targets[0]!.kind === "group");
 * assert.ok(groups.groups.includes((route.targets[0] as { group: string }).group));
 * ```
 * @param when Decides on the default route.
 * @returns The `groupsForConnection` and `routeEnvelope` faults.
 */
export function everyoneWhen(when: (route: Route) => boolean): RuleFault {
  return {
    ...groupsWith((g) => ({ ...g, groups: [...g.groups, EVERYONE] })),
    ...routeWith((route) =>
      when(route) ? { ...route, hub: "main", targets: [{ kind: "group", group: EVERYONE }] } : route
    ),
  };
}

/**
 * Changes the default argument of both hub protocols the same way.
 *
 * @param change Gets the default argument (PascalCase for MessagePack, camelCase for JSON) and
 * the envelope.
 * @returns The `jsonArgument` and `messagePackArgument` faults.
 */
export function argumentsWith(
  change: (argument: unknown, envelope: Envelope) => unknown,
): RuleFault {
  return {
    jsonArgument: (e) => change(defaultDeliveryRules.jsonArgument(e), e),
    messagePackArgument: (e) => change(defaultDeliveryRules.messagePackArgument(e), e),
  };
}
