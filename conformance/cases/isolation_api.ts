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
import {
  type CaseContext,
  type CaseDefinition,
  CaseFailure,
  type CaseResult,
  CaseUnsupported,
} from "../types.ts";
import { type ApiSession, ENC_STRING } from "../driver/api_client.ts";
import {
  type IdentityDevice,
  leaseAccounts,
  loginDevice,
  type PooledAccount,
  setUpOrganizations,
} from "../driver/identity_world.ts";
import { envelopeKey, invocationKey } from "../driver/compare.ts";
import {
  connectWorld,
  type EndpointSpec,
  type Observation,
  observeActions,
  type WorldAction,
} from "../driver/world.ts";
import { show } from "../driver/_format.ts";

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
        devices: fc.array(fc.constantFrom(...DEVICE_TYPES), { minLength: 1, maxLength: 2 }),
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
  organizationProblem?: string;
}

interface Built {
  readonly specs: EndpointSpec[];
  /** Sessions per user, per device. */
  readonly devices: readonly (readonly IdentityDevice[])[];
  /** Organization ids, and their owners (user index), or undefined without organizations. */
  readonly orgs: readonly { readonly id: string; readonly owner: number | undefined }[];
  readonly sentinel: IdentityDevice;
}

async function build(ctx: CaseContext, world: ApiWorldShape, pool: Pool): Promise<Built> {
  const members = Array.from(
    { length: world.orgCount },
    (_, o) =>
      world.users.flatMap((u, i) => (u.orgs.some((x) => x % world.orgCount === o) ? [i] : [])),
  );
  let ids: string[] | undefined;
  if (pool.organizationProblem === undefined) {
    try {
      ids = await setUpOrganizations(ctx, pool.accounts, members);
    } catch (error) {
      if (!(error instanceof CaseUnsupported)) throw error;
      pool.organizationProblem = error.message;
    }
  }
  const orgs = members.map((m, o) => ({
    id: ids?.[o] ?? crypto.randomUUID(),
    owner: ids === undefined ? undefined : m[0],
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
        organizations: [],
      },
      token: device.session.accessToken,
    }))
  );
  return { specs, devices, orgs, sentinel: sentinel! };
}

function now(): string {
  return new Date().toISOString();
}

async function orgCollection(owner: ApiSession, organizationId: string): Promise<string> {
  const sync = await owner.api("GET", "/sync?excludeDomains=true") as {
    collections?: { id?: string; organizationId?: string }[];
  };
  const collection = sync?.collections?.find((c) =>
    c.organizationId?.toLowerCase() === organizationId
  );
  if (!collection?.id) throw new Error(`The owner's sync lists no collection of ${organizationId}`);
  return collection.id.toLowerCase();
}

