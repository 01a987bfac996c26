/**
 * `e2e/*` for the producers beyond personal items (`--inject api`): organization membership,
 * organization ciphers, policies, collection-management settings, account settings and the
 * notification center (research bitwarden-server.md §2.2-§2.4, bitwarden-api.md §3.5-§3.10,
 * clients-vaultwarden.md §2.7, §2.9). Each case builds its users and organizations through the
 * target, logs fresh devices in (two per member, one per hub protocol), makes one real change
 * and checks that exactly the connections the producers table names receive it once, with the
 * hub projection's argument for their protocol, and that the owner of another organization and
 * a stranger receive nothing.
 *
 * A deployment without the route (404/405, "Only allowed when not self hosted", organizations
 * refused) is UNSUPPORTED; a route that answers but pushes nothing or the wrong thing FAILs.
 * The password change runs on a freshly registered user: it changes the password.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { Envelope, JsonValue } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseUnsupported } from "../types.ts";
import { ApiError, callInternalApi, ENC_STRING } from "../driver/api_client.ts";
import {
  adminSession,
  leaseOrganizationWorld,
  leasePersonalWorld,
  loginDevices,
  type OrganizationWorld,
} from "../driver/e2e_world.ts";
import { createOrganization, registerThrowawayAccount } from "../driver/identity_world.ts";
import { confirmMember, inviteMember, unsupportedRoute } from "../driver/org_client.ts";
import { type ExpectedPush, PushWatch, type WatchedDevice } from "../driver/push_watch.ts";
import { internalToken } from "../driver/send_injector.ts";
import { CLIENT_PROCESSING, HUB_HELPERS, server, sources } from "./_sources.ts";

function now(): string {
  return new Date().toISOString();
}

function lower(id: unknown, what: string): string {
  if (typeof id !== "string" || id === "") throw new Error(`${what} answer has no id`);
  return id.toLowerCase();
}

/** Calls a route a deployment may lack: 404/405 make the case UNSUPPORTED. */
async function optionalRoute<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw unsupportedRoute(error, what);
  }
}

/** Every named connection with the same allowed envelopes. */
function to(names: readonly string[], envelopes: readonly Envelope[]): Map<string, Envelope[]> {
  return new Map(names.map((name) => [name, [...envelopes]]));
}

function names(devices: readonly WatchedDevice[], ...prefixes: string[]): string[] {
  return devices.filter((d) => prefixes.some((p) => d.name.startsWith(p))).map((d) => d.name);
}

/**
 * What a user-wide sync push (SyncCiphers 4, SyncVault 5, SyncSettings 10) owes: one envelope with
 * ContextId null on each of the user's connections, nothing to the stranger. The payload is given
 * in the `{UserId, Date}` form every client reads; the exact current form is `{UserId, Reason}`.
 */
function userWideSync(
  devices: readonly WatchedDevice[],
  userId: string,
  type: PushType.SyncCiphers | PushType.SyncVault | PushType.SyncSettings,
): ExpectedPush {
  const user = names(devices, "user-");
  const envelope: Envelope = { type, payload: { UserId: userId, Date: now() }, contextId: null };
  return {
    type,
    recipients: to(user, [envelope]),
    requirement: `${
      PushType[type]
    } (${type}) as {UserId: ${userId}, Reason: null} once on each connection of the user (${
      user.join(", ")
    }) with ContextId null; nothing to stranger`,
  };
}

// ---------------------------------------------------------------------------------------------
// Organization cases

interface OrganizationScene {
  readonly world: OrganizationWorld;
  readonly devices: readonly WatchedDevice[];
  /** The owner's web vault: makes the changes. */
  readonly acting: WatchedDevice;
  /** Connections of members of the organization. */
  readonly members: readonly string[];
  readonly watch: PushWatch;
}

async function organizationDevices(ctx: CaseContext, world: OrganizationWorld) {
  return await loginDevices(ctx, [
    { name: "owner-web", account: world.owner, deviceType: DeviceType.ChromeBrowser },
    { name: "owner-desktop", account: world.owner, deviceType: DeviceType.WindowsDesktop },
    { name: "member-desktop", account: world.member, deviceType: DeviceType.LinuxDesktop },
    { name: "member-extension", account: world.member, deviceType: DeviceType.FirefoxExtension },
    { name: "other-org-owner", account: world.other, deviceType: DeviceType.ChromeBrowser },
    { name: "stranger", account: world.stranger, deviceType: DeviceType.EdgeExtension },
  ]);
}

