/**
 * The routing decisions of the Notifications service as one injected object, the way ASP.NET
 * Core SignalR lets a host swap its `HubLifetimeManager`: which groups a connection joins,
 * where an envelope goes (hub, targets, client method) and what argument each hub protocol
 * carries. The service never calls `protocol/bitwarden` routing directly; it asks its rules.
 *
 * Production code uses {@linkcode defaultDeliveryRules}. The test tree builds deliberately
 * broken targets by spreading it and replacing one member, e.g.
 * `{ ...defaultDeliveryRules, routeEnvelope: (e) => wrong(defaultDeliveryRules.routeEnvelope(e)) }`.
 * The dispatcher consults the rules once per envelope (and once per hub protocol for the
 * argument), never per recipient.
 *
 * @module
 */

import {
  type ConnectionGroups,
  type Envelope,
  groupsForConnection,
  type HubClaims,
  type Route,
  routeEnvelope,
  toHubJsonArgument,
  toHubMessagePackArgument,
} from "../../protocol/bitwarden/mod.ts";

/** The routing decisions a Notifications service delegates. */
export interface DeliveryRules {
  /**
   * Identity and groups of a `/hub` connection, from its token's claims.
   *
   * @param claims The verified claims.
   * @param installationId The service's installation id (null: no `Installation_` groups).
   * @returns User, device, client type and groups.
   */
  readonly groupsForConnection: (
    claims: HubClaims,
    installationId: string | null,
  ) => ConnectionGroups;
  /**
   * The group an `/anonymous-hub` connection joins for its `Token` query value.
   *
   * @param token The `Token` value (null when absent).
   * @returns The group, or null to join none.
   */
  readonly anonymousGroup: (token: string | null) => string | null;
  /**
   * Where an envelope goes: the hub, the targets (users and groups; empty: nobody) and the
   * client method invoked.
   *
   * @param envelope The envelope.
   * @returns The route.
   */
  readonly routeEnvelope: (envelope: Envelope) => Route;
  /**
   * The invocation argument for JSON hub protocol connections.
   *
   * @param envelope The envelope.
   * @returns The argument.
   */
  readonly jsonArgument: (envelope: Envelope) => unknown;
  /**
   * The invocation argument for MessagePack hub protocol connections.
   *
   * @param envelope The envelope.
   * @returns The argument.
   */
  readonly messagePackArgument: (envelope: Envelope) => unknown;
}

/**
 * Joins the group named exactly by the `Token` value, as Bitwarden's `AnonymousNotificationsHub`
 * does (`Groups.AddToGroupAsync(Context.ConnectionId, token)`); a blank or absent value joins none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { anonymousGroupForToken } from "./delivery_rules.ts";
 * assert.equal(anonymousGroupForToken("abc"), "abc");
 * assert.equal(anonymousGroupForToken(" "), null);
 * ```
 * @param token The `Token` query value.
 * @returns The group, or null.
 */
export function anonymousGroupForToken(token: string | null): string | null {
  return token !== null && token.trim() !== "" ? token : null;
}

/**
 * Bitwarden's rules, from `protocol/bitwarden`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultDeliveryRules } from "./delivery_rules.ts";
 * const route = defaultDeliveryRules.routeEnvelope({
 *   type: 11,
 *   payload: { UserId: "6f7d4f2e-7e4c-4a8e-9a53-1f8d2d6e2a10", Date: "2026-01-01T00:00:00Z" },
 *   contextId: null,
 * });
 * assert.equal(route.method, "ReceiveMessage");
 * assert.deepEqual(route.targets, [{ kind: "user", userId: "6f7d4f2e-7e4c-4a8e-9a53-1f8d2d6e2a10" }]);
 * ```
 */
export const defaultDeliveryRules: DeliveryRules = Object.freeze({
  groupsForConnection,
  anonymousGroup: anonymousGroupForToken,
  routeEnvelope,
  jsonArgument: toHubJsonArgument,
  messagePackArgument: toHubMessagePackArgument,
});
