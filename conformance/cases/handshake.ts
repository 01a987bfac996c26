/**
 * `hub/handshake/*`: transports and the SignalR handshake (research signalr-protocol.md §2-§3,
 * clients-vaultwarden.md §0, §4 items 1-3).
 *
 * @module
 */

import {
  type CaseContext,
  type CaseDefinition,
  CaseFailure,
  type CaseResult,
  CaseUnsupported,
} from "../types.ts";
import { HubClient } from "../driver/hub_client.ts";
import { reachFetch } from "../driver/reach.ts";
import { sharedHubToken } from "./_common.ts";
import {
  HANDSHAKE_TIMEOUT_MS,
  hubProtocolSupport,
  type ProtocolSupport,
} from "../driver/protocol_support.ts";
import {
  aspnetcore,
  CLIENT_CONNECTION,
  HUB_CONNECTION_CONTEXT_COMMIT,
  HUB_OPTIONS_SETUP_COMMIT,
  server,
  sources,
} from "./_sources.ts";

const SOURCE = sources(
  aspnetcore(
    "src/SignalR/server/Core/src/HubConnectionContext.cs",
    HUB_CONNECTION_CONTEXT_COMMIT,
    "HandshakeAsync",
  ),
  aspnetcore(
    "src/SignalR/server/Core/src/HubOptionsSetup.cs",
    HUB_OPTIONS_SETUP_COMMIT,
    "HandshakeTimeout 15 s",
  ),
);

async function openWithToken(ctx: CaseContext, name: string): Promise<HubClient> {
  const token = await sharedHubToken(ctx);
  return await HubClient.open(ctx.target.hubUrl, {
    name,
    token,
    trace: ctx.trace,
    signal: ctx.signal,
  });
}

/**
 * The run's protocol probe (see `driver/protocol_support.ts`): the positive control of the
 * refusal cases, and the JSON capability probe.
 */
function runProbe(ctx: CaseContext, token?: string): Promise<ProtocolSupport> {
  return hubProtocolSupport(
    ctx,
    async () => token ?? await sharedHubToken(ctx),
  );
}

/**
 * Sends a bad handshake and returns the refusal: a handshake error answer (the socket must then
 * close) or a close without one. Silence for the server's 15 s handshake timeout is not a
 * refusal (FAIL; a shorter watch, when the case timeout leaves no more, is UNSUPPORTED), and
 * neither is a hub that answers no valid handshake either (positive control: the run's
 * MessagePack probe, which runs meanwhile, must have been answered).
 */
async function expectHandshakeRefused(
  ctx: CaseContext,
  request: { protocol?: string; version?: number; raw?: string },
): Promise<string> {
  const started = performance.now();
  const token = await sharedHubToken(ctx);
  const probe = runProbe(ctx, token);
  probe.catch(() => {});
  const client = await HubClient.open(ctx.target.hubUrl, {
    name: "client",
    token,
    trace: ctx.trace,
    signal: ctx.signal,
  });
  let refusal: string;
  try {
    const left = ctx.timeoutMs - (performance.now() - started) - 2500;
    const wait = Math.max(1000, Math.min(HANDSHAKE_TIMEOUT_MS + 1000, left));
    const sent = performance.now();
    let answer;
    if (request.raw !== undefined) {
      client.sendRaw(request.raw, `raw ${JSON.stringify(request.raw)}`);
      answer = await client.waitFor(() => client.handshake, wait);
    } else {
      answer = await client.sendHandshake({ ...request, timeoutMs: wait });
    }
    if (answer !== undefined && answer.error === undefined) {
      throw new CaseFailure(
        "a handshake error and a closed connection",
        `a successful handshake answer ${answer.text}`,
      );
    }
    if (answer === undefined) {
      const closed = client.closeInfo;
      const silentMs = Math.round(performance.now() - sent);
      if (!closed && silentMs < HANDSHAKE_TIMEOUT_MS) {
        throw new CaseUnsupported(
          `No answer in ${silentMs} ms, but the case timeout ended the watch before the 15 s handshake timeout: run with --timeout 45000 to check it`,
        );
      }
      if (!closed) {
        throw new CaseFailure(
          "a handshake error, or the connection closed, within the 15 s handshake timeout",
          `no answer and the socket still open after ${silentMs} ms (silence is not a refusal)`,
        );
      }
      refusal = `closed ${closed.code} without an answer`;
    } else {
      const closed = await client.waitFor(
        () => client.closeInfo,
        Math.min(5000, ctx.timeoutMs / 4),
      );
      if (closed === undefined) {
        throw new CaseFailure(
          "the server to close the connection after the handshake error",
          "the socket stayed open",
        );
      }
      refusal = answer.error!;
    }
  } finally {
    await client.close();
  }
  const control = (await probe).probes.find((p) => p.protocol === "messagepack")!;
  if (control.outcome !== "answered") {
    throw new CaseFailure(
      "a valid MessagePack handshake answered {} on the same hub (positive control)",
      control.detail,
    );
  }
  return refusal;
}

function exactText(expected: string, actual: string): void {
  if (actual !== expected) throw new CaseFailure(JSON.stringify(expected), JSON.stringify(actual));
}

