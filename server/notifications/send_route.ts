/**
 * `POST /send`: the self-hosted injection endpoint. Internal-scope JWT, then the self-hosted
 * check, then the body (camelCase or PascalCase envelope JSON); 200 with an empty body. Where
 * the real service answers 500 to a malformed body this one answers 400 naming the field.
 *
 * @module
 */

import type { Envelope, HubClaims } from "../../protocol/bitwarden/mod.ts";
import { EnvelopeError, ProtocolError } from "../../protocol/mod.ts";
import type { NotificationsMetrics } from "./metrics.ts";
import type { DispatchFunction, Logger } from "./types.ts";

/** Options of {@linkcode createSendRoute}. */
export interface SendRouteOptions {
  /** Cloud mode refuses with 400 `Only allowed when self hosted.`. */
  readonly selfHosted: boolean;
  /** Authenticates and applies the Internal policy; throws an `AuthError` to refuse. */
  readonly authenticate: (request: Request) => Promise<HubClaims>;
  /** Parses the body (`parseSendBody`). */
  readonly parseBody: (text: string) => Envelope;
  /** Delivers the envelope. */
  readonly dispatch: DispatchFunction;
  /** Largest accepted body in bytes. */
  readonly maxBodyBytes: number;
  /** Counters. */
  readonly metrics: NotificationsMetrics;
  /** Log sink. */
  readonly log: Logger;
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

async function readLimited(request: Request, limit: number): Promise<string | null> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) return null;
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Builds the `/send` handler.
 *
 * @param options Mode, auth, parser, dispatch, limits.
 * @returns A `POST /send` handler (the router has matched method and path).
 */
export function createSendRoute(
  options: SendRouteOptions,
): (request: Request) => Promise<Response> {
  return async (request) => {
    // Authorization runs before the self-hosted filter, as in the real controller.
    await options.authenticate(request);
    if (!options.selfHosted) {
      await request.body?.cancel();
      options.metrics.sendRejected.inc({ reason: "cloud-mode" });
      return json(400, { message: "Only allowed when self hosted." });
    }
    const text = await readLimited(request, options.maxBodyBytes);
    if (text === null) {
      options.metrics.sendRejected.inc({ reason: "too-large" });
      return json(413, { message: `Body too large: limit is ${options.maxBodyBytes} bytes` });
    }
    if (text.trim() === "") return new Response(null, { status: 200 });
    let result;
    try {
      // Routing validates target ids too, so its EnvelopeErrors are answered like parse errors.
      result = await options.dispatch(options.parseBody(text), "send");
    } catch (error) {
      if (error instanceof EnvelopeError) {
        options.metrics.sendRejected.inc({ reason: "invalid-envelope" });
        return json(400, { message: error.message, field: error.field });
      }
      if (error instanceof ProtocolError) {
        options.metrics.sendRejected.inc({ reason: "invalid-envelope" });
        return json(400, { message: error.message, field: "" });
      }
      throw error;
    }
    if (result.published === false) {
      // Senders retry non-2xx answers. A retry is safe only if nothing was delivered here yet;
      // otherwise it would hand local connections a second copy, so answer 200 and say so.
      if (result.delivered === 0) {
        return json(503, {
          message: `Not delivered to other instances: backplane publish failed: ${
            result.backplaneError ?? "unknown error"
          }`,
        });
      }
      options.log("error", "Push delivered locally only: backplane publish failed", {
        delivered: result.delivered,
        error: result.backplaneError ?? "unknown error",
      });
    }
    return new Response(null, { status: 200 });
  };
}
