/**
 * What the token endpoint's grants share (private): the static clients, the context every grant
 * runs in, Duende's error answers, form and Basic credential reading, scope checks, and the
 * issuing of user tokens with their refresh grant.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { jsonResponse } from "../kernel/http.ts";
import type { MemoryStore, User } from "../kernel/store.ts";
import { buildUserClaims } from "./claims.ts";
import type { SigningKeys } from "./signing_keys.ts";

/** Static clients: refresh-token sliding lifetime in seconds (research §1.4). */
export const STATIC_CLIENTS: Readonly<
  Record<string, { slidingSeconds: number; accessSeconds: number }>
> = {
  web: { slidingSeconds: 7 * 86400, accessSeconds: 3600 },
  browser: { slidingSeconds: 30 * 86400, accessSeconds: 3600 },
  desktop: { slidingSeconds: 30 * 86400, accessSeconds: 3600 },
  cli: { slidingSeconds: 30 * 86400, accessSeconds: 3600 },
  mobile: { slidingSeconds: 60 * 86400, accessSeconds: 3600 },
  connector: { slidingSeconds: 30 * 86400, accessSeconds: 86400 },
};

/** Lifetime of `internal.*` client-credentials tokens. */
export const INTERNAL_TOKEN_SECONDS = 86400;

/** What every grant reads and writes. */
export interface GrantContext {
  /** Shared store. */
  readonly store: MemoryStore;
  /** Signing keys. */
  readonly keys: SigningKeys;
  /** Issuer written to tokens. */
  readonly issuer: string;
  /** Secret of `internal.*` clients; undefined disables them, as on the real server. */
  readonly internalKey: string | undefined;
  /** Clock in epoch milliseconds. */
  readonly now: () => number;
}

/** A Duende error answer (400). */
export function tokenError(
  error: string,
  description?: string,
  message?: string,
): Response {
  const body: Record<string, unknown> = { error };
  if (description !== undefined) body.error_description = description;
  if (message !== undefined) body.ErrorModel = { Object: "error", Message: message };
  return jsonResponse(body, 400);
}

/** The password grant's answer to any wrong credential. */
export function invalidCredentials(): Response {
  return tokenError(
    "invalid_grant",
    "invalid_username_or_password",
    "Username or password is incorrect. Try again.",
  );
}

/** Form fields by lower-cased name (Duende reads them case-insensitively). */
export type Form = ReadonlyMap<string, string>;

/** The client id and secret of an `Authorization: Basic` header, or null. */
export function basicCredentials(request: Request): { id: string; secret: string } | null {
  const header = request.headers.get("authorization");
  if (!header || !/^basic\s/i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    // A malformed escape is an unusable credential: invalid_client, as for a wrong secret.
    return null;
  }
}

/** Compares secrets in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * The requested scopes (default: all allowed), or null when one is not allowed.
 *
 * @param form The form.
 * @param allowed Scopes the grant may give.
 * @returns The scopes, or null.
 */
export function requestedScopes(form: Form, allowed: readonly string[]): string[] | null {
  const raw = form.get("scope");
  if (raw === undefined || raw.trim() === "") return [...allowed];
  const scopes = [...new Set(raw.split(/\s+/).filter((s) => s !== ""))];
  return scopes.every((s) => allowed.includes(s)) ? scopes : null;
}

function randomHandle(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex").toUpperCase();
}

/**
 * Signs a user's access token and, with `offline_access`, stores its refresh grant.
 *
 * @param ctx The grant context.
 * @param user The user.
 * @param clientId A static client id.
 * @param device Identifier and DeviceType.
 * @param scopes The granted scopes.
 * @param refreshHandle The refresh token being used (kept), or undefined for a new one.
 * @returns The token response fields.
 */
export async function issueUserTokens(
  ctx: GrantContext,
  user: User,
  clientId: string,
  device: { identifier: string; type: number },
  scopes: readonly string[],
  refreshHandle: string | undefined,
): Promise<Record<string, unknown>> {
  const client = STATIC_CLIENTS[clientId]!;
  const now = Math.floor(ctx.now() / 1000);
  const claims = buildUserClaims(ctx.store, user, {
    issuer: ctx.issuer,
    clientId,
    deviceIdentifier: device.identifier,
    deviceType: device.type,
    scopes,
    now,
    lifetime: client.accessSeconds,
  });
  const body: Record<string, unknown> = {
    access_token: await ctx.keys.sign(claims),
    expires_in: client.accessSeconds,
    token_type: "Bearer",
  };
  if (scopes.includes("offline_access")) {
    const handle = refreshHandle ?? randomHandle();
    ctx.store.refreshGrants.set(handle, {
      userId: user.id,
      clientId,
      deviceIdentifier: device.identifier,
      scopes: [...scopes],
      securityStamp: user.securityStamp,
      expiresAt: ctx.now() + client.slidingSeconds * 1000,
      slidingSeconds: client.slidingSeconds,
    });
    body.refresh_token = handle;
  }
  body.scope = scopes.join(" ");
  return body;
}