/**
 * A MAY capability probe: connects to the hub with `variant` and grades INFORMATIONAL when the
 * hub accepts it, UNSUPPORTED (with the reason) when it does not.
 */
async function probeWebSocket(
  ctx: CaseContext,
  variant: { readonly negotiate?: boolean },
  accepted: string,
): Promise<CaseResult> {
  const token = await sharedHubToken(ctx);
  try {
    const client = await HubClient.connect(ctx.target.hubUrl, {
      name: "client",
      token,
      ...variant,
      trace: ctx.trace,
      signal: ctx.signal,
    });
    await client.close();
    return { verdict: "INFORMATIONAL", detail: accepted };
  } catch (error) {
    return { verdict: "UNSUPPORTED", detail: (error as Error).message };
  }
}

/**
 * The handshake and transport cases.
 *
 * @returns The cases.
 */
export function handshakeCases(): CaseDefinition[] {
  return [
    {
      id: "hub/handshake/websocket-messagepack",
      level: "MUST",
      requirement:
        "The hub MUST accept a WebSocket without negotiate and answer the MessagePack handshake with {} and 0x1E within 15 s",
      source: sources(
        CLIENT_CONNECTION,
        aspnetcore(
          "src/SignalR/docs/specs/HubProtocol.md",
          "a4af6185ea14f8d498db324806bb67471d3c1e23",
          "Overview: handshake",
        ),
      ),
      needs: [],
      async run(ctx) {
        const client = await openWithToken(ctx, "client");
        try {
          const answer = await client.sendHandshake({ timeoutMs: 15_000 });
          if (answer === undefined) throw new CaseFailure("{} + 0x1E within 15 s", "no answer");
          if (answer.error !== undefined) {
            throw new CaseFailure("{} + 0x1E", `handshake error ${answer.error}`);
          }
          if (answer.text.trim() !== "{}") throw new CaseFailure("{}", answer.text);
          return { detail: `answer {} in a ${answer.frameKind} frame` };
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "hub/handshake/json-protocol",
      level: "MAY",
      requirement:
        "The hub MAY accept the JSON hub protocol (Bitwarden does; official clients use MessagePack)",
      source: server(
        "src/Notifications/Startup.cs",
        "AddSignalR().AddMessagePackProtocol keeps JSON",
      ),
      needs: [],
      async run(ctx): Promise<CaseResult> {
        const json = (await runProbe(ctx)).probes.find((p) => p.protocol === "json")!;
        return json.outcome === "answered"
          ? { verdict: "INFORMATIONAL", detail: `JSON hub protocol accepted: ${json.detail}` }
          : { verdict: "UNSUPPORTED", detail: `JSON handshake ${json.outcome}: ${json.detail}` };
      },
    },
    {
      id: "hub/handshake/negotiate",
      level: "MAY",
      requirement:
        "The hub MAY serve POST /hub/negotiate and accept the WebSocket with its connection token",
      source: sources(
        server("src/Notifications/Startup.cs", "MapHub with the default transports"),
        aspnetcore(
          "src/SignalR/docs/specs/TransportProtocols.md",
          "407d4948c1b759e93697e5b1f75c0e4aad9b5a95",
          "negotiate",
        ),
      ),
      needs: [],
      run: (ctx) =>
        probeWebSocket(ctx, { negotiate: true }, "negotiate + WebSocket with id accepted"),
    },
    ...(["ServerSentEvents", "LongPolling"] as const).map((transport): CaseDefinition => ({
      id: `hub/handshake/${transport === "ServerSentEvents" ? "sse" : "long-polling"}`,
      level: "MAY",
      requirement: `The hub MAY offer the ${transport} transport after negotiate`,
      source: sources(
        server("src/Notifications/Startup.cs", "MapHub with the default transports"),
        aspnetcore(
          "src/SignalR/docs/specs/TransportProtocols.md",
          "407d4948c1b759e93697e5b1f75c0e4aad9b5a95",
          "Server-Sent Events, Long Polling",
        ),
      ),
      needs: [],
      async run(ctx): Promise<CaseResult> {
        const token = await sharedHubToken(ctx);
        const url = new URL(ctx.target.hubUrl.replace(/^ws/, "http"));
        url.pathname = url.pathname.replace(/\/?$/, "/negotiate");
        url.searchParams.set("negotiateVersion", "1");
        const response = await reachFetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status !== 200) {
          return { verdict: "UNSUPPORTED", detail: `negotiate answered ${response.status}` };
        }
        let body: { connectionToken?: string; availableTransports?: { transport?: string }[] };
        try {
          body = JSON.parse(text);
        } catch {
          return { verdict: "UNSUPPORTED", detail: "negotiate answer is not JSON" };
        }
        if (
          !body.availableTransports?.some((t) => t.transport === transport) || !body.connectionToken
        ) {
          return { verdict: "UNSUPPORTED", detail: `negotiate does not list ${transport}` };
        }
        const poll = new URL(ctx.target.hubUrl.replace(/^ws/, "http"));
        poll.searchParams.set("id", body.connectionToken);
        poll.searchParams.set("access_token", token);
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 5000);
        try {
          const answer = await reachFetch(poll, {
            headers: transport === "ServerSentEvents" ? { accept: "text/event-stream" } : {},
            signal: controller.signal,
          });
          const type = answer.headers.get("content-type") ?? "";
          await answer.body?.cancel();
          const ok = answer.status === 200 &&
            (transport === "LongPolling" || type.startsWith("text/event-stream"));
          return ok
            ? { verdict: "INFORMATIONAL", detail: `${transport} answered 200 ${type}` }
            : { verdict: "UNSUPPORTED", detail: `${transport} answered ${answer.status} ${type}` };
        } catch (error) {
          return {
            verdict: "UNSUPPORTED",
            detail: `${transport} request failed: ${(error as Error).message}`,
          };
        } finally {
          clearTimeout(timer);
          controller.abort();
        }
      },
    })),
    {
      id: "hub/handshake/unknown-protocol",
      level: "MUST",
      requirement:
        "The hub MUST answer a handshake for an unknown protocol with an error and close the connection",
      source: SOURCE,
      needs: [],
      async run(ctx) {
        return { detail: await expectHandshakeRefused(ctx, { protocol: "bogus", version: 1 }) };
      },
    },
    {
      id: "hub/handshake/unknown-protocol-text",
      level: "SHOULD",
      requirement:
        "The hub SHOULD answer an unknown protocol with the ASP.NET Core text \"The protocol 'bogus' is not supported.\"",
      source: SOURCE,
      needs: [],
      async run(ctx) {
        exactText(
          "The protocol 'bogus' is not supported.",
          await expectHandshakeRefused(ctx, { protocol: "bogus", version: 1 }),
        );
      },
    },
    {
      id: "hub/handshake/unsupported-version",
      level: "MUST",
      requirement:
        "The hub MUST refuse a handshake for an unsupported protocol version with an error",
      source: SOURCE,
      needs: [],
      async run(ctx) {
        return {
          detail: await expectHandshakeRefused(ctx, { protocol: "messagepack", version: 99 }),
        };
      },
    },
    {
      id: "hub/handshake/unsupported-version-text",
      level: "SHOULD",
      requirement:
        "The hub SHOULD answer version 99 with \"The server does not support version 99 of the 'messagepack' protocol.\"",
      source: SOURCE,
      needs: [],
      async run(ctx) {
        exactText(
          "The server does not support version 99 of the 'messagepack' protocol.",
          await expectHandshakeRefused(ctx, { protocol: "messagepack", version: 99 }),
        );
      },
    },
    {
      id: "hub/handshake/malformed",
      level: "MUST",
      requirement: "The hub MUST refuse a handshake without a version and close the connection",
      source: SOURCE,
      needs: [],
      async run(ctx) {
        return {
          detail: await expectHandshakeRefused(ctx, { raw: '{"protocol":"messagepack"}\x1e' }),
        };
      },
    },
    {
      id: "hub/handshake/message-before-handshake",
      level: "MUST",
      requirement: "The hub MUST NOT accept a hub message sent before the handshake as a handshake",
      source: SOURCE,
      needs: [],
      async run(ctx) {
        return {
          detail: await expectHandshakeRefused(ctx, {
            raw: '{"type":1,"target":"Echo","arguments":[]}\x1e',
          }),
        };
      },
    },
    {
      id: "hub/handshake/timeout",
      level: "SHOULD",
      requirement:
        "The hub SHOULD close a WebSocket that sends no handshake within the 15 s handshake timeout",
      source: aspnetcore(
        "src/SignalR/server/Core/src/HubOptionsSetup.cs",
        HUB_OPTIONS_SETUP_COMMIT,
        "DefaultHandshakeTimeout",
      ),
      needs: [],
      async run(ctx) {
        const started = performance.now();
        const client = await openWithToken(ctx, "client");
        try {
          const opened = performance.now();
          const wait = Math.min(
            HANDSHAKE_TIMEOUT_MS + 3000,
            ctx.timeoutMs - (opened - started) - 2000,
          );
          const closed = await client.waitFor(() => client.closeInfo, wait);
          const ms = Math.round(performance.now() - opened);
          if (closed) return { detail: `closed ${closed.code} after ${ms} ms` };
          if (wait < HANDSHAKE_TIMEOUT_MS + 3000) {
            throw new CaseUnsupported(
              `Still open after ${ms} ms, but the case timeout ended the watch before the 15 s handshake timeout: run with --timeout 45000 to check it`,
            );
          }
          throw new CaseFailure(
            "the connection closed within 15 s (+3 s) without a handshake",
            `still open after ${ms} ms`,
          );
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "hub/handshake/malformed-text",
      level: "SHOULD",
      requirement:
        'The hub SHOULD answer an unparseable handshake with "An unexpected error occurred during connection handshake."',
      source: SOURCE,
      needs: [],
      async run(ctx) {
        exactText(
          "An unexpected error occurred during connection handshake.",
          await expectHandshakeRefused(ctx, { raw: '{"protocol":"messagepack"}\x1e' }),
        );
      },
    },
  ];
}
