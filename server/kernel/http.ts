/**
 * HTTP plumbing shared by the Identity and API roles: the Bitwarden `ErrorResponseModel`,
 * JSON responses, request-body reading with the real server's error texts, and
 * case-insensitive field access (ASP.NET Core binds request bodies case-insensitively).
 *
 * @module
 */

import type { Logger } from "./log.ts";

/** `validationErrors` of an error model: property name -> messages (`""` for class-level). */
export type ValidationErrors = Record<string, string[]>;

/** An error that maps to one HTTP answer; thrown by handlers, turned into a response by the router. */
export class HttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** JSON body, or null for an empty body (401/403 challenges). */
  readonly body: unknown;
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * Creates an HTTP error.
   *
   * @param status HTTP status.
   * @param body JSON body or null.
   * @param headers Extra headers.
   */
  constructor(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) {
    const message = typeof body === "object" && body !== null && "message" in body
      ? String((body as { message: unknown }).message)
      : `HTTP ${status}`;
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/**
 * Builds Bitwarden's `ErrorResponseModel` (`object: "error"`, nulls written).
 *
 * @example
 * ```ts
 * import { errorModel } from "./http.ts";
 * console.assert(errorModel("Resource not found.").object === "error");
 * ```
 * @param message The message.
 * @param validationErrors Per-property messages, or null.
 * @returns The model.
 */
export function errorModel(
  message: string,
  validationErrors: ValidationErrors | null = null,
): Record<string, unknown> {
  return {
    object: "error",
    message,
    validationErrors,
    exceptionMessage: null,
    exceptionStackTrace: null,
    innerExceptionMessage: null,
  };
}

/**
 * A 400 `BadRequestException(message)`.
 *
 * @param message The message.
 * @returns The error to throw.
 */
export function badRequest(message: string): HttpError {
  return new HttpError(400, errorModel(message));
}

/**
 * A 400 model-state error ("The model state is invalid." with `validationErrors`).
 *
 * @param errors Per-property messages.
 * @returns The error to throw.
 */
export function modelStateError(errors: ValidationErrors): HttpError {
  return new HttpError(400, errorModel("The model state is invalid.", errors));
}

/**
 * A 404 `NotFoundException`.
 *
 * @returns The error to throw.
 */
export function notFound(): HttpError {
  return new HttpError(404, errorModel("Resource not found."));
}

/**
 * A JSON response (`application/json; charset=utf-8`).
 *
 * @param body The body.
 * @param status HTTP status (default 200).
 * @returns The response.
 */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

/**
 * An empty 200, as ASP.NET answers actions returning `Task`.
 *
 * @returns The response.
 */
export function emptyOk(): Response {
  return new Response(null, { status: 200 });
}

/**
 * Turns a thrown value into a response: {@linkcode HttpError} as given, anything else a 500
 * with the real server's generic message (logged, so a bug is visible).
 *
 * @param error The thrown value.
 * @param log Where to log unexpected errors.
 * @returns The response.
 */
export function errorResponse(error: unknown, log: Logger): Response {
  if (error instanceof HttpError) {
    const headers = new Headers(error.headers);
    if (error.body === null) return new Response(null, { status: error.status, headers });
    headers.set("content-type", "application/json; charset=utf-8");
    return new Response(JSON.stringify(error.body), { status: error.status, headers });
  }
  log("error", `Unhandled error: ${(error as Error)?.stack ?? String(error)}`);
  return jsonResponse(errorModel("An unhandled server error has occurred."), 500);
}

/**
 * Default largest request body of the Identity and API roles: Kestrel's default
 * `MaxRequestBodySize` (30,000,000 bytes), which the real services keep.
 */
export const DEFAULT_MAX_BODY_BYTES = 30_000_000;

/** Raised inside a body stream once it passes its limit; {@linkcode readBodyText} maps it to 413. */
class BodyTooLargeError extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(`Request body too large: the limit is ${limit} bytes`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, errorModel(`Request body too large: the limit is ${limit} bytes`));
}

/**
 * Bounds a request's body: a declared `Content-Length` over the limit is refused at once;
 * otherwise the body stream fails once more than `limit` bytes arrive, so a chunked body
 * cannot grow without bound either ({@linkcode readBodyText} answers 413).
 *
 * @param request The request.
 * @param limit Largest body in bytes.
 * @returns The request, or a copy whose body stream enforces the limit.
 * @throws {HttpError} 413 when `Content-Length` is over the limit.
 */
export function limitRequestBody(request: Request, limit: number): Request {
  if (request.body === null) return request;
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    request.body.cancel().catch(() => {});
    throw tooLarge(limit);
  }
  let size = 0;
  const counted = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > limit) controller.error(new BodyTooLargeError(limit));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: counted,
    signal: request.signal,
  });
}

/**
 * Reads a body as text: 413 when it passes the limit set by {@linkcode limitRequestBody},
 * 400 when the client breaks off.
 *
 * @param request The request.
 * @returns The text.
 * @throws {HttpError} 413 or 400.
 */
export async function readBodyText(request: Request): Promise<string> {
  try {
    return await request.text();
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw tooLarge(error.limit);
    throw new HttpError(
      400,
      errorModel(`The request body could not be read: ${(error as Error).message}`),
    );
  }
}

/** A parsed JSON object body with case-insensitive property access. */
export type JsonObject = Record<string, unknown>;

/**
 * Reads a JSON object body. An empty body or `null` is the model-state error
 * `{"": ["Body is empty."]}`; malformed JSON or a non-object is a model-state error too; a body
 * over the limit is a 413.
 *
 * @param request The request.
 * @returns The parsed object.
 * @throws {HttpError} 400 or 413 as described.
 */
export async function readJsonObject(request: Request): Promise<JsonObject> {
  const text = await readBodyText(request);
  if (text.trim() === "") throw modelStateError({ "": ["Body is empty."] });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw modelStateError({
      "$": [`The JSON value could not be parsed: ${(error as Error).message}`],
    });
  }
  if (value === null) throw modelStateError({ "": ["Body is empty."] });
  if (typeof value !== "object" || Array.isArray(value)) {
    throw modelStateError({ "$": ["The JSON value must be an object."] });
  }
  return value as JsonObject;
}

/**
 * Reads a property case-insensitively (exact name first), as ASP.NET Core model binding does.
 *
 * @example
 * ```ts
 * import { field } from "./http.ts";
 * console.assert(field({ MasterPasswordHash: "h" }, "masterPasswordHash") === "h");
 * ```
 * @param object The object.
 * @param name The camelCase property name.
 * @returns The value, or undefined.
 */
export function field(object: JsonObject, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) {
    if (key.toLowerCase() === lower) return object[key];
  }
  return undefined;
}
