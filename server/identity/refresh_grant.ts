/**
 * The `refresh_token` grant: a stored, unexpired grant of the same security stamp gives a new
 * access token and keeps its handle (sliding lifetime).
 *
 * @module
 */

import { jsonResponse } from "../kernel/http.ts";
import { type Form, type GrantContext, issueUserTokens, tokenError } from "./_token_common.ts";

/**
 * Answers a `refresh_token` grant.
 *
 * @param ctx The grant context.
 * @param form The form.
 * @returns The token response or `invalid_grant`.
 */
export async function refreshGrant(ctx: GrantContext, form: Form): Promise<Response> {
  const handle = form.get("refresh_token") ?? "";
  const grant = ctx.store.refreshGrants.get(handle);
  const clientId = form.get("client_id");
  const user = grant ? ctx.store.users.get(grant.userId) : undefined;
  if (
    !grant || !user || grant.expiresAt < ctx.now() || grant.securityStamp !== user.securityStamp ||
    (clientId !== undefined && clientId !== grant.clientId)
  ) {
    if (grant && (!user || grant.securityStamp !== user?.securityStamp)) {
      ctx.store.refreshGrants.delete(handle);
    }
    return tokenError("invalid_grant");
  }
  const device = ctx.store.deviceOf(user.id, grant.deviceIdentifier);
  const body = await issueUserTokens(
    ctx,
    user,
    grant.clientId,
    { identifier: grant.deviceIdentifier, type: device?.type ?? 21 },
    grant.scopes,
    handle,
  );
  return jsonResponse(body);
}
