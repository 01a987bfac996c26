/**
 * The fixed world of the `route/*` cases and the push scenarios run in it (one per push type and
 * target kind), with fresh GUIDs per case run so cases can run concurrently.
 *
 * @module
 */

import type { Envelope, JsonValue } from "../../protocol/bitwarden/mod.ts";
import { ClientType, DeviceType } from "../../protocol/bitwarden/mod.ts";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import { type Capability, type CaseContext, CaseUnsupported } from "../types.ts";
import { newGuid } from "./identity.ts";
import { adversarialIds } from "./adversarial_ids.ts";
import type { EndpointSpec } from "./world.ts";
import {
  type IdentityDevice,
  leaseFromPool,
  loginDevice,
  missingOrganizationClaims,
  type PooledAccount,
  registerAccount,
  setUpOrganizations,
} from "./identity_world.ts";

/** Ids of one route world. */
export interface RouteWorld {
  /** Target user, four devices. */
  readonly userA: string;
  /** Another member of organization O1. */
  readonly userB: string;
  /** A member of another organization only. */
  readonly userC: string;
  /** Organization of A and B. */
  readonly orgO1: string;
  /** Organization of C. */
  readonly orgO2: string;
  /** Pending auth request of A (anonymous socket `anon-A`). */
  readonly authRequestA: string;
  /** Someone else's pending auth request (`anon-other`). */
  readonly authRequestOther: string;
  /** Device identifier used as ContextId (A's web vault). */
  readonly actingDevice: string;
  /** Connections to open. */
  readonly specs: readonly EndpointSpec[];
}

/**
 * Builds a route world: A on web, browser extension, desktop and a device-less token; B on web
 * (same organization); C on the CLI (another organization); A's case twin on web (no
 * organization); two anonymous sockets. Ids are look-alikes (see `adversarial_ids.ts`).
 *
 * @returns The world.
 */
export function createRouteWorld(): RouteWorld {
  // Look-alike ids: B shares A's first four groups, C differs from A in one hex digit, and
  // `A-upper` holds A's id upper-cased as its `sub` (Bitwarden matches users on the raw `sub`,
  // ordinally, so it is somebody else); the organizations share prefixes the same way. A hub
  // keyed on part of an id, or on a case-folded one, mixes them up.
  const users = adversarialIds();
  const userA = users.base;
  const userB = users.samePrefix;
  const userC = users.oneDigit;
  const orgs = adversarialIds();
  const orgO1 = orgs.base;
  const orgO2 = orgs.samePrefix;
  const authRequestA = newGuid();
  const authRequestOther = newGuid();
  const actingDevice = newGuid();
  // Each user holds its memberships in another of the four claims Bitwarden issues by role, and
  // A is in a second organization listed first, so a hub must read every claim and every value.
  const orgOther = orgs.oneDigit;
  const main = (
    name: string,
    userId: string,
    deviceType: DeviceType | null,
    organizations: string[],
    deviceId = newGuid(),
  ): EndpointSpec => ({
    name,
    hub: "main",
    identity: {
      userId,
      deviceId,
      deviceType,
      organizations: userId === userA ? [orgOther, ...organizations] : organizations,
      organizationClaim: userId === userA
        ? "orgowner"
        : userId === userB
        ? "orgadmin"
        : "orgcustom",
    },
  });
  return {
    userA,
    userB,
    userC,
    orgO1,
    orgO2,
    authRequestA,
    authRequestOther,
    actingDevice,
    specs: [
      main("A-web", userA, DeviceType.ChromeBrowser, [orgO1], actingDevice),
      main("A-browser", userA, DeviceType.FirefoxExtension, [orgO1]),
      main("A-desktop", userA, DeviceType.WindowsDesktop, [orgO1]),
      main("A-any", userA, null, [orgO1]),
      main("B-web", userB, DeviceType.EdgeBrowser, [orgO1]),
      main("C-cli", userC, DeviceType.LinuxCLI, [orgO2]),
      main("A-upper", users.upperCase, DeviceType.ChromeBrowser, []),
      { name: "anon-A", hub: "anonymous", token: authRequestA },
      { name: "anon-other", hub: "anonymous", token: authRequestOther },
    ],
  };
}

