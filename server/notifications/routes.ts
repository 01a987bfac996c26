/**
 * The Notifications service's HTTP surface relative to its mount point, on the shared router:
 * `/hub` and `/anonymous-hub` (with `/negotiate`), `POST /send`, `GET /alive`, `GET /now` and
 * `GET /metrics`. The shared router answers unknown paths (404) and wrong methods (405) with
 * JSON; the hub paths answer every method themselves with ASP.NET's texts.
 *
 * @module
 */

import type { ConnectionGroups, HubClaims, HubName } from "../../protocol/bitwarden/mod.ts";
import { ClientType, parseSendBody } from "../../protocol/bitwarden/mod.ts";
import {
  AuthError,
  extractAccessToken,
  queryValue,
  requireApplicationPolicy,
  requireInternalPolicy,
  type TokenVerifier,
} from "../auth/mod.ts";
import { type RouteHandler, Router } from "../kernel/mod.ts";
import { authErrorResponse } from "./_http.ts";
import type { ConnectionLifecycle } from "./connection_lifecycle.ts";
import { HubEndpoint } from "./hub_endpoint.ts";
import { infoResponse, metricsResponse } from "./info_routes.ts";
import type { MetricFamily, NotificationsMetrics } from "./metrics.ts";
import type { ResolvedNotificationsOptions } from "./options.ts";
import { createSendRoute } from "./send_route.ts";
import type { DispatchFunction } from "./types.ts";

/** Options of {@linkcode createNotificationsRoutes}. */
export interface NotificationsRoutesOptions {
  /** The validated service options. */
  readonly settings: ResolvedNotificationsOptions;
  /** Verifies access tokens (the hub and `/send` policies are applied to its claims). */
  readonly verify: TokenVerifier;
  /** Counters. */
  readonly metrics: NotificationsMetrics;
  /** Where hub connections are admitted and built. */
  readonly lifecycle: ConnectionLifecycle;
  /** Delivers a `/send` envelope. */
  readonly dispatch: DispatchFunction;
  /** Every family `/metrics` exposes. */
  readonly metricFamilies: () => readonly MetricFamily[];
  /** False once shutdown has begun: the hub paths answer 503. */
  readonly accepting: () => boolean;
}

/** The routes and the two hub endpoints (the service sweeps and clears them). */
export interface NotificationsRoutes {
  /** Routes a request by its path relative to the mount point. */
  readonly router: Router;
  /** The transport endpoints per hub. */
  readonly endpoints: Readonly<Record<HubName, HubEndpoint>>;
}

/**
 * Checks a request's access token and a policy on its claims, counting refusals per endpoint.
 *
 * @param verify The token verifier.
 * @param metrics Counters.
 * @param endpoint Label of the refusal counter.
 * @param policy Throws an `AuthError` when the claims are not enough.
 * @returns The authenticating function; it throws an `AuthError` to refuse.
 */
function authenticator(
  verify: TokenVerifier,
  metrics: NotificationsMetrics,
  endpoint: "hub" | "send",
  policy: (claims: HubClaims) => void,
): (request: Request) => Promise<HubClaims> {
  return async (request) => {
    try {
      const token = extractAccessToken(request);
      if (token === null) {
        throw new AuthError(
          401,
          "Missing access token: send Authorization: Bearer <token> or the access_token query parameter",
        );
      }
      let claims: HubClaims;
      try {
        claims = await verify(token);
      } catch (error) {
        if (error instanceof AuthError) throw error;
        throw new AuthError(401, `Token is invalid: ${(error as Error).message}`);
      }
      policy(claims);
      return claims;
    } catch (error) {
      if (error instanceof AuthError) {
        metrics.authFailures.inc({ endpoint, status: String(error.status) });
      }
      throw error;
    }
  };
}

/**
 * Wraps a handler so its failures are answered as the service always has: an `AuthError` with
 * its status and challenge, anything else a logged 500 naming the error.
 */
