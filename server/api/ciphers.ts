/**
 * Cipher routes (`CiphersController`): personal ciphers push 1/0/2 to the owner; organization
 * ciphers push to `Organization_{org}` (flag `OrgCipherPushFanout` off); `POST /ciphers/import`
 * pushes 5 SyncVault (research bitwarden-api.md §3.2, bitwarden-server.md §2.4).
 *
 * @module
 */

import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { PushNotification } from "../push/types.ts";
import { type ApiDeps, guidParam, iso, userPush } from "./_deps.ts";
import type { UserContext } from "./context.ts";
import {
  badRequest,
  emptyOk,
  field,
  type JsonObject,
  jsonResponse,
  modelStateError,
  notFound,
  readJsonObject,
} from "../kernel/http.ts";
import type { Router } from "../kernel/router.ts";
import { type Cipher, MemberType, newId } from "../kernel/store.ts";
import { isGuid, ModelState } from "../kernel/validation.ts";

const TYPE_OBJECTS: Readonly<Record<number, string>> = {
  1: "login",
  2: "secureNote",
  3: "card",
  4: "identity",
  5: "sshKey",
};

const DATA_FIELDS = [
  "name",
  "notes",
  "login",
  "secureNote",
  "card",
  "identity",
  "sshKey",
  "fields",
  "passwordHistory",
  "data",
];

/**
 * The cipher response model.
 *
 * @param cipher The cipher.
 * @returns The model.
 */
export function cipherResponse(cipher: Cipher): Record<string, unknown> {
  const body: Record<string, unknown> = {
    object: "cipherDetails",
    id: cipher.id,
    organizationId: cipher.organizationId,
    type: cipher.type,
  };
  for (const name of DATA_FIELDS) body[name] = cipher.data[name] ?? null;
  Object.assign(body, {
    attachments: null,
    organizationUseTotp: false,
    revisionDate: iso(cipher.revisionDate),
    creationDate: iso(cipher.creationDate),
    deletedDate: cipher.deletedDate ? iso(cipher.deletedDate) : null,
    reprompt: cipher.reprompt,
    key: cipher.key,
    folderId: cipher.folderId,
    favorite: cipher.favorite,
    edit: true,
    viewPassword: true,
    permissions: { delete: true, restore: true },
    collectionIds: cipher.collectionIds,
  });
  return body;
}

interface CipherInput {
  readonly type: number;
  readonly data: Record<string, unknown>;
  readonly folderId: string | null;
  readonly favorite: boolean;
  readonly reprompt: number;
  readonly key: string | null;
  readonly organizationId: string | null;
  readonly lastKnownRevisionDate: Date | null;
}

function readCipher(body: JsonObject): CipherInput {
  const state = new ModelState(body);
  const type = state.int("type", { required: true, allowed: [1, 2, 3, 4, 5, 6, 7, 8] });
  const name = state.string("name", { required: true, encString: true, max: 1000 });
  const notes = state.string("notes", { encString: true, max: 10000 });
  const folderId = state.string("folderId", { guid: true });
  const favorite = state.bool("favorite");
  const reprompt = state.int("reprompt", { allowed: [0, 1] });
  const key = state.string("key");
  const organizationId = state.string("organizationId", { guid: true, max: 36 });
  const lastKnown = state.date("lastKnownRevisionDate");
  const typeObject = type === null ? undefined : TYPE_OBJECTS[type];
  if (typeObject !== undefined && field(body, typeObject) == null && field(body, "data") == null) {
    const key = typeObject.charAt(0).toUpperCase() + typeObject.slice(1);
    state.add(key, `The ${key} field is required.`);
  }
  state.throwIfInvalid();
  const data: Record<string, unknown> = { name, notes };
  for (const n of DATA_FIELDS.slice(2)) {
    const value = field(body, n);
    if (value !== undefined) data[n] = value;
  }
  return {
    type: type!,
    data,
    folderId: folderId?.toLowerCase() ?? null,
    favorite: favorite ?? false,
    reprompt: reprompt ?? 0,
    key,
    organizationId: organizationId?.toLowerCase() ?? null,
    lastKnownRevisionDate: lastKnown,
  };
}

/**
 * Adds the cipher routes.
 *
 * @param router The API router.
 * @param deps Dependencies.
 */
