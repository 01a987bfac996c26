/**
 * The `client_credentials` grant of `internal.*` clients (the API's and the suite's `/send`
 * tokens): the shared internal key, scope `internal`.
 *
 * @module
 */

import { jsonResponse } from "../kernel/http.ts";
import {
  basicCredentials,
  constantTimeEqual,
  type Form,
  type GrantContext,
  INTERNAL_TOKEN_SECONDS,
  requestedScopes,
  tokenError,
} from "./_token_common.ts";

/**
 * Answers a `client_credentials` grant.
 *
 * @param ctx The grant context.
 * @param request The request (Basic credentials).
 * @param form The form.
 * @returns The token response or `invalid_client` / `invalid_scope`.
 */
export async function clientCredentialsGrant(
  ctx: GrantContext,
  request: Request,
  form: Form,
): Promise<Response> {
  const basic = basicCredentials(request);
  const clientId = form.get("client_id") ?? basic?.id ?? "";
  const secret = form.get("client_secret") ?? basic?.secret ?? "";
  const dot = clientId.indexOf(".");
  const kind = dot < 0 ? clientId : clientId.slice(0, dot);
  const identifier = dot < 0 ? "" : clientId.slice(dot + 1);
  if (
    kind !== "internal" || identifier === "" || ctx.internalKey === undefined ||
    !constantTimeEqual(secret, ctx.internalKey)
  ) {
    return tokenError("invalid_client");
  }
  const scopes = requestedScopes(form, ["internal"]);
  if (!scopes) return tokenError("invalid_scope");
  const now = Math.floor(ctx.now() / 1000);
  const token = await ctx.keys.sign({
    iss: ctx.issuer,
    nbf: now,
    iat: now,
    exp: now + INTERNAL_TOKEN_SECONDS,
    scope: scopes,
    client_id: clientId,
    sub: identifier,
    client_sub: identifier,
    jti: crypto.randomUUID().replaceAll("-", "").toUpperCase(),
  });
  return jsonResponse({
    access_token: token,
    expires_in: INTERNAL_TOKEN_SECONDS,
    token_type: "Bearer",
    scope: scopes.join(" "),
  });
}