/**
 * Runs an organization case: lease the world, log in and connect, optional preparation, the
 * barrier, then the change and the check.
 */
async function inOrganization(
  ctx: CaseContext,
  body: {
    prepare?: (scene: Omit<OrganizationScene, "watch">) => Promise<void>;
    change: (scene: OrganizationScene) => Promise<ExpectedPush>;
  },
): Promise<void> {
  const lease = await leaseOrganizationWorld(ctx);
  try {
    const world = lease.value;
    const devices = await organizationDevices(ctx, world);
    const scene = {
      world,
      devices,
      acting: devices[0]!,
      members: names(devices, "owner-", "member-"),
    };
    const watch = await PushWatch.connect(ctx, devices);
    try {
      await body.prepare?.(scene);
      await watch.barrier();
      await watch.check(await body.change({ ...scene, watch }));
    } finally {
      await watch.close();
    }
  } finally {
    lease.release();
  }
}

/**
 * The exact forms current Bitwarden gives an organization cipher push on a member's connection
 * (bitwarden/server src/Core/Vault/Services/Implementations/CipherSyncPushService.cs @
 * ac309aa19ed351406a56032d5f26a7a9a99f4abd): the organization group form (flag
 * `OrgCipherPushFanout` off: no UserId, no CollectionIds) and the per-user fan-out (flag on:
 * UserId = that member, CollectionIds). Vaultwarden's (UserId nil with the collections, on a share
 * into collections) reads correctly in clients but is neither: a SHOULD difference.
 */
function orgCipherForms(
  scene: OrganizationScene,
  type: PushType,
  cipherId: string,
  recipient: string,
): Envelope[] {
  const device = scene.devices.find((d) => d.name === recipient)!;
  const form = (userId: string | null, collectionIds: string[] | null): Envelope => ({
    type,
    payload: {
      Id: cipherId,
      UserId: userId,
      OrganizationId: scene.world.organizationId,
      CollectionIds: collectionIds,
      RevisionDate: now(),
    },
    contextId: scene.acting.session.deviceId,
  });
  return [form(null, null), form(device.session.userId, [scene.world.collectionId])];
}

function orgCipherExpectation(
  scene: OrganizationScene,
  type: PushType,
  cipherId: string,
  what: string,
): ExpectedPush {
  return {
    type,
    recipients: new Map(
      scene.members.map((name) => [name, orgCipherForms(scene, type, cipherId, name)]),
    ),
    requirement: `${what} pushed once to every connection of the organization's members (${
      scene.members.join(", ")
    }) with Id ${cipherId}, OrganizationId ${scene.world.organizationId} and ContextId ${scene.acting.session.deviceId}; nothing to other-org-owner or stranger`,
  };
}

async function createOrgCipher(scene: Omit<OrganizationScene, "watch">): Promise<string> {
  const answer = await scene.acting.session.api("POST", "/ciphers/create", {
    cipher: {
      type: 2,
      name: ENC_STRING,
      secureNote: { type: 0 },
      organizationId: scene.world.organizationId,
    },
    collectionIds: [scene.world.collectionId],
  }) as { id?: unknown };
  return lower(answer?.id, "Organization cipher");
}

