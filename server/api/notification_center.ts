/**
 * Notification-center routes: users list and mark notifications read or deleted (the first
 * time pushes 21 NotificationStatus), and installation-internal routes for what the real server
 * does from its Billing and Admin services, which have no public API: creating a notification
 * (20), premium status (27) and organization enable/disable (18). The internal routes live
 * under `/hubproof/` and need a token with scope `internal` (research bitwarden-api.md §3.5,
 * §3.7, §3.10; bitwarden-server.md §2.4).
 *
 * @module
 */

import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { PushNotification } from "../push/types.ts";
import { type ApiDeps, guidParam, iso } from "./_deps.ts";
import type { UserContext } from "./context.ts";
import { badRequest, emptyOk, jsonResponse, notFound, readJsonObject } from "../kernel/http.ts";
import type { Router } from "../kernel/router.ts";
import { type CenterNotification, newId } from "../kernel/store.ts";
import { ModelState } from "../kernel/validation.ts";

function notificationPayload(
  n: CenterNotification,
  status: { readDate: Date | null; deletedDate: Date | null } | null,
): PushNotification["payload"] {
  return {
    Id: n.id,
    Priority: n.priority,
    Global: n.global,
    ClientType: n.clientType,
    UserId: n.userId,
    OrganizationId: n.organizationId,
    InstallationId: n.installationId,
    TaskId: n.taskId,
    Title: n.title,
    Body: n.body,
    CreationDate: iso(n.creationDate),
    RevisionDate: iso(n.revisionDate),
    ReadDate: status?.readDate ? iso(status.readDate) : null,
    DeletedDate: status?.deletedDate ? iso(status.deletedDate) : null,
  };
}

/**
 * The push of a notification or its status: the installation when global, else the user,
 * else the organization (`PushNotificationServiceNotificationCenterExtensions`).
 *
 * @param type 20 or 21.
 * @param n The notification.
 * @param status The status for 21.
 * @param deviceIdentifier The acting device.
 * @returns The push request, or null when the notification has no target.
 */
export function notificationPush(
  type: PushType.Notification | PushType.NotificationStatus,
  n: CenterNotification,
  status: { readDate: Date | null; deletedDate: Date | null } | null,
  deviceIdentifier: string | null,
): PushNotification | null {
  const target = n.global && n.installationId !== null
    ? { target: "installation" as const, targetId: n.installationId }
    : n.userId !== null
    ? { target: "user" as const, targetId: n.userId }
    : n.organizationId !== null
    ? { target: "organization" as const, targetId: n.organizationId }
    : null;
  if (!target) return null;
  return {
    type,
    ...target,
    payload: notificationPayload(n, status),
    excludeCurrentContext: true,
    deviceIdentifier,
    clientType: n.clientType,
  };
}

/**
 * Adds the notification-center and installation-internal routes.
 *
 * @param router The API router.
 * @param deps Dependencies.
 */
