/**
 * A raw SignalR hub client for the conformance suite. It speaks the wire protocol through
 * hubproof's own protocol layer over a real WebSocket, so a case can see every frame, record
 * it in the trace, and misbehave on purpose (skip the handshake, send garbage, never answer).
 *
 * @module
 */

import {
  createMessagePackHubProtocol,
  type HubMessage,
  type HubProtocol,
  type InvocationMessage,
  jsonHubProtocol,
  MessageType,
  RECORD_SEPARATOR,
} from "../../protocol/signalr/mod.ts";
import type { Trace } from "../types.ts";
import { describeMessage, jsonSafe } from "./_format.ts";
import { reachFetch, reachWebSocket } from "./reach.ts";

/** Hub protocol names the client speaks. */
export type HubProtocolName = "messagepack" | "json";

/** Where the access token goes on the upgrade request. */
export type TokenPlacement = "query" | "header";

/** Options of {@linkcode HubClient.open} and {@linkcode HubClient.connect}. */
export interface HubClientOptions {
  /** Name of the client lifeline in the trace (`client:<name>`). */
  readonly name: string;
  /** Hub protocol (default `messagepack`). */
  readonly protocol?: HubProtocolName;
  /** Access token, if any. */
  readonly token?: string;
  /** How the token is sent (default `query`, as browsers do). */
  readonly tokenVia?: TokenPlacement;
  /** Extra query parameters (for example `Token` on the anonymous hub). */
  readonly query?: Readonly<Record<string, string>>;
  /** POST `/negotiate` first and connect with its connection token (default false). */
  readonly negotiate?: boolean;
  /** Trace to record frames into. */
  readonly trace?: Trace;
  /** Aborts waits and closes the socket. */
  readonly signal?: AbortSignal;
  /** Milliseconds to wait for the upgrade and the handshake answer (default 15000). */
  readonly timeoutMs?: number;
}

/** One received WebSocket frame. */
export interface ReceivedFrame {
  /** Milliseconds since the client was created. */
  readonly t: number;
  /** Frame type. */
  readonly kind: "text" | "binary";
  /** Frame size in bytes. */
  readonly size: number;
  /** Hub messages decoded from the frame (after the handshake). */
  readonly messages: readonly HubMessage[];
  /** Why the frame could not be decoded, if it could not. */
  readonly error?: string;
}

/** Answer to the handshake. */
export interface HandshakeAnswer {
  /** The `error` field of the handshake response, if any. */
  readonly error?: string;
  /** Frame type that carried the answer. */
  readonly frameKind: "text" | "binary";
  /** The raw answer text up to (not including) the record separator. */
  readonly text: string;
}

/** How the socket ended. */
export interface CloseInfo {
  /** WebSocket close code (1006 when the connection dropped or never opened). */
  readonly code: number;
  /** Close reason text. */
  readonly reason: string;
  /** Whether the socket ever opened. */
  readonly opened: boolean;
}

/** The hub could not be reached or refused the connection. */
export class HubConnectError extends Error {
  /** Where it failed. */
  readonly stage: "negotiate" | "upgrade" | "handshake";
  /** Handshake error text, when the server answered one. */
  readonly handshakeError?: string;

