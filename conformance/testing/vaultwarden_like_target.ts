/**
 * A stand-in for Vaultwarden 1.37.2, for CI runs of the suite without Vaultwarden: the reference
 * Identity and API (one in-memory store) behind a front that makes them look like Vaultwarden
 * from the wire, with a Vaultwarden-like hub and push engine instead of the reference
 * Notifications service. What it copies, each observed on a real 1.37.2 with raw probes and read
 * in `dani-garcia/vaultwarden` @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a):
 * - identity (`src/api/identity.rs`, `src/ratelimit.rs`, `src/auth.rs`): the password grant
 *   limited per client IP (burst 10, then one per 60 s: `LOGIN_RATELIMIT_*`), registration's
 *   `send-verification-email` on the unauthenticated limiter (burst 50, one per 60 s:
 *   `UNAUTHENTICATED_RATELIMIT_*`), both answering Vaultwarden's 429 body without
 *   `Retry-After`; refresh not limited; access tokens without organization claims
 *   (`LoginJwtClaims` has them commented out); identity routes Vaultwarden lacks answer
 *   Rocket's HTML 404;
 * - API: the reference routes, except those Vaultwarden lacks, which answer its JSON 404
 *   (`/api/notifications/*`, `/api/organizations/{id}/collection-management`,
 *   `/api/hubproof/*`, all probed), and Rocket's JSON 422 where Vaultwarden's data guard refuses
 *   a body the reference accepts (an invite with `"permissions": null`), and no push where a
 *   Vaultwarden handler sends none (member revoke and restore) or another (the KDF change's
 *   LogOut with the acting device as ContextId);
 * - notifications (`src/api/notifications.rs`): see `_vaultwarden_hub.ts` and
 *   `_vaultwarden_push.ts`; no `/hub/negotiate`, no `/send` (HTML 404), no queue.
 * Test tree only: `server/` never imports this.
 *
 * @module
 */

import { createApiService } from "../../server/api/mod.ts";
import { createTokenVerifier } from "../../server/auth/mod.ts";
import { createIdentityService, SigningKeys } from "../../server/identity/mod.ts";
import { CUSTOM_PERMISSIONS, MemoryStore } from "../../server/kernel/mod.ts";
import { KeyedRateLimiter } from "./_rate_limit.ts";
import { type RoutePushRule, routePushRules } from "./_route_push_rules.ts";
import { VaultwardenLikeHub } from "./_vaultwarden_hub.ts";
import { VaultwardenLikePushEngine } from "./_vaultwarden_push.ts";
import {
  apiNotFound,
  apiUnprocessable,
  isInviteData,
  rocketHtmlError,
  vaultwardenError,
} from "./_vaultwarden_wire.ts";

/** A rate limit: a burst, then one request per `seconds`. */
export interface VaultwardenRateLimit {
  /** `*_RATELIMIT_MAX_BURST`. */
  readonly burst: number;
  /** `*_RATELIMIT_SECONDS`. */
  readonly seconds: number;
}

/** Options of {@linkcode startVaultwardenLikeTarget}. */
export interface VaultwardenLikeOptions {
  /** Login limit (default Vaultwarden's: burst 10, 60 s). */
  readonly loginRateLimit?: VaultwardenRateLimit;
  /** Limit of unauthenticated routes such as registration (default: burst 50, 60 s). */
  readonly unauthenticatedRateLimit?: VaultwardenRateLimit;
  /** Server-side PBKDF2 iterations of stored secrets (default 1000: speed, not wire). */
  readonly secretIterations?: number;
  /** Loopback port (default 0: a free one). */
  readonly port?: number;
}

/** A running stand-in. */
export interface RunningVaultwardenLike {
  /** Base URL, as `--target` takes it (`http://127.0.0.1:PORT`). */
  readonly url: string;
  /** The store behind Identity and the API (for tests that look inside). */
  readonly store: MemoryStore;
  /** Stops the sockets and the server. */
  close(): Promise<void>;
}

/** Default limits of Vaultwarden 1.37.2 (`src/config.rs`). */
export const VAULTWARDEN_DEFAULT_LIMITS = {
  login: { burst: 10, seconds: 60 },
  unauthenticated: { burst: 50, seconds: 60 },
} as const;

/** Identity routes Vaultwarden 1.37.2 serves that the suite can reach (`identity::routes`). */
const IDENTITY_ROUTES = new Set([
  "/connect/token",
  "/accounts/prelogin",
  "/accounts/prelogin/password",
  "/accounts/register",
  "/accounts/register/send-verification-email",
  "/accounts/register/finish",
]);