function orgCipherCases(): CaseDefinition[] {
  const common = {
    level: "MUST" as const,
    source: sources(
      server("src/Api/Vault/Controllers/CiphersController.cs"),
      server("src/Core/Vault/Services/Implementations/CipherSyncPushService.cs"),
      HUB_HELPERS,
      CLIENT_PROCESSING,
    ),
    needs: ["inject:api" as const, "identity" as const],
  };
  return [
    {
      ...common,
      id: "e2e/org-cipher-create",
      requirement:
        "POST /api/ciphers/create into an organization collection MUST push SyncCipherCreate to every connection of the organization's members, once, with the acting device as ContextId, and to nobody else",
      run: (ctx) =>
        inOrganization(ctx, {
          change: async (scene) =>
            orgCipherExpectation(
              scene,
              PushType.SyncCipherCreate,
              await createOrgCipher(scene),
              "SyncCipherCreate (1)",
            ),
        }),
    },
    {
      ...common,
      id: "e2e/org-cipher-update",
      requirement:
        "PUT /api/ciphers/{id} of an organization cipher MUST push SyncCipherUpdate to every connection of the organization's members, once, with the acting device as ContextId, and to nobody else",
      run: (ctx) => {
        let id = "";
        return inOrganization(ctx, {
          prepare: async (scene) => {
            id = await createOrgCipher(scene);
          },
          change: async (scene) => {
            await scene.acting.session.api("PUT", `/ciphers/${id}`, {
              type: 2,
              name: ENC_STRING,
              secureNote: { type: 0 },
              organizationId: scene.world.organizationId,
            });
            return orgCipherExpectation(
              scene,
              PushType.SyncCipherUpdate,
              id,
              "SyncCipherUpdate (0)",
            );
          },
        });
      },
    },
    {
      ...common,
      id: "e2e/org-cipher-delete",
      requirement:
        "DELETE /api/ciphers/{id} of an organization cipher MUST push SyncLoginDelete to every connection of the organization's members, once, with the acting device as ContextId, and to nobody else",
      run: (ctx) => {
        let id = "";
        return inOrganization(ctx, {
          prepare: async (scene) => {
            id = await createOrgCipher(scene);
          },
          change: async (scene) => {
            await scene.acting.session.api("DELETE", `/ciphers/${id}`);
            return orgCipherExpectation(scene, PushType.SyncLoginDelete, id, "SyncLoginDelete (2)");
          },
        });
      },
    },
    {
      ...common,
      id: "e2e/cipher-collections",
      requirement:
        "PUT /api/ciphers/{id}/collections of an organization cipher MUST push SyncCipherUpdate to every connection of the organization's members, once, with the acting device as ContextId, and to nobody else",
      source: sources(
        server("src/Api/Vault/Controllers/CiphersController.cs", "PutCollections"),
        server(
          "src/Core/Vault/Services/Implementations/CipherService.cs",
          "SaveCollectionsAsync: PushSyncCipherUpdateAsync(cipher, collectionIds)",
        ),
        server("src/Core/Vault/Services/Implementations/CipherSyncPushService.cs"),
        HUB_HELPERS,
        CLIENT_PROCESSING,
      ),
      run: (ctx) => {
        let id = "";
        return inOrganization(ctx, {
          prepare: async (scene) => {
            id = await createOrgCipher(scene);
          },
          change: async (scene) => {
            // Filed again in the world's collection: the member keeps access, so every
            // member's connection must hear of it.
            await optionalRoute(
              "PUT /api/ciphers/{id}/collections",
              () =>
                scene.acting.session.api("PUT", `/ciphers/${id}/collections`, {
                  collectionIds: [scene.world.collectionId],
                }),
            );
            return orgCipherExpectation(
              scene,
              PushType.SyncCipherUpdate,
              id,
              "SyncCipherUpdate (0)",
            );
          },
        });
      },
    },
  ];
}

/** SyncOrgKeys to every connection of the world's member (what a membership change pushes). */
function syncOrgKeysToMember(scene: OrganizationScene, whose: string): ExpectedPush {
  const member = names(scene.devices, "member-");
  const userId = scene.devices.find((d) => d.name === member[0])!.session.userId;
  const envelope: Envelope = {
    type: PushType.SyncOrgKeys,
    payload: { UserId: userId, Date: now() },
    contextId: null,
  };
  return {
    type: PushType.SyncOrgKeys,
    recipients: to(member, [envelope]),
    requirement:
      `SyncOrgKeys (6) as {UserId: ${userId}, Reason: null} once on each connection of the ${whose} user (${
        member.join(", ")
      }) with ContextId null; nothing to the owner, other-org-owner or stranger`,
  };
}

/**
 * `e2e/org-member-revoke` / `-restore`: the member of a fresh organization is revoked (for the
 * restore, revoked before the barrier, then restored).
 */
