/**
 * The WebSockets transport: upgrades the request, feeds every received frame (text or binary)
 * into the hub connection as one byte stream, and writes Text frames for the JSON protocol and
 * Binary frames for MessagePack. A peer that does not read is detected through the socket's
 * `bufferedAmount` and dropped instead of buffering without bound.
 *
 * @module
 */

import { TransferFormat } from "../../protocol/signalr/mod.ts";
import type { HubConnection, TransportCloseInfo, TransportSink } from "./hub_connection.ts";
import type { OutgoingFrame } from "./outgoing_frame.ts";

/** Options of {@linkcode acceptWebSocket}. */
export interface WebSocketTransportOptions {
  /** Bytes queued in the socket before the peer counts as a slow consumer. */
  readonly sendBufferLimit: number;
  /** Builds the hub connection on top of the transport sink. */
  readonly createConnection: (sink: TransportSink) => HubConnection;
}

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

  constructor(socket: WebSocket, limit: number) {
    this.#socket = socket;
    this.#limit = limit;
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
    if (state === WebSocket.CLOSING || state === WebSocket.CLOSED) return;
    try {
      this.#socket.close(info.code, truncateCloseReason(info.reason));
    } catch {
      // Already closing.
    }
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
    upgraded = Deno.upgradeWebSocket(request);
  } catch (error) {
    // A request that says `Upgrade: websocket` but lacks valid WebSocket headers is the
    // client's mistake: name it instead of answering 500.
    return Response.json({
      message: `Invalid WebSocket upgrade request: ${(error as Error).message}`,
    }, { status: 400 });
  }
  const { socket, response } = upgraded;
  socket.binaryType = "arraybuffer";
  const connection = options.createConnection(new WebSocketSink(socket, options.sendBufferLimit));
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
  socket.onclose = (event: CloseEvent) => {
    try {
      connection.transportClosed(
        `WebSocket closed: code ${event.code}${event.reason ? ` (${event.reason})` : ""}`,
      );
    } catch {
      // The connection is gone either way; there is nobody left to tell.
    }
  };
  socket.onerror = () => {
    // A close event always follows; nothing to do here.
  };
  return response;
}