/** Reference API routes Vaultwarden 1.37.2 lacks (each answered 404 by a real one). */
const MISSING_API_ROUTES: readonly RegExp[] = [
  /^\/notifications(\/|$)/i,
  /^\/organizations\/[^/]+\/collection-management$/i,
  /^\/hubproof(\/|$)/i,
];

/**
 * Reference API routes whose Vaultwarden 1.37.2 handler pushes otherwise than the reference:
 * - member revoke and restore push nothing: `revoke_member_impl` and `restore_member_impl`
 *   (src/api/core/organizations.rs:2315-2356, 2415-2454) save the membership and log an event,
 *   with no `nt.send_*` call;
 * - the KDF change's LogOut carries the acting device as ContextId: `post_kdf` calls
 *   `send_logout(&user, Some(&headers.device))` (src/api/core/accounts.rs:702-734,
 *   src/api/notifications.rs:385-395).
 */
const VAULTWARDEN_ROUTE_PUSHES: readonly RoutePushRule[] = [
  {
    method: "PUT",
    path: /^\/organizations\/[^/]+\/users\/[^/]+\/(revoke|restore)$/i,
    push: () => null,
  },
  {
    method: "POST",
    path: /^\/accounts\/kdf$/i,
    push: (n) => ({ ...n, excludeCurrentContext: true }),
  },
];

/**
 * JSON data guards of Vaultwarden routes that refuse bodies the reference API accepts: a body
 * that does not deserialize answers 422. Only the guards a suite run was seen to fail are here.
 */
const DATA_GUARDS: readonly {
  method: string;
  path: RegExp;
  accepts: (body: unknown) => boolean;
}[] = [{ method: "POST", path: /^\/organizations\/[^/]+\/users\/invite$/i, accepts: isInviteData }];

/** Whether a Vaultwarden data guard refuses the request's JSON body. */
async function refusedByDataGuard(request: Request, path: string): Promise<boolean> {
  const guard = DATA_GUARDS.find((g) => g.method === request.method && g.path.test(path));
  if (guard === undefined) return false;
  try {
    return !guard.accepts(JSON.parse(await request.clone().text()));
  } catch {
    return true;
  }
}

const ORGANIZATION_CLAIMS = [
  "orgowner",
  "orgadmin",
  "orguser",
  "orgcustom",
  ...CUSTOM_PERMISSIONS.map((p) => p.toLowerCase()),
];

/** The client version `/api/config` of a real 1.37.2 announces. */
const CLIENT_VERSION = "2026.6.0";

/** A reference error answer re-shaped as Vaultwarden's error model (same status and message). */
async function asVaultwardenError(answer: Response): Promise<Response> {
  if (answer.status < 400 || !answer.headers.get("content-type")?.includes("json")) return answer;
  const text = await answer.text();
  let message = `HTTP ${answer.status}`;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const model = body.ErrorModel as { Message?: unknown } | undefined;
    const found = [body.message, body.error_description, model?.Message].find((m) =>
      typeof m === "string" && m !== ""
    );
    if (typeof found === "string") message = found;
  } catch {
    // Not JSON after all: keep the status line.
  }
  return vaultwardenError(answer.status, message);
}

function below(pathname: string, prefix: string): string | null {
  if (pathname === prefix) return "/";
  return pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : null;
}

function limiter(limit: VaultwardenRateLimit): KeyedRateLimiter {
  return new KeyedRateLimiter({ burst: limit.burst, periodMs: limit.seconds * 1000 });
}

