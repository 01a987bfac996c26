/**
 * `e2e/*` (`--inject api`): real Bitwarden requests through the target's identity and API, and
 * the pushes they must produce (research bitwarden-server.md §2.4, bitwarden-api.md §3): register
 * -> log in two devices -> change data on one -> the other receives it with the acting device as
 * ContextId; another user's socket receives nothing.
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { type Envelope, PushType, pushTypeName } from "../../protocol/bitwarden/mod.ts";
import { MessageType } from "../../protocol/signalr/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure } from "../types.ts";
import { type Account, ApiSession, ENC_STRING } from "../driver/api_client.ts";
import { leasePersonalWorld } from "../driver/e2e_world.ts";
import { HubClient } from "../driver/hub_client.ts";
import { show } from "../driver/_format.ts";
import { gradeDelivery } from "../driver/push_watch.ts";
import { CLIENT_PROCESSING, HUB_HELPERS, server, sources } from "./_sources.ts";

interface Actors {
  readonly acting: ApiSession;
  readonly listener: ApiSession;
  readonly stranger: ApiSession;
  readonly clients: {
    readonly acting: HubClient;
    readonly listener: HubClient;
    readonly stranger: HubClient;
  };
  /** Closes the hub clients and gives leased accounts back to the run's pool. */
  close(): Promise<void>;
}

/**
 * A user with an acting and a listening device, and a stranger. The accounts come from the run's
 * pool (so their logged-in sessions are reused from case to case: a target's login rate limit
 * is spent once, not per case), unless the case spoils them (`fresh`: a security-stamp change
 * ends every session of the user), which registers throw-away accounts.
 */
async function actors(ctx: CaseContext, fresh = false): Promise<Actors> {
  let release = () => {};
  let account: Account;
  let stranger: ApiSession;
  if (fresh) {
    [account, stranger] = await Promise.all([
      ApiSession.register(ctx, "acting"),
      ApiSession.registerAndLogin(ctx, {
        name: "stranger",
        deviceType: DeviceType.FirefoxExtension,
      }),
    ]);
  } else {
    const lease = await leasePersonalWorld(ctx);
    release = () => lease.release();
    const [user, other] = lease.value;
    account = user!.account;
    stranger = await ApiSession.login(ctx, other!.account, {
      name: "stranger",
      deviceType: DeviceType.FirefoxExtension,
    }).catch((error) => {
      release();
      throw error;
    });
  }
  try {
    const acting = await ApiSession.login(ctx, account, {
      name: "acting",
      deviceType: DeviceType.ChromeBrowser,
    });
    const listener = await ApiSession.login(ctx, account, {
      name: "listener",
      deviceType: DeviceType.WindowsDesktop,
    });
    const connect = (session: ApiSession) =>
      HubClient.connect(ctx.target.hubUrl, {
        name: session.name,
        token: session.accessToken,
        trace: ctx.trace,
        signal: ctx.signal,
      });
    const clients = {
      acting: await connect(acting),
      listener: await connect(listener),
      stranger: await connect(stranger),
    };
    await new Promise((r) => setTimeout(r, Math.min(300, ctx.graceMs)));
    const close = async () => {
      await Promise.all(Object.values(clients).map((c) => c.close()));
      release();
    };
    return { acting, listener, stranger, clients, close };
  } catch (error) {
    release();
    throw error;
  }
}

function field(record: unknown, name: string): unknown {
  if (record === null || typeof record !== "object") return undefined;
  return (record as Record<string, unknown>)[name];
}

/**
 * Waits for one push of the envelope's type on a client and grades it: what clients read
 * (MUST, thrown at once) and the exact current-Bitwarden form (SHOULD, returned).
 */
async function expectPush(
  ctx: CaseContext,
  client: HubClient,
  receiver: ApiSession,
  envelope: Envelope,
  earlier = 0,
): Promise<string[]> {
  const type = envelope.type;
  const pushes = () => ofType(client, type).slice(earlier);
  const got = await client.waitFor(() => pushes()[0], Math.max(3000, ctx.timeoutMs * 0.5));
  if (!got) {
    throw new CaseFailure(
      `${client.name} to receive ${pushTypeName(type)} (${type})`,
      `received ${
        client.invocations().map((m) => `${m.target}/${field(m.arguments[0], "Type")}`).join(
          ", ",
        ) || "nothing"
      }`,
    );
  }
  // A second copy may come late (a redelivery, a backplane echo): watch the whole grace.
  await client.quiet(ctx.graceMs);
  if (pushes().length !== 1) {
    throw new CaseFailure(`one ${pushTypeName(type)} on ${client.name}`, `${pushes().length}`);
  }
  const grade = gradeDelivery([envelope], got, {
    protocol: "messagepack",
    receiver: { userId: receiver.userId },
  });
  if (grade.must.length > 0) {
    throw new CaseFailure(
      `the ${pushTypeName(type)} envelope of the change, as clients read it`,
      `${client.name}: ${grade.must.join("; ")}`,
    );
  }
  return grade.should.map((difference) => `${client.name}: ${difference}`);
}

