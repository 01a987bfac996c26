/**
 * The Identity role of the reference server: OIDC discovery and JWKS, `/connect/token`
 * (password, refresh_token and internal client_credentials grants), prelogin and registration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createIdentityService, SigningKeys } from "./mod.ts";
 * import { MemoryStore } from "../kernel/mod.ts";
 * const identity = createIdentityService({
 *   store: new MemoryStore(),
 *   keys: await SigningKeys.generate(),
 *   baseUrl: "http://127.0.0.1:8080/identity",
 *   internalKey: "secret-key",
 * });
 * // Mounted like every role: the caller strips `/identity` and passes the rest of the path.
 * const path = "/.well-known/openid-configuration";
 * const discovery = await identity.fetch(new Request(`http://127.0.0.1:8080/identity${path}`), path);
 * assert.equal((await discovery.json()).issuer, "http://127.0.0.1:8080/identity");
 * ```
 *
 * @module
 */

export {
  createIdentityService,
  type IdentityService,
  type IdentityServiceOptions,
} from "./service.ts";
export { SigningKeys } from "./signing_keys.ts";
export { buildUserClaims, type UserClaimsOptions } from "./claims.ts";
export {
  createTokenEndpoint,
  INTERNAL_TOKEN_SECONDS,
  STATIC_CLIENTS,
  type TokenEndpointOptions,
} from "./token_endpoint.ts";
export { type AccountRoutesOptions, addAccountRoutes } from "./accounts.ts";
