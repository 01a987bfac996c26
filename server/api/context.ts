/**
 * Who is calling: bearer-token authentication of API requests (policy "Application" or
 * "Internal"), and the acting device identifier that becomes a push's `ContextId`.
 *
 * @module
 */

import { parseDeviceTypeClaim } from "../../protocol/bitwarden/mod.ts";
import type { HubClaims } from "../../protocol/bitwarden/mod.ts";
import {
  AuthError,
  extractAccessToken,
  requireApplicationPolicy,
  requireInternalPolicy,
  type TokenVerifier,
} from "../auth/mod.ts";
import { HttpError } from "../kernel/http.ts";
import type { MemoryStore, User } from "../kernel/store.ts";

/** An authenticated user request. */
export interface UserContext {
  /** The caller. */
  readonly user: User;
  /** Verified claims. */
  readonly claims: HubClaims;
  /** Acting device identifier: the `device` claim, else the `Device-Identifier` header. */
  readonly deviceIdentifier: string | null;
  /** DeviceType: the `Device-Type` header overrides the `devicetype` claim, as on the real server. */
  readonly deviceType: number | undefined;
}

/** Authenticates API requests. */
export interface Authenticator {
  /**
   * Requires a user token satisfying the "Application" policy.
   *
   * @param request The request.
   * @returns The user context.
   * @throws {HttpError} 401 (empty body, `WWW-Authenticate: Bearer`) or 403 (empty body).
   */
  user(request: Request): Promise<UserContext>;
  /**
   * Requires a token with scope `internal` (installation-internal operations).
   *
   * @param request The request.
   * @returns The claims.
   * @throws {HttpError} 401 or 403 with empty bodies.
   */
  internal(request: Request): Promise<HubClaims>;
}

function challenge(error: AuthError): HttpError {
  if (error.status === 403) return new HttpError(403, null);
  if (error.status === 503) return new HttpError(503, { message: error.message });
  return new HttpError(401, null, {
    "www-authenticate": `Bearer error="invalid_token", error_description="${
      error.message.replaceAll('"', "'")
    }"`,
  });
}

/**
 * Creates the authenticator.
 *
 * @param store The store (the `sub` must be a known user).
 * @param verify The token verifier (signature, `typ`, issuer, lifetime).
 * @returns The authenticator.
 */
export function createAuthenticator(store: MemoryStore, verify: TokenVerifier): Authenticator {
  async function verified(request: Request): Promise<HubClaims> {
    const token = extractAccessToken(request);
    if (token === null) {
      throw new HttpError(401, null, { "www-authenticate": "Bearer" });
    }
    try {
      return await verify(token);
    } catch (error) {
      if (error instanceof AuthError) throw challenge(error);
      throw error;
    }
  }
  return {
    async user(request) {
      const claims = await verified(request);
      try {
        requireApplicationPolicy(claims);
      } catch (error) {
        if (error instanceof AuthError) throw challenge(error);
        throw error;
      }
      const user = typeof claims.sub === "string" ? store.users.get(claims.sub) : undefined;
      if (!user) {
        throw new HttpError(401, null, { "www-authenticate": 'Bearer error="invalid_token"' });
      }
      const device = typeof claims.device === "string" && claims.device !== ""
        ? claims.device
        : request.headers.get("device-identifier");
      const header = parseDeviceTypeClaim(request.headers.get("device-type"));
      const claim = parseDeviceTypeClaim(
        typeof claims.devicetype === "string" ? claims.devicetype : null,
      );
      return { user, claims, deviceIdentifier: device, deviceType: header ?? claim };
    },
    async internal(request) {
      const claims = await verified(request);
      try {
        requireInternalPolicy(claims);
      } catch (error) {
        if (error instanceof AuthError) throw challenge(error);
        throw error;
      }
      return claims;
    },
  };
}
