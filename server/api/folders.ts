/**
 * Folder routes (`FoldersController`): create, update, delete, pushing 7, 8 and 3 to the owner
 * with the acting device as `ContextId` (research bitwarden-api.md §3.1).
 *
 * @module
 */

import { PushType } from "../../protocol/bitwarden/mod.ts";
import { type ApiDeps, guidParam, iso, userPush } from "./_deps.ts";
import { emptyOk, jsonResponse, notFound, readJsonObject } from "../kernel/http.ts";
import type { Router } from "../kernel/router.ts";
import { type Folder, newId } from "../kernel/store.ts";
import { ModelState } from "../kernel/validation.ts";

/**
 * The folder response model.
 *
 * @param folder The folder.
 * @returns The model.
 */
export function folderResponse(folder: Folder): Record<string, unknown> {
  return {
    object: "folder",
    id: folder.id,
    name: folder.name,
    revisionDate: iso(folder.revisionDate),
  };
}

function folderPayload(folder: Folder): Record<string, string> {
  return { Id: folder.id, UserId: folder.userId, RevisionDate: iso(folder.revisionDate) };
}

/**
 * Adds the folder routes.
 *
 * @param router The API router.
 * @param deps Dependencies.
 */
export function addFolderRoutes(router: Router, deps: ApiDeps): void {
  const { store } = deps;

  async function readName(request: Request): Promise<string> {
    const state = new ModelState(await readJsonObject(request));
    const name = state.string("name", { required: true, encString: true, max: 1000 });
    state.throwIfInvalid();
    return name!;
  }

  function owned(userId: string, id: string | undefined): Folder {
    const folder = store.folders.get(guidParam(id));
    if (!folder || folder.userId !== userId) throw notFound();
    return folder;
  }

  router.on("GET", "/folders", async (request) => {
    const ctx = await deps.auth.user(request);
    const data = [...store.folders.values()].filter((f) => f.userId === ctx.user.id).map(
      folderResponse,
    );
    return jsonResponse({ object: "list", data, continuationToken: null });
  });

  router.on("GET", "/folders/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    return jsonResponse(folderResponse(owned(ctx.user.id, params.id)));
  });

  router.on("POST", "/folders", async (request) => {
    const ctx = await deps.auth.user(request);
    const name = await readName(request);
    const folder: Folder = { id: newId(), userId: ctx.user.id, name, revisionDate: deps.now() };
    store.folders.set(folder.id, folder);
    await deps.push(userPush(ctx, PushType.SyncFolderCreate, folderPayload(folder)));
    return jsonResponse(folderResponse(folder));
  });

  const update = async (request: Request, params: Readonly<Record<string, string>>) => {
    const ctx = await deps.auth.user(request);
    // Body first (ASP.NET binds it before the action runs); from the lookup to the change
    // nothing awaits, so a concurrent delete cannot slip in between.
    const name = await readName(request);
    const folder = owned(ctx.user.id, params.id);
    folder.name = name;
    folder.revisionDate = deps.now();
    await deps.push(userPush(ctx, PushType.SyncFolderUpdate, folderPayload(folder)));
    return jsonResponse(folderResponse(folder));
  };
  router.on("PUT", "/folders/:id", update);
  router.on("POST", "/folders/:id", update);

  const remove = async (request: Request, params: Readonly<Record<string, string>>) => {
    const ctx = await deps.auth.user(request);
    const folder = owned(ctx.user.id, params.id);
    store.folders.delete(folder.id);
    for (const cipher of store.ciphers.values()) {
      if (cipher.folderId === folder.id) cipher.folderId = null;
    }
    folder.revisionDate = deps.now();
    await deps.push(userPush(ctx, PushType.SyncFolderDelete, folderPayload(folder)));
    return emptyOk();
  };
  router.on("DELETE", "/folders/:id", remove);
  router.on("POST", "/folders/:id/delete", remove);
}
