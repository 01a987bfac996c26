/**
 * A thin front for the reference Notifications service, for mutants that no service hook can
 * express: it can answer HTTP requests itself (a `/send` that skips auth, an anonymous hub that
 * wants a token) and relay chosen WebSocket paths to the real service through a second socket,
 * rewriting or adding frames on the way (handshake texts, Heartbeats on the anonymous hub, an
 * Authorization header that never reaches the hub). Test tree only.
 *
 * @module
 */

import {
  type HubMessage,
  jsonHubProtocol,
  messagePackHubProtocol,
  MessageType,
  parseHandshakeRequest,
  RECORD_SEPARATOR,
  writeHandshakeResponse,
} from "../../protocol/signalr/mod.ts";
import type { NotificationsService } from "../../server/notifications/mod.ts";

/** Frames and requests the proxy handles itself; everything else reaches the service unchanged. */
export interface ProxyRules {
  /**
   * Answers a plain HTTP request (or returns undefined to pass it on). Upgrade requests of paths
   * in `sockets` never reach this hook.
   */
  readonly http?: (
    request: Request,
    service: NotificationsService,
  ) => Promise<Response | undefined>;
  /** WebSocket paths (`/hub`, `/anonymous-hub`) relayed through a second socket, and how. */
  readonly sockets?: Readonly<Record<string, SocketRules>>;
}

/** How one relayed WebSocket path misbehaves. */
export interface SocketRules {
  /** Forward the client's Authorization header to the service (default true). */
  readonly forwardAuthorization?: boolean;
  /** Rewrites the server's handshake answer text (without the record separator). */
  readonly handshakeAnswer?: (text: string) => string;
  /** Sends this invocation target with no arguments to the client every `everyMs`. */
  readonly extraInvocation?: { readonly target: string; readonly everyMs: number };
  /**
   * Drops a handshake error answer and keeps the client's socket open after the service closed
   * its side: the hub meets a bad handshake with silence, as Vaultwarden does.
   */
  readonly silentHandshakeErrors?: boolean;
  /**
   * Refuses, as version 99 is refused, a handshake for a protocol version above this one (a
   * server whose `IsVersionSupported` is `version == 1`).
   */
  readonly maxHandshakeVersion?: number;
  /** Drops, instead of relaying, client frames after the handshake bigger than this (bytes). */
  readonly dropClientFramesOver?: number;
  /** Drops, instead of relaying, client text frames after the handshake that are not JSON records. */
  readonly dropUnparseableText?: boolean;
  /** Removes `allowReconnect` from the server's Close messages. */
  readonly closeWithoutAllowReconnect?: boolean;
}

/** Whether a client frame after the handshake is one the rules drop. */
function dropped(rules: SocketRules, data: string | ArrayBuffer): boolean {
  const size = typeof data === "string" ? new TextEncoder().encode(data).length : data.byteLength;
  if (rules.dropClientFramesOver !== undefined && size > rules.dropClientFramesOver) return true;
  if (rules.dropUnparseableText && typeof data === "string") {
    try {
      jsonHubProtocol.parseMessages(data);
    } catch {
      return true;
    }
  }
  return false;
}

/** The server's frame with `allowReconnect` taken out of its Close messages, or undefined. */
function withoutAllowReconnect(
  protocol: "json" | "messagepack",
  data: string | ArrayBuffer,
): (string | ArrayBuffer)[] | undefined {
  const codec = protocol === "json" ? jsonHubProtocol : messagePackHubProtocol;
  let messages: HubMessage[];
  try {
    messages = codec.parseMessages(data);
  } catch {
    return undefined;
  }
  if (!messages.some((m) => m.type === MessageType.Close && m.allowReconnect)) return undefined;
  return messages.map((m) =>
    codec.writeMessage(
      m.type === MessageType.Close
        ? { type: MessageType.Close, ...(m.error !== undefined ? { error: m.error } : {}) }
        : m,
    )
  );
}

/** A running proxy. */
export interface RunningProxy {
  /** Base URL of the proxy (use it as the target). */
  readonly url: string;
  /** Closes every relayed socket, then the server. */
  close(): Promise<void>;
}

function isUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** The status the service gives this request's credentials, without upgrading (401/403 refuse). */
async function authStatus(
  request: Request,
  service: NotificationsService,
  forwardAuthorization: boolean,
): Promise<Response | undefined> {
  const headers = new Headers();
  const auth = request.headers.get("authorization");
  if (auth !== null && forwardAuthorization) headers.set("authorization", auth);
  // Without `id`: a GET naming a negotiated connection is a long-polling poll, which would claim
  // that connection's transport before the WebSocket relayed next can.
  const url = new URL(request.url);
  url.searchParams.delete("id");
  const probe = await service.fetch(
    new Request(url, { method: "GET", headers }),
    new URL(request.url).pathname,
  );
  if (probe.status === 401 || probe.status === 403) return probe;
  await probe.body?.cancel();
  return undefined;
}