async function expectNothing(ctx: CaseContext, client: HubClient, since = 0): Promise<void> {
  await client.quiet(ctx.graceMs);
  const got = client.invocations().slice(since).filter((m) =>
    m.type === MessageType.Invocation && m.target !== "Heartbeat"
  );
  if (got.length > 0) {
    throw new CaseFailure(
      `nothing for ${client.name}`,
      `${got.length} push(es): ${show(got[0]!.arguments[0], 200)}`,
    );
  }
}

/**
 * One change of a personal e2e case: what it pushes, and how many earlier pushes of the same
 * type its set-up made (`earlier`: they arrived before the change and are not counted).
 */
type Step = (
  a: Actors,
  ctx: CaseContext,
) => Promise<PersonalChange & { earlier?: number }>;

/** A personal change: what it pushed and to whom it applies. */
interface PersonalChange {
  readonly id?: string;
  readonly contextId: string | null;
  readonly type: PushType;
}

/** Waits until both of the user's clients hold `count` pushes of `type` (a set-up's pushes). */
async function settled(ctx: CaseContext, a: Actors, type: PushType, count = 1): Promise<void> {
  for (const client of [a.clients.listener, a.clients.acting]) {
    const got = await client.waitFor(
      () => (ofType(client, type).length >= count ? true : undefined),
      Math.max(3000, ctx.timeoutMs * 0.3),
    );
    if (!got) {
      throw new CaseFailure(
        `${client.name} to receive the set-up's ${pushTypeName(type)} (${type})`,
        `${ofType(client, type).length} of ${count}`,
      );
    }
  }
}

/** The login-with-device requester's socket on the anonymous hub, joined with the request's id. */
function requesterSocket(ctx: CaseContext, requestId: string): Promise<HubClient> {
  return HubClient.connect(ctx.target.anonymousHubUrl, {
    name: "requester",
    query: { Token: requestId },
    trace: ctx.trace,
    signal: ctx.signal,
  });
}

function ofType(client: HubClient, type: PushType) {
  return client.invocations("ReceiveMessage").filter((m) => field(m.arguments[0], "Type") === type);
}

/**
 * The exact envelope current Bitwarden pushes for a personal change (bitwarden/server
 * src/Core/Vault/Services/Implementations/CipherService.cs, PushNotificationServiceToolsExtensions.cs
 * @ ac309aa19ed351406a56032d5f26a7a9a99f4abd: personal ciphers carry `CollectionIds: []` on create
 * and update, none on delete).
 */
function personalEnvelope(change: PersonalChange, userId: string): Envelope {
  const revisionDate = new Date().toISOString();
  const id = change.id ?? null;
  switch (change.type) {
    case PushType.SyncCipherCreate:
    case PushType.SyncCipherUpdate:
    case PushType.SyncLoginDelete: {
      const deleted = change.type === PushType.SyncLoginDelete;
      return {
        type: change.type,
        payload: {
          Id: id,
          UserId: userId,
          OrganizationId: null,
          CollectionIds: deleted ? null : [],
          RevisionDate: revisionDate,
        },
        contextId: change.contextId,
      };
    }
    case PushType.LogOut:
      return {
        type: change.type,
        payload: { UserId: userId, Reason: null },
        contextId: change.contextId,
      };
    case PushType.AuthRequest:
      return {
        type: change.type,
        payload: { UserId: userId, Id: id },
        contextId: change.contextId,
      };
    default:
      // Folders and sends: {Id, UserId, RevisionDate}.
      return {
        type: change.type,
        payload: { Id: id, UserId: userId, RevisionDate: revisionDate },
        contextId: change.contextId,
      };
  }
}

