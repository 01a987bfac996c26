/**
 * HTTP plumbing shared by the service's routes (private): security headers, CORS, auth error
 * responses.
 *
 * @module
 */

import type { AuthError } from "../auth/mod.ts";

/** The three headers the real service's `SecurityHeadersMiddleware` adds to every response. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-frame-options": "SAMEORIGIN",
  "x-xss-protection": "1; mode=block",
  "x-content-type-options": "nosniff",
};

/** CORS policy: allowed origins (exact, case-insensitive) or `"*"` to reflect any origin. */
export type CorsOrigins = readonly string[] | "*";

function originAllowed(origin: string, allowed: CorsOrigins): boolean {
  if (allowed === "*") return true;
  const lower = origin.toLowerCase().replace(/\/+$/, "");
  return allowed.some((o) => o.toLowerCase().replace(/\/+$/, "") === lower);
}

/**
 * Answers a CORS preflight like ASP.NET Core's policy with `AllowAnyMethod`, `AllowAnyHeader`,
 * `AllowCredentials`: 204, and the allow headers only for an allowed origin.
 *
 * @param request The OPTIONS request.
 * @param allowed Allowed origins.
 * @returns The preflight response.
 */
export function preflightResponse(request: Request, allowed: CorsOrigins): Response {
  const origin = request.headers.get("origin");
  const headers = new Headers();
  if (origin !== null && originAllowed(origin, allowed)) {
    headers.set("access-control-allow-origin", origin);
    headers.set("access-control-allow-credentials", "true");
    headers.set("vary", "Origin");
    const method = request.headers.get("access-control-request-method");
    if (method) headers.set("access-control-allow-methods", method);
    const requested = request.headers.get("access-control-request-headers");
    if (requested) headers.set("access-control-allow-headers", requested);
  }
  return new Response(null, { status: 204, headers });
}

/**
 * Adds security headers, and CORS headers for an allowed `Origin`, to a response. Upgrade
 * (101) responses are returned untouched.
 *
 * @param request The request.
 * @param response The response.
 * @param allowed Allowed origins.
 * @returns The response with headers.
 */
export function decorate(request: Request, response: Response, allowed: CorsOrigins): Response {
  if (response.status === 101) return response;
  try {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) response.headers.set(k, v);
    const origin = request.headers.get("origin");
    if (origin !== null && originAllowed(origin, allowed)) {
      response.headers.set("access-control-allow-origin", origin);
      response.headers.set("access-control-allow-credentials", "true");
      response.headers.append("vary", "Origin");
    }
  } catch {
    // Immutable headers (e.g. a Response.error()): leave as is.
  }
  return response;
}

function quoted(text: string): string {
  return text.replace(/["\\\r\n]/g, "'");
}

/**
 * Turns an {@linkcode AuthError} into its JSON response with a `WWW-Authenticate` challenge.
 *
 * @param error The error.
 * @returns 401, 403 or 503 with `{ "message": ... }`.
 */
export function authErrorResponse(error: AuthError): Response {
  const headers: Record<string, string> = {};
  if (error.status === 401) {
    headers["www-authenticate"] = error.message.startsWith("Missing access token")
      ? "Bearer"
      : `Bearer error="invalid_token", error_description="${quoted(error.message)}"`;
  } else if (error.status === 403) {
    headers["www-authenticate"] = `Bearer error="insufficient_scope", error_description="${
      quoted(error.message)
    }"`;
  }
  return Response.json({ message: error.message }, { status: error.status, headers });
}