/** A route world whose users, devices and organizations exist in the target. */
export interface IdentityRouteWorld {
  /** The world (every main-hub spec carries the token the target issued). */
  readonly world: RouteWorld;
  /** The sentinel user and its token. */
  readonly sentinel: { readonly userId: string; readonly token: string };
  /** Why organization routes cannot be checked with this target, if they cannot. */
  readonly organizationProblem?: string;
  /** Gives the accounts back to the run's pool. */
  release(): void;
}

interface PooledRouteWorld {
  readonly accounts: readonly PooledAccount[];
  readonly organizations: readonly string[];
  readonly problem?: string;
}

async function createPooledRouteWorld(ctx: CaseContext): Promise<PooledRouteWorld> {
  const accounts = await Promise.all(
    ["A", "B", "C", "sentinel"].map((name) =>
      registerAccount(ctx, `route-${name}-${newGuid().slice(0, 4)}`)
    ),
  );
  try {
    // A owns O1 with B as a member; C owns O2.
    return { accounts, organizations: await setUpOrganizations(ctx, accounts, [[0, 1], [2]]) };
  } catch (error) {
    if (!(error instanceof CaseUnsupported)) throw error;
    return { accounts, organizations: [newGuid(), newGuid()], problem: error.message };
  }
}

/**
 * Leases the route world from the run's pool of worlds built through the target (users A, B, C
 * and a sentinel registered once; A owns O1 with B confirmed in it, C owns O2) and logs in one
 * fresh device per connection, so the `devicetype`, `device` and `org*` claims come from the
 * target. A has no device-less connection here: a password grant always names a device type.
 *
 * @param ctx The case context.
 * @returns The leased world; release it in `finally`.
 */
export async function leaseIdentityRouteWorld(ctx: CaseContext): Promise<IdentityRouteWorld> {
  const lease = await leaseFromPool(ctx, "route-world", () => createPooledRouteWorld(ctx));
  try {
    const { accounts, organizations, problem } = lease.value;
    const [a, b, c, s] = accounts as [PooledAccount, PooledAccount, PooledAccount, PooledAccount];
    const login = (account: PooledAccount, deviceType: DeviceType, name: string) =>
      loginDevice(ctx, account, { deviceType, name });
    const [aWeb, aBrowser, aDesktop, bWeb, cCli, sentinel] = await Promise.all([
      login(a, DeviceType.ChromeBrowser, "A-web"),
      login(a, DeviceType.FirefoxExtension, "A-browser"),
      login(a, DeviceType.WindowsDesktop, "A-desktop"),
      login(b, DeviceType.EdgeBrowser, "B-web"),
      login(c, DeviceType.LinuxCLI, "C-cli"),
      login(s, DeviceType.LinuxDesktop, "sentinel"),
    ]);
    const [orgO1, orgO2] = organizations as [string, string];
    const organizationProblem = problem ??
      (missingOrganizationClaims(aWeb, [orgO1]) ?? missingOrganizationClaims(bWeb, [orgO1]) ??
        missingOrganizationClaims(cCli, [orgO2]));
    const spec = (name: string, device: IdentityDevice, orgs: string[]): EndpointSpec => ({
      name,
      hub: "main",
      identity: {
        userId: device.session.userId,
        deviceId: device.session.deviceId,
        deviceType: device.session.deviceType,
        organizations: orgs,
      },
      token: device.session.accessToken,
    });
    const authRequestA = newGuid();
    const authRequestOther = newGuid();
    const world: RouteWorld = {
      userA: aWeb.session.userId,
      userB: bWeb.session.userId,
      userC: cCli.session.userId,
      orgO1,
      orgO2,
      authRequestA,
      authRequestOther,
      actingDevice: aWeb.session.deviceId,
      specs: [
        spec("A-web", aWeb, [orgO1]),
        spec("A-browser", aBrowser, [orgO1]),
        spec("A-desktop", aDesktop, [orgO1]),
        spec("B-web", bWeb, [orgO1]),
        spec("C-cli", cCli, [orgO2]),
        { name: "anon-A", hub: "anonymous", token: authRequestA },
        { name: "anon-other", hub: "anonymous", token: authRequestOther },
      ],
    };
    return {
      world,
      sentinel: { userId: sentinel.session.userId, token: sentinel.session.accessToken },
      ...(organizationProblem === undefined ? {} : { organizationProblem }),
      release: lease.release,
    };
  } catch (error) {
    lease.release();
    throw error;
  }
}