  /**
   * Creates the error.
   *
   * @param stage Where it failed.
   * @param message What happened.
   * @param handshakeError The server's handshake error text, if any.
   */
  constructor(stage: HubConnectError["stage"], message: string, handshakeError?: string) {
    super(message);
    this.name = "HubConnectError";
    this.stage = stage;
    if (handshakeError !== undefined) this.handshakeError = handshakeError;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function protocolFor(name: HubProtocolName): HubProtocol {
  return name === "json" ? jsonHubProtocol : createMessagePackHubProtocol({ timestamps: "raw" });
}

/**
 * Builds the WebSocket URL of a hub: `http(s)` becomes `ws(s)`, query parameters are added.
 *
 * @param hubUrl The hub URL (`http://host/notifications/hub`).
 * @param query Parameters to add.
 * @returns The WebSocket URL.
 *
 * @example
 * ```ts
 * import { webSocketUrl } from "./hub_client.ts";
 * console.assert(webSocketUrl("http://h/hub", { id: "x" }) === "ws://h/hub?id=x");
 * ```
 */
export function webSocketUrl(hubUrl: string, query: Readonly<Record<string, string>> = {}): string {
  const url = new URL(hubUrl);
  url.protocol = url.protocol === "https:"
    ? "wss:"
    : url.protocol === "http:"
    ? "ws:"
    : url.protocol;
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}

/**
 * A SignalR client over one WebSocket. Create it with {@linkcode HubClient.connect} (upgrade +
 * handshake) or {@linkcode HubClient.open} (upgrade only, to misbehave).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HubClient } from "./hub_client.ts";
 * import { ActingAuthority } from "../../testing/mod.ts";
 * import { serveNotifications } from "../../server/notifications/mod.ts";
 * // Any hub will do; here the reference service trusting an acting authority.
 * const authority = await ActingAuthority.create();
 * const served = await serveNotifications({
 *   selfHosted: true,
 *   installationId: null,
 *   auth: { authority: await authority.listen({ port: 0 }) },
 *   log: () => {},
 * });
 * try {
 *   const sub = "6f7d4f2e-7e4c-4a8e-9a53-1f8d2d6e2a10";
 *   const token = await authority.mint({ claims: { sub, scope: ["api"], amr: ["Application"] } });
 *   const client = await HubClient.connect(`${served.url}/hub`, { name: "alice", token });
 *   const internal = await authority.mint({ claims: { scope: ["internal"] } });
 *   await fetch(`${served.url}/send`, {
 *     method: "POST",
 *     headers: { authorization: `Bearer ${internal}`, "content-type": "application/json" },
 *     body: JSON.stringify({ type: 11, payload: { userId: sub, date: null }, contextId: null }),
 *   }).then((r) => r.body?.cancel());
 *   const message = await client.waitFor(() => client.invocations("ReceiveMessage")[0], 5000);
 *   assert.equal(message?.target, "ReceiveMessage");
 *   await client.close();
 * } finally {
 *   await served.close();
 *   await authority.close();
 * }
 * ```
 */
export class HubClient {
  /** Name of the client (trace lifeline `client:<name>`). */
  readonly name: string;
  /** Hub protocol in use. */
  readonly protocolName: HubProtocolName;
  /** Every received frame, in order. */
  readonly frames: ReceivedFrame[] = [];
  /** Every decoded hub message, in order. */
  readonly messages: HubMessage[] = [];
  /** The handshake answer, once received. */
  handshake: HandshakeAnswer | undefined;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<CloseInfo>;

  #socket: WebSocket;
  #protocol: HubProtocol;
  #trace: Trace | undefined;
  #started = performance.now();
  #waiters = new Set<() => void>();
  #closeInfo: CloseInfo | undefined;
  #opened = false;
  #handshakeWaiter: ((answer: HandshakeAnswer) => void) | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.#socket.close();

  private constructor(socket: WebSocket, options: HubClientOptions) {
    this.name = options.name;
    this.protocolName = options.protocol ?? "messagepack";
    this.#protocol = protocolFor(this.protocolName);
    this.#trace = options.trace;
    this.#socket = socket;
    this.#signal = options.signal;
    socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        this.#closeInfo = { code: event.code, reason: event.reason, opened: this.#opened };
        this.#signal?.removeEventListener("abort", this.#onAbort);
        this.#record("close", `closed ${event.code}${event.reason ? ` ${event.reason}` : ""}`);
        this.#wake();
        resolve(this.#closeInfo);
      });
    });
    socket.addEventListener("open", () => {
      this.#opened = true;
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /**
   * Opens the WebSocket (after negotiate when asked) without sending the handshake.
   *
   * @param hubUrl The hub URL (http or ws scheme).
   * @param options Client options.
   * @returns The open client.
   * @throws {HubConnectError} When negotiate fails or the upgrade is refused.
   */
  static async open(hubUrl: string, options: HubClientOptions): Promise<HubClient> {
    const query: Record<string, string> = { ...options.query };
    const headers: Record<string, string> = {};
    const via = options.tokenVia ?? "query";
    if (options.token !== undefined) {
      if (via === "header") headers.authorization = `Bearer ${options.token}`;
      else query.access_token = options.token;
    }
    if (options.negotiate) {
      query.id = await negotiate(hubUrl, { query, headers, ...pick(options) });
    }
    const url = webSocketUrl(hubUrl, query);
    options.trace?.record({
      from: `client:${options.name}`,
      to: "hub",
      kind: "connect",
      summary: `WebSocket ${redact(url)}${
        via === "header" && options.token ? " (Authorization header)" : ""
      }`,
    });
    const socket = reachWebSocket(url, headers);
    const client = new HubClient(socket, options);
    const timeoutMs = options.timeoutMs ?? 15_000;
    const opened = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(true);
      }, { once: true });
      socket.addEventListener("close", () => {
        clearTimeout(timer);
        resolve(false);
      }, { once: true });
    });
    if (!opened) {
      socket.close();
      const info = await client.closed;
      throw new HubConnectError(
        "upgrade",
        `WebSocket upgrade to ${redact(url)} failed (close code ${info.code})`,
      );
    }
    return client;
  }

  /**
   * Opens the WebSocket and completes the handshake.
   *
   * @param hubUrl The hub URL.
   * @param options Client options.
   * @returns The connected client.
   * @throws {HubConnectError} When the upgrade or the handshake fails.
   */
  static async connect(hubUrl: string, options: HubClientOptions): Promise<HubClient> {
    const client = await HubClient.open(hubUrl, options);
    try {
      const answer = await client.sendHandshake({ timeoutMs: options.timeoutMs ?? 15_000 });
      if (answer === undefined) {
        throw new HubConnectError(
          "handshake",
          "No handshake answer before the socket closed or timed out",
        );
      }
      if (answer.error !== undefined) {
        throw new HubConnectError("handshake", `Handshake refused: ${answer.error}`, answer.error);
      }
      return client;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** Whether the socket is open. */
  get isOpen(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  /** Close details once closed. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /**
   * Sends a handshake request and waits for its answer.
   *
   * @param options Protocol name and version to request (defaults: this client's protocol, 1),
   *   and how long to wait.
   * @returns The answer, or undefined when none came before the socket closed or the wait ended.
   */
  async sendHandshake(
    options: { protocol?: string; version?: number; timeoutMs?: number } = {},
  ): Promise<HandshakeAnswer | undefined> {
    const request = {
      protocol: options.protocol ?? this.protocolName,
      version: options.version ?? 1,
    };
    this.sendRaw(
      JSON.stringify(request) + RECORD_SEPARATOR,
      `handshake ${JSON.stringify(request)}`,
    );
    if (this.handshake) return this.handshake;
    const answer = new Promise<HandshakeAnswer>((resolve) => this.#handshakeWaiter = resolve);
    return await this.waitFor(() => this.handshake, options.timeoutMs ?? 15_000, answer);
  }

  /**
   * Sends raw bytes or text as one WebSocket frame, exactly as given.
   *
   * @param data Text (text frame) or bytes (binary frame).
   * @param summary Trace summary.
   */
  sendRaw(data: string | Uint8Array, summary?: string): void {
    this.#record("frame", summary ?? `raw ${typeof data === "string" ? "text" : "binary"} frame`, {
      to: "hub",
      data: typeof data === "string" ? data : `${data.length} bytes`,
    });
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(data);
  }

  /**
   * Sends one hub message with this client's protocol.
   *
   * @param message The message.
   */
  send(message: HubMessage): void {
    const written = this.#protocol.writeMessage(message);
    this.sendRaw(
      typeof written === "string" ? written : new Uint8Array(written),
      describeMessage(message),
    );
  }

  /**
   * Invocations received so far, optionally only those of one target.
   *
   * @param target Method name to keep.
   * @returns The invocations.
   */
  invocations(target?: string): InvocationMessage[] {
    return this.messages.filter((m): m is InvocationMessage =>
      m.type === MessageType.Invocation && (target === undefined || m.target === target)
    );
  }

  /**
   * Waits until `predicate` returns a value other than undefined, re-checking on every frame.
   *
   * @param predicate Returns the awaited value, or undefined to keep waiting.
   * @param ms Longest wait.
   * @param extra Optional promise that also ends the wait with its value.
   * @returns The value, or undefined on timeout, close or abort.
   */
  waitFor<T>(
    predicate: () => T | undefined,
    ms: number,
    extra?: Promise<T>,
  ): Promise<T | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (value: T | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#waiters.delete(check);
        this.#signal?.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const check = () => {
        const value = predicate();
        if (value !== undefined) finish(value);
        else if (this.#closeInfo) finish(undefined);
      };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(predicate()), ms);
      this.#waiters.add(check);
      this.#signal?.addEventListener("abort", onAbort, { once: true });
      extra?.then(finish);
      check();
    });
  }

  /**
   * Collects the messages that arrive during a grace window.
   *
   * @param ms Window length.
   * @returns Messages received in the window.
   */
  async quiet(ms: number): Promise<HubMessage[]> {
    const start = this.messages.length;
    await this.waitFor(() => undefined, ms);
    return this.messages.slice(start);
  }

  /**
   * Closes the socket (normal closure) and waits until it is closed.
   *
   * @returns The close details.
   */
  async close(): Promise<CloseInfo> {
    if (
      this.#socket.readyState === WebSocket.CONNECTING || this.#socket.readyState === WebSocket.OPEN
    ) {
      try {
        this.#socket.close(1000);
      } catch {
        // Already closing.
      }
    }
    const timeout = new Promise<CloseInfo>((resolve) => {
      const timer = setTimeout(
        () => resolve({ code: 1006, reason: "close timed out", opened: this.#opened }),
        5000,
      );
      this.closed.then(() => clearTimeout(timer));
    });
    return await Promise.race([this.closed, timeout]);
  }

  #receive(data: unknown): void {
    const t = performance.now() - this.#started;
    const kind = typeof data === "string" ? "text" : "binary";
    let bytes: Uint8Array;
    if (typeof data === "string") bytes = encoder.encode(data);
    else bytes = new Uint8Array(data as ArrayBuffer);
    let rest: Uint8Array = bytes;
    let error: string | undefined;
    const decoded: HubMessage[] = [];
    if (this.handshake === undefined) {
      const separator = bytes.indexOf(0x1e);
      if (separator < 0) {
        error = "Handshake answer without a record separator";
        rest = new Uint8Array(0);
      } else {
        const text = decoder.decode(bytes.subarray(0, separator));
        let answer: HandshakeAnswer;
        try {
          const parsed = JSON.parse(text) as { error?: unknown; type?: unknown };
          answer = typeof parsed.error === "string"
            ? { error: parsed.error, frameKind: kind, text }
            : parsed.type !== undefined
            ? {
              error: `Expected a handshake response from the server: ${text}`,
              frameKind: kind,
              text,
            }
            : { frameKind: kind, text };
        } catch {
          answer = { error: `Handshake answer is not JSON: ${text}`, frameKind: kind, text };
        }
        this.handshake = answer;
        this.#record("frame", `handshake answer ${text}`, { data: text });
        this.#handshakeWaiter?.(answer);
        rest = bytes.subarray(separator + 1);
      }
    }
    if (rest.length > 0 && error === undefined) {
      try {
        const input = kind === "text" || this.protocolName === "json"
          ? decoder.decode(rest)
          : rest.slice().buffer;
        for (const message of this.#protocol.parseMessages(input)) decoded.push(message);
      } catch (cause) {
        error = (cause as Error).message;
      }
    }
    this.frames.push({
      t,
      kind,
      size: bytes.length,
      messages: decoded,
      ...(error ? { error } : {}),
    });
    for (const message of decoded) {
      this.messages.push(message);
      this.#record(
        message.type === MessageType.Invocation ? "receive" : "frame",
        describeMessage(message),
        { data: jsonSafe(message) },
      );
    }
    if (error !== undefined) this.#record("frame", `undecodable ${kind} frame: ${error}`);
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #record(
    kind: "frame" | "receive" | "close",
    summary: string,
    extra: { to?: string; data?: unknown } = {},
  ): void {
    if (!this.#trace) return;
    const outbound = extra.to === "hub";
    this.#trace.record({
      from: outbound ? `client:${this.name}` : "hub",
      to: outbound ? "hub" : `client:${this.name}`,
      kind,
      summary,
      ...(extra.data !== undefined ? { data: extra.data } : {}),
    });
  }
}

