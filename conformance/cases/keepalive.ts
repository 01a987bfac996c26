/**
 * `keepalive/*`: an idle client must hear from the hub within its 30 s server timeout (Ping every
 * 15 s), the hub's `Heartbeat` has no arguments, and a protocol error ends with a Close message
 * (research clients-vaultwarden.md §0.5, §3 #5; bitwarden-server.md §3.3; signalr-protocol.md §3.6-3.7).
 *
 * @module
 */

import { type HubMessage, MessageType } from "../../protocol/signalr/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure, CaseUnsupported } from "../types.ts";
import type { HubClient } from "../driver/hub_client.ts";
import { connectMain, validHubToken } from "./_common.ts";

/** The official client's server timeout: no hub-level data for this long drops the connection. */
export const CLIENT_SERVER_TIMEOUT_MS = 30_000;

/** The Bitwarden heartbeat period. */
export const HEARTBEAT_INTERVAL_MS = 120_000;

const SLACK_MS = 2_000;

/** Push deliveries (`ReceiveMessage`, `AuthRequestResponseRecieved`), as opposed to keep-alive. */
function isPush(message: HubMessage): boolean {
  return message.type === MessageType.Invocation && message.target !== "Heartbeat";
}

/**
 * Whether a hub message is the `Heartbeat` invocation.
 *
 * @param message A received hub message.
 * @returns True for `Heartbeat`.
 */
export function isHeartbeat(message: HubMessage): boolean {
  return message.type === MessageType.Invocation && message.target === "Heartbeat";
}

/**
 * Waits for the first `Heartbeat` on a fresh main-hub connection, bounded by the case timeout.
 *
 * @param ctx The case context.
 * @param client A connected main-hub client.
 * @returns The heartbeat message.
 * @throws {CaseUnsupported} When the case timeout is shorter than the heartbeat period and none came.
 * @throws {CaseFailure} When a full period passed without one.
 */
export async function awaitHeartbeat(ctx: CaseContext, client: HubClient): Promise<HubMessage> {
  const budget = Math.min(HEARTBEAT_INTERVAL_MS + SLACK_MS, ctx.timeoutMs - ctx.graceMs - 1500);
  const beat = await client.waitFor(() => client.messages.find(isHeartbeat), budget);
  if (beat) return beat;
  if (budget < HEARTBEAT_INTERVAL_MS + SLACK_MS) {
    throw new CaseUnsupported(
      `No Heartbeat within ${
        Math.round(budget / 1000)
      } s; its period is 120 s: run with --timeout 130000 to check it`,
    );
  }
  throw new CaseFailure("a Heartbeat invocation within 120 s", "none");
}

/**
 * The keep-alive cases.
 *
 * @returns The cases.
 */
export function keepaliveCases(): CaseDefinition[] {
  return [
    {
      id: "keepalive/server-ping",
      level: "MUST",
      requirement:
        "The hub MUST send an idle client a hub-level message (Ping) within 30 s, or the official client drops the connection",
      source: "clients-vaultwarden.md §0.5; signalr-protocol.md §3.6",
      needs: [],
      async run(ctx) {
        const { token } = await validHubToken(ctx);
        const client = await connectMain(ctx, "idle", { token });
        try {
          const started = performance.now();
          // Pushes are not keep-alive: in a full run, installation broadcasts of concurrent cases
          // reach this connection too and would hide a server that never pings.
          const first = await client.waitFor(
            () => client.messages.find((m) => !isPush(m)),
            CLIENT_SERVER_TIMEOUT_MS + SLACK_MS,
          );
          const elapsed = Math.round(performance.now() - started);
          if (!first) {
            throw new CaseFailure(
              "a Ping (or another hub message that is not a push) within 30 s of silence",
              client.closeInfo
                ? `the socket closed (${client.closeInfo.code}) first`
                : `nothing for ${elapsed} ms`,
            );
          }
          return {
            detail: `${
              first.type === MessageType.Ping ? "Ping" : `message type ${first.type}`
            } after ${elapsed} ms`,
          };
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "keepalive/heartbeat",
      level: "SHOULD",
      requirement:
        "The hub SHOULD invoke Heartbeat with no arguments on every main-hub connection every 120 s",
      source: "bitwarden-server.md §3.3",
      needs: [],
      async run(ctx) {
        const { token } = await validHubToken(ctx);
        const client = await connectMain(ctx, "idle", { token });
        try {
          const beat = await awaitHeartbeat(ctx, client);
          if (beat.type === MessageType.Invocation && beat.arguments.length !== 0) {
            throw new CaseFailure(
              "Heartbeat with no arguments",
              `${beat.arguments.length} argument(s)`,
            );
          }
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "keepalive/close-with-reason",
      level: "SHOULD",
      requirement:
        "The hub SHOULD send a Close message with an error before closing a connection that sent an unparseable message",
      source: "signalr-protocol.md §3.7",
      needs: [],
      async run(ctx) {
        const { token } = await validHubToken(ctx);
        const client = await connectMain(ctx, "client", { token });
        try {
          // A VarInt length of 3 followed by 0xc1, a byte MessagePack never uses.
          client.sendRaw(new Uint8Array([0x03, 0xc1, 0xc1, 0xc1]), "unparseable MessagePack frame");
          const closed = await client.waitFor(
            () => client.closeInfo,
            Math.min(10_000, ctx.timeoutMs / 2),
          );
          const close = client.messages.find((m) => m.type === MessageType.Close);
          if (!close) {
            throw new CaseFailure(
              "a Close message with an error, then the socket closed",
              closed
                ? `socket closed (${closed.code}) without a Close message`
                : "the connection stayed open",
            );
          }
          if (close.type === MessageType.Close && !close.error) {
            throw new CaseFailure(
              "a Close message with an error text",
              "a Close message without error",
            );
          }
          if (!closed) {
            throw new CaseFailure("the socket to close after the Close message", "it stayed open");
          }
          return {
            detail: close.type === MessageType.Close
              ? `Close error ${JSON.stringify(close.error)}`
              : "",
          };
        } finally {
          await client.close();
        }
      },
    },
  ];
}
