/**
 * Bearer access-token authentication shared by the reference server's roles: the Notifications
 * service (`/hub` "Application" policy, `/send` "Internal" policy) and the API. Tokens are
 * verified with `jose` against the identity authority's discovery document and JWKS.
 *
 * @module
 */

export * from "./access_token.ts";
export * from "./token_cache.ts";
