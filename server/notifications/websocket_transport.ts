/**
 * The WebSockets transport: upgrades the request, feeds every received frame (text or binary)
 * into the hub connection as one byte stream, and writes Text frames for the JSON protocol and
 * Binary frames for MessagePack. A peer that does not read is detected through the socket's
 * `bufferedAmount` and dropped instead of buffering without bound. Every server-side close is
 * bounded: a peer that does not answer the Close within `closeTimeoutMs` has its connection
 * closed under it (see `_socket_abort.ts` for why Deno needs help there).
 *
 * @module
 */

import { TransferFormat } from "../../protocol/signalr/mod.ts";
import { abortWebSocket } from "./_socket_abort.ts";
import type { HubConnection, TransportCloseInfo, TransportSink } from "./hub_connection.ts";
import type { OutgoingFrame } from "./outgoing_frame.ts";

/** How a close the server started ended once its timer ran out. */
export type ForcedCloseResult = "aborted" | "unsupported";

/** Options of {@linkcode acceptWebSocket}. */
export interface WebSocketTransportOptions {
  /** Bytes queued in the socket before the peer counts as a slow consumer. */
  readonly sendBufferLimit: number;
  /**
   * How long a server-initiated close waits for the peer's Close before the connection is
   * closed under it (ASP.NET Core `WebSocketOptions.CloseTimeout`; 0 waits for ever).
   */
  readonly closeTimeoutMs: number;
  /** Builds the hub connection on top of the transport sink. */
  readonly createConnection: (sink: TransportSink) => HubConnection;
  /** Told when a close had to be forced because the peer never answered it. */
  readonly onForcedClose?: (result: ForcedCloseResult) => void;
}

/** Deno's error text for a frame over its own (64 MiB) limit, before any hub code sees it. */
const FRAME_TOO_LARGE = /frame too large|message too (large|big)/i;

const UTF8_ENCODER = new TextEncoder();

/**
 * Truncates a close reason to the 123 bytes a WebSocket close frame allows, on a code point
 * boundary.
 *
 * @param reason The reason.
 * @returns The reason, at most 123 UTF-8 bytes.
 */
export function truncateCloseReason(reason: string): string {
  if (UTF8_ENCODER.encode(reason).length <= 123) return reason;
  let out = "";
  for (const ch of reason) {
    if (UTF8_ENCODER.encode(out + ch + "...").length > 123) break;
    out += ch;
  }
  return `${out}...`;
}

class WebSocketSink implements TransportSink {
  readonly kind = "WebSockets" as const;
  readonly transferFormats = [TransferFormat.Text, TransferFormat.Binary] as const;
  readonly inherentKeepAlive = false;
  #socket: WebSocket;
  #limit: number;
  #closeTimeoutMs: number;
  #onForcedClose: (result: ForcedCloseResult) => void;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #pendingClose: TransportCloseInfo | undefined;

  constructor(
    socket: WebSocket,
    options: Pick<
      WebSocketTransportOptions,
      "sendBufferLimit" | "closeTimeoutMs" | "onForcedClose"
    >,
  ) {
    this.#socket = socket;
    this.#limit = options.sendBufferLimit;
    this.#closeTimeoutMs = options.closeTimeoutMs;
    this.#onForcedClose = options.onForcedClose ?? (() => {});
  }

  /** The socket opened: a close asked for while Deno was still upgrading goes out now. */
  opened(): void {
    const pending = this.#pendingClose;
    this.#pendingClose = undefined;
    if (pending) this.close(pending);
  }

  /** The socket is closed: the connection is released, no forced close needed. */
  released(): void {
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#pendingClose = undefined;
  }

