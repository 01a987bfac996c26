/**
 * SignalR behaviours past the first handshake: the two negotiate versions, a version-2 handshake
 * while stateful reconnect is off, and how the hub ends a connection whose client broke the
 * protocol (a message over the 32 KB limit, a JSON record that does not parse, and the Close
 * message's `allowReconnect`). Bitwarden configures no `HubOptions` (bitwarden/server
 * src/Notifications/Startup.cs), so ASP.NET Core's defaults are what its clients meet.
 *
 * @module
 */

import { type HubMessage, MessageType } from "../../protocol/signalr/mod.ts";
import { type CaseDefinition, CaseFailure, CaseUnsupported } from "../types.ts";
import { HubClient, HubConnectError, negotiateAnswer } from "../driver/hub_client.ts";
import { connectMain, sharedHubToken } from "./_common.ts";
import { afterProtocolError, answerWindow, expectErrorClose } from "./_protocol_error.ts";
import { UNPARSEABLE_MESSAGEPACK } from "./keepalive.ts";
import {
  aspnetcore,
  HUB_CONNECTION_CONTEXT_COMMIT,
  HUB_OPTIONS_SETUP_COMMIT,
  NOTIFICATIONS_STARTUP,
  sources,
} from "./_sources.ts";

/** `HubOptionsSetup.DefaultMaximumMessageSize`: 32 KB, which Bitwarden keeps. */
export const MAXIMUM_RECEIVE_MESSAGE_SIZE = 32 * 1024;

const HUB_CONNECTION_HANDLER_COMMIT = "bf884ebc758a8ca4e6d99efdeba223dcf0e38d6c";

const HANDLER = (detail: string) =>
  aspnetcore(
    "src/SignalR/server/Core/src/HubConnectionHandler.cs",
    HUB_CONNECTION_HANDLER_COMMIT,
    detail,
  );

/** A non-blocking invocation whose MessagePack encoding is a little over `bytes`. */
function invocationOf(bytes: number): HubMessage {
  return { type: MessageType.Invocation, target: "Filler", arguments: ["x".repeat(bytes)] };
}

/**
 * The negotiate, handshake-version and protocol-error cases.
 *
 * @returns The cases.
 */
