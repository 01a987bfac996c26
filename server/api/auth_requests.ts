/**
 * Login-with-device routes (`AuthRequestsController`): an anonymous request pushes 15 to the
 * user (ContextId = the `Device-Identifier` header); an approval pushes 16, which Notifications
 * routes only to the anonymous-hub group named by the request id; a denial pushes nothing
 * (research bitwarden-api.md §3.4).
 *
 * @module
 */

import { DeviceType, parseDeviceTypeClaim } from "../../protocol/bitwarden/mod.ts";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import { AUTH_REQUEST_LIFETIME_MS } from "../kernel/mod.ts";
import { type ApiDeps, guidParam, iso, userPush } from "./_deps.ts";
import { badRequest, jsonResponse, notFound, readJsonObject } from "../kernel/http.ts";
import type { Router } from "../kernel/router.ts";
import { type AuthRequest, newId } from "../kernel/store.ts";
import { ModelState } from "../kernel/validation.ts";

/**
 * The auth-request response model.
 *
 * @param request The auth request.
 * @param origin Vault origin.
 * @returns The model.
 */
export function authRequestResponse(request: AuthRequest, origin: string): Record<string, unknown> {
  return {
    object: "auth-request",
    id: request.id,
    publicKey: request.publicKey,
    requestDeviceIdentifier: request.requestDeviceIdentifier,
    requestDeviceTypeValue: request.requestDeviceType,
    requestDeviceType: DeviceType[request.requestDeviceType] ?? "Unknown",
    requestIpAddress: request.requestIpAddress,
    requestCountryName: null,
    key: request.key,
    masterPasswordHash: request.masterPasswordHash,
    creationDate: iso(request.creationDate),
    responseDate: request.responseDate ? iso(request.responseDate) : null,
    requestApproved: request.approved === true,
    origin,
  };
}

/**
 * Adds the auth-request routes.
 *
 * @param router The API router.
 * @param deps Dependencies.
 */
export function addAuthRequestRoutes(router: Router, deps: ApiDeps): void {
  const { store } = deps;
  const origin = (request: Request) => new URL(request.url).host;
  const expired = (r: AuthRequest) =>
    deps.now().getTime() - r.creationDate.getTime() > AUTH_REQUEST_LIFETIME_MS;

  router.on("POST", "/auth-requests", async (request) => {
    const deviceType = parseDeviceTypeClaim(request.headers.get("device-type"));
    if (deviceType === undefined) throw badRequest("Device type not provided.");
    const state = new ModelState(await readJsonObject(request));
    const email = state.string("email", { required: true });
    const publicKey = state.string("publicKey", { required: true });
    const deviceIdentifier = state.string("deviceIdentifier", { required: true });
    const accessCode = state.string("accessCode", { required: true, max: 25 });
    const type = state.int("type", { required: true, allowed: [0, 1, 2] });
    state.throwIfInvalid();
    if (type === 2) throw badRequest("You must be authenticated to create a request of that type.");
    const user = store.userByEmail(email!);
    if (!user || !store.deviceOf(user.id, deviceIdentifier!)) {
      throw badRequest("User or known device not found.");
    }
    const authRequest: AuthRequest = {
      id: newId(),
      userId: user.id,
      type: type!,
      requestDeviceIdentifier: deviceIdentifier!,
      requestDeviceType: deviceType,
      requestIpAddress: request.headers.get("x-forwarded-for"),
      publicKey: publicKey!,
      accessCode: accessCode!,
      key: null,
      masterPasswordHash: null,
      approved: null,
      responseDeviceId: null,
      creationDate: deps.now(),
      responseDate: null,
      authenticationDate: null,
    };
    store.authRequests.set(authRequest.id, authRequest);
    await deps.push({
      type: PushType.AuthRequest,
      target: "user",
      targetId: user.id,
      payload: { UserId: user.id, Id: authRequest.id },
      excludeCurrentContext: true,
      deviceIdentifier: request.headers.get("device-identifier"),
    });
    return jsonResponse(authRequestResponse(authRequest, origin(request)));
  });

  router.on("GET", "/auth-requests/:id/response", (request, params) => {
    const authRequest = store.authRequests.get(guidParam(params.id));
    const code = new URL(request.url).searchParams.get("code");
    if (!authRequest || code === null || code !== authRequest.accessCode || expired(authRequest)) {
      throw notFound();
    }
    return jsonResponse(authRequestResponse(authRequest, origin(request)));
  });

  router.on("GET", "/auth-requests", async (request) => {
    const ctx = await deps.auth.user(request);
    const data = [...store.authRequests.values()].filter((r) => r.userId === ctx.user.id)
      .map((r) => authRequestResponse(r, origin(request)));
    return jsonResponse({ object: "list", data, continuationToken: null });
  });

  router.on("GET", "/auth-requests/pending", async (request) => {
    const ctx = await deps.auth.user(request);
    const data = [...store.authRequests.values()]
      .filter((r) => r.userId === ctx.user.id && r.approved === null && !expired(r))
      .map((r) => authRequestResponse(r, origin(request)));
    return jsonResponse({ object: "list", data, continuationToken: null });
  });

  router.on("GET", "/auth-requests/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const authRequest = store.authRequests.get(guidParam(params.id));
    if (!authRequest || authRequest.userId !== ctx.user.id) throw notFound();
    return jsonResponse(authRequestResponse(authRequest, origin(request)));
  });

  router.on("PUT", "/auth-requests/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const authRequest = store.authRequests.get(guidParam(params.id));
    if (!authRequest || authRequest.userId !== ctx.user.id || expired(authRequest)) {
      throw notFound();
    }
    const state = new ModelState(await readJsonObject(request));
    const key = state.string("key");
    const masterPasswordHash = state.string("masterPasswordHash");
    const deviceIdentifier = state.string("deviceIdentifier", { required: true });
    const approved = state.bool("requestApproved", { required: true });
    state.throwIfInvalid();
    if (authRequest.approved !== null) {
      throw badRequest("An authentication request with the same device already exists.");
    }
    const device = store.deviceOf(ctx.user.id, deviceIdentifier!);
    if (!device) throw badRequest("Invalid device.");
    const newer = [...store.authRequests.values()].some((r) =>
      r.userId === ctx.user.id &&
      r.requestDeviceIdentifier === authRequest.requestDeviceIdentifier &&
      r.approved === null && r.creationDate.getTime() > authRequest.creationDate.getTime()
    );
    if (newer) {
      throw badRequest(
        "This request is no longer valid. Make sure to approve the most recent request.",
      );
    }
    if (approved && key === null) throw badRequest("Key is required to approve a request.");
    authRequest.approved = approved!;
    authRequest.responseDate = deps.now();
    authRequest.responseDeviceId = device.id;
    if (approved) {
      authRequest.key = key;
      authRequest.masterPasswordHash = masterPasswordHash;
      await deps.push(
        userPush(ctx, PushType.AuthRequestResponse, { UserId: ctx.user.id, Id: authRequest.id }),
      );
    }
    return jsonResponse(authRequestResponse(authRequest, origin(request)));
  });
}
