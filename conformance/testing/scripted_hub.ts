/**
 * A tiny hub whose wire behaviour a test scripts: which handshakes it answers and how it meets
 * the others, what the upgrade answers per token, whether it pings, echoes or beats. It serves
 * `/hub` and `/anonymous-hub` on a free loopback port, so the suite's hub cases can be graded
 * against faults no real server should have (silence, a 502, a hub that refuses everything)
 * and against Vaultwarden's documented behaviour (MessagePack only, silent on other handshakes,
 * echoes binary frames, no SignalR Ping of its own: dani-garcia/vaultwarden
 * src/api/notifications.rs @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a), lines 121-203).
 * Test tree only.
 *
 * @module
 */

import {
  messagePackHubProtocol,
  MessageType,
  RECORD_SEPARATOR,
} from "../../protocol/signalr/mod.ts";
import type { ResolvedTarget } from "../types.ts";
import { ActingAuthority } from "../../testing/mod.ts";
import { allCases } from "../cases/mod.ts";
import { runConformance } from "../runner.ts";

/** What the upgrade request gets: 101 to accept, another status to refuse, "hang" to never answer. */
export type UpgradeAnswer = number | "hang";

/** The script of a {@linkcode startScriptedHub}. */
export interface HubScript {
  /** Protocols whose version-1 handshake is answered `{}` (default both). */
  readonly protocols?: readonly ("messagepack" | "json")[];
  /**
   * Any other handshake: `error` answers an ASP.NET Core-style error and closes (default),
   * `silent` ignores it and keeps the socket open (Vaultwarden), `close` drops the socket.
   */
  readonly otherHandshake?: "error" | "silent" | "close";
  /**
   * The upgrade answer for a main-hub request with this token (undefined when none was sent);
   * default 401 without a token, 101 with one.
   */
  readonly mainUpgrade?: (token: string | undefined) => UpgradeAnswer;
  /** The upgrade answer for an anonymous-hub request with this `Token` (default 101). */
  readonly anonymousUpgrade?: (token: string | null) => UpgradeAnswer;
  /** Echo every binary frame back, as Vaultwarden does (default false). */
  readonly echo?: boolean;
  /** Send a SignalR Ping every this many ms after the handshake (default: never). */
  readonly pingEveryMs?: number;
  /** Invoke `Heartbeat` on main-hub connections every this many ms (default: never). */
  readonly heartbeatEveryMs?: number;
  /** Close a socket that sent no handshake after this many ms (default: never, as Vaultwarden). */
  readonly handshakeTimeoutMs?: number;
}

/** A running scripted hub. */
export interface ScriptedHub {
  /** Base URL (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** A resolved target for the suite (inject `send`, both protocols exercised). */
  readonly target: ResolvedTarget;
  /** The `protocol` of every handshake request received, in order. */
  readonly handshakes: readonly string[];
  /** Stops the server and closes every socket. */
  close(): Promise<void>;
}

function bearer(request: Request, url: URL): string | undefined {
  const header = request.headers.get("authorization");
  if (header?.startsWith("Bearer ")) return header.slice(7);
  return url.searchParams.get("access_token") ?? undefined;
}