export function hubProtocolCases(): CaseDefinition[] {
  return [
    {
      id: "hub/handshake/negotiate-versions",
      level: "SHOULD",
      requirement:
        "POST /hub/negotiate SHOULD answer negotiateVersion=1 with a connectionToken distinct from the connectionId, and version 0 (no negotiateVersion) with a connectionId only, which the WebSocket then connects with",
      source: sources(
        aspnetcore(
          "src/SignalR/common/Http.Connections/src/Internal/HttpConnectionDispatcher.cs",
          "500e036573fb845ebce9c431e73e762791815c66",
          "ProcessNegotiate: version 0 uses the id as token",
        ),
        aspnetcore(
          "src/SignalR/docs/specs/TransportProtocols.md",
          "407d4948c1b759e93697e5b1f75c0e4aad9b5a95",
          "negotiate versions",
        ),
      ),
      needs: [],
      async run(ctx) {
        const token = await sharedHubToken(ctx);
        const ask = (version: number | undefined) =>
          negotiateAnswer(ctx.target.hubUrl, {
            query: { access_token: token },
            headers: {},
            name: `negotiate-v${version ?? 0}`,
            version,
            trace: ctx.trace,
            timeoutMs: answerWindow(ctx),
          });
        let v1;
        try {
          v1 = await ask(1);
        } catch (error) {
          if (!(error instanceof HubConnectError)) throw error;
          throw new CaseUnsupported(
            `The hub does not serve negotiate (see hub/handshake/negotiate): ${error.message}`,
          );
        }
        const problems: string[] = [];
        if (v1.negotiateVersion !== 1) {
          problems.push(`v1 answered negotiateVersion ${v1.negotiateVersion}`);
        }
        if (!v1.connectionToken || !v1.connectionId) {
          problems.push("v1 lacks connectionToken or connectionId");
        } else if (v1.connectionToken === v1.connectionId) {
          problems.push("v1 connectionToken equals its connectionId");
        }
        const v0 = await ask(undefined);
        if ((v0.negotiateVersion ?? 0) !== 0) {
          problems.push(`v0 answered negotiateVersion ${v0.negotiateVersion}`);
        }
        if (v0.connectionToken !== undefined) problems.push("v0 carries a connectionToken");
        if (!v0.connectionId) problems.push("v0 lacks a connectionId");
        if (problems.length > 0) {
          throw new CaseFailure(
            "v1: negotiateVersion 1, connectionId and a distinct connectionToken; v0: connectionId only",
            problems.join("; "),
          );
        }
        const client = await HubClient.connect(ctx.target.hubUrl, {
          name: "v0-client",
          token,
          query: { id: v0.connectionId! },
          trace: ctx.trace,
          signal: ctx.signal,
          timeoutMs: answerWindow(ctx),
        }).catch((error: Error) => {
          throw new CaseFailure(
            "the WebSocket with ?id=<v0 connectionId> to complete the handshake",
            error.message,
          );
        });
        await client.close();
        return { detail: "v1 token and id distinct; v0 id only, accepted as the WebSocket id" };
      },
    },
    {
      id: "hub/handshake/version-2",
      level: "SHOULD",
      requirement:
        "The hub SHOULD answer a MessagePack version-2 handshake with {} (ASP.NET Core accepts versions up to 2), and without negotiated stateful reconnect send no Ack or Sequence messages",
      source: sources(
        aspnetcore(
          "src/SignalR/common/Protocols.MessagePack/src/Protocol/MessagePackHubProtocol.cs",
          "0da7ee558f61a794fd4d598ba73087e2eb1fa60a",
          "ProtocolVersion 2, IsVersionSupported: version <= Version",
        ),
        NOTIFICATIONS_STARTUP,
      ),
      needs: [],
      async run(ctx) {
        const token = await sharedHubToken(ctx);
        const client = await HubClient.open(ctx.target.hubUrl, {
          name: "client",
          token,
          trace: ctx.trace,
          signal: ctx.signal,
        });
        try {
          const answer = await client.sendHandshake({
            protocol: "messagepack",
            version: 2,
            timeoutMs: answerWindow(ctx),
          });
          if (answer === undefined) {
            throw new CaseFailure(
              "{} within the answer window",
              client.closeInfo ? `closed ${client.closeInfo.code} without an answer` : "no answer",
            );
          }
          if (answer.error !== undefined) {
            throw new CaseFailure("{}", `handshake error ${JSON.stringify(answer.error)}`);
          }
          client.send({ type: MessageType.Ping });
          const later = await client.quiet(ctx.graceMs);
          const stateful = later.filter((m) =>
            m.type === MessageType.Ack || m.type === MessageType.Sequence
          );
          if (stateful.length > 0) {
            throw new CaseFailure(
              "no Ack or Sequence message (stateful reconnect was not negotiated)",
              `message type ${stateful[0]!.type}`,
            );
          }
          if (client.closeInfo) {
            throw new CaseFailure(
              "the connection to stay open",
              `closed ${client.closeInfo.code}`,
            );
          }
          return { detail: `answer ${answer.text}; no Ack or Sequence` };
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "hub/protocol/message-too-large",
      level: "SHOULD",
      requirement:
        "The hub SHOULD close, with a Close error, a connection whose client sends a hub message over MaximumReceiveMessageSize (32 KB, Bitwarden's default), while a 16 KB one is accepted",
      source: sources(
        aspnetcore(
          "src/SignalR/server/Core/src/HubOptionsSetup.cs",
          HUB_OPTIONS_SETUP_COMMIT,
          "DefaultMaximumMessageSize 32 * 1024",
        ),
        HANDLER("DispatchMessagesAsync: The maximum message size was exceeded"),
        NOTIFICATIONS_STARTUP,
      ),
      needs: [],
      async run(ctx) {
        const token = await sharedHubToken(ctx);
        const client = await connectMain(ctx, "client", { token });
        try {
          // Positive control: half the limit is an ordinary (if unknown) non-blocking call.
          client.send(invocationOf(MAXIMUM_RECEIVE_MESSAGE_SIZE / 2));
          await client.quiet(ctx.graceMs);
          if (client.closeInfo || client.messages.some((m) => m.type === MessageType.Close)) {
            throw new CaseFailure(
              "a 16 KB message accepted (positive control)",
              `the connection closed (${client.closeInfo?.code ?? "Close message"})`,
            );
          }
          const big = invocationOf(MAXIMUM_RECEIVE_MESSAGE_SIZE + 4096);
          const end = await afterProtocolError(ctx, client, () => client.send(big));
          return { detail: `Close error ${JSON.stringify(expectErrorClose(end))}` };
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "hub/protocol/json-parse-error",
      level: "SHOULD",
      requirement:
        "After a JSON handshake, the hub SHOULD close with a Close error a connection that sends a record which is not JSON",
      source: HANDLER("RunHubAsync: a parse error ends in SendCloseAsync with the exception"),
      needs: [],
      async run(ctx) {
        const token = await sharedHubToken(ctx);
        const client = await connectMain(ctx, "client", { token, protocol: "json" }).catch(
          (error: Error) => {
            if (!(error instanceof HubConnectError)) throw error;
            throw new CaseUnsupported(`The hub refused a JSON connection: ${error.message}`);
          },
        );
        try {
          const end = await afterProtocolError(
            ctx,
            client,
            () => client.sendRaw("not json\x1e", "record 'not json'"),
          );
          return { detail: `Close error ${JSON.stringify(expectErrorClose(end))}` };
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "hub/protocol/close-allow-reconnect",
      level: "SHOULD",
      requirement:
        "The Close message the hub sends after a client's protocol error SHOULD carry allowReconnect: true, as ASP.NET Core's does (UNSUPPORTED when the hub sends no Close)",
      source: sources(
        HANDLER("HubOnDisconnectedAsync: SendCloseAsync(exception, connection.AllowReconnect)"),
        aspnetcore(
          "src/SignalR/server/Core/src/HubConnectionContext.cs",
          HUB_CONNECTION_CONTEXT_COMMIT,
          "_allowReconnect starts true, only Abort clears it",
        ),
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
          if (!end.close) {
            throw new CaseUnsupported(
              "The hub sent no Close message after a protocol error (see keepalive/close-with-reason)",
            );
          }
          if (end.close.allowReconnect !== true) {
            throw new CaseFailure(
              "Close with allowReconnect: true",
              `Close ${
                JSON.stringify({ error: end.close.error, allowReconnect: end.close.allowReconnect })
              }`,
            );
          }
          return { detail: "Close with allowReconnect: true" };
        } finally {
          await client.close();
        }
      },
    },
  ];
}