export function addCipherRoutes(router: Router, deps: ApiDeps): void {
  const { store } = deps;

  function canUseCollections(
    ctx: UserContext,
    organizationId: string,
    collectionIds: readonly string[],
  ): boolean {
    const m = store.confirmedMembership(organizationId, ctx.user.id);
    if (!m) return false;
    if (m.type === MemberType.Owner || m.type === MemberType.Admin) return true;
    return collectionIds.every((id) => m.collectionIds.includes(id));
  }

  function accessible(ctx: UserContext, id: string | undefined): Cipher {
    const cipher = store.ciphers.get(guidParam(id));
    if (!cipher) throw notFound();
    if (cipher.userId !== null) {
      if (cipher.userId !== ctx.user.id) throw notFound();
    } else if (
      cipher.organizationId === null ||
      !canUseCollections(ctx, cipher.organizationId, cipher.collectionIds)
    ) throw notFound();
    return cipher;
  }

  function cipherPush(
    ctx: UserContext,
    type: PushType,
    cipher: Cipher,
    collectionIds: string[] | null,
  ): PushNotification {
    if (cipher.organizationId !== null) {
      return {
        type,
        target: "organization",
        targetId: cipher.organizationId,
        payload: {
          Id: cipher.id,
          UserId: null,
          OrganizationId: cipher.organizationId,
          CollectionIds: null,
          RevisionDate: iso(cipher.revisionDate),
        },
        excludeCurrentContext: true,
        deviceIdentifier: ctx.deviceIdentifier,
      };
    }
    return userPush(ctx, type, {
      Id: cipher.id,
      UserId: cipher.userId,
      OrganizationId: null,
      CollectionIds: collectionIds,
      RevisionDate: iso(cipher.revisionDate),
    });
  }

  async function create(
    ctx: UserContext,
    input: CipherInput,
    collectionIds: string[],
  ): Promise<Cipher> {
    if (input.organizationId !== null) {
      if (!store.organizations.has(input.organizationId)) throw notFound();
      if (collectionIds.length === 0) throw badRequest("You must select at least one collection.");
      for (const id of collectionIds) {
        if (store.collections.get(id)?.organizationId !== input.organizationId) {
          throw badRequest("Specified CollectionId does not exist on the specified Organization.");
        }
      }
      if (!canUseCollections(ctx, input.organizationId, collectionIds)) throw notFound();
    }
    const now = deps.now();
    const cipher: Cipher = {
      id: newId(),
      userId: input.organizationId === null ? ctx.user.id : null,
      organizationId: input.organizationId,
      type: input.type,
      data: input.data,
      folderId: input.folderId,
      favorite: input.favorite,
      reprompt: input.reprompt,
      key: input.key,
      collectionIds: input.organizationId === null ? [] : collectionIds,
      creationDate: now,
      revisionDate: now,
      deletedDate: null,
    };
    store.ciphers.set(cipher.id, cipher);
    await deps.push(cipherPush(ctx, PushType.SyncCipherCreate, cipher, []));
    return cipher;
  }

  router.on("GET", "/ciphers/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    return jsonResponse(cipherResponse(accessible(ctx, params.id)));
  });

  router.on("POST", "/ciphers", async (request) => {
    const ctx = await deps.auth.user(request);
    const input = readCipher(await readJsonObject(request));
    if (input.organizationId !== null) {
      throw badRequest("You must select at least one collection.");
    }
    return jsonResponse(cipherResponse(await create(ctx, input, [])));
  });

  router.on("POST", "/ciphers/create", async (request) => {
    const ctx = await deps.auth.user(request);
    const body = await readJsonObject(request);
    const state = new ModelState(body);
    const inner = state.object("cipher", { required: true });
    const collectionIds = state.guids("collectionIds");
    state.throwIfInvalid();
    const input = readCipher(inner!);
    return jsonResponse(cipherResponse(await create(ctx, input, collectionIds ?? [])));
  });

  router.on("POST", "/ciphers/import", async (request) => {
    const ctx = await deps.auth.user(request);
    const body = await readJsonObject(request);
    const folders = field(body, "folders") ?? [];
    const ciphers = field(body, "ciphers") ?? [];
    const relationships = field(body, "folderRelationships") ?? [];
    if (!Array.isArray(folders) || !Array.isArray(ciphers) || !Array.isArray(relationships)) {
      throw modelStateError({ "": ["Folders, Ciphers and FolderRelationships must be arrays."] });
    }
    const folderNames = folders.map((f, i) => {
      const state = new ModelState(typeof f === "object" && f !== null ? f as JsonObject : {});
      const name = state.string("name", { required: true, encString: true, max: 1000 });
      if (!state.valid) {
        throw badRequest(`Folder ${i} is invalid: name must be an encrypted string.`);
      }
      return name!;
    });
    const inputs = ciphers.map((c) =>
      readCipher(typeof c === "object" && c !== null ? c as JsonObject : {})
    );
    if (inputs.some((c) => c.organizationId !== null)) {
      throw badRequest("You cannot import items into an organization here.");
    }
    const now = deps.now();
    const folderIds = folderNames.map((name) => {
      const id = newId();
      store.folders.set(id, { id, userId: ctx.user.id, name, revisionDate: now });
      return id;
    });
    const cipherIds = inputs.map((input) => {
      const id = newId();
      store.ciphers.set(id, {
        id,
        userId: ctx.user.id,
        organizationId: null,
        type: input.type,
        data: input.data,
        folderId: null,
        favorite: input.favorite,
        reprompt: input.reprompt,
        key: input.key,
        collectionIds: [],
        creationDate: now,
        revisionDate: now,
        deletedDate: null,
      });
      return id;
    });
    for (const r of relationships) {
      const k = typeof r === "object" && r !== null ? field(r as JsonObject, "key") : undefined;
      const v = typeof r === "object" && r !== null ? field(r as JsonObject, "value") : undefined;
      const cipherId = typeof k === "number" ? cipherIds[k] : undefined;
      const folderId = typeof v === "number" ? folderIds[v] : undefined;
      if (cipherId !== undefined && folderId !== undefined) {
        store.ciphers.get(cipherId)!.folderId = folderId;
      }
    }
    await deps.push({
      type: PushType.SyncVault,
      target: "user",
      targetId: ctx.user.id,
      payload: { UserId: ctx.user.id, Date: iso(now) },
      excludeCurrentContext: false,
    });
    return emptyOk();
  });

  // CiphersController.MoveMany (PUT, deprecated POST /ciphers/move) -> CipherService.MoveManyAsync:
  // the caller's ciphers among `ids` go to `folderId` (a folder of the caller's, or none), then
  // SyncCiphers (4) to the caller, not excluding the acting device (bitwarden/server
  // src/Core/Vault/Services/Implementations/CipherService.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd).
  // Registered before `/ciphers/:id`, which would take `move` for an id.
  const moveMany = async (request: Request) => {
    const ctx = await deps.auth.user(request);
    const state = new ModelState(await readJsonObject(request));
    const ids = state.guids("ids", { required: true });
    const folderId = state.string("folderId", { guid: true })?.toLowerCase() ?? null;
    state.throwIfInvalid();
    if (folderId !== null && store.folders.get(folderId)?.userId !== ctx.user.id) {
      throw badRequest("Invalid folder.");
    }
    for (const id of ids!) {
      const cipher = store.ciphers.get(id);
      if (cipher?.userId === ctx.user.id) cipher.folderId = folderId;
    }
    await deps.push({
      type: PushType.SyncCiphers,
      target: "user",
      targetId: ctx.user.id,
      payload: { UserId: ctx.user.id, Date: iso(deps.now()) },
      excludeCurrentContext: false,
    });
    return emptyOk();
  };
  router.on("PUT", "/ciphers/move", moveMany);
  router.on("POST", "/ciphers/move", moveMany);

  const update = async (request: Request, params: Readonly<Record<string, string>>) => {
    const ctx = await deps.auth.user(request);
    // Body first, then lookup and change in one turn (see folders.ts).
    const input = readCipher(await readJsonObject(request));
    const cipher = accessible(ctx, params.id);
    if (input.organizationId !== cipher.organizationId) {
      throw badRequest(
        "Organization mismatch. Re-sync if you recently moved this item, then try again.",
      );
    }
    if (
      input.lastKnownRevisionDate !== null &&
      Math.abs(input.lastKnownRevisionDate.getTime() - cipher.revisionDate.getTime()) > 1000
    ) {
      throw badRequest(
        "The item cannot be saved because it is out of date. To edit this item, first sync your vault, or log out and back in.",
      );
    }
    Object.assign(cipher, {
      type: input.type,
      data: input.data,
      folderId: input.folderId,
      favorite: input.favorite,
      reprompt: input.reprompt,
      key: input.key,
      revisionDate: deps.now(),
    });
    // Bitwarden pushes the user's collections of the cipher, a list (empty for a personal one):
    // bitwarden/server src/Api/Vault/Controllers/CiphersController.cs `Put` @
    // ac309aa19ed351406a56032d5f26a7a9a99f4abd.
    await deps.push(cipherPush(ctx, PushType.SyncCipherUpdate, cipher, []));
    return jsonResponse(cipherResponse(cipher));
  };
  router.on("PUT", "/ciphers/:id", update);
  router.on("POST", "/ciphers/:id", update);

  // bitwarden/server src/Api/Vault/Controllers/CiphersController.cs `PutCollections` and
  // src/Core/Vault/Services/Implementations/CipherService.cs `SaveCollectionsAsync` @
  // ac309aa19ed351406a56032d5f26a7a9a99f4abd: an organization cipher the caller can see (else
  // 404), collections of its organization the caller may use, then SyncCipherUpdate through
  // CipherSyncPushService with the new collections.
  const saveCollections = async (request: Request, params: Readonly<Record<string, string>>) => {
    const ctx = await deps.auth.user(request);
    const body = await readJsonObject(request);
    const cipher = accessible(ctx, params.id);
    if (cipher.organizationId === null) throw notFound();
    const raw = field(body, "collectionIds");
    if (!Array.isArray(raw) || !raw.every((id) => typeof id === "string" && isGuid(id))) {
      throw modelStateError({ CollectionIds: ["The CollectionIds field is required."] });
    }
    const collectionIds = (raw as string[]).map((id) => id.toLowerCase());
    if (
      collectionIds.some((id) =>
        store.collections.get(id)?.organizationId !== cipher.organizationId
      ) ||
      !canUseCollections(ctx, cipher.organizationId, collectionIds)
    ) throw badRequest("You do not have permissions to edit this.");
    cipher.collectionIds = collectionIds;
    cipher.revisionDate = deps.now();
    await deps.push(cipherPush(ctx, PushType.SyncCipherUpdate, cipher, collectionIds));
    return jsonResponse(cipherResponse(cipher));
  };
  router.on("PUT", "/ciphers/:id/collections", saveCollections);
  router.on("POST", "/ciphers/:id/collections", saveCollections);

  const remove = async (request: Request, params: Readonly<Record<string, string>>) => {
    const ctx = await deps.auth.user(request);
    const cipher = accessible(ctx, params.id);
    store.ciphers.delete(cipher.id);
    cipher.revisionDate = deps.now();
    await deps.push(cipherPush(ctx, PushType.SyncLoginDelete, cipher, null));
    return emptyOk();
  };
  router.on("DELETE", "/ciphers/:id", remove);
  router.on("POST", "/ciphers/:id/delete", remove);

  router.on("PUT", "/ciphers/:id/delete", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const cipher = accessible(ctx, params.id);
    if (cipher.deletedDate !== null) return emptyOk();
    cipher.deletedDate = cipher.revisionDate = deps.now();
    await deps.push(cipherPush(ctx, PushType.SyncCipherUpdate, cipher, []));
    return emptyOk();
  });

  router.on("PUT", "/ciphers/:id/restore", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const cipher = accessible(ctx, params.id);
    if (cipher.deletedDate !== null) {
      cipher.deletedDate = null;
      cipher.revisionDate = deps.now();
      // CipherService.RestoreAsync pushes CollectionIds [] like a save (bitwarden/server
      // src/Core/Vault/Services/Implementations/CipherService.cs @
      // ac309aa19ed351406a56032d5f26a7a9a99f4abd, line 814).
      await deps.push(cipherPush(ctx, PushType.SyncCipherUpdate, cipher, []));
    }
    return jsonResponse(cipherResponse(cipher));
  });
}
