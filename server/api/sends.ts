/**
 * Send routes (`SendsController`): create, update, remove-password, delete, pushing 12, 13 and
 * 14 to the owner with the acting device as `ContextId` (research bitwarden-api.md §3.3).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import { type ApiDeps, guidParam, iso, userPush } from "./_deps.ts";
import type { UserContext } from "./context.ts";
import {
  badRequest,
  emptyOk,
  field,
  type JsonObject,
  jsonResponse,
  notFound,
  readJsonObject,
} from "../kernel/http.ts";
import type { Router } from "../kernel/router.ts";
import { newId, type Send } from "../kernel/store.ts";
import { ModelState } from "../kernel/validation.ts";

const DAY_MS = 86400 * 1000;

/**
 * The send response model.
 *
 * @param send The send.
 * @returns The model.
 */
export function sendResponse(send: Send): Record<string, unknown> {
  const accessId = Buffer.from(send.id.replaceAll("-", ""), "hex").toString("base64url");
  return {
    object: "send",
    id: send.id,
    accessId,
    type: send.type,
    name: send.data.name ?? null,
    notes: send.data.notes ?? null,
    file: send.data.file ?? null,
    text: send.data.text ?? null,
    key: send.data.key,
    maxAccessCount: send.data.maxAccessCount ?? null,
    accessCount: 0,
    password: null,
    disabled: send.disabled,
    revisionDate: iso(send.revisionDate),
    expirationDate: send.expirationDate ? iso(send.expirationDate) : null,
    deletionDate: iso(send.deletionDate),
    hideEmail: send.data.hideEmail ?? false,
    authType: send.hasPassword ? 1 : 2,
    emails: null,
  };
}

interface SendInput {
  readonly type: number;
  readonly data: Record<string, unknown>;
  readonly deletionDate: Date;
  readonly expirationDate: Date | null;
  readonly disabled: boolean;
  readonly hasPassword: boolean;
}

function readSend(body: JsonObject, now: Date): SendInput {
  const state = new ModelState(body);
  const type = state.int("type", { allowed: [0, 1] }) ?? 0;
  const key = state.string("key", { required: true, encString: true });
  const name = state.string("name", { encString: true, max: 1000 });
  const notes = state.string("notes", { encString: true, max: 1000 });
  const deletionDate = state.date("deletionDate", { required: true });
  const expirationDate = state.date("expirationDate");
  const disabled = state.bool("disabled", { required: true });
  const password = state.string("password");
  state.int("maxAccessCount");
  const text = state.object("text");
  const file = state.object("file");
  if (type === 0 && text === null) state.add("Text", "The Text field is required.");
  if (text !== null) {
    const value = field(text, "text");
    if (value !== null && value !== undefined && typeof value !== "string") {
      state.add("Text.Text", "The JSON value could not be converted to System.String.");
    }
  }
  state.throwIfInvalid();
  if (type === 1) throw badRequest("File sends must be created with /sends/file/v2.");
  if (deletionDate!.getTime() <= now.getTime()) {
    throw badRequest("You cannot have a Send with a deletion date in the past.");
  }
  if (deletionDate!.getTime() > now.getTime() + 31 * DAY_MS + 60_000) {
    throw badRequest(
      "You cannot have a Send with a deletion date that far into the future. Adjust the Deletion Date to a value less than 31 days from now and try again.",
    );
  }
  if (expirationDate !== null && expirationDate.getTime() <= now.getTime()) {
    throw badRequest(
      "You cannot create a Send that is already expired. Adjust the expiration date and try again.",
    );
  }
  if (expirationDate !== null && expirationDate.getTime() > deletionDate!.getTime()) {
    throw badRequest("You cannot have a Send with an expiration date after its deletion date.");
  }
  const data: Record<string, unknown> = {
    key,
    name,
    notes,
    text,
    file,
    maxAccessCount: field(body, "maxAccessCount") ?? null,
    hideEmail: field(body, "hideEmail") === true,
  };
  return {
    type,
    data,
    deletionDate: deletionDate!,
    expirationDate,
    disabled: disabled!,
    hasPassword: password !== null && password !== "",
  };
}

function sendPayload(send: Send): Record<string, string> {
  return { Id: send.id, UserId: send.userId, RevisionDate: iso(send.revisionDate) };
}

/**
 * Adds the send routes.
 *
 * @param router The API router.
 * @param deps Dependencies.
 */
export function addSendRoutes(router: Router, deps: ApiDeps): void {
  const { store } = deps;

  function owned(ctx: UserContext, id: string | undefined): Send {
    const send = store.sends.get(guidParam(id));
    if (!send || send.userId !== ctx.user.id) throw notFound();
    return send;
  }

  router.on("GET", "/sends/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    return jsonResponse(sendResponse(owned(ctx, params.id)));
  });

  router.on("POST", "/sends", async (request) => {
    const ctx = await deps.auth.user(request);
    const now = deps.now();
    const input = readSend(await readJsonObject(request), now);
    const send: Send = { id: newId(), userId: ctx.user.id, ...input, revisionDate: now };
    store.sends.set(send.id, send);
    await deps.push(userPush(ctx, PushType.SyncSendCreate, sendPayload(send)));
    return jsonResponse(sendResponse(send));
  });

  router.on("PUT", "/sends/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    // Body first, then lookup and change in one turn (see folders.ts).
    const body = await readJsonObject(request);
    const send = owned(ctx, params.id);
    const now = deps.now();
    const input = readSend(body, now);
    if (input.type !== send.type) throw badRequest("Cannot change a Send's type.");
    Object.assign(send, {
      ...input,
      hasPassword: input.hasPassword || send.hasPassword,
      revisionDate: now,
    });
    await deps.push(userPush(ctx, PushType.SyncSendUpdate, sendPayload(send)));
    return jsonResponse(sendResponse(send));
  });

  router.on("PUT", "/sends/:id/remove-password", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const send = owned(ctx, params.id);
    send.hasPassword = false;
    send.revisionDate = deps.now();
    await deps.push(userPush(ctx, PushType.SyncSendUpdate, sendPayload(send)));
    return jsonResponse(sendResponse(send));
  });

  router.on("DELETE", "/sends/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const send = owned(ctx, params.id);
    store.sends.delete(send.id);
    await deps.push(userPush(ctx, PushType.SyncSendDelete, sendPayload(send)));
    return emptyOk();
  });
}
