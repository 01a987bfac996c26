/**
 * One SignalR hub connection as a transport-agnostic state machine: handshake, incoming byte
 * stream -> hub messages, keep-alive Pings, client and handshake timeouts, Close messages, and
 * pre-encoded outgoing frames. Transports feed it bytes and carry its writes; the service ticks
 * it on a shared timer (as ASP.NET Core's 1 s heartbeat does) instead of one timer per socket.
 *
 * @module
 */

import type { ConnectionGroups, HubName } from "../../protocol/bitwarden/mod.ts";
import { ProtocolError } from "../../protocol/mod.ts";
import {
  HANDSHAKE_CANCELED_ERROR,
  HANDSHAKE_PARSE_ERROR,
  type HubMessage,
  MessageType,
  TransferFormat,
  writeHandshakeResponse,
} from "../../protocol/signalr/mod.ts";
import { type HubCodec, type HubFrameParser, parseHandshake } from "./_hub_codec.ts";
import type { RegistryEntry } from "./connection_registry.ts";
import { OutgoingFrame } from "./outgoing_frame.ts";

/** Names of the three SignalR transports, as negotiate spells them. */
export type TransportKind = "WebSockets" | "ServerSentEvents" | "LongPolling";

/** What a transport offers the hub connection. */
export interface TransportSink {
  /** Transport name. */
  readonly kind: TransportKind;
  /** Transfer formats the transport can carry. */
  readonly transferFormats: readonly TransferFormat[];
  /** Long polling keeps itself alive: no server Pings, no client timeout. */
  readonly inherentKeepAlive: boolean;
  /**
   * Queues a frame for the peer, in the form the transport needs (the frame memoises it).
   *
   * @returns false when the transport's send buffer limit is exceeded (slow consumer).
   */
  write(frame: OutgoingFrame): boolean;
  /** Ends the transport (after pending writes where possible). */
  close(info: TransportCloseInfo): void;
}

/** How a transport should close. */
export interface TransportCloseInfo {
  /** WebSocket close code (1000 normal, 1008 policy for slow consumers, 1011 server error). */
  readonly code: number;
  /** Human-readable reason (WebSocket close reason; truncated to 123 bytes by the transport). */
  readonly reason: string;
}

/** Why a connection ended; the label of the `connections_closed_total` metric. */
export type CloseReason =
  | "client-close"
  | "transport-closed"
  | "client-timeout"
  | "handshake-timeout"
  | "handshake-failed"
  | "protocol-error"
  | "message-too-large"
  | "slow-consumer"
  | "shutdown"
  | "disconnect-timeout"
  | "internal-error";

/** Timer settings in milliseconds; 0 disables the timer. */
export interface HubTimers {
  /** Server Ping when nothing was sent for this long (ASP.NET `KeepAliveInterval`, 15 s). */
  readonly keepAliveMs: number;
  /** Close when the client sent nothing for this long (`ClientTimeoutInterval`, 30 s). */
  readonly clientTimeoutMs: number;
  /** Deadline for a complete handshake (`HandshakeTimeout`, 15 s). */
  readonly handshakeTimeoutMs: number;
}

/** Construction options of {@linkcode HubConnection}. */
export interface HubConnectionOptions {
  /** Connection id (logged; negotiate's connectionId where there was one). */
  readonly id: string;
  /** Hub. */
  readonly hub: HubName;
  /** Identity and groups, fixed now (the hub joins them once the handshake completes). */
  readonly identity: ConnectionGroups;
  /** The transport. */
  readonly transport: TransportSink;
  /** Hub protocols by handshake name. */
  readonly codecs: ReadonlyMap<string, HubCodec>;
  /** `MaximumReceiveMessageSize` in bytes. */
  readonly maxMessageSize: number;
  /** Timers. */
  readonly timers: HubTimers;
  /** Append exception details to hub-level error texts, as ASP.NET's `EnableDetailedErrors`. */
  readonly detailedErrors: boolean;
  /** Clock in milliseconds. */
  readonly now: () => number;
  /** Called once the handshake succeeded (the service registers the connection). */
  readonly onConnected: (connection: HubConnection) => void;
  /** Called exactly once when the connection ends. */
  readonly onClosed: (connection: HubConnection, reason: CloseReason, detail: string) => void;
}