/** One push scenario. */
export interface RouteScenario {
  /** Push type. */
  readonly type: PushType;
  /** Scenario name (third id segment). */
  readonly name: string;
  /** What the scenario checks, for the requirement text. */
  readonly summary: string;
  /** Extra capabilities needed. */
  readonly needs: readonly Capability[];
  /** True when the oracle expects at least one recipient. */
  readonly delivers: boolean;
  /** True when it is routed to organization groups (the org fan-out fault shows here). */
  readonly organizationRouted: boolean;
  /** Builds the envelope for a world (installation id when the scenario needs one). */
  build(world: RouteWorld, installationId: string | undefined): Envelope;
}

function iso(offsetMs = 0): string {
  // Seven fractional digits as .NET writes them, so width handling is exercised.
  return new Date(Date.now() + offsetMs).toISOString().replace("Z", "1234Z");
}

function envelope(type: PushType, payload: Record<string, JsonValue>, world: RouteWorld): Envelope {
  return { type, payload, contextId: world.actingDevice };
}

function scenario(
  type: PushType,
  name: string,
  summary: string,
  build: RouteScenario["build"],
  extra: { needs?: Capability[]; delivers?: boolean; org?: boolean } = {},
): RouteScenario {
  return {
    type,
    name,
    summary,
    needs: extra.needs ?? [],
    delivers: extra.delivers ?? true,
    organizationRouted: extra.org ?? false,
    build,
  };
}

const cipherTypes = [
  PushType.SyncCipherUpdate,
  PushType.SyncCipherCreate,
  PushType.SyncLoginDelete,
  PushType.SyncCipherDelete,
];
const folderTypes = [
  PushType.SyncFolderDelete,
  PushType.SyncFolderCreate,
  PushType.SyncFolderUpdate,
];
const userTypes = [
  PushType.SyncCiphers,
  PushType.SyncVault,
  PushType.SyncOrgKeys,
  PushType.SyncSettings,
  PushType.SyncOrganizations,
  PushType.RefreshSecurityTasks,
];
const sendTypes = [PushType.SyncSendCreate, PushType.SyncSendUpdate, PushType.SyncSendDelete];

function notificationPayload(
  fields: {
    userId?: string | null;
    organizationId?: string | null;
    installationId?: string | null;
    clientType?: ClientType;
    global?: boolean;
  },
  type: PushType,
): Record<string, JsonValue> {
  return {
    Id: newGuid(),
    Priority: 2,
    Global: fields.global ?? false,
    ClientType: fields.clientType ?? ClientType.All,
    UserId: fields.userId ?? null,
    OrganizationId: fields.organizationId ?? null,
    InstallationId: fields.installationId ?? null,
    TaskId: newGuid(),
    Title: "Conformance \u00e9 <title>",
    Body: "Body",
    CreationDate: iso(-60_000),
    RevisionDate: iso(),
    ReadDate: type === PushType.NotificationStatus ? iso() : null,
    DeletedDate: null,
  };
}