function serveSocket(
  socket: WebSocket,
  script: HubScript,
  hub: "main" | "anonymous",
  timers: Set<ReturnType<typeof setInterval>>,
  handshakes: string[],
): void {
  socket.binaryType = "arraybuffer";
  const protocols = script.protocols ?? ["messagepack", "json"];
  let handshaken = false;
  if (script.handshakeTimeoutMs !== undefined) {
    const deadline = setTimeout(() => handshaken || socket.close(1000), script.handshakeTimeoutMs);
    timers.add(deadline);
    socket.addEventListener("close", () => clearTimeout(deadline));
  }
  const every = (ms: number | undefined, send: () => void) => {
    if (ms === undefined) return;
    const timer = setInterval(() => socket.readyState === WebSocket.OPEN && send(), ms);
    timers.add(timer);
    socket.addEventListener("close", () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  };
  socket.onmessage = (event) => {
    const data = event.data as string | ArrayBuffer;
    if (handshaken) {
      if (script.echo && typeof data !== "string") socket.send(data);
      return;
    }
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    let request: { protocol?: unknown; version?: unknown } | undefined;
    try {
      request = JSON.parse(text.replace(new RegExp(`${RECORD_SEPARATOR}$`), ""));
    } catch {
      request = undefined;
    }
    handshakes.push(String(request?.protocol));
    const known = protocols.find((p) => p === request?.protocol);
    if (known && request?.version === 1) {
      handshaken = true;
      socket.send(new TextEncoder().encode(`{}${RECORD_SEPARATOR}`));
      const ping = messagePackHubProtocol.writeMessage({ type: MessageType.Ping });
      every(script.pingEveryMs, () => socket.send(ping));
      if (hub === "main") {
        const beat = messagePackHubProtocol.writeMessage({
          type: MessageType.Invocation,
          target: "Heartbeat",
          arguments: [],
        });
        every(script.heartbeatEveryMs, () => socket.send(beat));
      }
      return;
    }
    const mode = script.otherHandshake ?? "error";
    if (mode === "silent") return;
    if (mode === "error") {
      socket.send(`${JSON.stringify({ error: "Handshake refused by script" })}${RECORD_SEPARATOR}`);
    }
    socket.close(1000);
  };
}

/**
 * Starts a scripted hub on 127.0.0.1 and a free port.
 *
 * @param script Its behaviour.
 * @returns The running hub; `close()` it in `finally`.
 */
export function startScriptedHub(script: HubScript = {}): Promise<ScriptedHub> {
  const sockets = new Set<WebSocket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  const hung = new Set<() => void>();
  const handshakes: string[] = [];
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) => {
        const url = `http://127.0.0.1:${port}`;
        resolve({
          url,
          target: {
            baseUrl: url,
            hubUrl: `${url}/hub`,
            extraHubUrls: [],
            anonymousHubUrl: `${url}/anonymous-hub`,
            sendUrl: `${url}/send`,
            apiUrl: `${url}/api`,
            identityUrl: `${url}/identity`,
            inject: "send",
            queueName: "notifications",
            protocols: ["messagepack", "json"],
          },
          handshakes,
          async close() {
            for (const release of hung) release();
            for (const timer of timers) clearInterval(timer);
            for (const socket of sockets) socket.close();
            await server.shutdown();
          },
        });
      },
    }, (request) => {
      const url = new URL(request.url);
      const hub = url.pathname === "/hub"
        ? "main"
        : url.pathname === "/anonymous-hub"
        ? "anonymous"
        : undefined;
      if (!hub) return Response.json({ message: "Not found" }, { status: 404 });
      const answer = hub === "main"
        ? (script.mainUpgrade ?? ((t) => (t === undefined ? 401 : 101)))(bearer(request, url))
        : (script.anonymousUpgrade ?? (() => 101))(url.searchParams.get("Token"));
      if (answer === "hang") {
        return new Promise<Response>((release) =>
          hung.add(() => release(new Response(null, { status: 504 })))
        );
      }
      if (answer !== 101) return Response.json({ message: "Refused" }, { status: answer });
      const { socket, response } = Deno.upgradeWebSocket(request);
      sockets.add(socket);
      socket.addEventListener("close", () => sockets.delete(socket));
      serveSocket(socket, script, hub, timers, handshakes);
      return response;
    });
  });
}

/** One graded case of {@linkcode gradeAgainstScript}. */
export interface ScriptedVerdict {
  /** The verdict. */
  readonly verdict: string;
  /** Detail, or expected and actual of a failure. */
  readonly detail: string;
}

/**
 * Runs the selected cases against a fresh scripted hub, with the harness authority minting the
 * tokens, and returns each case's verdict.
 *
 * @param script The hub's behaviour.
 * @param only `--only` patterns.
 * @param options Per-case timeout (default 12000) and grace (default 300).
 * @returns Verdict and detail by case id, and the handshake requests the hub received.
 */
export async function gradeAgainstScript(
  script: HubScript,
  only: readonly string[],
  options: { timeoutMs?: number; graceMs?: number } = {},
): Promise<{ verdicts: Map<string, ScriptedVerdict>; handshakes: readonly string[] }> {
  const [hub, authority] = await Promise.all([startScriptedHub(script), ActingAuthority.create()]);
  try {
    const port = Number(new URL(await authority.listen({ port: 0 })).port);
    const report = await runConformance({
      target: { ...hub.target, actAsAuthorityPort: port },
      cases: allCases(),
      authority,
      only,
      timeoutMs: options.timeoutMs ?? 12_000,
      graceMs: options.graceMs ?? 300,
      concurrency: 4,
      seed: 1,
      runs: 2,
      preflight: false,
    });
    const verdicts = new Map(report.cases.map((c) => [c.id, {
      verdict: c.verdict,
      detail: [c.detail, c.expected, c.actual].filter((x) => x).join(" | "),
    }]));
    return { verdicts, handshakes: hub.handshakes };
  } finally {
    await hub.close();
    await authority.close();
  }
}
