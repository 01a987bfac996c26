/**
 * A push engine for the reference API that delivers as Vaultwarden 1.37.2 does
 * (`dani-garcia/vaultwarden src/api/notifications.rs` @ 1.37.2, the `send_*` functions of
 * `WebSocketUsers`): straight to the sockets of each recipient user, never to an organization
 * group. It turns the API's Bitwarden-shaped push requests into Vaultwarden's messages:
 * - only the UpdateTypes Vaultwarden has (0-8, 10-16); organization status, collection settings,
 *   policies and the notification center (17-27) are never pushed;
 * - an organization cipher goes to every confirmed member with access to it, each as a user
 *   message (`Cipher::update_users_revision`), `UserId` null, `CollectionIds` on a create through
 *   `/ciphers/create` (`share_cipher_by_uuid`) or when the push lists them (a collection
 *   change, `post_collections_update`, src/api/core/ciphers.rs:842-849) and null otherwise;
 * - types 4/5/6/10 as `{UserId, Date}` with a null ContextId (`send_user_update`), LogOut as
 *   `{UserId, Date}` without `Reason` (`send_logout`), Sends with a null ContextId
 *   (`send_send_update`);
 * - an approved auth request both to the requester's anonymous sockets
 *   (`AnonymousWebSocketSubscriptions::send_auth_response`) and to the user's main-hub sockets.
 * Installation-targeted pushes go nowhere (Vaultwarden has no installation groups). Test tree only.
 *
 * @module
 */

import { MemberStatus, MemberType, type MemoryStore } from "../../server/kernel/mod.ts";
import { contextIdOf, type PushEngine, type PushNotification } from "../../server/push/mod.ts";
import { authResponseFrame, receiveMessageFrame, type WireValue } from "./_vaultwarden_wire.ts";

/** UpdateTypes Vaultwarden 1.37.2 defines (its enum has no 9 and nothing above 16). */
const VAULTWARDEN_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]);

const CIPHER_TYPES = new Set([0, 1, 2]);
const USER_UPDATE_TYPES = new Set([4, 5, 6, 10]);
const SEND_TYPES = new Set([12, 13, 14]);
const LOG_OUT = 11;
const SYNC_CIPHER_CREATE = 1;
const SYNC_LOGIN_DELETE = 2;
const AUTH_REQUEST_RESPONSE = 16;

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function date(value: unknown, fallback: Date): Date {
  return typeof value === "string" ? new Date(value) : fallback;
}

/** Where the engine's frames go (the hub's two send functions). */
export interface HubSink {
  /** Sends a frame to every main-hub socket of a user. */
  sendToUser(userId: string, frame: Uint8Array<ArrayBuffer>): void;
  /** Sends a frame to every anonymous-hub socket subscribed with a token. */
  sendToAnonymous(token: string, frame: Uint8Array<ArrayBuffer>): void;
}

/** Delivers the reference API's pushes the way Vaultwarden does. */
export class VaultwardenLikePushEngine implements PushEngine {
  readonly #store: MemoryStore;
  readonly #hub: HubSink;
  readonly #now: () => Date;

  /**
   * Creates the engine.
   *
   * @param store The API's store (memberships and ciphers decide organization recipients).
   * @param hub The hub the messages go to.
   * @param now Clock for dates Vaultwarden takes at send time.
   */
  constructor(store: MemoryStore, hub: HubSink, now: () => Date = () => new Date()) {
    this.#store = store;
    this.#hub = hub;
    this.#now = now;
  }

  /**
   * Delivers one push request (synchronously; nothing is queued).
   *
   * @param n The push request.
   */
  push(n: PushNotification): Promise<void> {
    if (!VAULTWARDEN_TYPES.has(n.type) || n.target === "installation") return Promise.resolve();
    const p = n.payload;
    const now = this.#now();
    if (n.target === "organization") {
      if (!CIPHER_TYPES.has(n.type)) return Promise.resolve();
      const cipherId = text(p.Id) ?? "";
      const cipher = this.#store.ciphers.get(cipherId);
      // Collections given (a share into collections, a collection change): listed, dated now.
      const listed = n.type === SYNC_CIPHER_CREATE && cipher
        ? [...cipher.collectionIds]
        : Array.isArray(p.CollectionIds)
        ? p.CollectionIds.map(String)
        : undefined;
      const frame = receiveMessageFrame(n.type, {
        Id: cipherId,
        UserId: null,
        OrganizationId: n.targetId,
        CollectionIds: listed ?? null,
        RevisionDate: listed ? now : date(p.RevisionDate, now),
      }, contextIdOf(n));
      // A hard delete computes its recipients after the cipher's collection links are gone
      // (`cipher.delete()` before `update_users_revision`, src/api/core/ciphers.rs:1809-1816):
      // only owners and admins hear of it.
      const collections = n.type === SYNC_LOGIN_DELETE ? [] : cipher?.collectionIds;
      for (const userId of this.#membersWithAccess(n.targetId, collections)) {
        this.#hub.sendToUser(userId, frame);
      }
      return Promise.resolve();
    }
    const userId = n.targetId;
    let payload: Record<string, WireValue>;
    let contextId = contextIdOf(n);
    if (USER_UPDATE_TYPES.has(n.type) || n.type === LOG_OUT) {
      const user = this.#store.users.get(userId);
      payload = { UserId: userId, Date: date(p.Date, user?.revisionDate ?? now) };
      if (n.type !== LOG_OUT) contextId = null;
    } else if (CIPHER_TYPES.has(n.type)) {
      payload = {
        Id: text(p.Id) ?? "",
        UserId: text(p.UserId),
        OrganizationId: null,
        CollectionIds: null,
        RevisionDate: date(p.RevisionDate, now),
      };
    } else if (n.type === 15 || n.type === AUTH_REQUEST_RESPONSE) {
      payload = { Id: text(p.Id) ?? "", UserId: userId };
    } else {
      // Folders (3/7/8) and Sends (12-14): {Id, UserId, RevisionDate}.
      payload = {
        Id: text(p.Id) ?? "",
        UserId: text(p.UserId) ?? userId,
        RevisionDate: date(p.RevisionDate, now),
      };
      if (SEND_TYPES.has(n.type)) contextId = null;
    }
    if (n.type === AUTH_REQUEST_RESPONSE) {
      this.#hub.sendToAnonymous(String(payload.Id), authResponseFrame(String(payload.Id), userId));
    }
    this.#hub.sendToUser(userId, receiveMessageFrame(n.type, payload, contextId));
    return Promise.resolve();
  }

  /**
   * Confirmed members who see a cipher: owners and admins, and members given one of its
   * collections (Vaultwarden's `Membership::find_by_cipher_and_org`; groups are off by default).
   */
  #membersWithAccess(organizationId: string, collectionIds: readonly string[] | undefined) {
    const users = new Set<string>();
    for (const m of this.#store.membersOf(organizationId)) {
      if (m.status !== MemberStatus.Confirmed || m.userId === null) continue;
      const manager = m.type === MemberType.Owner || m.type === MemberType.Admin;
      const assigned = collectionIds === undefined ||
        m.collectionIds.some((id) => collectionIds.includes(id));
      if (manager || assigned) users.add(m.userId);
    }
    return users;
  }
}