/** Decodes a JWT payload (the stand-in's own token: no check needed). */
function payloadOf(token: string): Record<string, unknown> {
  const part = (token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
}

/**
 * Starts the stand-in on a free loopback port.
 *
 * @param options Rate limits and secret hashing cost.
 * @returns The running stand-in; `close()` it in `finally`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startVaultwardenLikeTarget } from "./vaultwarden_like_target.ts";
 * const vw = await startVaultwardenLikeTarget();
 * try {
 *   // deno task conformance --target ${vw.url} --inject api
 *   // Like Vaultwarden: no OIDC discovery (an HTML 404), prelogin answers.
 *   const discovery = await fetch(`${vw.url}/identity/.well-known/openid-configuration`);
 *   assert.equal(discovery.status, 404);
 *   await discovery.body?.cancel();
 *   const prelogin = await fetch(`${vw.url}/identity/accounts/prelogin`, {
 *     method: "POST",
 *     headers: { "content-type": "application/json" },
 *     body: JSON.stringify({ email: "nobody@example.com" }),
 *   });
 *   assert.equal(prelogin.status, 200);
 *   await prelogin.body?.cancel();
 * } finally {
 *   await vw.close();
 * }
 * ```
 */
export async function startVaultwardenLikeTarget(
  options: VaultwardenLikeOptions = {},
): Promise<RunningVaultwardenLike> {
  const store = new MemoryStore();
  const keys = await SigningKeys.generate();
  const login = limiter(options.loginRateLimit ?? VAULTWARDEN_DEFAULT_LIMITS.login);
  const unauthenticated = limiter(
    options.unauthenticatedRateLimit ?? VAULTWARDEN_DEFAULT_LIMITS.unauthenticated,
  );
  const secretIterations = options.secretIterations ?? 1000;
  let handler: (request: Request, ip: string) => Promise<Response> = () =>
    Promise.resolve(rocketHtmlError(404));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    (request, info) => handler(request, info.remoteAddr.hostname),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const issuer = `${url}|login`;
  const identity = createIdentityService({
    store,
    keys,
    baseUrl: `${url}/identity`,
    issuer,
    internalKey: crypto.randomUUID(),
    secretIterations,
    log: () => {},
  });
  const verify = await createTokenVerifier({ jwks: keys.jwks, issuer, clockSkewSeconds: 30 });
  const hub = new VaultwardenLikeHub(verify);
  const pushes = routePushRules(new VaultwardenLikePushEngine(store, hub), [
    ...VAULTWARDEN_ROUTE_PUSHES,
    {
      // post_collections_update lists the posted collections (src/api/core/ciphers.rs:842-849).
      method: "PUT",
      path: /^\/ciphers\/[^/]+\/collections$/i,
      push: (n) => ({
        ...n,
        payload: {
          ...n.payload,
          CollectionIds: [...(store.ciphers.get(String(n.payload.Id))?.collectionIds ?? [])],
        },
      }),
    },
  ]);
  const api = createApiService({
    store,
    verify,
    engine: pushes.engine,
    installationId: crypto.randomUUID(),
    selfHosted: true,
    log: () => {},
  });

  /** Strips organization claims from the access token of a token answer and re-signs it. */
  async function withoutOrganizationClaims(answer: Response): Promise<Response> {
    if (answer.status !== 200) return answer;
    const body = await answer.json() as Record<string, unknown>;
    if (typeof body.access_token === "string") {
      const claims = payloadOf(body.access_token);
      for (const name of ORGANIZATION_CLAIMS) delete claims[name];
      body.access_token = await keys.sign(claims);
    }
    return Response.json(body, { status: 200, headers: answer.headers });
  }

  async function identityRoute(request: Request, path: string, ip: string): Promise<Response> {
    if (!IDENTITY_ROUTES.has(path)) return rocketHtmlError(404);
    // Vaultwarden requires no client version; the reference identity refuses a login without.
    if (!request.headers.has("bitwarden-client-version")) {
      const headers = new Headers(request.headers);
      headers.set("bitwarden-client-version", CLIENT_VERSION);
      const body = request.body === null ? null : await request.arrayBuffer();
      request = new Request(request.url, { method: request.method, headers, body });
    }
    if (path === "/connect/token" && request.method === "POST") {
      const form = new URLSearchParams(await request.clone().text());
      const grant = form.get("grant_type") ?? form.get("granttype");
      if ((grant === "password" || grant === "client_credentials") && !login.check(ip)) {
        return vaultwardenError(429, "Too many login requests");
      }
      return await asVaultwardenError(
        await withoutOrganizationClaims(await identity.fetch(request, path)),
      );
    }
    if (path === "/accounts/register/send-verification-email" && !unauthenticated.check(ip)) {
      return vaultwardenError(429, "Too many requests");
    }
    return await asVaultwardenError(await identity.fetch(request, path));
  }

  handler = async (request, ip) => {
    const pathname = new URL(request.url).pathname;
    const identityPath = below(pathname, "/identity");
    if (identityPath !== null) return await identityRoute(request, identityPath, ip);
    const apiPath = below(pathname, "/api");
    if (apiPath !== null) {
      if (apiPath === "/" || MISSING_API_ROUTES.some((r) => r.test(apiPath))) return apiNotFound();
      if (await refusedByDataGuard(request, apiPath)) return apiUnprocessable();
      const answer = await pushes.around(
        request.method,
        apiPath,
        () => api.fetch(request, apiPath),
      );
      return await asVaultwardenError(answer);
    }
    const hubPath = below(pathname, "/notifications");
    if (hubPath !== null) return await hub.fetch(request, hubPath, ip);
    return rocketHtmlError(404);
  };

  return {
    url,
    store,
    async close() {
      hub.close();
      await server.shutdown();
    },
  };
}
