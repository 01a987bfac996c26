/**
 * `keepalive/*`: keep-alive as the official clients live it. They ping every 15 s and drop the
 * connection after 30 s without any message from the server, so a client that pings MUST hear
 * something within 30 s (Vaultwarden echoes the client's frames, so its Pings come back); a hub
 * SHOULD also ping on its own, as ASP.NET Core does every 15 s. `Heartbeat`, when a hub sends it,
 * has no arguments; a hub that sends none is UNSUPPORTED there (clients ignore it). A protocol
 * error ends with a Close message (signalr-protocol.md §3.7).
 *
 * @module
 */

import { type HubMessage, MessageType } from "../../protocol/signalr/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure, CaseUnsupported } from "../types.ts";
import type { HubClient } from "../driver/hub_client.ts";
import { connectMain, sharedHubToken } from "./_common.ts";
import { afterProtocolError, expectErrorClose } from "./_protocol_error.ts";
import {
  aspnetcore,
  CLIENT_CONNECTION,
  HUB_CONNECTION_CONTEXT_COMMIT,
  HUB_OPTIONS_SETUP_COMMIT,
  sources,
} from "./_sources.ts";

/**
 * The official client's server timeout: no hub-level data for this long drops the connection
 * (dotnet/aspnetcore src/SignalR/clients/ts/signalr/src/HubConnection.ts @
 * 2ef1838afbb2958938aec662450633c35ab811c4, `DEFAULT_TIMEOUT_IN_MS`; bitwarden/clients
 * libs/common/src/platform/notifications/internal/signalr-connection.service.ts @
 * 9831bd9f3f21e68aeee532ebefeb2bdaaa9a52c6 keeps the defaults).
 */
export const CLIENT_SERVER_TIMEOUT_MS = 30_000;

/** How often the official client pings (same file, `DEFAULT_PING_INTERVAL_IN_MS`). */
export const CLIENT_PING_INTERVAL_MS = 15_000;

/**
 * The Bitwarden heartbeat period: `HeartbeatHostedService` invokes `Heartbeat` with no
 * arguments on every main-hub connection, then waits 120 s (bitwarden/server
 * src/Notifications/HeartbeatHostedService.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd).
 */
export const HEARTBEAT_INTERVAL_MS = 120_000;

const SLACK_MS = 2_000;

/**
 * A MessagePack frame no parser accepts: a VarInt length of 3, then 0xc1, a byte MessagePack
 * never uses.
 */
export const UNPARSEABLE_MESSAGEPACK: Uint8Array = new Uint8Array([0x03, 0xc1, 0xc1, 0xc1]);

const HEARTBEAT_SOURCE =
  "bitwarden/server src/Notifications/HeartbeatHostedService.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd";

const CLIENT_SOURCE =
  "dotnet/aspnetcore src/SignalR/clients/ts/signalr/src/HubConnection.ts @ 2ef1838afbb2958938aec662450633c35ab811c4 (DEFAULT_TIMEOUT_IN_MS, DEFAULT_PING_INTERVAL_IN_MS)";

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
 * A hub without Heartbeat is UNSUPPORTED, not failing: clients ignore it (they only log it).
 *
 * @param ctx The case context.
 * @param client A connected main-hub client.
 * @param caseStart `performance.now()` when the case started (the timeout runs from there).
 * @returns The heartbeat message.
 * @throws {CaseUnsupported} When none came: the case timeout was shorter than the heartbeat
 * period, or a full period passed (the hub sends no Heartbeat).
 */
export async function awaitHeartbeat(
  ctx: CaseContext,
  client: HubClient,
  caseStart: number,
): Promise<HubMessage> {
  // The case timeout runs from the case's start: logging in and connecting came out of it, and
  // closing afterwards may wait 5 s for a hub that never answers a Close (Vaultwarden).
  const budget = Math.min(
    HEARTBEAT_INTERVAL_MS + SLACK_MS,
    ctx.timeoutMs - ctx.graceMs - 6000 - (performance.now() - caseStart),
  );
  const beat = await client.waitFor(() => client.messages.find(isHeartbeat), budget);
  if (beat) return beat;
  if (budget < HEARTBEAT_INTERVAL_MS + SLACK_MS) {
    throw new CaseUnsupported(
      `No Heartbeat within ${
        Math.round(budget / 1000)
      } s; its period is 120 s: run with --timeout 135000 to check it`,
    );
  }
  throw new CaseUnsupported(
    "The hub sends no Heartbeat (none within 120 s; Bitwarden invokes it every 120 s, clients ignore it)",
  );
}

/**
 * Watches a connection the way the official client's server timeout does: resolves with the
 * first hub message that is not a push, or reports how long it watched in silence.
 */