function e2eCase(
  id: string,
  requirement: string,
  source: string,
  step: Step,
  fresh = false,
): CaseDefinition {
  return {
    id,
    level: "MUST",
    requirement,
    source,
    needs: ["inject:api"],
    async run(ctx) {
      const a = await actors(ctx, fresh);
      try {
        const change = await step(a, ctx);
        const envelope = personalEnvelope(change, a.acting.userId);
        const differences = [
          ...await expectPush(ctx, a.clients.listener, a.listener, envelope, change.earlier),
          ...await expectPush(ctx, a.clients.acting, a.acting, envelope, change.earlier),
        ];
        await expectNothing(ctx, a.clients.stranger);
        if (differences.length > 0) {
          throw new CaseFailure(
            `the ${
              pushTypeName(envelope.type)
            } envelope in the exact form current Bitwarden sends (SHOULD: clients read what arrived correctly)`,
            differences.join("; "),
            undefined,
            { level: "SHOULD" },
          );
        }
      } finally {
        await a.close();
      }
    },
  };
}

const FOLDERS = sources(
  server("src/Api/Vault/Controllers/FoldersController.cs"),
  server("src/Core/Vault/PushNotificationServiceVaultExtensions.cs", "PushSyncFolder*Async"),
  HUB_HELPERS,
  CLIENT_PROCESSING,
);
const CIPHERS = sources(
  server("src/Api/Vault/Controllers/CiphersController.cs"),
  server("src/Core/Vault/Services/Implementations/CipherSyncPushService.cs"),
  HUB_HELPERS,
  CLIENT_PROCESSING,
);
const SENDS = sources(
  server("src/Api/Tools/Controllers/SendsController.cs"),
  server("src/Core/Tools/PushNotificationServiceToolsExtensions.cs"),
  HUB_HELPERS,
  CLIENT_PROCESSING,
);
const SECURITY_STAMP = sources(
  server("src/Api/Auth/Controllers/AccountsController.cs", "PostSecurityStamp"),
  server("src/Core/Services/Implementations/UserService.cs", "RefreshSecurityStampAsync"),
  server("src/Core/Auth/PushNotificationServiceAuthExtensions.cs", "PushLogOutAsync"),
  HUB_HELPERS,
);
const AUTH_REQUESTS = sources(
  server("src/Api/Auth/Controllers/AuthRequestsController.cs"),
  server("src/Core/Auth/PushNotificationServiceAuthExtensions.cs", "PushAuthRequest*Async"),
  HUB_HELPERS,
);
const CIPHER_SERVICE = "src/Core/Vault/Services/Implementations/CipherService.cs";

/**
 * The end-to-end cases.
 *
 * @returns The cases.
 */
