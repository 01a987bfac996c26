/**
 * The expected-delivery oracle: which hub connections must receive an envelope, computed by the
 * suite's own delivery model (`delivery_model.ts`, written from bitwarden/server's `HubHelpers`
 * and `NotificationsHub`, apart from the routing code the reference server delivers with) from
 * the connections' claims and the target's installation id.
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

import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { modelDelivery, type ModelEndpoint } from "./delivery_model.ts";

/** A hub connection as the oracle sees it. */
export type Endpoint = ModelEndpoint;

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
  return [...modelDelivery(envelope, endpoints, installationId).recipients];
}

/**
 * The hub method an envelope is invoked with.
 *
 * @param envelope The envelope.
 * @returns `ReceiveMessage` or `AuthRequestResponseRecieved`.
 */
export function expectedMethod(envelope: Envelope): string {
  return modelDelivery(envelope, [], null).rule?.method ?? "ReceiveMessage";
}
