/**
 * The Identity role of the reference server: OIDC discovery and JWKS, `/connect/token`
 * (password, refresh_token and internal client_credentials grants), prelogin and registration.
 *
 * @example
 * ```ts ignore
 * import { createIdentityService, SigningKeys } from "./mod.ts";
 * import { MemoryStore } from "../kernel/store.ts";
 * const identity = createIdentityService({
 *   store: new MemoryStore(),
 *   keys: await SigningKeys.generate(),
 *   baseUrl: "http://127.0.0.1:8080/identity",
 *   internalKey: "secret-key",
 * });
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