/** Options of {@linkcode HubConnection.close}. */
export interface CloseOptions {
  /** Reason label. */
  readonly reason: CloseReason;
  /** Detail for logs and the WebSocket close reason. */
  readonly detail: string;
  /** Hub-level Close `error` text; omitted for a normal close. */
  readonly error?: string;
  /** Close `allowReconnect` flag. */
  readonly allowReconnect?: boolean;
  /** WebSocket close code (default 1000). */
  readonly code?: number;
  /** Send a Close hub message first (default true when the handshake completed). */
  readonly sendClose?: boolean;
}

const CLOSED_WITH_ERROR = "Connection closed with an error.";
const RS = 0x1e;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const UTF8 = new TextEncoder();
/** Shared by every connection past (or before) its handshake instead of one empty array each. */
const NO_BYTES = new Uint8Array(0);

/**
 * A hub connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HubConnection, type TransportSink } from "./hub_connection.ts";
 * import { DEFAULT_CODECS } from "./_hub_codec.ts";
 * import { TransferFormat } from "../../protocol/signalr/mod.ts";
 * const written: string[] = [];
 * const transport: TransportSink = {
 *   kind: "WebSockets",
 *   transferFormats: [TransferFormat.Text, TransferFormat.Binary],
 *   inherentKeepAlive: false,
 *   write: (frame) => (written.push(frame.text), true),
 *   close: () => {},
 * };
 * let connected = false;
 * const connection = new HubConnection({
 *   id: "c1",
 *   hub: "main",
 *   identity: { userId: "u1", deviceId: null, clientType: 0, groups: [] },
 *   transport,
 *   codecs: DEFAULT_CODECS,
 *   maxMessageSize: 32_768,
 *   timers: { keepAliveMs: 0, clientTimeoutMs: 0, handshakeTimeoutMs: 0 },
 *   detailedErrors: false,
 *   now: () => 0,
 *   onConnected: () => (connected = true),
 *   onClosed: () => {},
 * });
 * // The transport hands every chunk it reads to `receive`.
 * connection.receive('{"protocol":"json","version":1}\x1e');
 * assert.ok(connected);
 * assert.deepEqual(written, ["{}\x1e"]);
 * ```
 */
export class HubConnection implements RegistryEntry {
  /** Connection id. */
  readonly id: string;
  /** Hub. */
  readonly hub: HubName;
  /** SignalR user id. */
  readonly userId: string | null;
  /** Groups joined. */
  readonly groups: readonly string[];
  /** Identity claims summary. */
  readonly identity: ConnectionGroups;
  /** Transport. */
  readonly transport: TransportSink;
  #options: HubConnectionOptions;
  #state: "handshake" | "connected" | "closed" = "handshake";
  #handshakeBuffer: Uint8Array = NO_BYTES;
  #codec: HubCodec | undefined;
  #parser: HubFrameParser | undefined;
  #createdAt: number;
  #lastSent: number;
  #lastReceived: number;
  #clientTimeoutArmed = false;

  /**
   * Creates a connection in the handshake state.
   *
   * @param options Identity, transport, codecs, limits and callbacks.
   */
  constructor(options: HubConnectionOptions) {
    this.#options = options;
    this.id = options.id;
    this.hub = options.hub;
    this.identity = options.identity;
    this.userId = options.identity.userId;
    this.groups = options.identity.groups;
    this.transport = options.transport;
    this.#createdAt = this.#lastSent = this.#lastReceived = options.now();
  }

  /** `handshake`, `connected` or `closed`. */
  get state(): "handshake" | "connected" | "closed" {
    return this.#state;
  }

  /** The negotiated hub protocol name once connected. */
  get protocol(): string | undefined {
    return this.#codec?.name;
  }

  /** The negotiated codec once connected. */
  get codec(): HubCodec | undefined {
    return this.#codec;
  }

