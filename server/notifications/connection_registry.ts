/**
 * Indexes of the live hub connections of one service instance: per hub, by SignalR user id and
 * by group name. Recipient lookup is a handful of map reads, never a scan of all connections.
 *
 * @module
 */

import type { HubName, RouteTarget } from "../../protocol/bitwarden/mod.ts";

/** What the registry needs to know about a connection; membership is fixed at registration. */
export interface RegistryEntry {
  /** Unique connection id. */
  readonly id: string;
  /** Hub the connection belongs to. */
  readonly hub: HubName;
  /** SignalR user id (raw `sub`), or null. */
  readonly userId: string | null;
  /** Groups joined at connect time. */
  readonly groups: readonly string[];
}

class HubIndex<C extends RegistryEntry> {
  readonly all = new Set<C>();
  readonly users = new Map<string, Set<C>>();
  readonly groups = new Map<string, Set<C>>();
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

const EMPTY: ReadonlySet<never> = new Set();

/**
 * Live connections indexed by hub, user and group.
 *
 * @example
 * ```ts
 * import { ConnectionRegistry } from "./connection_registry.ts";
 * const registry = new ConnectionRegistry();
 * const c = { id: "c1", hub: "main" as const, userId: "u1", groups: ["Organization_o1"] };
 * registry.add(c);
 * console.assert(registry.recipients("main", [{ kind: "user", userId: "u1" }]).size === 1);
 * ```
 */
export class ConnectionRegistry<C extends RegistryEntry = RegistryEntry> {
  #hubs = { main: new HubIndex<C>(), anonymous: new HubIndex<C>() };

  /**
   * Registers a connection under its user and groups.
   *
   * @param connection The connection (its `userId` and `groups` must not change afterwards).
   */
  add(connection: C): void {
    const index = this.#hubs[connection.hub];
    if (index.all.has(connection)) return;
    index.all.add(connection);
    if (connection.userId !== null) addTo(index.users, connection.userId, connection);
    for (const group of connection.groups) addTo(index.groups, group, connection);
  }

  /**
   * Removes a connection from every index; unknown connections are ignored.
   *
   * @param connection The connection.
   * @returns Whether it was registered.
   */
  remove(connection: C): boolean {
    const index = this.#hubs[connection.hub];
    if (!index.all.delete(connection)) return false;
    if (connection.userId !== null) removeFrom(index.users, connection.userId, connection);
    for (const group of connection.groups) removeFrom(index.groups, group, connection);
    return true;
  }

  /**
   * Connections of a user on a hub (ordinal, case-sensitive match of the raw `sub`).
   *
   * @param hub The hub.
   * @param userId The user id.
   * @returns A live read-only set (do not mutate the registry while iterating it).
   */
  byUser(hub: HubName, userId: string): ReadonlySet<C> {
    return this.#hubs[hub].users.get(userId) ?? EMPTY;
  }

  /**
   * Members of a group on a hub (ordinal match).
   *
   * @param hub The hub.
   * @param group The group name.
   * @returns A live read-only set.
   */
  byGroup(hub: HubName, group: string): ReadonlySet<C> {
    return this.#hubs[hub].groups.get(group) ?? EMPTY;
  }

  /**
   * Every connection of a hub.
   *
   * @param hub The hub.
   * @returns A live read-only set.
   */
  all(hub: HubName): ReadonlySet<C> {
    return this.#hubs[hub].all;
  }

  /**
   * Number of connections on a hub.
   *
   * @param hub The hub.
   * @returns The count.
   */
  count(hub: HubName): number {
    return this.#hubs[hub].all.size;
  }

  /**
   * Union of the connections matched by `targets`, each connection at most once.
   *
   * @param hub The hub.
   * @param targets User and group targets.
   * @returns The recipients: for a single target the registry's live set itself (most pushes
   *   have one target, and copying it cost more than writing to a small group). Removing
   *   connections while iterating it is safe (a removed one is not visited); do not add any.
   */
  recipients(hub: HubName, targets: readonly RouteTarget[]): ReadonlySet<C> {
    if (targets.length === 1) {
      const target = targets[0]!;
      return target.kind === "user"
        ? this.byUser(hub, target.userId)
        : this.byGroup(hub, target.group);
    }
    const out = new Set<C>();
    for (const target of targets) {
      const set = target.kind === "user"
        ? this.byUser(hub, target.userId)
        : this.byGroup(hub, target.group);
      for (const c of set) out.add(c);
    }
    return out;
  }
}
