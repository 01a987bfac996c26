/**
 * `isolation/*`: property-based routing. fast-check generates worlds (users, organizations,
 * memberships, devices with client types, anonymous login-with-device sockets) and sequences of
 * pushes of all 28 types; every device connects, and the set of (connection, message) deliveries
 * must equal the oracle's exactly. A failure reports the shrunk world and the seed to replay.
 *
 * @module
 */

import fc from "fast-check";
import { ClientType, DeviceType } from "../../protocol/bitwarden/mod.ts";
import { PushType, pushTypeName } from "../../protocol/bitwarden/mod.ts";
import type { Envelope, JsonValue } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseUnsupported } from "../types.ts";
import { checkWorlds, propertyTimeout } from "./_property.ts";
import {
  leaseAccounts,
  loginDevice,
  type PooledAccount,
  setUpOrganizations,
} from "../driver/identity_world.ts";
import { newGuid, ORGANIZATION_CLAIMS } from "../driver/identity.ts";
import { adversarialIdList } from "../driver/adversarial_ids.ts";
import { createEnvelopeInjector } from "../driver/injectors.ts";
import { connectWorld, type EndpointSpec, injectAndObserve } from "../driver/world.ts";
import { HUB_HELPERS, NOTIFICATIONS_HUB, sources } from "./_sources.ts";

const DEVICE_TYPES: readonly (DeviceType | null)[] = [
  DeviceType.ChromeBrowser,
  DeviceType.FirefoxExtension,
  DeviceType.WindowsDesktop,
  DeviceType.LinuxCLI,
  DeviceType.Android,
  DeviceType.SDK,
  null,
];

/** A generated push: a type and which entity of the world it targets. */
export interface PushShape {
  /** Push type. */
  readonly type: PushType;
  /** User index (mod number of users). */
  readonly user: number;
  /** Organization index (mod number of organizations). */
  readonly org: number;
  /** Anonymous socket index (mod number of anonymous sockets). */
  readonly anon: number;
  /** Variant for types with several routes (cipher user/org/none, notification target kinds). */
  readonly variant: number;
  /** Client type of notification pushes. */
  readonly clientType: ClientType;
}

/** A generated world. */
export interface WorldShape {
  /** Users: their devices and organization memberships (indices). */
  readonly users: readonly {
    readonly devices: readonly (DeviceType | null)[];
    readonly orgs: readonly number[];
  }[];
  /** Number of organizations. */
  readonly orgCount: number;
  /** Anonymous sockets: index of the auth request whose id is their Token. */
  readonly anonymous: readonly number[];
  /** Pushes, in order. */
  readonly pushes: readonly PushShape[];
}

/**
 * Devices of one user: up to `max` client types, and about half the time a second device of the
 * first one's type, so a hub that serves one socket per (user, client type) is caught.
 *
 * @param type The device type generator.
 * @param max Most distinct draws.
 * @returns The arbitrary.
 */
export function devicesWithTwins<T>(type: fc.Arbitrary<T>, max: number): fc.Arbitrary<T[]> {
  return fc.record({
    devices: fc.array(type, { minLength: 1, maxLength: max }),
    twin: fc.boolean(),
  })
    .map(({ devices, twin }) => (twin ? [...devices, devices[0]!] : devices));
}

/**
 * The world generator.
 *
 * @returns The arbitrary.
 */
