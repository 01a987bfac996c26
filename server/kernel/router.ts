/**
 * A small method + path router with `:param` segments. Handlers throw
 * {@linkcode HttpError} for expected failures; the router turns everything into a response.
 *
 * @module
 */

import {
  DEFAULT_MAX_BODY_BYTES,
  errorResponse,
  HttpError,
  jsonResponse,
  limitRequestBody,
} from "./http.ts";

/** Route parameters by name. */
export type Params = Readonly<Record<string, string>>;

/**
 * A route handler; `info` is the HTTP server's connection info when the caller passed it on
 * (the Notifications hub reads the client's address from it).
 */
export type RouteHandler = (
  request: Request,
  params: Params,
  info?: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
}

/** Routes requests by method and path (paths relative to the role's base). */
export class Router {
  #routes: Route[] = [];
  #log: (message: string) => void;
  #maxBodyBytes: number;

  /**
   * Creates a router.
   *
   * @param options Logger for unexpected errors; largest request body (default
   * {@linkcode DEFAULT_MAX_BODY_BYTES}; `Infinity` hands bodies on untouched, for handlers
   * that stream and bound their bodies themselves).
   */
  constructor(options: { log?: (message: string) => void; maxBodyBytes?: number } = {}) {
    this.#log = options.log ?? ((m) => console.error(m));
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /**
   * Adds a route; several methods may share a pattern.
   *
   * @param method HTTP method (upper case), or `*` for a handler that answers every method
   * itself (its own 405 texts).
   * @param pattern Path like `/folders/:id`.
   * @param handler The handler.
   * @returns This router, for chaining.
   */
  on(method: string, pattern: string, handler: RouteHandler): this {
    this.#routes.push({ method, segments: pattern.split("/").filter((s) => s !== ""), handler });
    return this;
  }

  /**
   * Handles a request whose path is given separately (the role's prefix already removed).
   *
   * @param request The request.
   * @param path The path relative to the role, e.g. `/folders`.
   * @param info Connection info passed on to the handler.
   * @returns The response: 404 JSON for an unknown route, 405 for a wrong method.
   */
  async handle(request: Request, path: string, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const parts = path.split("/").filter((s) => s !== "").map(decodeSegment);
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = match(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== request.method && route.method !== "*") continue;
      try {
        const bounded = Number.isFinite(this.#maxBodyBytes)
          ? limitRequestBody(request, this.#maxBodyBytes)
          : request;
        return await route.handler(bounded, params, info);
      } catch (error) {
        return errorResponse(error, this.#log);
      }
    }
    if (pathMatched) {
      return errorResponse(
        new HttpError(405, { message: `Method not allowed: ${request.method} ${path}` }),
        this.#log,
      );
    }
    return jsonResponse({ message: `Not found: ${path}` }, 404);
  }
}

/**
 * Mounts a role under a prefix: the rest of the path when `pathname` is the prefix or below it
 * (compared case-insensitively, as ASP.NET matches paths), else null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripPrefix } from "./router.ts";
 * assert.equal(stripPrefix("/Notifications/hub", "/notifications"), "/hub");
 * assert.equal(stripPrefix("/notifications", "/notifications"), "/");
 * assert.equal(stripPrefix("/notificationsx", "/notifications"), null);
 * ```
 * @param pathname The request's path.
 * @param prefix The mount point, lower case, without a trailing slash.
 * @returns The path below the prefix (starting with `/`), or null.
 */
export function stripPrefix(pathname: string, prefix: string): string | null {
  const lower = pathname.toLowerCase();
  if (lower === prefix) return "/";
  return lower.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : null;
}

/** Decodes a path segment; a malformed escape stays as sent, so it matches no id and 404s. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function match(
  pattern: readonly string[],
  parts: readonly string[],
): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const part = parts[i]!;
    if (p.startsWith(":")) params[p.slice(1)] = part;
    else if (p.toLowerCase() !== part.toLowerCase()) return null;
  }
  return params;
}
