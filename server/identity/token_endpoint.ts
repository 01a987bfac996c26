/**
 * `POST /connect/token`: the `password`, `refresh_token` and `client_credentials` grants as
 * real Bitwarden Identity (Duende) answers them, with its error shapes
 * (research bitwarden-api.md §1.4-§1.6, §2). Each grant is its own module; this one reads the
 * form and picks the grant.
 *
 * @module
 */

import { readBodyText } from "../kernel/http.ts";
import type { MemoryStore } from "../kernel/store.ts";
import { type Form, tokenError } from "./_token_common.ts";
import { clientCredentialsGrant } from "./client_credentials_grant.ts";
import { passwordGrant } from "./password_grant.ts";
import { refreshGrant } from "./refresh_grant.ts";
import type { SigningKeys } from "./signing_keys.ts";

export { INTERNAL_TOKEN_SECONDS, STATIC_CLIENTS } from "./_token_common.ts";

/** Options of {@linkcode createTokenEndpoint}. */
export interface TokenEndpointOptions {
  /** Shared store. */
  readonly store: MemoryStore;
  /** Signing keys. */
  readonly keys: SigningKeys;
  /** Issuer written to tokens. */
  readonly issuer: string;
  /** Secret of `internal.*` clients; undefined disables them, as on the real server. */
  readonly internalKey?: string;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

async function readForm(request: Request): Promise<Form | null> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().includes("application/x-www-form-urlencoded")) return null;
  const params = new URLSearchParams(await readBodyText(request));
  const form = new Map<string, string>();
  for (const [k, v] of params) if (!form.has(k.toLowerCase())) form.set(k.toLowerCase(), v);
  return form;
}

/**
 * Builds the token endpoint handler.
 *
 * @param options Store, keys, issuer, internal key, clock.
 * @returns The handler for `POST /connect/token`.
 */
export function createTokenEndpoint(
  options: TokenEndpointOptions,
): (request: Request) => Promise<Response> {
  const ctx = {
    store: options.store,
    keys: options.keys,
    issuer: options.issuer,
    internalKey: options.internalKey,
    now: options.now ?? Date.now,
  };
  return async (request: Request): Promise<Response> => {
    if (request.method !== "POST") return tokenError("invalid_request");
    const form = await readForm(request);
    if (!form) return tokenError("invalid_request");
    switch (form.get("grant_type")) {
      case "password":
        return await passwordGrant(ctx, request, form);
      case "refresh_token":
        return await refreshGrant(ctx, form);
      case "client_credentials":
        return await clientCredentialsGrant(ctx, request, form);
      default:
        return tokenError("unsupported_grant_type");
    }
  };
}