export function worldArbitrary(): fc.Arbitrary<WorldShape> {
  return fc.record({
    orgCount: fc.integer({ min: 1, max: 3 }),
    users: fc.array(
      fc.record({
        devices: devicesWithTwins(fc.constantFrom(...DEVICE_TYPES), 3),
        orgs: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    anonymous: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }),
    pushes: fc.array(
      fc.record({
        type: fc.integer({ min: 0, max: 27 }) as fc.Arbitrary<PushType>,
        user: fc.nat({ max: 7 }),
        org: fc.nat({ max: 7 }),
        anon: fc.nat({ max: 7 }),
        variant: fc.nat({ max: 5 }),
        clientType: fc.integer({ min: 0, max: 5 }) as fc.Arbitrary<ClientType>,
      }),
      { minLength: 1, maxLength: 5 },
    ),
  });
}

interface Ids {
  readonly users: readonly string[];
  readonly orgs: readonly string[];
  readonly authRequests: readonly string[];
  /** Organization ids each user is a member of (same order as `users`). */
  readonly memberOf?: readonly (readonly string[])[];
}

function at<T>(items: readonly T[], index: number): T | null {
  return items.length === 0 ? null : items[index % items.length]!;
}

/**
 * Turns a generated push into an envelope with the world's ids.
 *
 * @param shape The push shape.
 * @param ids GUIDs of the world.
 * @param installationId The target's installation id, if known.
 * @returns The envelope.
 */
export function buildPush(
  shape: PushShape,
  ids: Ids,
  installationId: string | undefined,
): Envelope {
  const user = at(ids.users, shape.user);
  const org = at(ids.orgs, shape.org);
  const now = new Date().toISOString();
  const id = newGuid();
  let payload: Record<string, JsonValue>;
  switch (shape.type) {
    case PushType.SyncCipherUpdate:
    case PushType.SyncCipherCreate:
    case PushType.SyncLoginDelete:
    case PushType.SyncCipherDelete: {
      // 0 user, 1 organization, 2 nobody, 3 both (organization fan-out: the user wins). For
      // "both", an organization of that user when it has one: the push reaches the user through
      // both a user and an organization route and must still arrive once per connection.
      const kind = shape.variant % 4;
      const own = ids.memberOf?.[shape.user % Math.max(1, ids.users.length)] ?? [];
      payload = {
        Id: id,
        UserId: kind === 0 || kind === 3 ? user : null,
        OrganizationId: kind === 1 ? org : kind === 3 ? at(own, shape.org) ?? org : null,
        CollectionIds: [],
        RevisionDate: now,
      };
      break;
    }
    case PushType.SyncFolderDelete:
    case PushType.SyncFolderCreate:
    case PushType.SyncFolderUpdate:
    case PushType.SyncSendCreate:
    case PushType.SyncSendUpdate:
    case PushType.SyncSendDelete:
      payload = { Id: id, UserId: user, RevisionDate: now };
      break;
    case PushType.LogOut:
      payload = { UserId: user, Reason: null };
      break;
    case PushType.AuthRequest:
      payload = { UserId: user, Id: id };
      break;
    case PushType.AuthRequestResponse:
      payload = {
        UserId: user,
        Id: shape.variant % 2 === 0 ? at(ids.authRequests, shape.anon) ?? id : id,
      };
      break;
    case PushType.SyncOrganizationStatusChanged:
      payload = { OrganizationId: org, Enabled: shape.variant % 2 === 0 };
      break;
    case PushType.SyncOrganizationCollectionSettingChanged:
      payload = {
        OrganizationId: org,
        LimitCollectionCreation: true,
        LimitCollectionDeletion: false,
        LimitItemDeletion: false,
      };
      break;
    case PushType.Notification:
    case PushType.NotificationStatus: {
      const kind = shape.variant % (installationId ? 4 : 3);
      payload = {
        Id: id,
        Priority: 0,
        Global: kind === 3 || kind === 2,
        ClientType: shape.clientType,
        UserId: kind === 0 ? user : null,
        OrganizationId: kind === 1 ? org : null,
        InstallationId: kind === 3 ? installationId ?? null : null,
        TaskId: null,
        Title: null,
        Body: null,
        CreationDate: now,
        RevisionDate: now,
        ReadDate: null,
        DeletedDate: null,
      };
      break;
    }
    case PushType.OrganizationBankAccountVerified:
      payload = { OrganizationId: org };
      break;
    case PushType.ProviderBankAccountVerified:
      payload = { ProviderId: id, AdminId: user };
      break;
    case PushType.PolicyChanged:
      payload = {
        OrganizationId: org,
        Policy: {
          Id: id,
          OrganizationId: org,
          Type: 0,
          Data: null,
          Enabled: true,
          CreationDate: now,
          RevisionDate: now,
        },
      };
      break;
    case PushType.AutoConfirm:
      payload = {
        UserId: user,
        OrganizationId: org,
        TargetUserId: id,
        TargetOrganizationUserId: newGuid(),
      };
      break;
    case PushType.PremiumStatusChanged:
      payload = { UserId: user, Premium: true };
      break;
    default:
      // SyncCiphers, SyncVault, SyncOrgKeys, SyncSettings, SyncOrganizations, RefreshSecurityTasks.
      payload = { UserId: user, Date: now };
  }
  return { type: shape.type, payload, contextId: newGuid() };
}

function describeWorld(world: WorldShape): string {
  const users = world.users.map((u, i) =>
    `u${i}[${u.devices.map((d) => (d === null ? "no-devicetype" : DeviceType[d])).join(",")}]${
      u.orgs.length
        ? ` in ${u.orgs.map((o) => `o${o % world.orgCount}`).join(",")} (${
          ORGANIZATION_CLAIMS[i % ORGANIZATION_CLAIMS.length]
        } with --act-as-authority)`
        : ""
    }`
  );
  const pushes = world.pushes.map((p) =>
    `${pushTypeName(p.type)}(user u${p.user % world.users.length}, org o${
      p.org % world.orgCount
    }, anon ${p.anon}, variant ${p.variant}, clientType ${ClientType[p.clientType]})`
  );
  return `users ${users.join("; ")}; ${world.orgCount} org(s); anonymous sockets for requests [${
    world.anonymous.join(",")
  }]; pushes ${pushes.join(", ")}`;
}

/** Accounts of the target an identity-backed property run builds its worlds from. */
interface IdentityAccounts {
  readonly accounts: readonly PooledAccount[];
  /** Set once organizations turned out unavailable: later worlds skip memberships. */
  organizationProblem?: string;
}

/** Users of a generated world (at most this many), plus one sentinel account. */
const MAX_USERS = 4;

async function identitySpecs(
  ctx: CaseContext,
  world: WorldShape,
  pool: IdentityAccounts,
): Promise<{ specs: EndpointSpec[]; ids: Ids; sentinel: { userId: string; token: string } }> {
  const members = Array.from(
    { length: world.orgCount },
    (_, o) =>
      world.users.flatMap((u, i) => (u.orgs.some((x) => x % world.orgCount === o) ? [i] : [])),
  );
  let orgs: string[] = members.map(() => newGuid());
  if (pool.organizationProblem === undefined) {
    try {
      orgs = await setUpOrganizations(ctx, pool.accounts, members);
    } catch (error) {
      if (!(error instanceof CaseUnsupported)) throw error;
      pool.organizationProblem = error.message;
    }
  }
  const logins = world.users.flatMap((user, u) =>
    user.devices.map((deviceType, d) => ({ u, d, deviceType }))
  );
  const [sentinel, ...devices] = await Promise.all([
    loginDevice(ctx, pool.accounts[MAX_USERS]!, {
      deviceType: DeviceType.LinuxDesktop,
      name: "sentinel",
    }),
    // A password grant always names a device type: "no devicetype" logs in as an SDK client.
    ...logins.map(({ u, d, deviceType }) =>
      loginDevice(ctx, pool.accounts[u]!, {
        deviceType: deviceType ?? DeviceType.SDK,
        name: `u${u}-d${d}`,
      })
    ),
  ]);
  const users = world.users.map((_, u) => {
    const index = logins.findIndex((l) => l.u === u);
    return devices[index]!.session.userId;
  });
  const specs: EndpointSpec[] = logins.map(({ u, d, deviceType }, i) => ({
    name: `u${u}-d${d}-${deviceType === null ? "none" : DeviceType[deviceType]}`,
    hub: "main",
    identity: {
      userId: users[u]!,
      deviceId: devices[i]!.session.deviceId,
      deviceType: devices[i]!.session.deviceType,
      organizations: [],
    },
    token: devices[i]!.session.accessToken,
  }));
  return {
    specs,
    ids: {
      users,
      orgs,
      authRequests: [newGuid(), newGuid(), newGuid()],
      memberOf: world.users.map((u) => [...new Set(u.orgs.map((o) => orgs[o % world.orgCount]!))]),
    },
    sentinel: { userId: sentinel!.session.userId, token: sentinel!.session.accessToken },
  };
}

function authoritySpecs(world: WorldShape): { specs: EndpointSpec[]; ids: Ids } {
  // The harness mints the tokens: look-alike ids catch a hub keyed on part of an id, or on a
  // case-folded one.
  const orgs = adversarialIdList(world.orgCount, { caseTwin: false });
  const ids: Ids = {
    users: adversarialIdList(world.users.length),
    orgs,
    authRequests: [newGuid(), newGuid(), newGuid()],
    memberOf: world.users.map((u) => [...new Set(u.orgs.map((o) => orgs[o % world.orgCount]!))]),
  };
  const specs: EndpointSpec[] = [];
  world.users.forEach((user, u) => {
    user.devices.forEach((deviceType, d) => {
      specs.push({
        name: `u${u}-d${d}-${deviceType === null ? "none" : DeviceType[deviceType]}`,
        hub: "main",
        identity: {
          userId: ids.users[u]!,
          deviceId: newGuid(),
          deviceType,
          organizations: [...new Set(user.orgs.map((o) => ids.orgs[o % world.orgCount]!))],
          organizationClaim: ORGANIZATION_CLAIMS[u % ORGANIZATION_CLAIMS.length]!,
        },
      });
    });
  });
  return { specs, ids };
}

async function runWorld(
  ctx: CaseContext,
  world: WorldShape,
  pool: IdentityAccounts | undefined,
): Promise<string[]> {
  const built: {
    specs: EndpointSpec[];
    ids: Ids;
    sentinel?: { userId: string; token: string };
  } = pool ? await identitySpecs(ctx, world, pool) : authoritySpecs(world);
  const { specs, ids, sentinel } = built;
  world.anonymous.forEach((request, i) => {
    specs.push({
      name: `anon${i}-r${request}`,
      hub: "anonymous",
      token: ids.authRequests[request]!,
    });
  });
  const envelopes = world.pushes.map((p) => buildPush(p, ids, ctx.target.installationId));
  const injector = await createEnvelopeInjector(ctx);
  try {
    const connected = await connectWorld(ctx, specs, {
      protocol: "messagepack",
      ...(sentinel ? { sentinel } : {}),
    });
    try {
      const observation = await injectAndObserve(
        ctx,
        connected,
        envelopes,
        (e) => injector.inject(e),
        { startBarrier: sentinel !== undefined },
      );
      return [...observation.problems];
    } finally {
      await connected.close();
    }
  } finally {
    await injector.close();
  }
}

/**
 * The isolation property cases.
 *
 * @returns The cases.
 */
export function isolationCases(): CaseDefinition[] {
  return [{
    id: "isolation/deliveries-equal-oracle",
    level: "MUST",
    requirement:
      "For generated worlds and push sequences, the hub MUST deliver each push to exactly the connections its route names, once, and to nobody else",
    source: sources(HUB_HELPERS, NOTIFICATIONS_HUB),
    needs: ["inject:envelope"],
    needsAnyOf: ["authority", "identity"],
    // Connections, injections and the grace wait of every world asked for.
    timeout: (run) => propertyTimeout(run, 2 * run.graceMs + 2000),
    // The suite's longest case (a grace wait per world), started first so it overlaps the
    // others. It needs envelope injection (/send or a queue): Vaultwarden, whose login limit
    // the catalogue order protects, has neither.
    startFirst: true,
    async run(ctx) {
      const started = performance.now();
      // Without the harness authority, every world is built from accounts of the target.
      const lease = ctx.authority
        ? undefined
        : await leaseAccounts(ctx, "isolation", MAX_USERS + 1);
      const pool = lease ? { accounts: lease.value } as IdentityAccounts : undefined;
      try {
        return await checkWorlds(ctx, started, {
          arbitrary: worldArbitrary(),
          run: (world) => runWorld(ctx, world, pool),
          describe: describeWorld,
          requirement: "deliveries equal to the oracle's for every generated world",
          checked: pool
            ? "worlds (users, devices and organizations created through the target)"
            : "worlds",
          note: () =>
            pool?.organizationProblem
              ? `without organizations: ${pool.organizationProblem}`
              : undefined,
        });
      } finally {
        lease?.release();
      }
    },
  }];
}
