/**
 * The self-hosted injection path: `POST /send` on the Notifications service with an internal
 * token, exactly as `NotificationsApiPushEngine` does it.
 *
 * @module
 */

import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { writeSendBody } from "../../protocol/bitwarden/mod.ts";
import type { CaseContext, Trace } from "../types.ts";
import { type ContextWithAuthority, mintInternalToken } from "./identity.ts";
import { CaseUnsupported } from "../types.ts";
import { reachFetch } from "./reach.ts";

/** An HTTP answer, body read as text. */
export interface HttpAnswer {
  /** Status code. */
  readonly status: number;
  /** Body text. */
  readonly body: string;
  /** Response headers. */
  readonly headers: Headers;
}

/**
 * POSTs a raw body to the `/send` endpoint.
 *
 * @param sendUrl The `/send` URL.
 * @param body The body text.
 * @param options Bearer token (omitted when absent), trace, timeout.
 * @returns The answer.
 */
export async function postSend(
  sendUrl: string,
  body: string,
  options: { token?: string; trace?: Trace; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    accept: "application/json",
  };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  options.trace?.record({
    from: "harness",
    to: "send",
    kind: "inject",
    summary: `POST /send${options.token === undefined ? " (no token)" : ""}`,
    data: body.length > 2000 ? `${body.slice(0, 2000)}…` : body,
  });
  const response = await reachFetch(sendUrl, {
    method: "POST",
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  options.trace?.record({
    from: "send",
    to: "harness",
    kind: "note",
    summary: `/send answered ${response.status}`,
    ...(text ? { data: text.slice(0, 2000) } : {}),
  });
  return { status: response.status, body: text, headers: response.headers };
}

/**
 * Obtains an internal token for `/send`: the one given with the target, else `client_credentials`
 * against the target's identity, else one minted by the harness authority.
 *
 * @param ctx The case context.
 * @returns The token.
 * @throws {CaseUnsupported} When no way to get an internal token was configured.
 * @throws {Error} When the identity refuses the client credentials.
 */
export async function internalToken(ctx: CaseContext): Promise<string> {
  const target = ctx.target;
  if (target.internalToken) return target.internalToken;
  if (target.internalClientId && target.internalKey) {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      scope: "internal",
      client_id: target.internalClientId,
      client_secret: target.internalKey,
    });
    ctx.trace.record({
      from: "harness",
      to: "identity",
      kind: "login",
      summary: `client_credentials ${target.internalClientId}`,
    });
    const response = await reachFetch(`${target.identityUrl.replace(/\/$/, "")}/connect/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(
        `Identity refused client_credentials for ${target.internalClientId}: HTTP ${response.status} ${
          text.slice(0, 200)
        }`,
      );
    }
    const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
    if (typeof token !== "string") {
      throw new Error(`Identity answer has no access_token: ${text.slice(0, 200)}`);
    }
    return token;
  }
  const authority = (ctx as ContextWithAuthority).authority;
  if (authority) return await mintInternalToken(authority);
  throw new CaseUnsupported(
    "No internal token: give --internal-token, --internal-client-id/--internal-key or --act-as-authority",
  );
}

/**
 * Injects envelopes through `/send`.
 *
 * @param ctx The case context.
 * @returns An injector.
 */
export async function createSendInjector(ctx: CaseContext): Promise<EnvelopeInjectorLike> {
  const token = await internalToken(ctx);
  return {
    mode: "send",
    async inject(envelope: Envelope): Promise<void> {
      const answer = await postSend(ctx.target.sendUrl, writeSendBody(envelope), {
        token,
        trace: ctx.trace,
      });
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`POST /send answered HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
      }
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

/** The part of an envelope injector both transports share. */
export interface EnvelopeInjectorLike {
  /** Transport used. */
  readonly mode: "send" | "queue";
  /**
   * Injects one envelope.
   *
   * @param envelope The envelope.
   * @param options Queue encoding (ignored by `/send`).
   */
  inject(envelope: Envelope, options?: { encoding?: "raw" | "base64" }): Promise<unknown>;
  /** Releases clients. */
  close(): Promise<void>;
}