function memberStatusCase(verb: "revoke" | "restore"): CaseDefinition {
  const command = verb === "revoke"
    ? "RevokeUser/v1/RevokeOrganizationUserCommand.cs"
    : "RestoreUser/v1/RestoreOrganizationUserCommand.cs";
  const route = `PUT /api/organizations/{id}/users/{id}/${verb}`;
  return {
    id: `e2e/org-member-${verb}`,
    level: "MUST",
    requirement: `${
      verb === "revoke" ? "Revoking" : "Restoring"
    } an organization member (${route}) MUST push SyncOrgKeys to every connection of the member's user, once, as {UserId, Reason: null} with ContextId null, and to nobody else`,
    source: sources(
      server(
        "src/Api/AdminConsole/Controllers/OrganizationUsersController.cs",
        verb === "revoke" ? "RevokeAsync" : "RestoreAsync",
      ),
      server(
        `src/Core/AdminConsole/OrganizationFeatures/OrganizationUsers/${command}`,
        "PushSyncOrgKeysAsync(organizationUser.UserId.Value)",
      ),
      server(
        "src/Core/AdminConsole/PushNotificationServiceAdminConsoleExtensions.cs",
        "PushSyncOrgKeysAsync",
      ),
      HUB_HELPERS,
      CLIENT_PROCESSING,
    ),
    needs: ["inject:api", "identity"],
    run: async (ctx) => {
      let organizationId = "";
      let memberId = "";
      const put = (scene: { acting: WatchedDevice }, what: string) =>
        optionalRoute(route, () =>
          scene.acting.session.api(
            "PUT",
            `/organizations/${organizationId}/users/${memberId}/${what}`,
          ));
      await inOrganization(ctx, {
        prepare: async (scene) => {
          // A fresh organization the member is confirmed in; its pushes come before the barrier.
          const admin = await adminSession(ctx, scene.world.owner);
          organizationId = await createOrganization(admin);
          memberId = await inviteMember(admin, organizationId, scene.world.member.account);
          await confirmMember(admin, organizationId, memberId);
          if (verb === "restore") await put(scene, "revoke");
        },
        change: async (scene) => {
          await put(scene, verb);
          return syncOrgKeysToMember(scene, verb === "revoke" ? "revoked" : "restored");
        },
      });
    },
  };
}

