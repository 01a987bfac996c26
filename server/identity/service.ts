/**
 * The Identity role: OIDC discovery and JWKS, `/connect/token` and the account routes,
 * mounted on paths relative to the role (the server strips `/identity`).
 *
 * @module
 */

import { consoleLogger, type Logger } from "../kernel/log.ts";
import { jsonResponse } from "../kernel/http.ts";
import { Router } from "../kernel/router.ts";
import type { MemoryStore } from "../kernel/store.ts";
import { addAccountRoutes } from "./accounts.ts";
import type { SigningKeys } from "./signing_keys.ts";
import { createTokenEndpoint } from "./token_endpoint.ts";

/** Options of {@linkcode createIdentityService}. */
export interface IdentityServiceOptions {
  /** Shared store. */
  readonly store: MemoryStore;
  /** Signing keys. */
  readonly keys: SigningKeys;
  /** Public base URL of the role, e.g. `http://127.0.0.1:8080/identity` (discovery URLs). */
  readonly baseUrl: string;
  /** Issuer written to tokens and discovery (default `baseUrl`). */
  readonly issuer?: string;
  /** Secret of `internal.*` clients. */
  readonly internalKey?: string;
  /** Server-side PBKDF2 iterations. */
  readonly secretIterations?: number;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
  /** Largest request body in bytes (default `DEFAULT_MAX_BODY_BYTES`); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** Logger. */
  readonly log?: Logger;
}

/** A running Identity role. */
export interface IdentityService {
  /** Handles a request whose path is relative to the role (`/connect/token`). */
  fetch(request: Request, path: string): Promise<Response>;
  /** The issuer tokens carry. */
  readonly issuer: string;
  /** The signing keys (rotate with `keys.rotate()`). */
  readonly keys: SigningKeys;
}

/**
 * Creates the Identity role.
 *
 * @param options Store, keys, URLs, internal key.
 * @returns The service.
 */
export function createIdentityService(options: IdentityServiceOptions): IdentityService {
  const base = options.baseUrl.replace(/\/+$/, "");
  const issuer = options.issuer ?? base;
  const log = options.log ?? consoleLogger("identity");
  const router = new Router({
    log,
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  const token = createTokenEndpoint({
    store: options.store,
    keys: options.keys,
    issuer,
    ...(options.internalKey !== undefined ? { internalKey: options.internalKey } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  router.on("GET", "/.well-known/openid-configuration", () =>
    jsonResponse({
      issuer,
      jwks_uri: `${base}/.well-known/openid-configuration/jwks`,
      token_endpoint: `${base}/connect/token`,
      scopes_supported: ["api", "offline_access", "internal", "api.push", "api.organization"],
      claims_supported: [
        "name",
        "email",
        "email_verified",
        "sstamp",
        "premium",
        "device",
        "devicetype",
        "orgowner",
        "orgadmin",
        "orguser",
        "orgcustom",
      ],
      grant_types_supported: ["password", "refresh_token", "client_credentials"],
      response_types_supported: ["token"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      id_token_signing_alg_values_supported: ["RS256"],
    }));
  router.on("GET", "/.well-known/openid-configuration/jwks", () => jsonResponse(options.keys.jwks));
  router.on("POST", "/connect/token", token);
  router.on("GET", "/connect/token", token);
  addAccountRoutes(router, {
    store: options.store,
    preloginSecret: options.internalKey ?? crypto.randomUUID(),
    ...(options.secretIterations !== undefined
      ? { secretIterations: options.secretIterations }
      : {}),
    ...(options.now ? { now: options.now } : {}),
    log,
  });
  return {
    fetch: (request, path) => router.handle(request, path),
    issuer,
    keys: options.keys,
  };
}