function relay(
  request: Request,
  upstreamUrl: string,
  rules: SocketRules,
  sockets: Set<WebSocket>,
): Response {
  const headers: Record<string, string> = {};
  const auth = request.headers.get("authorization");
  if (auth !== null && rules.forwardAuthorization !== false) headers.authorization = auth;
  const { socket: client, response } = Deno.upgradeWebSocket(request);
  const upstream = new WebSocket(upstreamUrl, { headers } as unknown as string[]);
  client.binaryType = "arraybuffer";
  upstream.binaryType = "arraybuffer";
  sockets.add(client);
  sockets.add(upstream);
  const pending: (string | ArrayBuffer)[] = [];
  let protocol: "json" | "messagepack" | undefined;
  let answered = false;
  let swallowed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const closeBoth = (code = 1000, reason = "") => {
    clearInterval(timer);
    for (const socket of [client, upstream]) {
      sockets.delete(socket);
      if (socket.readyState <= WebSocket.OPEN) {
        try {
          socket.close(code >= 3000 || code === 1000 ? code : 1000, reason.slice(0, 120));
        } catch {
          // Already closing.
        }
      }
    }
  };
  client.onmessage = (event) => {
    const data = event.data as string | ArrayBuffer;
    if (protocol === undefined && typeof data === "string") {
      try {
        const parsed = parseHandshakeRequest(data);
        if (parsed) protocol = parsed.value.protocol === "json" ? "json" : "messagepack";
        const max = rules.maxHandshakeVersion;
        if (parsed && max !== undefined && parsed.value.version > max) {
          const { protocol: name, version } = parsed.value;
          client.send(
            writeHandshakeResponse(
              `The server does not support version ${version} of the '${name}' protocol.`,
            ),
          );
          closeBoth();
          return;
        }
      } catch {
        // Not a handshake: the service answers it.
      }
    } else if (protocol !== undefined && answered && dropped(rules, data)) {
      return;
    }
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data);
    else pending.push(data);
  };
  upstream.onopen = () => {
    for (const data of pending.splice(0)) upstream.send(data);
  };
  upstream.onmessage = (event) => {
    let data = event.data as string | ArrayBuffer;
    if (answered && protocol !== undefined && rules.closeWithoutAllowReconnect) {
      const rewritten = withoutAllowReconnect(protocol, data);
      if (rewritten) {
        for (const frame of rewritten) if (client.readyState === WebSocket.OPEN) client.send(frame);
        return;
      }
    }
    if (!answered) {
      answered = true;
      const binary = typeof data !== "string";
      const text = typeof data === "string" ? data : new TextDecoder().decode(data);
      const end = text.indexOf(RECORD_SEPARATOR);
      if (rules.silentHandshakeErrors && text.includes('"error"')) {
        swallowed = true;
        return;
      }
      if (rules.handshakeAnswer && end >= 0) {
        const rewritten = `${rules.handshakeAnswer(text.slice(0, end))}${text.slice(end)}`;
        data = binary ? new TextEncoder().encode(rewritten).buffer as ArrayBuffer : rewritten;
      }
      const extra = rules.extraInvocation;
      if (extra && protocol !== undefined && !text.includes('"error"')) {
        const codec = protocol === "json" ? jsonHubProtocol : messagePackHubProtocol;
        const frame = codec.writeMessage({
          type: MessageType.Invocation,
          target: extra.target,
          arguments: [],
        });
        timer = setInterval(() => {
          if (client.readyState === WebSocket.OPEN) client.send(frame);
        }, extra.everyMs);
      }
    }
    if (client.readyState === WebSocket.OPEN) client.send(data);
  };
  upstream.onclose = (event) => swallowed || closeBoth(event.code, event.reason);
  upstream.onerror = () => swallowed || closeBoth(1011, "Upstream failed");
  client.onclose = () => closeBoth();
  client.onerror = () => closeBoth();
  return response;
}

/**
 * Starts the proxy on a free loopback port in front of a service that is also served at
 * `upstreamUrl` (relayed sockets connect there; everything else calls `service.fetch`).
 *
 * @param service The service.
 * @param options The service's own URL and the proxy rules.
 * @returns The running proxy; `close()` it in `finally`.
 */
export function startMutationProxy(
  service: NotificationsService,
  options: { upstreamUrl: string; rules: ProxyRules },
): RunningProxy {
  const sockets = new Set<WebSocket>();
  const { rules, upstreamUrl } = options;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request, info) => {
      const url = new URL(request.url);
      const socketRules = rules.sockets?.[url.pathname];
      if (socketRules && isUpgrade(request)) {
        const refused = await authStatus(
          request,
          service,
          socketRules.forwardAuthorization !== false,
        );
        if (refused) return refused;
        const upstream = new URL(`${upstreamUrl.replace(/^http/, "ws")}${url.pathname}`);
        upstream.search = url.search;
        return relay(request, upstream.href, socketRules, sockets);
      }
      const answer = await rules.http?.(request, service);
      return answer ?? await service.fetch(request, url.pathname, info);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      for (const socket of [...sockets]) {
        try {
          socket.close();
        } catch {
          // Already closed.
        }
      }
      await server.shutdown();
    },
  };
}