export function addNotificationCenterRoutes(router: Router, deps: ApiDeps): void {
  const { store } = deps;

  function visible(ctx: UserContext, n: CenterNotification): boolean {
    if (n.global) return true;
    if (n.userId !== null) return n.userId === ctx.user.id;
    return n.organizationId !== null &&
      store.confirmedMembership(n.organizationId, ctx.user.id) !== undefined;
  }

  router.on("GET", "/notifications", async (request) => {
    const ctx = await deps.auth.user(request);
    const data = [...store.notifications.values()].filter((n) => visible(ctx, n)).flatMap((n) => {
      const status = store.notificationStatuses.get(`${n.id}:${ctx.user.id}`);
      if (status?.deletedDate) return [];
      return [{
        object: "notificationStatusDetails",
        id: n.id,
        priority: n.priority,
        title: n.title,
        body: n.body,
        date: iso(n.revisionDate),
        taskId: n.taskId,
        readDate: status?.readDate ? iso(status.readDate) : null,
        deletedDate: null,
      }];
    });
    return jsonResponse({ object: "list", data, continuationToken: null });
  });

  const mark =
    (which: "readDate" | "deletedDate") =>
    async (request: Request, params: Readonly<Record<string, string>>) => {
      const ctx = await deps.auth.user(request);
      const n = store.notifications.get(guidParam(params.id));
      if (!n || !visible(ctx, n)) throw notFound();
      const key = `${n.id}:${ctx.user.id}`;
      const status = store.notificationStatuses.get(key) ?? { readDate: null, deletedDate: null };
      if (status[which] === null) {
        status[which] = deps.now();
        store.notificationStatuses.set(key, status);
        const push = notificationPush(PushType.NotificationStatus, n, status, ctx.deviceIdentifier);
        if (push) await deps.push(push);
      }
      return emptyOk();
    };
  router.on("PATCH", "/notifications/:id/read", mark("readDate"));
  router.on("PATCH", "/notifications/:id/delete", mark("deletedDate"));

  router.on("POST", "/hubproof/notifications", async (request) => {
    await deps.auth.internal(request);
    const state = new ModelState(await readJsonObject(request));
    const userId = state.string("userId", { guid: true });
    const organizationId = state.string("organizationId", { guid: true });
    const global = state.bool("global") ?? false;
    const clientType = state.int("clientType", { allowed: [0, 1, 2, 3, 4, 5] }) ?? 0;
    const priority = state.int("priority", { allowed: [0, 1, 2, 3, 4] }) ?? 0;
    const taskId = state.string("taskId", { guid: true });
    const title = state.string("title", { max: 256 });
    const body = state.string("body", { max: 3000 });
    state.throwIfInvalid();
    if (!global && userId === null && organizationId === null) {
      throw badRequest("A notification needs global, userId or organizationId.");
    }
    if (userId !== null && !store.users.has(userId.toLowerCase())) throw notFound();
    if (organizationId !== null && !store.organizations.has(organizationId.toLowerCase())) {
      throw notFound();
    }
    const now = deps.now();
    const n: CenterNotification = {
      id: newId(),
      priority,
      global,
      clientType,
      userId: userId?.toLowerCase() ?? null,
      organizationId: organizationId?.toLowerCase() ?? null,
      installationId: global ? deps.installationId : null,
      taskId: taskId?.toLowerCase() ?? null,
      title,
      body,
      creationDate: now,
      revisionDate: now,
    };
    store.notifications.set(n.id, n);
    const push = notificationPush(PushType.Notification, n, null, null);
    if (push) await deps.push(push);
    return jsonResponse({ object: "notification", id: n.id, ...notificationPayload(n, null) });
  });

  router.on("PUT", "/hubproof/users/:userId/premium", async (request, params) => {
    await deps.auth.internal(request);
    const user = store.users.get(guidParam(params.userId));
    if (!user) throw notFound();
    const state = new ModelState(await readJsonObject(request));
    const premium = state.bool("premium", { required: true });
    state.throwIfInvalid();
    user.premium = premium!;
    user.revisionDate = deps.now();
    await deps.push({
      type: PushType.PremiumStatusChanged,
      target: "user",
      targetId: user.id,
      payload: { UserId: user.id, Premium: user.premium },
      excludeCurrentContext: false,
    });
    return jsonResponse({ object: "premiumStatus", userId: user.id, premium: user.premium });
  });

  router.on("PUT", "/hubproof/organizations/:orgId/status", async (request, params) => {
    await deps.auth.internal(request);
    const org = store.organizations.get(guidParam(params.orgId));
    if (!org) throw notFound();
    const state = new ModelState(await readJsonObject(request));
    const enabled = state.bool("enabled", { required: true });
    state.throwIfInvalid();
    org.enabled = enabled!;
    org.revisionDate = deps.now();
    await deps.push({
      type: PushType.SyncOrganizationStatusChanged,
      target: "organization",
      targetId: org.id,
      payload: { OrganizationId: org.id, Enabled: org.enabled },
      excludeCurrentContext: false,
    });
    return jsonResponse({
      object: "organizationStatus",
      organizationId: org.id,
      enabled: org.enabled,
    });
  });
}
