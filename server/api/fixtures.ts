/**
 * Loads the seed data (`fixtures/seed.json`) into a {@linkcode MemoryStore}, validating it
 * with errors that name the offending entry.
 *
 * @module
 */

import { hashSecret } from "../kernel/mod.ts";
import { isGuid, ModelState } from "../kernel/validation.ts";
import { MemberStatus, type MemoryStore, newId } from "../kernel/store.ts";

/** A fixture user as written in the seed file. */
export interface FixtureUser {
  /** Lowercase GUID. */
  readonly id: string;
  /** E-mail. */
  readonly email: string;
  /** Display name. */
  readonly name?: string;
  /** Plain master password (documentation and `server/watch.ts`). */
  readonly masterPassword?: string;
  /** The hash clients send. */
  readonly masterPasswordHash: string;
  /** PBKDF2 iterations of the client KDF. */
  readonly kdfIterations?: number;
  /** Premium. */
  readonly premium?: boolean;
  /** Wrapped user key. */
  readonly key?: string;
  /** Public key. */
  readonly publicKey?: string;
  /** Encrypted private key. */
  readonly privateKey?: string;
  /** Known devices. */
  readonly devices?: readonly { identifier: string; type: number; name: string }[];
}

/** The seed file. */
export interface Fixtures {
  /** Users. */
  readonly users: readonly FixtureUser[];
  /** Organizations with collections and members. */
  readonly organizations: readonly {
    readonly id: string;
    readonly name: string;
    readonly billingEmail: string;
    readonly collections?: readonly { id: string; name: string }[];
    readonly members: readonly {
      readonly id: string;
      readonly email: string;
      readonly type: number;
      readonly status: number;
      readonly permissions?: Record<string, boolean>;
    }[];
  }[];
}

function fail(where: string, message: string): never {
  throw new TypeError(`Invalid fixtures: ${where}: ${message}`);
}

/**
 * Reads and parses a seed file.
 *
 * @param path Path of the JSON file.
 * @returns The parsed fixtures (validated when loaded).
 * @throws {TypeError} When unreadable or not JSON.
 */
export async function readFixtures(path: string): Promise<Fixtures> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new TypeError(`Cannot read fixtures: ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as Fixtures;
  } catch (error) {
    throw new TypeError(`Invalid fixtures: ${path}: ${(error as Error).message}`);
  }
}

/**
 * Fills a store from fixtures. Collections are visible to every member of their organization.
 *
 * @param store The store to fill.
 * @param fixtures The seed data.
 * @param options Server-side secret iterations and the clock.
 */
export async function loadFixtures(
  store: MemoryStore,
  fixtures: Fixtures,
  options: { secretIterations?: number; now?: () => Date } = {},
): Promise<void> {
  const now = (options.now ?? (() => new Date()))();
  if (!Array.isArray(fixtures.users)) fail("users", "must be an array");
  for (const [i, u] of fixtures.users.entries()) {
    const where = `users[${i}]`;
    if (!isGuid(u.id)) fail(where, "id must be a GUID");
    if (typeof u.email !== "string" || !u.email.includes("@")) fail(where, "email is required");
    if (typeof u.masterPasswordHash !== "string" || u.masterPasswordHash === "") {
      fail(where, "masterPasswordHash is required");
    }
    const id = u.id.toLowerCase();
    store.users.set(id, {
      id,
      email: u.email.trim().toLowerCase(),
      name: u.name ?? null,
      emailVerified: true,
      premium: u.premium ?? false,
      securityStamp: newId(),
      masterPassword: await hashSecret(u.masterPasswordHash, {
        iterations: options.secretIterations,
      }),
      masterPasswordHint: null,
      kdf: { kdf: 0, iterations: u.kdfIterations ?? 600_000, memory: null, parallelism: null },
      salt: null,
      key: u.key ?? null,
      publicKey: u.publicKey ?? null,
      privateKey: u.privateKey ?? null,
      equivalentDomains: null,
      creationDate: now,
      revisionDate: now,
    });
    for (const d of u.devices ?? []) {
      if (typeof d.identifier !== "string" || typeof d.type !== "number") {
        fail(where, "each device needs identifier and type");
      }
      const deviceId = newId();
      store.devices.set(deviceId, {
        id: deviceId,
        userId: id,
        identifier: d.identifier,
        type: d.type,
        name: d.name ?? "device",
        creationDate: now,
      });
    }
  }
  for (const [i, o] of (fixtures.organizations ?? []).entries()) {
    const where = `organizations[${i}]`;
    if (!isGuid(o.id)) fail(where, "id must be a GUID");
    const orgId = o.id.toLowerCase();
    store.organizations.set(orgId, {
      id: orgId,
      name: o.name,
      billingEmail: o.billingEmail,
      enabled: true,
      usePolicies: true,
      planType: 20,
      limitCollectionCreation: false,
      limitCollectionDeletion: false,
      limitItemDeletion: false,
      allowAdminAccessToAllCollectionItems: true,
      publicKey: null,
      privateKey: null,
      creationDate: now,
      revisionDate: now,
    });
    const collectionIds: string[] = [];
    for (const c of o.collections ?? []) {
      if (!isGuid(c.id)) fail(where, "collection id must be a GUID");
      const cid = c.id.toLowerCase();
      store.collections.set(cid, { id: cid, organizationId: orgId, name: c.name });
      collectionIds.push(cid);
    }
    for (const m of o.members) {
      if (!isGuid(m.id)) fail(where, "member id must be a GUID");
      const user = store.userByEmail(m.email);
      if (!user) fail(where, `member ${m.email} is not a fixture user`);
      const state = new ModelState({ permissions: m.permissions ?? null });
      const permissions = state.permissions("permissions");
      if (!state.valid) fail(where, `member ${m.email}: permissions must be booleans`);
      store.memberships.set(m.id.toLowerCase(), {
        id: m.id.toLowerCase(),
        organizationId: orgId,
        userId: user.id,
        email: user.email,
        type: m.type,
        status: m.status ?? MemberStatus.Confirmed,
        key: "4.AAAA",
        permissions,
        collectionIds: [...collectionIds],
        inviteToken: null,
      });
    }
  }
}