export function e2eCases(): CaseDefinition[] {
  return [
    e2eCase(
      "e2e/folder-create",
      "POST /api/folders MUST push SyncFolderCreate to every device of the owner with the acting device as ContextId",
      FOLDERS,
      async (a) => ({
        id: await a.acting.createFolder(),
        contextId: a.acting.deviceId,
        type: PushType.SyncFolderCreate,
      }),
    ),
    e2eCase(
      "e2e/folder-update",
      "PUT /api/folders/{id} MUST push SyncFolderUpdate with the acting device as ContextId",
      FOLDERS,
      async (a) => {
        const id = await a.acting.createFolder();
        await a.acting.api("PUT", `/folders/${id}`, { name: ENC_STRING });
        return { id, contextId: a.acting.deviceId, type: PushType.SyncFolderUpdate };
      },
    ),
    e2eCase(
      "e2e/folder-delete",
      "DELETE /api/folders/{id} MUST push SyncFolderDelete with the acting device as ContextId",
      FOLDERS,
      async (a) => {
        const id = await a.acting.createFolder();
        await a.acting.api("DELETE", `/folders/${id}`);
        return { id, contextId: a.acting.deviceId, type: PushType.SyncFolderDelete };
      },
    ),
    e2eCase(
      "e2e/cipher-create",
      "POST /api/ciphers MUST push SyncCipherCreate with the acting device as ContextId",
      CIPHERS,
      async (a) => ({
        id: await a.acting.createCipher(),
        contextId: a.acting.deviceId,
        type: PushType.SyncCipherCreate,
      }),
    ),
    e2eCase(
      "e2e/cipher-update",
      "PUT /api/ciphers/{id} MUST push SyncCipherUpdate with the acting device as ContextId",
      CIPHERS,
      async (a) => {
        const id = await a.acting.createCipher();
        await a.acting.api("PUT", `/ciphers/${id}`, {
          type: 2,
          name: ENC_STRING,
          secureNote: { type: 0 },
        });
        return { id, contextId: a.acting.deviceId, type: PushType.SyncCipherUpdate };
      },
    ),
    e2eCase(
      "e2e/cipher-delete",
      "DELETE /api/ciphers/{id} MUST push SyncLoginDelete with the acting device as ContextId",
      CIPHERS,
      async (a) => {
        const id = await a.acting.createCipher();
        await a.acting.api("DELETE", `/ciphers/${id}`);
        return { id, contextId: a.acting.deviceId, type: PushType.SyncLoginDelete };
      },
    ),
    e2eCase(
      "e2e/cipher-soft-delete",
      "PUT /api/ciphers/{id}/delete (to the trash) MUST push SyncCipherUpdate with the acting device as ContextId",
      sources(server(CIPHER_SERVICE, "SoftDeleteAsync: PushSyncCipherUpdateAsync"), HUB_HELPERS),
      async (a) => {
        const id = await a.acting.createCipher();
        await a.acting.api("PUT", `/ciphers/${id}/delete`);
        return { id, contextId: a.acting.deviceId, type: PushType.SyncCipherUpdate };
      },
    ),
    e2eCase(
      "e2e/cipher-restore",
      "PUT /api/ciphers/{id}/restore (out of the trash) MUST push SyncCipherUpdate with the acting device as ContextId",
      sources(server(CIPHER_SERVICE, "RestoreAsync: PushSyncCipherUpdateAsync"), HUB_HELPERS),
      async (a, ctx) => {
        const id = await a.acting.createCipher();
        await a.acting.api("PUT", `/ciphers/${id}/delete`);
        await settled(ctx, a, PushType.SyncCipherUpdate);
        await a.acting.api("PUT", `/ciphers/${id}/restore`);
        // RestoreAsync pushes CollectionIds [] as a save does (CipherService.cs line 814).
        return { id, contextId: a.acting.deviceId, type: PushType.SyncCipherUpdate, earlier: 1 };
      },
    ),
    e2eCase(
      "e2e/send-create",
      "POST /api/sends MUST push SyncSendCreate with the acting device as ContextId",
      SENDS,
      async (a) => ({
        id: await a.acting.createSend(),
        contextId: a.acting.deviceId,
        type: PushType.SyncSendCreate,
      }),
    ),
    e2eCase(
      "e2e/send-update",
      "PUT /api/sends/{id} MUST push SyncSendUpdate with the acting device as ContextId",
      SENDS,
      async (a) => {
        const id = await a.acting.createSend();
        await a.acting.api("PUT", `/sends/${id}`, a.acting.sendBody());
        return { id, contextId: a.acting.deviceId, type: PushType.SyncSendUpdate };
      },
    ),
    e2eCase(
      "e2e/send-delete",
      "DELETE /api/sends/{id} MUST push SyncSendDelete with the acting device as ContextId",
      SENDS,
      async (a) => {
        const id = await a.acting.createSend();
        await a.acting.api("DELETE", `/sends/${id}`);
        return { id, contextId: a.acting.deviceId, type: PushType.SyncSendDelete };
      },
    ),
    e2eCase(
      "e2e/send-remove-password",
      "PUT /api/sends/{id}/remove-password MUST push SyncSendUpdate with the acting device as ContextId",
      sources(
        server(
          "src/Api/Tools/Controllers/SendsController.cs",
          "PutRemovePassword -> SaveSendAsync -> PushSyncSendUpdateAsync",
        ),
        HUB_HELPERS,
      ),
      async (a) => {
        const id = await a.acting.createSend();
        await a.acting.api("PUT", `/sends/${id}/remove-password`);
        return { id, contextId: a.acting.deviceId, type: PushType.SyncSendUpdate };
      },
    ),
    e2eCase(
      "e2e/security-stamp",
      "POST /api/accounts/security-stamp MUST push LogOut to every device of the user with ContextId nil",
      SECURITY_STAMP,
      async (a) => {
        await a.acting.api("POST", "/accounts/security-stamp", {
          masterPasswordHash: a.acting.account.passwordHash,
        });
        return { contextId: null, type: PushType.LogOut };
      },
      true,
    ),
    e2eCase(
      "e2e/auth-request",
      "POST /api/auth-requests MUST push AuthRequest to the user's devices with the requesting device (Device-Identifier) as ContextId",
      AUTH_REQUESTS,
      async (a) => {
        const request = await a.acting.createAuthRequest(a.acting);
        return { id: request.id, contextId: a.acting.deviceId, type: PushType.AuthRequest };
      },
    ),
    {
      id: "e2e/auth-request-approved",
      level: "MUST",
      requirement:
        "Approving an auth request (PUT /api/auth-requests/{id}) MUST send AuthRequestResponse to the requester's anonymous socket only",
      source: AUTH_REQUESTS,
      needs: ["inject:api"],
      async run(ctx) {
        const a = await actors(ctx);
        const [requester, bystander] = await Promise.all([
          HubClient.connect(ctx.target.anonymousHubUrl, {
            name: "requester-anon",
            query: { Token: "pending" },
            trace: ctx.trace,
            signal: ctx.signal,
          }),
          HubClient.connect(ctx.target.anonymousHubUrl, {
            name: "bystander-anon",
            query: { Token: crypto.randomUUID() },
            trace: ctx.trace,
            signal: ctx.signal,
          }),
        ]);
        let anon: HubClient | undefined;
        try {
          const request = await a.acting.createAuthRequest(a.acting);
          anon = await requesterSocket(ctx, request.id);
          await new Promise((r) => setTimeout(r, Math.min(300, ctx.graceMs)));
          await a.listener.api("PUT", `/auth-requests/${request.id}`, {
            key: ENC_STRING,
            masterPasswordHash: null,
            deviceIdentifier: a.listener.deviceId,
            requestApproved: true,
          });
          const client = anon;
          const got = await client.waitFor(
            () => client.invocations("AuthRequestResponseRecieved")[0],
            ctx.timeoutMs / 2,
          );
          if (!got) {
            throw new CaseFailure(
              "AuthRequestResponseRecieved on the requester's anonymous socket",
              "nothing",
            );
          }
          const payload = field(got.arguments[0], "Payload");
          if (
            field(got.arguments[0], "Type") !== PushType.AuthRequestResponse ||
            field(payload, "Id") !== request.id
          ) {
            throw new CaseFailure(
              `Type 16 with Payload.Id ${request.id}`,
              show(got.arguments[0], 300),
            );
          }
          await Promise.all([expectNothing(ctx, requester), expectNothing(ctx, bystander)]);
          const copies = client.invocations("AuthRequestResponseRecieved").length;
          if (copies !== 1) {
            throw new CaseFailure(
              "one AuthRequestResponseRecieved on the requester's anonymous socket",
              `${copies} within ${ctx.graceMs} ms`,
            );
          }
        } finally {
          await Promise.all([
            requester.close(),
            bystander.close(),
            anon?.close(),
            a.close(),
          ]);
        }
      },
    },
    {
      id: "e2e/auth-request-denied",
      level: "MUST",
      requirement:
        "Denying an auth request (PUT /api/auth-requests/{id}, requestApproved false) MUST push nothing: not to the requester's anonymous socket, not to any device",
      source: server(
        "src/Core/Auth/Services/Implementations/AuthRequestService.cs",
        "UpdateAuthRequestAsync pushes only an approval, so a denial is not leaked",
      ),
      needs: ["inject:api"],
      async run(ctx) {
        const a = await actors(ctx);
        let anon: HubClient | undefined;
        try {
          const request = await a.acting.createAuthRequest(a.acting);
          anon = await requesterSocket(ctx, request.id);
          // The request itself pushes AuthRequest to the user's devices: let it arrive first.
          await settled(ctx, a, PushType.AuthRequest);
          await new Promise((r) => setTimeout(r, Math.min(300, ctx.graceMs)));
          const clients = [anon, ...Object.values(a.clients)];
          const since = new Map(clients.map((c) => [c, c.invocations().length]));
          // A key is sent although a denial ignores it: Vaultwarden's model requires one (422).
          await a.listener.api("PUT", `/auth-requests/${request.id}`, {
            key: ENC_STRING,
            masterPasswordHash: null,
            deviceIdentifier: a.listener.deviceId,
            requestApproved: false,
          });
          await Promise.all(clients.map((c) => expectNothing(ctx, c, since.get(c))));
        } finally {
          await Promise.all([anon?.close(), a.close()]);
        }
      },
    },
  ];
}