function guarded(settings: ResolvedNotificationsOptions, handler: RouteHandler): RouteHandler {
  return async (request, params, info) => {
    try {
      return await handler(request, params, info);
    } catch (error) {
      await request.body?.cancel().catch(() => {});
      if (error instanceof AuthError) return authErrorResponse(error);
      const message = (error as Error).message ?? String(error);
      settings.log("error", "Request failed", { url: request.url, error: message });
      return Response.json({ message: `Internal error: ${message}` }, { status: 500 });
    }
  };
}

function remoteIp(info: Deno.ServeHandlerInfo | undefined): string | null {
  const addr = info?.remoteAddr as Partial<Deno.NetAddr> | undefined;
  return typeof addr?.hostname === "string" ? addr.hostname : null;
}

/**
 * Builds the hub endpoints and the router of one service.
 *
 * @param options Settings, verifier, metrics, lifecycle, dispatch and the shutdown flag.
 * @returns The router and the endpoints.
 */
export function createNotificationsRoutes(
  options: NotificationsRoutesOptions,
): NotificationsRoutes {
  const { settings, metrics, lifecycle } = options;
  const { rules, timers } = settings;
  const hubAuth = authenticator(options.verify, metrics, "hub", requireApplicationPolicy);
  const anonymousIdentity = (url: URL, negotiateUrl: URL | null): ConnectionGroups => {
    const token = queryValue(url, "Token") ??
      (negotiateUrl ? queryValue(negotiateUrl, "Token") : null);
    const group = rules.anonymousGroup(token);
    return {
      userId: null,
      deviceId: null,
      clientType: ClientType.All,
      groups: group ? [group] : [],
    };
  };
  const endpoint = (hub: HubName) =>
    new HubEndpoint({
      hub,
      authenticate: hub === "main" ? hubAuth : () => Promise.resolve(null),
      identityFor: (claims, url, negotiateUrl) =>
        hub === "main"
          ? rules.groupsForConnection(claims!, settings.installationId)
          : anonymousIdentity(url, negotiateUrl),
      createConnection: (start) => lifecycle.create(start),
      admit: (identity, ip) => lifecycle.admit(identity, ip),
      sendBufferLimit: settings.sendBufferLimit,
      closeTimeoutMs: timers.closeTimeoutMs,
      onForcedClose: (result) => metrics.forcedCloses.inc({ hub, result }),
      longPollTimeoutMs: timers.longPollTimeoutMs,
      disconnectTimeoutMs: timers.negotiateTimeoutMs,
      maxPendingBytes: settings.maxMessageSize,
      now: settings.now,
    });
  const endpoints = { main: endpoint("main"), anonymous: endpoint("anonymous") };
  const send = createSendRoute({
    selfHosted: settings.selfHosted,
    authenticate: authenticator(options.verify, metrics, "send", requireInternalPolicy),
    parseBody: parseSendBody,
    dispatch: options.dispatch,
    maxBodyBytes: settings.maxSendBodyBytes,
    metrics,
    log: settings.log,
  });
  const hubRoute = (hub: HubName, negotiate: boolean): RouteHandler => async (request, _, info) => {
    if (!options.accepting()) {
      await request.body?.cancel();
      return Response.json({ message: "Service is shutting down" }, { status: 503 });
    }
    return await endpoints[hub].handle(request, negotiate, { remoteIp: remoteIp(info) });
  };
  const info = () => infoResponse(new Date(settings.now()));
  const metricsText = () => metricsResponse(options.metricFamilies());
  // The hub paths and /send stream and bound their own bodies.
  const router = new Router({
    log: (message) => settings.log("error", message),
    maxBodyBytes: Infinity,
  });
  const routes: [string, string, RouteHandler][] = [
    ["*", "/hub", hubRoute("main", false)],
    ["*", "/hub/negotiate", hubRoute("main", true)],
    ["*", "/anonymous-hub", hubRoute("anonymous", false)],
    ["*", "/anonymous-hub/negotiate", hubRoute("anonymous", true)],
    ["POST", "/send", send],
    ...["GET", "HEAD"].flatMap((method): [string, string, RouteHandler][] => [
      [method, "/alive", info],
      [method, "/now", info],
      [method, "/metrics", metricsText],
    ]),
  ];
  for (const [method, path, handler] of routes) router.on(method, path, guarded(settings, handler));
  return { router, endpoints };
}
