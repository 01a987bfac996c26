/**
 * The expected-delivery oracle: which hub connections must receive an envelope, computed with
 * the reference routing rules (`routeEnvelope` + `groupsForConnection`, research
 * bitwarden-server.md §4.3) from the connections' claims and the target's installation id.
 *
 * @module
 */

import type { Envelope, HubClaims } from "../../protocol/bitwarden/mod.ts";
import { groupsForConnection, routeEnvelope } from "../../protocol/bitwarden/mod.ts";

/** A hub connection as the oracle sees it. */
export type Endpoint =
  | {
    /** Unique connection name. */
    readonly name: string;
    /** Main hub. */
    readonly hub: "main";
    /** The claims of the connection's access token. */
    readonly claims: HubClaims;
  }
  | {
    /** Unique connection name. */
    readonly name: string;
    /** Anonymous hub. */
    readonly hub: "anonymous";
    /** The `Token` query value (an auth-request id). */
    readonly token: string;
  };

/**
 * Names of the endpoints that must receive `envelope`, once each.
 *
 * @param envelope The injected envelope.
 * @param endpoints Every connection of the scenario.
 * @param installationId The target's installation id, or null when it has none / is unknown.
 * @returns Names of the recipients.
 *
 * @example
 * ```ts ignore
 * expectedRecipients(envelope, [{ name: "a", hub: "main", claims: { sub: "u" } }], null);
 * ```
 */
export function expectedRecipients(
  envelope: Envelope,
  endpoints: readonly Endpoint[],
  installationId: string | null,
): string[] {
  const route = routeEnvelope(envelope);
  const recipients: string[] = [];
  for (const endpoint of endpoints) {
    if (endpoint.hub !== route.hub) continue;
    let userId: string | null = null;
    let groups: readonly string[];
    if (endpoint.hub === "main") {
      const joined = groupsForConnection(endpoint.claims, installationId);
      userId = joined.userId;
      groups = joined.groups;
    } else {
      groups = endpoint.token.trim() === "" ? [] : [endpoint.token];
    }
    // A connection in several targeted groups still gets the message once (SignalR de-duplicates
    // per send call, and every route here is a single user or a single group).
    const hit = route.targets.some((target) =>
      target.kind === "user"
        ? userId !== null && target.userId === userId
        : groups.includes(target.group)
    );
    if (hit) recipients.push(endpoint.name);
  }
  return recipients;
}

/**
 * The hub method a routed envelope is invoked with.
 *
 * @param envelope The envelope.
 * @returns `ReceiveMessage` or `AuthRequestResponseRecieved`.
 */
export function expectedMethod(envelope: Envelope): string {
  return routeEnvelope(envelope).method;
}