function pick(options: HubClientOptions): { trace?: Trace; name: string; timeoutMs?: number } {
  return {
    name: options.name,
    ...(options.trace ? { trace: options.trace } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
}

/** Removes the token from a URL for display. */
function redact(url: string): string {
  return url.replace(/(access_token=)[^&]+/, "$1…");
}

/** The fields of a negotiate answer the suite reads. */
export interface NegotiateAnswer {
  /** The version the server chose. */
  readonly negotiateVersion?: number;
  /** The connection id (the token to connect with, at version 0). */
  readonly connectionId?: string;
  /** The token to connect with (version 1 and later). */
  readonly connectionToken?: string;
  /** Offered transports. */
  readonly availableTransports?: readonly { readonly transport?: string }[];
}

/**
 * POSTs `{hub}/negotiate` (with `negotiateVersion` unless `version` is undefined) and returns
 * its JSON answer.
 *
 * @param hubUrl The hub URL.
 * @param options Query, headers, trace, and the negotiate version to ask for.
 * @returns The answer.
 * @throws {HubConnectError} When the request fails, the status is not 200, the body is not
 *   JSON, carries an `error`, or offers no WebSockets transport.
 */
export async function negotiateAnswer(
  hubUrl: string,
  options: {
    query: Readonly<Record<string, string>>;
    headers: Readonly<Record<string, string>>;
    name: string;
    version: number | undefined;
    trace?: Trace;
    timeoutMs?: number;
  },
): Promise<NegotiateAnswer> {
  const url = new URL(hubUrl.replace(/^ws/, "http"));
  url.pathname = url.pathname.replace(/\/?$/, "/negotiate");
  for (const [key, value] of Object.entries(options.query)) url.searchParams.set(key, value);
  if (options.version !== undefined) {
    url.searchParams.set("negotiateVersion", String(options.version));
  }
  options.trace?.record({
    from: `client:${options.name}`,
    to: "hub",
    kind: "connect",
    summary: `POST ${redact(url.toString())}`,
  });
  let response: Response;
  try {
    response = await reachFetch(url, {
      method: "POST",
      headers: options.headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
  } catch (error) {
    throw new HubConnectError("negotiate", `Negotiate request failed: ${(error as Error).message}`);
  }
  const text = await response.text();
  options.trace?.record({
    from: "hub",
    to: `client:${options.name}`,
    kind: "frame",
    summary: `negotiate ${response.status}`,
    data: text,
  });
  if (response.status !== 200) {
    throw new HubConnectError(
      "negotiate",
      `Negotiate answered HTTP ${response.status}: ${text.slice(0, 200)}`,
    );
  }
  let body: NegotiateAnswer & { error?: string };
  try {
    body = JSON.parse(text);
  } catch {
    throw new HubConnectError("negotiate", `Negotiate answer is not JSON: ${text.slice(0, 200)}`);
  }
  if (body.error) throw new HubConnectError("negotiate", `Negotiate error: ${body.error}`);
  if (!body.availableTransports?.some((t) => t.transport === "WebSockets")) {
    throw new HubConnectError(
      "negotiate",
      `Negotiate offers no WebSockets transport: ${text.slice(0, 200)}`,
    );
  }
  return body;
}

/**
 * POSTs `{hub}/negotiate?negotiateVersion=1` and returns the connection token.
 *
 * @param hubUrl The hub URL.
 * @param options Query, headers, trace.
 * @returns The connection token (or id for version 0).
 * @throws {HubConnectError} When negotiate fails or offers no WebSockets transport.
 */
export async function negotiate(
  hubUrl: string,
  options: {
    query: Readonly<Record<string, string>>;
    headers: Readonly<Record<string, string>>;
    name: string;
    trace?: Trace;
    timeoutMs?: number;
  },
): Promise<string> {
  const body = await negotiateAnswer(hubUrl, { ...options, version: 1 });
  const text = JSON.stringify(body);
  const token = (body.negotiateVersion ?? 0) >= 1 ? body.connectionToken : body.connectionId;
  if (!token) {
    throw new HubConnectError("negotiate", `Negotiate answer has no connection token: ${text}`);
  }
  return token;
}
