/**
 * A lean MessagePack hub client for benchmarks: one real WebSocket, the SignalR handshake, every
 * received frame parsed with `messagePackHubProtocol`, keep-alive pings, and a callback per
 * `ReceiveMessage` invocation. Lean on purpose: the benchmark's clients share the machine with
 * the service, so they must cost as little as a correct client can. The tests' hub client
 * (`testing/raw_hub_client.ts`) keeps every frame and decoded message for assertions, which at
 * thousands of connections would measure the client's memory and the parser, not the service.
 *
 * @module
 */

import {
  type HubMessage,
  messagePackHubProtocol,
  MessageType,
  parseHandshakeResponse,
  writeHandshakeRequest,
} from "../protocol/signalr/mod.ts";

/** Options of {@linkcode connectHubClient}. */
export interface HubClientOptions {
  /** Called with each `ReceiveMessage` argument and the receipt time (`performance.now()`). */
  readonly onReceive: (argument: unknown, receivedAt: number) => void;
  /** Called once if the server closes the connection or the socket fails after the handshake. */
  readonly onLost: (reason: string) => void;
  /** Interval of client pings in milliseconds (default 10,000; the server's timeout is 30 s). */
  readonly pingIntervalMs?: number;
}

/** A connected hub client. */
export interface HubClient {
  /** Closes the socket and stops pinging; resolves once the socket is closed. */
  close(): Promise<void>;
}

const PING = new Uint8Array(
  messagePackHubProtocol.writeMessage({ type: MessageType.Ping }) as ArrayBuffer,
);

/**
 * Opens `/hub` over WebSockets with the MessagePack protocol and completes the handshake.
 *
 * @param baseUrl The service's base URL (`http://127.0.0.1:<port>`).
 * @param token An access token the service accepts.
 * @param options Callbacks and the ping interval.
 * @returns The client, once the server has accepted the handshake.
 * @throws {Error} When the socket fails or the server refuses the handshake.
 */
export function connectHubClient(
  baseUrl: string,
  token: string,
  options: HubClientOptions,
): Promise<HubClient> {
  const url = `${baseUrl.replace(/^http/, "ws")}/hub?access_token=${encodeURIComponent(token)}`;
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  let ping: ReturnType<typeof setInterval> | undefined;
  let closing = false;
  const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
  const close = async () => {
    closing = true;
    clearInterval(ping);
    if (socket.readyState !== WebSocket.CLOSED) socket.close();
    await closed;
  };
  return new Promise<HubClient>((resolve, reject) => {
    let handshaken = false;
    const fail = (reason: string) => {
      clearInterval(ping);
      if (!handshaken) reject(new Error(`Hub connection failed: ${reason}`));
      else if (!closing) options.onLost(reason);
    };
    socket.onopen = () =>
      socket.send(writeHandshakeRequest({ protocol: "messagepack", version: 1 }));
    socket.onerror = (event) => fail((event as ErrorEvent).message ?? "socket error");
    socket.onclose = (event) => fail(`closed with code ${event.code} ${event.reason}`.trim());
    socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      const receivedAt = performance.now();
      let data: string | Uint8Array = typeof event.data === "string"
        ? event.data
        : new Uint8Array(event.data);
      if (!handshaken) {
        const response = parseHandshakeResponse(data);
        if (response === undefined) return fail("incomplete handshake response");
        if (response.value.error !== undefined) return fail(response.value.error);
        handshaken = true;
        ping = setInterval(() => socket.send(PING), options.pingIntervalMs ?? 10_000);
        resolve({ close });
        if (response.consumed === (typeof data === "string" ? data.length : data.byteLength)) {
          return;
        }
        data = data.slice(response.consumed);
      }
      for (const message of messagePackHubProtocol.parseMessages(data) as HubMessage[]) {
        if (message.type === MessageType.Invocation && message.target === "ReceiveMessage") {
          options.onReceive(message.arguments[0], receivedAt);
        } else if (message.type === MessageType.Close) {
          fail(`server sent Close: ${message.error ?? "no error"}`);
        }
      }
    };
  });
}
