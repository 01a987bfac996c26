/**
 * `isolation/api-changes-equal-oracle` (`--inject api`): the isolation property over real API
 * changes. fast-check generates small worlds (users of the target with devices of several client
 * types, organizations created through the API with confirmed members) and sequences of changes
 * (folder, cipher and send create/update/delete, security stamp, organization cipher); every
 * device connects, and the set of (connection, message) deliveries must equal the oracle's:
 * `routeEnvelope` over the envelopes the producers table says each change pushes (research
 * bitwarden-server.md §2.4, bitwarden-api.md §3), with the acting device as ContextId.
 *
 * @module
 */

import fc from "fast-check";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseUnsupported } from "../types.ts";
import { checkWorlds, propertyTimeout } from "./_property.ts";
import { devicesWithTwins } from "./isolation.ts";
import { type ApiSession, ENC_STRING } from "../driver/api_client.ts";
import {
  createOrganization,
  type IdentityDevice,
  leaseAccounts,
  loginDevice,
  type PooledAccount,
} from "../driver/identity_world.ts";
import { adminSession } from "../driver/e2e_world.ts";
import { confirmMember, inviteMember, organizationCollection } from "../driver/org_client.ts";
import { clientReadProblems, revisionOrderProblems } from "../driver/client_reads.ts";
import { envelopeKey, invocationKey } from "../driver/compare.ts";
import {
  connectWorld,
  type EndpointSpec,
  type Observation,
  observeActions,
  SENTINEL,
  type WorldAction,
} from "../driver/world.ts";
import { HUB_HELPERS, NOTIFICATIONS_HUB, server, sources } from "./_sources.ts";

/** A change a device makes through the API. */
export type ChangeKind =
  | "folder-create"
  | "folder-update"
  | "folder-delete"
  | "cipher-create"
  | "cipher-update"
  | "cipher-delete"
  | "send-create"
  | "send-update"
  | "send-delete"
  | "security-stamp"
  | "org-cipher-create";

const KINDS: readonly ChangeKind[] = [
  "folder-create",
  "folder-update",
  "folder-delete",
  "cipher-create",
  "cipher-update",
  "cipher-delete",
  "send-create",
  "send-update",
  "send-delete",
  "security-stamp",
  "org-cipher-create",
];

const DEVICE_TYPES: readonly DeviceType[] = [
  DeviceType.ChromeBrowser,
  DeviceType.FirefoxExtension,
  DeviceType.WindowsDesktop,
  DeviceType.LinuxCLI,
  DeviceType.Android,
];

/** A generated API world. */
export interface ApiWorldShape {
  /** Users: device types and organization indices. */
  readonly users: readonly {
    readonly devices: readonly DeviceType[];
    readonly orgs: readonly number[];
  }[];
  /** Number of organizations. */
  readonly orgCount: number;
  /** Changes, in order: which user's which device does what (indices wrap). */
  readonly changes: readonly {
    readonly kind: ChangeKind;
    readonly user: number;
    readonly device: number;
    readonly org: number;
  }[];
}

/**
 * The API world generator.
 *
 * @returns The arbitrary.
 */
