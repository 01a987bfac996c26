/**
 * API routes the target does not serve, found once per run: the first 404 or 405 that the web
 * framework (not the route) gave makes that route UNSUPPORTED for every later case without
 * calling it again.
 *
 * A route's own "not found" carries the API's error model, a top-level `message` (Bitwarden's
 * `ErrorResponseModel`, Vaultwarden's `err!` JSON); an unknown route does not: ASP.NET answers
 * 404 with an empty body, Rocket's catcher `{"error":{"code":404,…}}` (dani-garcia/vaultwarden
 * src/api/core/mod.rs `api_not_found` @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a)). A 405 is always
 * the framework's.
 *
 * @module
 */

import { CaseUnsupported, type ResolvedTarget } from "../types.ts";

const ID_SEGMENT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+)$/i;

/**
 * The route a request hit, with ids in the path written `{id}`.
 *
 * @param method HTTP method.
 * @param path Request path (a query is dropped).
 * @returns `METHOD /path/{id}/…`.
 *
 * @example
 * ```ts
 * import { routeTemplate } from "./missing_route.ts";
 * const id = "0b5c2c1e-3c47-4e35-9a3c-2a5f0c1d2e3f";
 * console.assert(routeTemplate("put", `/api/organizations/${id}/policies/2?x=1`) ===
 *   "PUT /api/organizations/{id}/policies/{id}");
 * ```
 */
export function routeTemplate(method: string, path: string): string {
  const segments = path.split("?")[0]!.split("/").map((s) => ID_SEGMENT.test(s) ? "{id}" : s);
  return `${method.toUpperCase()} ${segments.join("/")}`;
}

/**
 * Tells an unknown route from a route's own "not found".
 *
 * @param status HTTP status.
 * @param body Response text.
 * @returns True for a 405, or a 404 whose body has no top-level `message`.
 *
 * @example
 * ```ts
 * import { isMissingRoute } from "./missing_route.ts";
 * console.assert(isMissingRoute(404, '{"error":{"code":404,"reason":"Not Found"}}'));
 * console.assert(!isMissingRoute(404, '{"message":"Cipher doesn\'t exist"}'));
 * ```
 */
export function isMissingRoute(status: number, body: string): boolean {
  if (status === 405) return true;
  if (status !== 404) return false;
  try {
    const parsed = JSON.parse(body) as unknown;
    return !(parsed !== null && typeof parsed === "object" && "message" in parsed);
  } catch {
    return true;
  }
}

const MISSING = new WeakMap<ResolvedTarget, Map<string, CaseUnsupported>>();

/**
 * The run's verdict on a route, if it is known to be missing.
 *
 * @param target The run's target.
 * @param route From {@linkcode routeTemplate}.
 * @returns The UNSUPPORTED reason to throw, or undefined.
 */
export function knownMissingRoute(
  target: ResolvedTarget,
  route: string,
): CaseUnsupported | undefined {
  return MISSING.get(target)?.get(route);
}

/**
 * Records that the target lacks a route.
 *
 * @param target The run's target.
 * @param route From {@linkcode routeTemplate}.
 * @param status The status it answered.
 * @returns The UNSUPPORTED reason (the same object for every later case).
 */
export function recordMissingRoute(
  target: ResolvedTarget,
  route: string,
  status: number,
): CaseUnsupported {
  let routes = MISSING.get(target);
  if (!routes) {
    routes = new Map();
    MISSING.set(target, routes);
  }
  let reason = routes.get(route);
  if (!reason) {
    reason = new CaseUnsupported(
      `The target does not serve ${route}: it answered HTTP ${status} without an API error body (a route this deployment lacks)`,
    );
    routes.set(route, reason);
  }
  return reason;
}
