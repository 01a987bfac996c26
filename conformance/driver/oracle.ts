/**
 * The expected-delivery oracle: which hub connections must receive an envelope, computed with
 * the reference routing rules (`routeEnvelope` + `groupsForConnection`, research
 * bitwarden-server.md §4.3) from the connections' claims and the target's installation id.
 *
 * It follows the tokens the target issued. A connection whose token gives it no group of an
 * organization its user is a member of cannot be reached through the organization's group: a
 * target that issues such tokens must push organization changes to each member as a user
 * message (Vaultwarden: no organization claims in its tokens, `src/auth.rs`, and
 * `send_cipher_update` sends to every member with access, `src/api/notifications.rs` @ 1.37.2
 * (46d71107f5094460dd5ecbe1dbac6e6c71e5189a)), and that member still receives it exactly once.
 *
 * @module
 */

import type { Envelope, HubClaims } from "../../protocol/bitwarden/mod.ts";
import {
  groupsForConnection,
  organizationGroup,
  routeEnvelope,
} from "../../protocol/bitwarden/mod.ts";

/** A hub connection as the oracle sees it. */
export type Endpoint =
  | {
    /** Unique connection name. */
    readonly name: string;
    /** Main hub. */
    readonly hub: "main";
    /** The claims of the connection's access token. */
    readonly claims: HubClaims;
    /**
     * Organizations the harness made the user a confirmed member of, with access to their
     * collections (identity-backed worlds); the token may or may not claim them.
     */
    readonly memberships?: readonly string[];
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
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { expectedRecipients } from "./oracle.ts";
 * const org = "a1a1a1a1-0000-4000-8000-00000000000a";
 * const envelope = {
 *   type: 1,
 *   payload: { Id: "e1a7a1c4-0000-4000-8000-000000000001", OrganizationId: org, RevisionDate: "2026-01-01T00:00:00Z" },
 *   contextId: null,
 * };
 * // No organization claim in the token, but a member: reached by a user message.
 * const member = { name: "m", hub: "main" as const, claims: { sub: "u" }, memberships: [org] };
 * const stranger = { name: "s", hub: "main" as const, claims: { sub: "v" } };
 * strictEqual(expectedRecipients(envelope, [member, stranger], null).join(), "m");
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
      // Memberships the token does not carry are reached by a user message per member.
      groups = [
        ...joined.groups,
        ...(endpoint.memberships ?? []).map((id) => organizationGroup(id.toLowerCase())).filter(
          (group) => !joined.groups.includes(group),
        ),
      ];
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