  write(frame: OutgoingFrame): boolean {
    if (this.#socket.readyState !== WebSocket.OPEN) return true;
    try {
      // JSON must travel in Text frames, MessagePack in Binary frames (official clients insist).
      this.#socket.send(frame.format === TransferFormat.Text ? frame.text : frame.bytes);
    } catch {
      // The socket is closing underneath us; its close event ends the connection.
      return true;
    }
    return this.#socket.bufferedAmount <= this.#limit;
  }

  close(info: TransportCloseInfo): void {
    const state = this.#socket.readyState;
    if (state === WebSocket.CONNECTING) {
      // Deno marks a server socket OPEN once the upgrade completes whatever close() said
      // before, so a close now would be lost: it waits for the open event.
      this.#pendingClose ??= info;
      return;
    }
    if (state === WebSocket.CLOSING || state === WebSocket.CLOSED) return;
    try {
      this.#socket.close(info.code, truncateCloseReason(info.reason));
    } catch {
      // Already closing.
    }
    this.#armCloseTimer();
  }

  #armCloseTimer(): void {
    if (this.#closeTimeoutMs <= 0 || this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      if (this.#socket.readyState === WebSocket.CLOSED) return;
      this.#onForcedClose(abortWebSocket(this.#socket) ? "aborted" : "unsupported");
    }, this.#closeTimeoutMs);
  }
}

function failConnection(connection: HubConnection, error: unknown): void {
  try {
    connection.close({
      reason: "internal-error",
      detail: `Internal server error: ${(error as Error)?.message ?? String(error)}`,
      error: "Connection closed with an error.",
      allowReconnect: true,
      code: 1011,
    });
  } catch {
    // Closing failed too: the socket's close event still ends the connection.
  }
}

/**
 * Upgrades a request to a WebSocket carrying one hub connection.
 *
 * @param request A WebSocket upgrade request (already authenticated by the caller).
 * @param options Buffer limit and connection factory.
 * @returns The 101 response to return to the HTTP server, or 400 `{ message }` (and no
 *   connection) when the request's WebSocket headers are invalid.
 */
export function acceptWebSocket(request: Request, options: WebSocketTransportOptions): Response {
  let upgraded: { socket: WebSocket; response: Response };
  try {
    // idleTimeout 0: the hub's own client timeout (30 s without a client message) is what ends
    // a dead peer, as SignalR's ClientTimeoutInterval does in ASP.NET Core. Deno's default (120 s:
    // a WebSocket Ping after 60 s, close 1001 "No response from ping frame." 60 s later) dropped
    // 733 of 10,000 live connections that pinged every 15 s within 6 minutes of the soak
    // benchmark (bench/soak.ts, docs/performance.md#soak), the hub's timers never having fired.
    upgraded = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
  } catch (error) {
    // A request that says `Upgrade: websocket` but lacks valid WebSocket headers is the
    // client's mistake: name it instead of answering 500.
    return Response.json({
      message: `Invalid WebSocket upgrade request: ${(error as Error).message}`,
    }, { status: 400 });
  }
  const { socket, response } = upgraded;
  socket.binaryType = "arraybuffer";
  const sink = new WebSocketSink(socket, options);
  const connection = options.createConnection(sink);
  let transportError: string | undefined;
  // An exception escaping a socket event handler would terminate the whole process: it ends
  // this connection only (1011, as ASP.NET Core closes after a server-side failure).
  socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
    const data = event.data;
    try {
      connection.receive(typeof data === "string" ? data : new Uint8Array(data));
    } catch (error) {
      failConnection(connection, error);
    }
  };
  socket.onopen = () => sink.opened();
  socket.onclose = (event: CloseEvent) => {
    sink.released();
    const detail = `WebSocket closed: code ${event.code}${
      event.reason ? ` (${event.reason})` : ""
    }${transportError ? `: ${transportError}` : ""}`;
    try {
      connection.transportClosed(
        detail,
        transportError && FRAME_TOO_LARGE.test(transportError)
          ? "message-too-large"
          : "transport-closed",
      );
    } catch {
      // The connection is gone either way; there is nobody left to tell.
    }
  };
  socket.onerror = (event: Event) => {
    // A close event always follows; the error says why (e.g. Deno's own frame size limit).
    const message = (event as ErrorEvent).message;
    if (typeof message === "string" && message !== "") transportError ??= message;
  };
  return response;
}