/** The changes of a world as actions that return the pushes the producers table names. */
function actionsFor(world: ApiWorldShape, built: Built): WorldAction[] {
  const state = built.devices.map(() => ({
    folders: [] as string[],
    ciphers: [] as string[],
    sends: [] as string[],
  }));
  // A security stamp change ends the user's sessions (Vaultwarden deletes the devices), so the
  // user makes no further changes in this world.
  const stamped = new Set<number>();
  const collections = new Map<string, string>();
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
          out.push({
            type: PushType.LogOut,
            payload: { UserId: userId, Reason: null },
            contextId: null,
          });
          break;
        case "org-cipher-create": {
          let collection = collections.get(org.id);
          if (collection === undefined) {
            collection = await orgCollection(session, org.id);
            collections.set(org.id, collection);
          }
          const answer = await session.api("POST", "/ciphers/create", {
            cipher: { type: 2, name: ENC_STRING, secureNote: { type: 0 }, organizationId: org.id },
            collectionIds: [collection],
          }) as { id?: string };
          if (!answer?.id) throw new Error("Organization cipher answer has no id");
          out.push({
            type: PushType.SyncCipherCreate,
            payload: {
              Id: answer.id.toLowerCase(),
              UserId: null,
              OrganizationId: org.id,
              // The organization-group row of the producers table (flag OrgCipherPushFanout off,
              // as the reference server): no UserId, no CollectionIds.
              CollectionIds: null,
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

function contextProblems(observation: Observation): string[] {
  const contexts = new Map<string, Set<string | null>>();
  for (const envelope of observation.expected.keys()) {
    const key = envelopeKey(envelope);
    const set = contexts.get(key) ?? new Set<string | null>();
    set.add(envelope.contextId?.toLowerCase() ?? null);
    contexts.set(key, set);
  }
  const problems: string[] = [];
  for (const delivery of observation.deliveries) {
    const allowed = contexts.get(delivery.key ?? "");
    if (!allowed) continue;
    const argument = delivery.invocation.arguments[0] as Record<string, unknown> | undefined;
    const raw = argument?.ContextId ?? argument?.contextId ?? null;
    const got = typeof raw === "string" ? raw.toLowerCase() : raw;
    if (!allowed.has(got as string | null)) {
      problems.push(
        `${delivery.endpoint}: ContextId ${show(raw)} on ${
          invocationKey(delivery.invocation)
        } (expected ${[...allowed].map((c) => show(c)).join(" or ")})`,
      );
    }
  }
  return problems;
}

async function runWorld(ctx: CaseContext, world: ApiWorldShape, pool: Pool): Promise<string[]> {
  const built = await build(ctx, world, pool);
  const connected = await connectWorld(ctx, built.specs, {
    protocol: "messagepack",
    sentinel: { userId: built.sentinel.session.userId, token: built.sentinel.session.accessToken },
  });
  try {
    const sentinel = built.sentinel.session;
    const observation = await observeActions(ctx, connected, actionsFor(world, built), {
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
    return [...observation.problems, ...contextProblems(observation)];
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

async function check(ctx: CaseContext, started: number, pool: Pool): Promise<CaseResult> {
  const property = fc.asyncProperty(apiWorldArbitrary(), async (world) => {
    return (await runWorld(ctx, world, pool)).length === 0;
  });
  const budget = Math.max(1000, ctx.timeoutMs * 0.85 - (performance.now() - started));
  const details = await fc.check(property, {
    seed: ctx.seed,
    numRuns: ctx.runs,
    interruptAfterTimeLimit: budget,
    markInterruptAsFailure: false,
  });
  if (details.failed && details.counterexample) {
    const world = details.counterexample[0] as ApiWorldShape;
    // Re-run the shrunk world once so the reported problems belong to it.
    const problems = await runWorld(ctx, world, pool).catch((error: Error) => [
      `the world could not be run: ${error.message}`,
    ]);
    ctx.trace.record({
      from: "harness",
      to: "harness",
      kind: "note",
      summary:
        `counterexample after ${details.numShrinks} shrinks (seed ${details.seed}, path ${details.counterexamplePath})`,
      data: world,
    });
    throw new CaseFailure(
      `deliveries equal to the oracle's for every generated world of API changes (replay: --seed ${details.seed} --runs ${ctx.runs})`,
      `shrunk counterexample (${details.numShrinks} shrinks): ${describe(world)} -> ${
        problems.slice(0, 8).join("; ") || "passed when replayed (flaky delivery?)"
      }`,
    );
  }
  if (details.failed) {
    throw details.errorInstance ?? new Error("Property failed without a counterexample");
  }
  return {
    detail: `${details.numRuns} world(s) of API changes checked, seed ${details.seed}${
      details.interrupted ? " (time limit reached)" : ""
    }${pool.organizationProblem ? `; without organizations: ${pool.organizationProblem}` : ""}`,
  };
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
    source: "bitwarden-server.md §2.4, §4.3; bitwarden-api.md §3",
    needs: ["inject:api", "identity"],
    async run(ctx) {
      const started = performance.now();
      const lease = await leaseAccounts(ctx, "isolation-api", MAX_USERS + 1);
      try {
        return await check(ctx, started, { accounts: lease.value });
      } finally {
        lease.release();
      }
    },
  }];
}