  /**
   * Feeds bytes (or text) received from the client. Frame boundaries carry no meaning.
   *
   * @param chunk Received data.
   */
  receive(chunk: string | Uint8Array): void {
    if (this.#state === "closed") return;
    const bytes = typeof chunk === "string" ? UTF8.encode(chunk) : chunk;
    this.#lastReceived = this.#options.now();
    if (this.#state === "handshake") {
      this.#receiveHandshake(bytes);
      return;
    }
    this.#receiveMessages(bytes);
  }

  #receiveHandshake(bytes: Uint8Array): void {
    const buffer = concat(this.#handshakeBuffer, bytes);
    const end = buffer.indexOf(RS);
    if (end < 0) {
      if (buffer.length > this.#options.maxMessageSize) {
        this.#failHandshake(
          HANDSHAKE_CANCELED_ERROR,
          `Handshake request exceeds ${this.#options.maxMessageSize} bytes without a 0x1E separator`,
          "handshake-failed",
        );
        return;
      }
      this.#handshakeBuffer = buffer;
      return;
    }
    this.#handshakeBuffer = NO_BYTES;
    if (end + 1 > this.#options.maxMessageSize) {
      this.#failHandshake(
        HANDSHAKE_CANCELED_ERROR,
        `Handshake request exceeds ${this.#options.maxMessageSize} bytes`,
        "handshake-failed",
      );
      return;
    }
    const result = parseHandshake(buffer.subarray(0, end + 1), {
      codecs: this.#options.codecs,
      transferFormats: this.transport.transferFormats,
    });
    if (!result.ok) {
      const text = result.unexpected ? HANDSHAKE_PARSE_ERROR : result.error;
      const shown = result.unexpected && this.#options.detailedErrors
        ? `${text} ${result.detail}`
        : text;
      this.#failHandshake(shown, result.detail, "handshake-failed");
      return;
    }
    const codec = result.codec;
    this.#codec = codec;
    this.#parser = codec.createParser(this.#options.maxMessageSize);
    this.#state = "connected";
    this.#write(new OutgoingFrame(codec.handshakeResponse(), codec.transferFormat));
    if (this.#state !== "connected") return;
    this.#options.onConnected(this);
    const rest = buffer.subarray(end + 1);
    if (rest.length > 0 && this.#state === "connected") this.#receiveMessages(rest);
  }

  #failHandshake(error: string, detail: string, reason: CloseReason): void {
    // The handshake response is JSON text; the transport frames it as text.
    this.transport.write(
      new OutgoingFrame(
        writeHandshakeResponse(error),
        this.transport.transferFormats.includes(TransferFormat.Text)
          ? TransferFormat.Text
          : TransferFormat.Binary,
      ),
    );
    this.close({ reason, detail: `Handshake failed: ${detail}`, sendClose: false });
  }

  #receiveMessages(bytes: Uint8Array): void {
    const parser = this.#parser!;
    let messages: HubMessage[];
    try {
      messages = parser.push(bytes);
    } catch (error) {
      this.#protocolFailure(error);
      return;
    }
    for (const message of messages) {
      if (this.#state !== "connected") return;
      this.#clientTimeoutArmed = true;
      this.#handle(message);
    }
  }