function organizationSettingCases(): CaseDefinition[] {
  const needs = ["inject:api" as const, "identity" as const];
  return [
    {
      id: "e2e/policy-save",
      level: "MUST",
      requirement:
        "PUT /api/organizations/{id}/policies/{type} MUST push PolicyChanged to every connection of the organization's members, once, as {OrganizationId, Policy{Id, OrganizationId, Type, Data, Enabled, CreationDate, RevisionDate}} with ContextId null, and to nobody else",
      source: sources(
        server("src/Api/AdminConsole/Controllers/PoliciesController.cs"),
        server(
          "src/Core/AdminConsole/OrganizationFeatures/Policies/Implementations/SavePolicyCommand.cs",
          "PushType.PolicyChanged",
        ),
        HUB_HELPERS,
      ),
      needs,
      run: (ctx) =>
        inOrganization(ctx, {
          change: async (scene) => {
            const organizationId = scene.world.organizationId;
            const type = 6; // DisableSend: no prerequisites and no data.
            const answer = await optionalRoute(
              "PUT /api/organizations/{id}/policies/{type}",
              () =>
                scene.acting.session.api(
                  "PUT",
                  `/organizations/${organizationId}/policies/${type}`,
                  {
                    policy: { enabled: true, data: null },
                    metadata: null,
                  },
                ),
            ) as { id?: unknown };
            const policy: Envelope = {
              type: PushType.PolicyChanged,
              payload: {
                OrganizationId: organizationId,
                Policy: {
                  Id: lower(answer?.id, "Policy"),
                  OrganizationId: organizationId,
                  Type: type,
                  Data: null,
                  Enabled: true,
                  CreationDate: now(),
                  RevisionDate: now(),
                },
              },
              contextId: null,
            };
            return {
              type: PushType.PolicyChanged,
              recipients: to(scene.members, [policy]),
              requirement: `PolicyChanged (25) for DisableSend once on every member connection (${
                scene.members.join(", ")
              }) with ContextId null; nothing to other-org-owner or stranger`,
            };
          },
        }),
    },
    {
      id: "e2e/collection-management",
      level: "MUST",
      requirement:
        "PUT /api/organizations/{id}/collection-management MUST push SyncOrganizationCollectionSettingChanged to every connection of the organization's members, once, re-sent as {OrganizationId, Enabled: false} with ContextId null, and to nobody else",
      source: sources(
        server(
          "src/Api/AdminConsole/Controllers/OrganizationsController.cs",
          "collection-management",
        ),
        server(
          "src/Core/AdminConsole/PushNotificationServiceAdminConsoleExtensions.cs",
          "PushSyncOrganizationCollectionManagementSettingsAsync",
        ),
        HUB_HELPERS,
      ),
      needs,
      run: (ctx) =>
        inOrganization(ctx, {
          change: async (scene) => {
            const organizationId = scene.world.organizationId;
            const settings = {
              limitCollectionCreation: true,
              limitCollectionDeletion: false,
              limitItemDeletion: false,
              allowAdminAccessToAllCollectionItems: true,
            };
            await optionalRoute(
              "PUT /api/organizations/{id}/collection-management",
              () =>
                scene.acting.session.api(
                  "PUT",
                  `/organizations/${organizationId}/collection-management`,
                  settings,
                ),
            );
            // The producer's payload; the hub projection re-sends it as the status model.
            const envelope: Envelope = {
              type: PushType.SyncOrganizationCollectionSettingChanged,
              payload: {
                OrganizationId: organizationId,
                LimitCollectionCreation: true,
                LimitCollectionDeletion: false,
                LimitItemDeletion: false,
              },
              contextId: null,
            };
            return {
              type: PushType.SyncOrganizationCollectionSettingChanged,
              recipients: to(scene.members, [envelope]),
              requirement:
                `SyncOrganizationCollectionSettingChanged (19) as {OrganizationId: ${organizationId}, Enabled: false} once on every member connection (${
                  scene.members.join(", ")
                }) with ContextId null; nothing to other-org-owner or stranger`,
            };
          },
        }),
    },
    {
      id: "e2e/org-member-confirm",
      level: "MUST",
      requirement:
        "Confirming an organization member (POST /api/organizations/{id}/users/{id}/confirm) MUST push SyncOrgKeys to every connection of the confirmed user, once, as {UserId, Reason: null} with ContextId null, and to nobody else",
      source: sources(
        server("src/Api/AdminConsole/Controllers/OrganizationUsersController.cs", "confirm"),
        server(
          "src/Core/AdminConsole/OrganizationFeatures/OrganizationUsers/ConfirmOrganizationUserCommand.cs",
        ),
        server(
          "src/Core/AdminConsole/PushNotificationServiceAdminConsoleExtensions.cs",
          "PushSyncOrgKeysAsync",
        ),
        HUB_HELPERS,
        CLIENT_PROCESSING,
      ),
      needs,
      run: async (ctx) => {
        let organizationId = "";
        let memberId = "";
        await inOrganization(ctx, {
          prepare: async (scene) => {
            // A fresh organization the member is only invited to (Accepted, not yet confirmed).
            const admin = await adminSession(ctx, scene.world.owner);
            organizationId = await createOrganization(admin);
            memberId = await inviteMember(admin, organizationId, scene.world.member.account);
          },
          change: async (scene) => {
            await confirmMember(scene.acting.session, organizationId, memberId);
            return syncOrgKeysToMember(scene, "confirmed");
          },
        });
      },
    },
    {
      id: "e2e/org-member-remove",
      level: "MUST",
      requirement:
        "Removing an organization member (DELETE /api/organizations/{id}/users/{id}) MUST push SyncOrgKeys to every connection of the removed user, once, with ContextId null, and to nobody else",
      source: server(
        "src/Core/AdminConsole/OrganizationFeatures/OrganizationUsers/RemoveOrganizationUserCommand.cs",
        "DeleteAndPushUserRegistrationAsync: PushSyncOrgKeysAsync",
      ),
      needs,
      run: async (ctx) => {
        let organizationId = "";
        let memberId = "";
        await inOrganization(ctx, {
          prepare: async (scene) => {
            // A fresh organization the member belongs to; its confirmation push comes before
            // the barrier.
            const admin = await adminSession(ctx, scene.world.owner);
            organizationId = await createOrganization(admin);
            memberId = await inviteMember(admin, organizationId, scene.world.member.account);
            await confirmMember(admin, organizationId, memberId);
          },
          change: async (scene) => {
            await scene.acting.session.api(
              "DELETE",
              `/organizations/${organizationId}/users/${memberId}`,
            );
            return syncOrgKeysToMember(scene, "removed");
          },
        });
      },
    },
    memberStatusCase("revoke"),
    memberStatusCase("restore"),
  ];
}