/** Every route scenario, in push type order. */
export const ROUTE_SCENARIOS: readonly RouteScenario[] = [
  ...cipherTypes.flatMap((type) => [
    scenario(type, "user", "to every connection of the cipher's user", (w) =>
      envelope(type, {
        Id: newGuid(),
        UserId: w.userA,
        OrganizationId: null,
        CollectionIds: [],
        RevisionDate: iso(),
      }, w)),
    scenario(
      type,
      "organization",
      "to every connection of the organization when UserId is null",
      (w) =>
        envelope(type, {
          Id: newGuid(),
          UserId: null,
          OrganizationId: w.orgO1,
          CollectionIds: [newGuid(), newGuid()],
          RevisionDate: iso(),
        }, w),
      { org: true },
    ),
    scenario(
      type,
      "user-in-organization",
      "to the cipher's user only when UserId and OrganizationId are both set (organization fan-out)",
      (w) =>
        envelope(type, {
          Id: newGuid(),
          UserId: w.userA,
          OrganizationId: w.orgO1,
          CollectionIds: [newGuid()],
          RevisionDate: iso(),
        }, w),
    ),
    scenario(
      type,
      "no-target",
      "to nobody when UserId and OrganizationId are null",
      (w) =>
        envelope(type, {
          Id: newGuid(),
          UserId: null,
          OrganizationId: null,
          CollectionIds: null,
          RevisionDate: iso(),
        }, w),
      { delivers: false },
    ),
  ]),
  ...folderTypes.map((type) =>
    scenario(
      type,
      "user",
      "to every connection of the folder's user",
      (w) => envelope(type, { Id: newGuid(), UserId: w.userA, RevisionDate: iso() }, w),
    )
  ),
  ...userTypes.map((type) =>
    scenario(
      type,
      "user",
      "to every connection of the user",
      (w) => envelope(type, { UserId: w.userA, Date: iso() }, w),
    )
  ),
  scenario(
    PushType.LogOut,
    "user",
    "to every connection of the user, Reason kept",
    (w) => envelope(PushType.LogOut, { UserId: w.userA, Reason: 1 }, w),
  ),
  scenario(
    PushType.LogOut,
    "null-context",
    "to every connection of the user with ContextId nil",
    (w) => ({
      type: PushType.LogOut,
      payload: { UserId: w.userA, Reason: null },
      contextId: null,
    }),
  ),
  ...sendTypes.map((type) =>
    scenario(
      type,
      "user",
      "to every connection of the send's user",
      (w) => envelope(type, { Id: newGuid(), UserId: w.userA, RevisionDate: iso() }, w),
    )
  ),
  scenario(
    PushType.AuthRequest,
    "user",
    "to every main-hub connection of the user",
    (w) => envelope(PushType.AuthRequest, { UserId: w.userA, Id: w.authRequestA }, w),
  ),
  scenario(
    PushType.AuthRequestResponse,
    "anonymous-requester",
    "only to anonymous-hub sockets whose Token is the request id, as AuthRequestResponseRecieved",
    (w) => envelope(PushType.AuthRequestResponse, { UserId: w.userA, Id: w.authRequestA }, w),
  ),
  scenario(
    PushType.SyncOrganizationStatusChanged,
    "organization",
    "to every connection of the organization",
    (w) =>
      envelope(
        PushType.SyncOrganizationStatusChanged,
        { OrganizationId: w.orgO1, Enabled: true },
        w,
      ),
    { org: true },
  ),
  scenario(
    PushType.SyncOrganizationCollectionSettingChanged,
    "organization",
    "to every connection of the organization, re-sent as OrganizationStatus",
    (w) =>
      envelope(PushType.SyncOrganizationCollectionSettingChanged, {
        OrganizationId: w.orgO1,
        LimitCollectionCreation: true,
        LimitCollectionDeletion: false,
        LimitItemDeletion: true,
      }, w),
    { org: true },
  ),
  ...[PushType.Notification, PushType.NotificationStatus].flatMap((type) => [
    scenario(
      type,
      "installation",
      "to every connection of the installation",
      (w, inst) =>
        envelope(
          type,
          notificationPayload({ installationId: inst ?? null, global: true }, type),
          w,
        ),
      {
        needs: ["installation"],
      },
    ),
    scenario(
      type,
      "installation-client-type",
      "to the installation's connections of one client type",
      (w, inst) =>
        envelope(
          type,
          notificationPayload({
            installationId: inst ?? null,
            global: true,
            clientType: ClientType.Web,
          }, type),
          w,
        ),
      {
        needs: ["installation"],
      },
    ),
    scenario(
      type,
      "precedence",
      "by InstallationId first, ignoring UserId and OrganizationId",
      (w, inst) =>
        envelope(
          type,
          notificationPayload({
            installationId: inst ?? null,
            userId: w.userC,
            organizationId: w.orgO2,
          }, type),
          w,
        ),
      {
        needs: ["installation"],
      },
    ),
    scenario(
      type,
      "user",
      "to every connection of the user when ClientType is All",
      (w) =>
        envelope(
          type,
          notificationPayload({ userId: w.userA, organizationId: w.orgO2 }, type),
          w,
        ),
    ),
    scenario(
      type,
      "user-client-type",
      "to the user's connections of that client type",
      (w) =>
        envelope(
          type,
          notificationPayload({ userId: w.userA, clientType: ClientType.Browser }, type),
          w,
        ),
    ),
    scenario(
      type,
      "organization",
      "to every connection of the organization",
      (w) => envelope(type, notificationPayload({ organizationId: w.orgO1 }, type), w),
      { org: true },
    ),
    scenario(
      type,
      "organization-client-type",
      "to the organization's connections of that client type",
      (w) =>
        envelope(
          type,
          notificationPayload({ organizationId: w.orgO1, clientType: ClientType.Desktop }, type),
          w,
        ),
      {
        org: true,
      },
    ),
    scenario(
      type,
      "global-without-installation",
      "to nobody when Global is set without an InstallationId",
      (w) => envelope(type, notificationPayload({ global: true }, type), w),
      { delivers: false },
    ),
  ]),
  scenario(
    PushType.OrganizationBankAccountVerified,
    "organization",
    "to every connection of the organization",
    (w) => envelope(PushType.OrganizationBankAccountVerified, { OrganizationId: w.orgO1 }, w),
    { org: true },
  ),
  scenario(
    PushType.ProviderBankAccountVerified,
    "admin",
    "to every connection of the provider admin (AdminId)",
    (w) =>
      envelope(
        PushType.ProviderBankAccountVerified,
        { ProviderId: newGuid(), AdminId: w.userA },
        w,
      ),
  ),
  scenario(
    PushType.PolicyChanged,
    "organization",
    "to every connection of the organization",
    (w) =>
      envelope(PushType.PolicyChanged, {
        OrganizationId: w.orgO1,
        Policy: {
          Id: newGuid(),
          OrganizationId: w.orgO1,
          Type: 1,
          Data: '{"minLength":12}',
          Enabled: true,
          CreationDate: iso(-60_000),
          RevisionDate: iso(),
        },
      }, w),
    { org: true },
  ),
  scenario(
    PushType.AutoConfirm,
    "user",
    "to every connection of the admin (UserId)",
    (w) =>
      envelope(PushType.AutoConfirm, {
        UserId: w.userA,
        OrganizationId: w.orgO1,
        TargetUserId: w.userB,
        TargetOrganizationUserId: newGuid(),
      }, w),
  ),
  scenario(
    PushType.PremiumStatusChanged,
    "user",
    "to every connection of the user",
    (w) => envelope(PushType.PremiumStatusChanged, { UserId: w.userA, Premium: true }, w),
  ),
];