  #protocolFailure(error: unknown): void {
    const message = (error as Error).message ?? String(error);
    const tooLarge = /maximum message size/i.test(message);
    const detail = tooLarge
      ? `${message.replace(/\.$/, "")}. The message size can be configured in AddHubOptions.`
      : message;
    const exceptionType = error instanceof ProtocolError ? "InvalidDataException" : "Exception";
    this.close({
      reason: tooLarge ? "message-too-large" : "protocol-error",
      detail,
      error: this.#options.detailedErrors
        ? `${CLOSED_WITH_ERROR} ${exceptionType}: ${detail}`
        : CLOSED_WITH_ERROR,
      allowReconnect: true,
    });
  }

  #handle(message: HubMessage): void {
    switch (message.type) {
      case MessageType.Invocation:
      case MessageType.StreamInvocation:
        // Neither Bitwarden hub defines a callable method.
        if (message.invocationId !== undefined) {
          this.#sendMessage({
            type: MessageType.Completion,
            invocationId: message.invocationId,
            error: `Unknown hub method '${message.target}'`,
          });
        }
        return;
      case MessageType.Close:
        this.close({
          reason: "client-close",
          detail: message.error ? `Client closed: ${message.error}` : "Client closed",
          sendClose: false,
        });
        return;
      default:
        // Ping only re-arms the timeout (done by the caller); completions, stream items,
        // cancellations, acks and sequences have nothing to act on in these hubs.
        return;
    }
  }

  #sendMessage(message: HubMessage): void {
    const codec = this.#codec;
    if (!codec) return;
    this.#write(new OutgoingFrame(codec.encode(message), codec.transferFormat));
  }

  #write(frame: OutgoingFrame): boolean {
    if (this.#state === "closed") return false;
    this.#lastSent = this.#options.now();
    if (this.transport.write(frame)) return true;
    this.close({
      reason: "slow-consumer",
      detail: "Slow consumer: send buffer limit exceeded",
      code: 1008,
      sendClose: false,
    });
    return false;
  }

  /**
   * Writes a pre-encoded message (encoded once for every recipient using this protocol).
   * Ignored before the handshake completes and after close.
   *
   * @param frame The frame encoded for this connection's protocol (raw data is wrapped).
   * @returns false when the connection is not open or was just dropped as a slow consumer.
   */
  sendEncoded(frame: OutgoingFrame | string | Uint8Array): boolean {
    if (this.#state !== "connected") return false;
    return this.#write(
      frame instanceof OutgoingFrame
        ? frame
        : new OutgoingFrame(frame, this.#codec!.transferFormat),
    );
  }

  /**
   * Runs the timers: handshake deadline, keep-alive Ping, client timeout.
   *
   * @param now Current time in milliseconds.
   */
  tick(now: number): void {
    const { keepAliveMs, clientTimeoutMs, handshakeTimeoutMs } = this.#options.timers;
    if (this.#state === "handshake") {
      if (handshakeTimeoutMs > 0 && now - this.#createdAt >= handshakeTimeoutMs) {
        this.#failHandshake(
          HANDSHAKE_CANCELED_ERROR,
          `No complete handshake within ${handshakeTimeoutMs} ms`,
          "handshake-timeout",
        );
      }
      return;
    }
    if (this.#state !== "connected" || this.transport.inherentKeepAlive) return;
    if (
      clientTimeoutMs > 0 && this.#clientTimeoutArmed && now - this.#lastReceived >= clientTimeoutMs
    ) {
      const detail =
        "Client hasn't sent a message/ping within the configured ClientTimeoutInterval.";
      this.close({
        reason: "client-timeout",
        detail,
        error: this.#options.detailedErrors
          ? `${CLOSED_WITH_ERROR} OperationCanceledException: ${detail}`
          : CLOSED_WITH_ERROR,
        allowReconnect: true,
      });
      return;
    }
    if (keepAliveMs > 0 && now - this.#lastSent >= keepAliveMs) {
      this.#write(new OutgoingFrame(this.#codec!.ping(), this.#codec!.transferFormat));
    }
  }

  /**
   * Closes the connection: optional Close hub message, then the transport. Idempotent.
   *
   * @param options Reason, texts and flags.
   */
  close(options: CloseOptions): void {
    if (this.#state === "closed") return;
    const wasConnected = this.#state === "connected";
    this.#state = "closed";
    if (wasConnected && (options.sendClose ?? true)) {
      const close: HubMessage = {
        type: MessageType.Close,
        ...(options.error !== undefined ? { error: options.error } : {}),
        ...(options.allowReconnect ? { allowReconnect: true } : {}),
      };
      // Best effort: a full send buffer just loses the Close, the transport close follows.
      this.transport.write(
        new OutgoingFrame(this.#codec!.encode(close), this.#codec!.transferFormat),
      );
    }
    this.transport.close({ code: options.code ?? 1000, reason: options.detail });
    this.#options.onClosed(this, options.reason, options.detail);
  }

  /**
   * Records that the transport ended underneath the connection (peer closed, network error).
   *
   * @param detail What happened.
   * @param reason The reason label when the transport knows better than `transport-closed`
   *   (a frame over the transport's own size limit is `message-too-large`).
   */
  transportClosed(detail: string, reason: CloseReason = "transport-closed"): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#options.onClosed(this, reason, detail);
  }
}
