/**
 * The kernel the reference server's roles share: the in-memory store, the HTTP error model and
 * body helpers, the router and model-state validation. Identity and API both build on it and
 * never import each other.
 *
 * @example
 * ```ts
 * import { jsonResponse, MemoryStore, Router } from "./mod.ts";
 * const router = new Router();
 * router.on("GET", "/alive", () => jsonResponse({ ok: true }));
 * const store = new MemoryStore();
 * const response = await router.handle(new Request("http://x/alive"), "/alive");
 * console.assert(response.status === 200 && store !== undefined);
 * ```
 *
 * @module
 */

export * from "./store.ts";
export {
  badRequest,
  DEFAULT_MAX_BODY_BYTES,
  emptyOk,
  errorModel,
  errorResponse,
  field,
  HttpError,
  type JsonObject,
  jsonResponse,
  limitRequestBody,
  modelStateError,
  notFound,
  readBodyText,
  readJsonObject,
  type ValidationErrors,
} from "./http.ts";
export { DEFAULT_SECRET_ITERATIONS, hashSecret, verifySecret } from "./secrets.ts";
export { consoleLogger, type Logger, type LogLevel, safeLogger, withFields } from "./log.ts";
export { type Params, type RouteHandler, Router, stripPrefix } from "./router.ts";
export { isEncString, isGuid, ModelState, type StringRule } from "./validation.ts";
export { readKdfObject, validateKdf } from "./kdf.ts";