// ---------------------------------------------------------------------------------------------
// Account cases

/** A new master password hash (random: the account is a throw-away one). */
function randomHash(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
}

/** LogOut {UserId, Reason: null} once on each connection of the user, nothing to the stranger. */
function logOutToUser(devices: readonly WatchedDevice[], contextId: string | null): ExpectedPush {
  const userId = devices[0]!.session.userId;
  const user = names(devices, "user-");
  return {
    type: PushType.LogOut,
    recipients: to(user, [{
      type: PushType.LogOut,
      payload: { UserId: userId, Reason: null },
      contextId,
    }]),
    requirement:
      `LogOut (11) as {UserId: ${userId}, Reason: null} once on each connection of the user (${
        user.join(", ")
      }) with ContextId ${contextId}; nothing to stranger`,
  };
}

async function inPersonal(
  ctx: CaseContext,
  body: {
    /** Register a throw-away user instead of leasing one (the change spoils the account). */
    fresh?: boolean;
    prepare?: (devices: readonly WatchedDevice[]) => Promise<void>;
    change: (devices: readonly WatchedDevice[]) => Promise<ExpectedPush>;
  },
): Promise<void> {
  const lease = await leasePersonalWorld(ctx);
  try {
    const [pooled, stranger] = lease.value;
    const user = body.fresh
      ? await registerThrowawayAccount(ctx, `e2e-fresh-${crypto.randomUUID().slice(0, 4)}`)
      : pooled;
    const devices = await loginDevices(ctx, [
      { name: "user-web", account: user!, deviceType: DeviceType.ChromeBrowser },
      { name: "user-desktop", account: user!, deviceType: DeviceType.WindowsDesktop },
      { name: "stranger", account: stranger!, deviceType: DeviceType.FirefoxExtension },
    ]);
    const watch = await PushWatch.connect(ctx, devices);
    try {
      await body.prepare?.(devices);
      await watch.barrier();
      await watch.check(await body.change(devices));
    } finally {
      await watch.close();
    }
  } finally {
    lease.release();
  }
}

/** Creates a notification for the user through hubproof's internal route (see below). */
async function createNotification(
  ctx: CaseContext,
  userId: string,
): Promise<{ id: string; title: string; body: string }> {
  const reason =
    "Needs a notification-center notification for a test user: real servers create them only server-side (security tasks); hubproof creates one through POST /api/hubproof/notifications with an internal token (--internal-key)";
  let token: string;
  try {
    token = await internalToken(ctx);
  } catch (error) {
    if (error instanceof CaseUnsupported) throw new CaseUnsupported(`${reason}: ${error.message}`);
    throw error;
  }
  const title = `Conformance ${crypto.randomUUID().slice(0, 8)}`;
  const body = "A notification to mark read or deleted";
  try {
    const answer = await callInternalApi(ctx, token, {
      method: "POST",
      path: "/hubproof/notifications",
      body: { userId, clientType: 0, priority: 0, title, body },
    }) as { id?: unknown };
    return { id: lower(answer?.id, "Notification"), title, body };
  } catch (error) {
    if (error instanceof ApiError && [401, 403, 404, 405].includes(error.status)) {
      throw new CaseUnsupported(`${reason}: ${error.message.split("\n")[0]}`);
    }
    throw error;
  }
}