export function apiWorldArbitrary(): fc.Arbitrary<ApiWorldShape> {
  return fc.record({
    orgCount: fc.integer({ min: 1, max: 2 }),
    users: fc.array(
      fc.record({
        devices: devicesWithTwins(fc.constantFrom(...DEVICE_TYPES), 2),
        orgs: fc.uniqueArray(fc.integer({ min: 0, max: 1 }), { maxLength: 2 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    changes: fc.array(
      fc.record({
        kind: fc.constantFrom(...KINDS),
        user: fc.nat({ max: 5 }),
        device: fc.nat({ max: 3 }),
        org: fc.nat({ max: 3 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  });
}

/** Users of a generated world (at most), plus one sentinel account. */
const MAX_USERS = 3;

interface Pool {
  readonly accounts: readonly PooledAccount[];
  /** Owner sessions that create organizations, kept across worlds (logins are rate-limited). */
  readonly admins: Map<number, ApiSession>;
  organizationProblem?: string;
}

/** An organization of a world. */
interface WorldOrganization {
  readonly id: string;
  /** Its collection, which every member can access. */
  readonly collection: string;
  /** Owner (user index), or undefined when the world has no real organizations. */
  readonly owner: number | undefined;
  /** Member user indices (owner first). */
  readonly members: readonly number[];
}

interface Built {
  readonly specs: EndpointSpec[];
  /** Sessions per user, per device. */
  readonly devices: readonly (readonly IdentityDevice[])[];
  /** The world's organizations. */
  readonly orgs: readonly WorldOrganization[];
  readonly sentinel: IdentityDevice;
}

/**
 * Creates the world's organizations through the target: each is created by its first member,
 * the others are invited with access to its collection and confirmed, so every member is in the
 * audience of an organization cipher on Bitwarden (group or per-user fan-out) and Vaultwarden
 * (members with collection access) alike.
 */
async function organizationsWithAccess(
  ctx: CaseContext,
  pool: Pool,
  members: readonly (readonly number[])[],
): Promise<WorldOrganization[]> {
  const accounts = pool.accounts;
  const out: WorldOrganization[] = [];
  for (const list of members) {
    const [owner, ...others] = list;
    if (owner === undefined) {
      out.push({ id: crypto.randomUUID(), collection: crypto.randomUUID(), owner, members: [] });
      continue;
    }
    let admin = pool.admins.get(owner);
    if (!admin) {
      admin = await adminSession(ctx, accounts[owner]!);
      pool.admins.set(owner, admin);
    }
    const id = await createOrganization(admin);
    const collection = await organizationCollection(admin, id);
    for (const other of others) {
      const memberId = await inviteMember(admin, id, accounts[other]!.account, {
        collectionIds: [collection],
      });
      await confirmMember(admin, id, memberId);
    }
    out.push({ id, collection, owner, members: list });
  }
  return out;
}

async function build(ctx: CaseContext, world: ApiWorldShape, pool: Pool): Promise<Built> {
  const members = Array.from(
    { length: world.orgCount },
    (_, o) =>
      world.users.flatMap((u, i) => (u.orgs.some((x) => x % world.orgCount === o) ? [i] : [])),
  );
  let orgs: WorldOrganization[] | undefined;
  if (pool.organizationProblem === undefined) {
    try {
      orgs = await organizationsWithAccess(ctx, pool, members);
    } catch (error) {
      if (!(error instanceof CaseUnsupported)) throw error;
      pool.organizationProblem = error.message;
    }
  }
  orgs ??= members.map(() => ({
    id: crypto.randomUUID(),
    collection: crypto.randomUUID(),
    owner: undefined,
    members: [],
  }));
  const [sentinel, ...flat] = await Promise.all([
    loginDevice(ctx, pool.accounts[MAX_USERS]!, {
      deviceType: DeviceType.LinuxDesktop,
      name: "sentinel",
    }),
    ...world.users.flatMap((user, u) =>
      user.devices.map((deviceType, d) =>
        loginDevice(ctx, pool.accounts[u]!, { deviceType, name: `u${u}-d${d}` })
      )
    ),
  ]);
  let next = 0;
  const devices = world.users.map((user) => user.devices.map(() => flat[next++]!));
  const specs: EndpointSpec[] = devices.flatMap((list, u) =>
    list.map((device, d) => ({
      name: `u${u}-d${d}-${DeviceType[device.session.deviceType]}`,
      hub: "main" as const,
      identity: {
        userId: device.session.userId,
        deviceId: device.session.deviceId,
        deviceType: device.session.deviceType,
        // The oracle follows the token: a membership it does not claim is reached per member.
        organizations: orgs.filter((o) => o.owner !== undefined && o.members.includes(u)).map((
          o,
        ) => o.id),
      },
      token: device.session.accessToken,
    }))
  );
  return { specs, devices, orgs, sentinel: sentinel! };
}

function now(): string {
  return new Date().toISOString();
}

/** The changes of a world as actions that return the pushes the producers table names. */
function actionsFor(world: ApiWorldShape, built: Built, pool: Pool): WorldAction[] {
  const state = built.devices.map(() => ({
    folders: [] as string[],
    ciphers: [] as string[],
    sends: [] as string[],
  }));
  // A security stamp change ends the user's sessions (Vaultwarden deletes the devices), so the
  // user makes no further changes in this world.
  const stamped = new Set<number>();
  const actions: WorldAction[] = [];
  for (const change of world.changes) {
    let user = change.user % built.devices.length;
    let kind = change.kind;
    const org = built.orgs[change.org % built.orgs.length]!;
    if (kind === "org-cipher-create") {
      // Only the owner has the organization's collection; without organizations it is personal.
      if (org.owner === undefined) kind = "cipher-create";
      else user = org.owner;
    }
    const own = state[user]!;
    if (stamped.has(user)) continue;
    if (kind === "security-stamp") stamped.add(user);
    const list = built.devices[user]!;
    const device = list[change.device % list.length]!;
    const session = device.session;
    const context = session.deviceId;
    const userId = session.userId;
    const personal = (
      type: PushType,
      id: string,
      extra: Record<string, unknown> = {},
    ): Envelope => ({
      type,
      payload: { Id: id, UserId: userId, RevisionDate: now(), ...extra } as Envelope["payload"],
      contextId: context,
    });
    const cipherFields = (id: string, deleted: boolean) =>
      personal(
        deleted ? PushType.SyncLoginDelete : PushType.SyncCipherUpdate,
        id,
        { OrganizationId: null, CollectionIds: deleted ? null : [] },
      );
    const perform = async (): Promise<Envelope[]> => {
      const out: Envelope[] = [];
      const ensure = async (
        pool: string[],
        create: () => Promise<string>,
        type: PushType,
        extra: Record<string, unknown> = {},
      ) => {
        if (pool.length > 0) return pool[pool.length - 1]!;
        const id = await create();
        out.push(personal(type, id, extra));
        pool.push(id);
        return id;
      };
      switch (kind) {
        case "folder-create":
        case "folder-update":
        case "folder-delete": {
          if (kind === "folder-create") {
            const id = await session.createFolder();
            own.folders.push(id);
            out.push(personal(PushType.SyncFolderCreate, id));
            break;
          }
          const id = await ensure(
            own.folders,
            () => session.createFolder(),
            PushType.SyncFolderCreate,
          );
          if (kind === "folder-update") {
            await session.api("PUT", `/folders/${id}`, { name: ENC_STRING });
            out.push(personal(PushType.SyncFolderUpdate, id));
          } else {
            await session.api("DELETE", `/folders/${id}`);
            own.folders.pop();
            out.push(personal(PushType.SyncFolderDelete, id));
          }
          break;
        }
        case "cipher-create":
        case "cipher-update":
        case "cipher-delete": {
          const createCipher = async () => {
            const id = await session.createCipher();
            out.push({
              ...cipherFields(id, false),
              type: PushType.SyncCipherCreate,
            });
            return id;
          };
          if (kind === "cipher-create") {
            own.ciphers.push(await createCipher());
            break;
          }
          const id = own.ciphers.at(-1) ?? await createCipher();
          if (own.ciphers.length === 0) own.ciphers.push(id);
          if (kind === "cipher-update") {
            await session.api("PUT", `/ciphers/${id}`, {
              type: 2,
              name: ENC_STRING,
              secureNote: { type: 0 },
            });
            out.push(cipherFields(id, false));
          } else {
            await session.api("DELETE", `/ciphers/${id}`);
            own.ciphers.pop();
            out.push(cipherFields(id, true));
          }
          break;
        }
        case "send-create":
        case "send-update":
        case "send-delete": {
          if (kind === "send-create") {
            const id = await session.createSend();
            own.sends.push(id);
            out.push(personal(PushType.SyncSendCreate, id));
            break;
          }
          const id = await ensure(own.sends, () => session.createSend(), PushType.SyncSendCreate);
          if (kind === "send-update") {
            await session.api("PUT", `/sends/${id}`, session.sendBody());
            out.push(personal(PushType.SyncSendUpdate, id));
          } else {
            await session.api("DELETE", `/sends/${id}`);
            own.sends.pop();
            out.push(personal(PushType.SyncSendDelete, id));
          }
          break;
        }
        case "security-stamp":
          await session.api("POST", "/accounts/security-stamp", {
            masterPasswordHash: session.account.passwordHash,
          });
          // The user's other sessions end with it, the kept owner session too.
          pool.admins.delete(user);
          out.push({
            type: PushType.LogOut,
            payload: { UserId: userId, Reason: null },
            contextId: null,
          });
          break;
        case "org-cipher-create": {
          const answer = await session.api("POST", "/ciphers/create", {
            cipher: { type: 2, name: ENC_STRING, secureNote: { type: 0 }, organizationId: org.id },
            collectionIds: [org.collection],
          }) as { id?: string };
          if (!answer?.id) throw new Error("Organization cipher answer has no id");
          out.push({
            type: PushType.SyncCipherCreate,
            payload: {
              Id: answer.id.toLowerCase(),
              // Routed by the organization (its group, or per member when tokens carry no
              // organization claims); clients read the collection when one is listed.
              UserId: null,
              OrganizationId: org.id,
              CollectionIds: [org.collection],
              RevisionDate: now(),
            },
            contextId: context,
          });
          break;
        }
      }
      return out;
    };
    actions.push({ via: "api", perform });
  }
  return actions;
}

/**
 * What clients would read wrongly in the deliveries that match an expected push (ContextId,
 * UserId, ids, dates; see `clientReadProblems`), each against the closest envelope with its key.
 */
function clientProblems(observation: Observation, users: ReadonlyMap<string, string>): string[] {
  const byKey = new Map<string, Envelope[]>();
  for (const envelope of observation.expected.keys()) {
    const key = envelopeKey(envelope);
    byKey.set(key, [...(byKey.get(key) ?? []), envelope]);
  }
  const problems: string[] = [];
  for (const delivery of observation.deliveries) {
    const envelopes = byKey.get(delivery.key ?? "");
    const userId = users.get(delivery.endpoint);
    if (!envelopes || userId === undefined) continue;
    let best: string[] | undefined;
    for (const envelope of envelopes) {
      const found = clientReadProblems(envelope, delivery.invocation, { userId });
      if (best === undefined || found.length < best.length) best = found;
    }
    if (best && best.length > 0) {
      problems.push(
        `${delivery.endpoint}: ${invocationKey(delivery.invocation)}: ${best.join("; ")}`,
      );
    }
  }
  // Successive changes of one item must carry increasing revision dates (issue 9).
  return [...problems, ...revisionOrderProblems(observation.deliveries)];
}

async function runWorld(ctx: CaseContext, world: ApiWorldShape, pool: Pool): Promise<string[]> {
  const built = await build(ctx, world, pool);
  const connected = await connectWorld(ctx, built.specs, {
    protocol: "messagepack",
    sentinel: { userId: built.sentinel.session.userId, token: built.sentinel.session.accessToken },
  });
  try {
    const sentinel = built.sentinel.session;
    const observation = await observeActions(ctx, connected, actionsFor(world, built, pool), {
      barrier: {
        via: "api",
        perform: async () => [{
          type: PushType.SyncFolderCreate,
          payload: {
            Id: await sentinel.createFolder(),
            UserId: sentinel.userId,
            RevisionDate: now(),
          },
          contextId: sentinel.deviceId,
        }],
      },
      startBarrier: true,
    });
    const users = new Map<string, string>([
      ...built.specs.flatMap((spec) =>
        spec.hub === "main" ? [[spec.name, spec.identity.userId] as const] : []
      ),
      [SENTINEL, sentinel.userId],
    ]);
    return [...observation.problems, ...clientProblems(observation, users)];
  } finally {
    await connected.close();
  }
}

function describe(world: ApiWorldShape): string {
  const users = world.users.map((u, i) =>
    `u${i}[${u.devices.map((d) => DeviceType[d]).join(",")}]${
      u.orgs.length ? ` in ${u.orgs.map((o) => `o${o % world.orgCount}`).join(",")}` : ""
    }`
  );
  const changes = world.changes.map((c) =>
    `${c.kind}(u${c.user % world.users.length} d${c.device}${
      c.kind === "org-cipher-create" ? ` o${c.org % world.orgCount}` : ""
    })`
  );
  return `users ${users.join("; ")}; ${world.orgCount} org(s); changes ${changes.join(", ")}`;
}

/**
 * The API isolation property case.
 *
 * @returns The cases.
 */
export function isolationApiCases(): CaseDefinition[] {
  return [{
    id: "isolation/api-changes-equal-oracle",
    level: "MUST",
    requirement:
      "For generated worlds of the target's users, devices and organizations and sequences of real API changes, each resulting push MUST reach exactly the connections its route names, once, with the acting device as ContextId, and nobody else",
    source: sources(
      HUB_HELPERS,
      NOTIFICATIONS_HUB,
      server("src/Core/Vault/PushNotificationServiceVaultExtensions.cs"),
      server("src/Core/Vault/Services/Implementations/CipherSyncPushService.cs"),
      server("src/Core/Tools/PushNotificationServiceToolsExtensions.cs"),
      server("src/Core/Auth/PushNotificationServiceAuthExtensions.cs"),
    ),
    needs: ["inject:api", "identity"],
    // Logins, organizations, API calls and the grace wait of every world asked for.
    timeout: (run) => propertyTimeout(run, 3 * run.graceMs + 6000),
    async run(ctx) {
      const started = performance.now();
      const lease = await leaseAccounts(ctx, "isolation-api", MAX_USERS + 1);
      try {
        const pool: Pool = { accounts: lease.value, admins: new Map() };
        return await checkWorlds(ctx, started, {
          arbitrary: apiWorldArbitrary(),
          run: (world) => runWorld(ctx, world, pool),
          describe,
          requirement: "deliveries equal to the oracle's for every generated world of API changes",
          checked: "worlds of API changes",
          note: () =>
            pool.organizationProblem
              ? `without organizations: ${pool.organizationProblem}`
              : undefined,
        });
      } finally {
        lease.release();
      }
    },
  }];
}