async function firstKeepAlive(
  ctx: CaseContext,
  client: HubClient,
  started: number,
  caseStart: number,
): Promise<{ message?: HubMessage; watchedMs: number }> {
  // Pushes are not keep-alive: in a full run, installation broadcasts of concurrent cases
  // reach this connection too and would hide a server that never answers.
  const budget = Math.min(
    CLIENT_SERVER_TIMEOUT_MS + SLACK_MS,
    ctx.timeoutMs - ctx.graceMs - 1500 - (performance.now() - caseStart),
  );
  const message = await client.waitFor(() => client.messages.find((m) => !isPush(m)), budget);
  const watchedMs = Math.round(performance.now() - started);
  return message ? { message, watchedMs } : { watchedMs };
}

/** Grades a silent watch: FAIL after the full server timeout, UNSUPPORTED when cut short. */
function silence(client: HubClient, watchedMs: number, expected: string): never {
  if (client.closeInfo) {
    throw new CaseFailure(expected, `the socket closed (${client.closeInfo.code}) first`);
  }
  if (watchedMs < CLIENT_SERVER_TIMEOUT_MS) {
    throw new CaseUnsupported(
      `Nothing heard in ${watchedMs} ms, but the case timeout ended the watch before the clients' 30 s server timeout: run with --timeout 35000 to check it`,
    );
  }
  throw new CaseFailure(expected, `nothing for ${watchedMs} ms`);
}

function describe(message: HubMessage, watchedMs: number): string {
  const what = message.type === MessageType.Ping
    ? "Ping"
    : isHeartbeat(message)
    ? "Heartbeat"
    : `message type ${message.type}`;
  return `${what} after ${watchedMs} ms`;
}

/**
 * The keep-alive cases.
 *
 * @returns The cases.
 */
export function keepaliveCases(): CaseDefinition[] {
  return [
    {
      id: "keepalive/pinging-client-hears-server",
      level: "MUST",
      requirement:
        "A client that pings every 15 s, as the official clients do, MUST hear a hub-level message from the hub within 30 s, or it drops the connection",
      source: sources(CLIENT_SOURCE, CLIENT_CONNECTION),
      needs: [],
      async run(ctx) {
        const caseStart = performance.now();
        const token = await sharedHubToken(ctx);
        const client = await connectMain(ctx, "client", { token });
        // Like @microsoft/signalr: a Ping right after the handshake, then one every 15 s.
        const ping = () => client.send({ type: MessageType.Ping });
        const timer = setInterval(ping, CLIENT_PING_INTERVAL_MS);
        try {
          const started = performance.now();
          ping();
          const { message, watchedMs } = await firstKeepAlive(ctx, client, started, caseStart);
          const expected = "a hub-level message (Ping, an echo, Heartbeat) within 30 s";
          if (!message) silence(client, watchedMs, expected);
          return { detail: describe(message, watchedMs) };
        } finally {
          clearInterval(timer);
          await client.close();
        }
      },
    },
    {
      id: "keepalive/server-ping",
      level: "SHOULD",
      requirement:
        "The hub SHOULD send SignalR Pings on its own, so an idle client that does not ping hears from it within 30 s (Bitwarden: KeepAliveInterval 15 s)",
      source: sources(
        aspnetcore(
          "src/SignalR/server/Core/src/HubOptionsSetup.cs",
          HUB_OPTIONS_SETUP_COMMIT,
          "DefaultKeepAliveInterval",
        ),
        aspnetcore(
          "src/SignalR/server/Core/src/HubConnectionContext.cs",
          HUB_CONNECTION_CONTEXT_COMMIT,
          "KeepAliveTick",
        ),
      ),
      needs: [],
      async run(ctx) {
        const caseStart = performance.now();
        const token = await sharedHubToken(ctx);
        const client = await connectMain(ctx, "idle", { token });
        try {
          const started = performance.now();
          const { message, watchedMs } = await firstKeepAlive(ctx, client, started, caseStart);
          if (!message) {
            silence(client, watchedMs, "a Ping sent by the hub on its own within 30 s");
          }
          return { detail: describe(message, watchedMs) };
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "keepalive/heartbeat",
      level: "SHOULD",
      requirement:
        "The hub SHOULD invoke Heartbeat with no arguments on every main-hub connection every 120 s (UNSUPPORTED when it sends none)",
      source: HEARTBEAT_SOURCE,
      needs: [],
      async run(ctx) {
        const caseStart = performance.now();
        const token = await sharedHubToken(ctx);
        const client = await connectMain(ctx, "idle", { token });
        try {
          const beat = await awaitHeartbeat(ctx, client, caseStart);
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
      source: aspnetcore(
        "src/SignalR/server/Core/src/HubConnectionHandler.cs",
        "bf884ebc758a8ca4e6d99efdeba223dcf0e38d6c",
        "SendCloseAsync",
      ),
      needs: [],
      async run(ctx) {
        const token = await sharedHubToken(ctx);
        const client = await connectMain(ctx, "client", { token });
        try {
          const end = await afterProtocolError(
            ctx,
            client,
            () => client.sendRaw(UNPARSEABLE_MESSAGEPACK, "unparseable MessagePack frame"),
          );
          return { detail: `Close error ${JSON.stringify(expectErrorClose(end))}` };
        } finally {
          await client.close();
        }
      },
    },
  ];
}