function notificationCase(which: "read" | "delete"): CaseDefinition {
  const dateField = which === "read" ? "ReadDate" : "DeletedDate";
  return {
    id: `e2e/notification-${which}`,
    level: "MUST",
    requirement:
      `PATCH /api/notifications/{id}/${which} (the first time) MUST push NotificationStatus to every connection of the user, once, with the full notification, ${dateField} set and the acting device as ContextId, and to nobody else`,
    source: sources(
      server("src/Api/NotificationCenter/Controllers/NotificationsController.cs"),
      server(
        `src/Core/NotificationCenter/Commands/MarkNotification${
          which === "read" ? "Read" : "Deleted"
        }Command.cs`,
      ),
      server(
        "src/Core/NotificationCenter/PushNotificationServiceNotificationCenterExtensions.cs",
        "PushNotificationStatusAsync",
      ),
      HUB_HELPERS,
    ),
    needs: ["inject:api", "identity"],
    run: (ctx) => {
      let notification = { id: "", title: "", body: "" };
      return inPersonal(ctx, {
        prepare: async (devices) => {
          notification = await createNotification(ctx, devices[0]!.session.userId);
        },
        change: async (devices) => {
          const [acting] = devices;
          await optionalRoute(
            `PATCH /api/notifications/{id}/${which}`,
            () => acting!.session.api("PATCH", `/notifications/${notification.id}/${which}`),
          );
          const payload: Record<string, JsonValue> = {
            Id: notification.id,
            Priority: 0,
            Global: false,
            ClientType: 0,
            UserId: acting!.session.userId,
            OrganizationId: null,
            InstallationId: null,
            TaskId: null,
            Title: notification.title,
            Body: notification.body,
            CreationDate: now(),
            RevisionDate: now(),
            ReadDate: null,
            DeletedDate: null,
          };
          payload[dateField] = now();
          const user = names(devices, "user-");
          return {
            type: PushType.NotificationStatus,
            recipients: to(user, [{
              type: PushType.NotificationStatus,
              payload,
              contextId: acting!.session.deviceId,
            }]),
            requirement:
              `NotificationStatus (21) for notification ${notification.id} with ${dateField} set once on each connection of the user (${
                user.join(", ")
              }) with ContextId ${acting!.session.deviceId}; nothing to stranger`,
          };
        },
      });
    },
  };
}

