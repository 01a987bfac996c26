/**
 * Counts of what a conformance run can make in a reference store, for the cleanup tests.
 *
 * @module
 */

import type { MemoryStore } from "../../server/kernel/mod.ts";

/** Rows of each kind a run could have made. */
export interface StoreCounts {
  readonly users: number;
  readonly organizations: number;
  readonly memberships: number;
  readonly collections: number;
  readonly ciphers: number;
  readonly folders: number;
  readonly sends: number;
}

/**
 * What the store holds that a run could have made: users, organizations and vault objects.
 *
 * @param store The reference store.
 * @returns The counts.
 */
export function storeCounts(store: MemoryStore): StoreCounts {
  return {
    users: store.users.size,
    organizations: store.organizations.size,
    memberships: store.memberships.size,
    collections: store.collections.size,
    ciphers: store.ciphers.size,
    folders: store.folders.size,
    sends: store.sends.size,
  };
}
