/**
 * What became of one attempt to connect to a hub, told apart precisely enough that a refusal
 * cannot be confused with a broken or absent server (private to `cases/`). A refusal is HTTP 401
 * or 403 on the upgrade (ASP.NET Core's `[Authorize]` on `NotificationsHub` answers 401 before
 * switching protocols: bitwarden/server src/Notifications/NotificationsHub.cs @
 * e2e4b1002b623dbf4419fd5ed7051e1ba60f4dda), a handshake error answer, or a SignalR Close message
 * with an error. Silence, a dropped socket, a 404 or a proxy's 502 are not refusals.
 *
 * @module
 */

import { MessageType } from "../../protocol/signalr/mod.ts";
import type { CaseContext } from "../types.ts";
import {
  HubClient,
  type HubClientOptions,
  HubConnectError,
  webSocketUrl,
} from "../driver/hub_client.ts";
import { probeUpgrade } from "../driver/upgrade_probe.ts";
import { HANDSHAKE_TIMEOUT_MS } from "../driver/protocol_support.ts";

/** The outcome of {@linkcode attemptConnection}. */
export type ConnectionOutcome =
  /** The upgrade was answered with this HTTP status instead of 101. */
  | { readonly kind: "http"; readonly status: number }
  /** The upgrade was not answered at all (connection refused, reset, or timed out). */
  | { readonly kind: "no-answer"; readonly message: string }
  /** The handshake was answered with an error. */
  | { readonly kind: "handshake-error"; readonly error: string }
  /** No handshake answer and the socket stayed open for the handshake timeout. */
  | { readonly kind: "silent"; readonly waitedMs: number }
  /** A Close message with an error arrived (before or after the handshake). */
  | { readonly kind: "close-message"; readonly error: string }
  /** The socket closed without an answer or a Close message. */
  | { readonly kind: "dropped"; readonly code: number }
  /** The handshake was answered `{}` and the socket stayed open. */
  | { readonly kind: "accepted" };

/**
 * Whether an outcome is a refusal clients recognise: 401/403 on the upgrade, a handshake error,
 * or a Close message with an error.
 *
 * @param outcome The outcome.
 * @returns True for a refusal.
 *
 * @example
 * ```ts
 * import { isRefusal } from "./_refusal.ts";
 * console.assert(isRefusal({ kind: "http", status: 401 }));
 * console.assert(!isRefusal({ kind: "http", status: 502 }));
 * console.assert(!isRefusal({ kind: "silent", waitedMs: 15000 }));
 * ```
 */
export function isRefusal(outcome: ConnectionOutcome): boolean {
  return (outcome.kind === "http" && (outcome.status === 401 || outcome.status === 403)) ||
    outcome.kind === "handshake-error" || outcome.kind === "close-message";
}

/**
 * One line describing an outcome, for verdict details.
 *
 * @param outcome The outcome.
 * @returns The description.
 *
 * @example
 * ```ts
 * import { describeOutcome } from "./_refusal.ts";
 * console.assert(describeOutcome({ kind: "http", status: 401 }) === "upgrade answered HTTP 401");
 * ```
 */
export function describeOutcome(outcome: ConnectionOutcome): string {
  switch (outcome.kind) {
    case "http":
      return `upgrade answered HTTP ${outcome.status}`;
    case "no-answer":
      return `upgrade not answered: ${outcome.message}`;
    case "handshake-error":
      return `handshake error ${JSON.stringify(outcome.error)}`;
    case "silent":
      return `no handshake answer for ${outcome.waitedMs} ms and the socket left open`;
    case "close-message":
      return `Close message with error ${JSON.stringify(outcome.error)}`;
    case "dropped":
      return `socket closed (${outcome.code}) without an answer or a Close message`;
    case "accepted":
      return "upgrade and handshake succeeded and the connection stayed open";
  }
}

/**
 * Connects as `options` say (upgrade, MessagePack handshake) and reports what happened. The
 * upgrade's HTTP status is read first with a bare request, since a WebSocket hides it.
 *
 * @param ctx The case context.
 * @param hubUrl The hub URL.
 * @param options Name, token and its placement, query.
 * @returns The outcome.
 */
export async function attemptConnection(
  ctx: CaseContext,
  hubUrl: string,
  options: HubClientOptions,
): Promise<ConnectionOutcome> {
  const waitMs = Math.max(1000, Math.min(HANDSHAKE_TIMEOUT_MS + 1000, ctx.timeoutMs / 3));
  const query: Record<string, string> = { ...options.query };
  const headers: Record<string, string> = {};
  if (options.token !== undefined) {
    if (options.tokenVia === "header") headers.authorization = `Bearer ${options.token}`;
    else query.access_token = options.token;
  }
  try {
    const { status } = await probeUpgrade(webSocketUrl(hubUrl, query), {
      headers,
      timeoutMs: waitMs,
    });
    ctx.trace.record({
      from: "hub",
      to: `client:${options.name}`,
      kind: "note",
      summary: `bare upgrade request answered ${status}`,
    });
    if (status !== 101) return { kind: "http", status };
  } catch (error) {
    return { kind: "no-answer", message: (error as Error).message };
  }
  let client: HubClient;
  try {
    client = await HubClient.open(hubUrl, {
      trace: ctx.trace,
      signal: ctx.signal,
      timeoutMs: waitMs,
      ...options,
    });
  } catch (error) {
    if (error instanceof HubConnectError) return { kind: "no-answer", message: error.message };
    throw error;
  }
  try {
    const answer = await client.sendHandshake({ timeoutMs: waitMs });
    const close = () => client.messages.find((m) => m.type === MessageType.Close);
    if (answer?.error !== undefined) return { kind: "handshake-error", error: answer.error };
    if (answer === undefined) {
      const closed = client.closeInfo;
      if (!closed) return { kind: "silent", waitedMs: waitMs };
      return { kind: "dropped", code: closed.code };
    }
    // A server may accept the handshake and refuse right after, with a Close message.
    await client.waitFor(() => client.closeInfo, Math.min(1000, ctx.graceMs * 2));
    const message = close();
    if (message?.type === MessageType.Close && message.error) {
      return { kind: "close-message", error: message.error };
    }
    if (client.closeInfo) return { kind: "dropped", code: client.closeInfo.code };
    return { kind: "accepted" };
  } finally {
    await client.close();
  }
}