function accountCases(): CaseDefinition[] {
  return [
    {
      id: "e2e/settings-domains",
      level: "MUST",
      requirement:
        "PUT /api/settings/domains MUST push SyncSettings to every connection of the user, once, re-sent as {UserId, Reason: null} with ContextId null, and to nobody else",
      source: sources(
        server("src/Api/Controllers/SettingsController.cs", "domains"),
        server("src/Core/Services/Implementations/UserService.cs", "SaveUserAsync"),
        server("src/Core/Auth/PushNotificationServiceAuthExtensions.cs", "PushSyncSettingsAsync"),
        HUB_HELPERS,
        CLIENT_PROCESSING,
      ),
      needs: ["inject:api", "identity"],
      run: (ctx) =>
        inPersonal(ctx, {
          change: async (devices) => {
            const [acting] = devices;
            await optionalRoute("PUT /api/settings/domains", () =>
              acting!.session.api("PUT", "/settings/domains", {
                equivalentDomains: [["example.com", "example.net"]],
                excludedGlobalEquivalentDomains: [],
              }));
            return userWideSync(devices, acting!.session.userId, PushType.SyncSettings);
          },
        }),
    },
    {
      id: "e2e/cipher-import",
      level: "MUST",
      requirement:
        "POST /api/ciphers/import MUST push SyncVault to every connection of the user, once, re-sent as {UserId, Reason: null} with ContextId null, and to nobody else",
      source: sources(
        server("src/Api/Tools/Controllers/ImportCiphersController.cs"),
        server("src/Core/Tools/ImportFeatures/ImportCiphersCommand.cs", "PushSyncVaultAsync"),
      ),
      needs: ["inject:api", "identity"],
      run: (ctx) =>
        inPersonal(ctx, {
          change: async (devices) => {
            const [acting] = devices;
            await optionalRoute("POST /api/ciphers/import", () =>
              acting!.session.api("POST", "/ciphers/import", {
                folders: [{ name: ENC_STRING }],
                ciphers: [{ type: 2, name: ENC_STRING, secureNote: { type: 0 } }],
                folderRelationships: [{ key: 0, value: 0 }],
              }));
            return userWideSync(devices, acting!.session.userId, PushType.SyncVault);
          },
        }),
    },
    {
      id: "e2e/cipher-move",
      level: "MUST",
      requirement:
        "PUT /api/ciphers/move (to a folder, in bulk) MUST push SyncCiphers to every connection of the user, once, re-sent as {UserId, Reason: null} with ContextId null, and to nobody else",
      source: sources(
        server("src/Api/Vault/Controllers/CiphersController.cs", "MoveMany"),
        server(
          "src/Core/Vault/Services/Implementations/CipherService.cs",
          "MoveManyAsync: PushSyncCiphersAsync",
        ),
      ),
      needs: ["inject:api", "identity"],
      run: (ctx) => {
        // Two ciphers: a bulk move (Vaultwarden pushes SyncCipherUpdate for a single one).
        let cipherIds: string[] = [];
        let folderId = "";
        return inPersonal(ctx, {
          prepare: async (devices) => {
            const session = devices[0]!.session;
            [folderId, ...cipherIds] = await Promise.all([
              session.createFolder(),
              session.createCipher(),
              session.createCipher(),
            ]);
          },
          change: async (devices) => {
            const [acting] = devices;
            await optionalRoute(
              "PUT /api/ciphers/move",
              () => acting!.session.api("PUT", "/ciphers/move", { ids: cipherIds, folderId }),
            );
            return userWideSync(devices, acting!.session.userId, PushType.SyncCiphers);
          },
        });
      },
    },
    {
      id: "e2e/password-change",
      level: "MUST",
      requirement:
        "POST /api/accounts/password MUST push LogOut to every device of the user with the acting device as ContextId, and nothing to others",
      source: sources(
        server("src/Api/Auth/Controllers/AccountsController.cs", "PostPassword"),
        server(
          "src/Core/Auth/UserFeatures/UserMasterPassword/SelfServicePasswordChangeCommand.cs",
          "PushLogOutAsync(user.Id, true)",
        ),
        HUB_HELPERS,
        CLIENT_PROCESSING,
      ),
      needs: ["inject:api", "identity"],
      run: (ctx) =>
        inPersonal(ctx, {
          fresh: true,
          change: async (devices) => {
            const [acting] = devices;
            const newHash = randomHash();
            await optionalRoute("POST /api/accounts/password", () =>
              acting!.session.api("POST", "/accounts/password", {
                masterPasswordHash: acting!.session.account.passwordHash,
                masterPasswordHint: null,
                newMasterPasswordHash: newHash,
                key: ENC_STRING,
              }));
            return logOutToUser(devices, acting!.session.deviceId);
          },
        }),
    },
    {
      id: "e2e/kdf-change",
      level: "MUST",
      requirement:
        "POST /api/accounts/kdf MUST push LogOut to every device of the user, the acting one included (ContextId null), as {UserId, Reason: null}, and nothing to others",
      source: sources(
        server("src/Api/Auth/Controllers/AccountsController.cs", "PostKdf"),
        server(
          "src/Core/KeyManagement/Kdf/Implementations/ChangeKdfCommand.cs",
          "PushLogOutAsync(user.Id) with NoLogoutOnKdfChange off",
        ),
        server("src/Core/Auth/PushNotificationServiceAuthExtensions.cs", "PushLogOutAsync"),
        HUB_HELPERS,
        CLIENT_PROCESSING,
      ),
      needs: ["inject:api", "identity"],
      run: (ctx) =>
        inPersonal(ctx, {
          fresh: true,
          change: async (devices) => {
            const [acting] = devices;
            const { email, passwordHash } = acting!.session.account;
            const kdf = { kdfType: 0, iterations: 650_000 };
            await optionalRoute("POST /api/accounts/kdf", () =>
              acting!.session.api("POST", "/accounts/kdf", {
                masterPasswordHash: passwordHash,
                authenticationData: {
                  kdf,
                  salt: email.toLowerCase(),
                  masterPasswordAuthenticationHash: randomHash(),
                },
                unlockData: { kdf, salt: email.toLowerCase(), masterKeyWrappedUserKey: ENC_STRING },
              }));
            return logOutToUser(devices, null);
          },
        }),
    },
    notificationCase("read"),
    notificationCase("delete"),
  ];
}

/**
 * The end-to-end cases of the organization (membership: confirm, remove, revoke, restore), policy, settings and notification-center producers.
 *
 * @returns The cases.
 */
export function e2eProducerCases(): CaseDefinition[] {
  return [...orgCipherCases(), ...organizationSettingCases(), ...accountCases()];
}
