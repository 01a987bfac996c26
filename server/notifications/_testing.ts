/**
 * Test fixtures for the notifications tests (private): a served service trusting an
 * {@linkcode ActingAuthority}, a raw WebSocket hub client that records every decoded frame,
 * and a raw HTTP/1.1 client for requests `fetch` cannot send (upgrade refusals).
 *
 * @module
 */

import { ActingAuthority } from "../../testing/mod.ts";
import type { HubMessage } from "../../protocol/signalr/mod.ts";
import {
  BinaryMessageParser,
  createMessagePackHubProtocol,
  frameBinary,
  jsonHubProtocol,
  parseHandshakeResponse,
  TextMessageParser,
  writeHandshakeRequest,
} from "../../protocol/signalr/mod.ts";
import {
  type ServedNotifications,
  serveNotifications,
  type ServeNotificationsOptions,
} from "./service.ts";

/** A raw MessagePack protocol instance keeping timestamps as `ExtData` (exact bytes). */
export const rawMessagePack = createMessagePackHubProtocol({ timestamps: "raw" });

/** Everything a service test needs. */
export interface Fixture {
  /** The served service. */
  readonly served: ServedNotifications;
  /** Its base URL (`http://127.0.0.1:port`). */
  readonly url: string;
  /** The authority it trusts. */
  readonly authority: ActingAuthority;
  /** Mints a hub token (amr Application, scope api) with extra claims. */
  userToken(claims: Record<string, unknown>): Promise<string>;
  /** A token with scope `internal` for `/send`. */
  readonly internalToken: string;
  /** POSTs an envelope to `/send` with the internal token; returns the response (body consumed). */
  send(body: unknown): Promise<Response>;
  /** Clients opened through {@linkcode Fixture.connect}, closed by the fixture. */
  readonly clients: RawHubClient[];
  /** Opens a raw WebSocket hub client (handshake done). */
  connect(options: ConnectOptions): Promise<RawHubClient>;
}

/** Options of {@linkcode Fixture.connect}. */
export interface ConnectOptions {
  /** Path (default `/hub`). */
  readonly path?: string;
  /** Token (sent in the query as `access_token` unless `header`). */
  readonly token?: string;
  /** Send the token as an Authorization header instead. */
  readonly header?: boolean;
  /** Hub protocol (default `json`). */
  readonly protocol?: "json" | "messagepack";
  /** Extra query string (without `?`). */
  readonly query?: string;
}

/** Short timers for tests. */
export const FAST_TIMERS = {
  keepAliveMs: 0,
  clientTimeoutMs: 0,
  handshakeTimeoutMs: 2_000,
  heartbeatMs: 0,
  negotiateTimeoutMs: 2_000,
  longPollTimeoutMs: 1_000,
} as const;

/**
 * Runs `body` with a fresh authority and service; everything is closed afterwards, also on
 * failure.
 *
 * @param options Service options (auth is filled in).
 * @param body The test body.
 */
export async function withService(
  options: Partial<ServeNotificationsOptions>,
  body: (fixture: Fixture) => Promise<void>,
): Promise<void> {
  const authority = await ActingAuthority.create();
  const authorityUrl = await authority.listen({ port: 0 });
  let served: ServedNotifications | undefined;
  const clients: RawHubClient[] = [];
  try {
    served = await serveNotifications({
      selfHosted: true,
      installationId: null,
      log: () => {},
      timers: FAST_TIMERS,
      ...options,
      auth: { authority: authorityUrl, ...options.auth },
    });
    const url = served.url;
    const internalToken = await authority.mint({
      claims: { sub: "internal.test", client_id: "internal.test", scope: ["internal"] },
    });
    const fixture: Fixture = {
      served,
      url,
      authority,
      internalToken,
      clients,
      userToken: (claims) =>
        authority.mint({
          claims: { amr: ["Application"], scope: ["api", "offline_access"], ...claims },
        }),
      send: async (payload) => {
        const response = await fetch(`${url}/send`, {
          method: "POST",
          headers: { authorization: `Bearer ${internalToken}`, "content-type": "application/json" },
          body: typeof payload === "string" ? payload : JSON.stringify(payload),
        });
        await response.arrayBuffer();
        return response;
      },
      connect: async (o) => {
        const client = await RawHubClient.open(url, o);
        clients.push(client);
        await client.handshake(o.protocol ?? "json");
        return client;
      },
    };
    await body(fixture);
  } finally {
    for (const client of clients) await client.close();
    await served?.close();
    await authority.close();
  }
}

/** A recorded frame. */
export interface RecordedFrame {
  /** `text` or `binary`. */
  readonly kind: "text" | "binary";
  /** The raw data. */
  readonly data: string | Uint8Array;
}

/** A WebSocket hub client written for tests: no library in the way, every frame recorded. */
export class RawHubClient {
  /** Every frame received, in order. */
  readonly frames: RecordedFrame[] = [];
  /** Decoded hub messages after the handshake. */
  readonly messages: HubMessage[] = [];
  /** Handshake response, once received. */
  handshakeResponse: { error?: string } | undefined;
  /** Close event, once closed. */
  closeEvent: { code: number; reason: string } | undefined;
  /** Decode errors (should stay empty). */
  readonly errors: string[] = [];
  #socket: WebSocket;
  #protocol: "json" | "messagepack" = "json";
  #text = new TextMessageParser();
  #binary = new BinaryMessageParser();
  #waiters: (() => void)[] = [];
  #closed: Promise<void>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => this.#onFrame(event.data);
    this.#closed = new Promise((resolve) => {
      socket.onclose = (event) => {
        this.closeEvent = { code: event.code, reason: event.reason };
        resolve();
        this.#notify();
      };
    });
  }

  /**
   * Opens the WebSocket (no handshake yet).
   *
   * @param baseUrl Service base URL.
   * @param options Path, token, protocol, query.
   * @returns The client once open.
   */
  static async open(baseUrl: string, options: ConnectOptions = {}): Promise<RawHubClient> {
    const params = new URLSearchParams(options.query ?? "");
    if (options.token && !options.header) params.set("access_token", options.token);
    const query = params.toString();
    const url = `${baseUrl.replace(/^http/, "ws")}${options.path ?? "/hub"}${
      query ? `?${query}` : ""
    }`;
    const socket = options.header && options.token
      ? new WebSocket(url, { headers: { authorization: `Bearer ${options.token}` } })
      : new WebSocket(url);
    const client = new RawHubClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = (e) =>
        reject(new Error(`WebSocket failed: ${(e as ErrorEvent).message ?? "error"}`));
    });
    socket.onerror = () => {};
    return client;
  }

  #notify(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  #onFrame(data: string | ArrayBuffer): void {
    const frame: RecordedFrame = typeof data === "string"
      ? { kind: "text", data }
      : { kind: "binary", data: new Uint8Array(data) };
    this.frames.push(frame);
    try {
      let rest: string | Uint8Array = frame.data;
      if (this.handshakeResponse === undefined) {
        const parsed = parseHandshakeResponse(frame.data);
        if (!parsed) throw new Error("Frame without handshake response");
        this.handshakeResponse = parsed.value;
        rest = typeof frame.data === "string"
          ? frame.data.slice(parsed.consumed)
          : frame.data.subarray(parsed.consumed);
      }
      if (this.#protocol === "json") {
        for (const payload of this.#text.push(rest)) {
          this.messages.push(...jsonHubProtocol.parseMessages(`${payload}\x1e`));
        }
      } else {
        const bytes = typeof rest === "string" ? new TextEncoder().encode(rest) : rest;
        for (const body of this.#binary.push(bytes)) {
          this.messages.push(...rawMessagePack.parseMessages(frameBinary(body)));
        }
      }
    } catch (error) {
      this.errors.push((error as Error).message);
    }
    this.#notify();
  }

  /** Waits until `predicate` holds (checked after every frame and on close). */
  async waitFor(predicate: () => boolean, timeoutMs = 3_000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Sends the handshake and waits for the response. */
  async handshake(protocol: "json" | "messagepack"): Promise<{ error?: string }> {
    this.#protocol = protocol;
    this.sendText(writeHandshakeRequest({ protocol, version: 1 }));
    await this.waitFor(
      () => this.handshakeResponse !== undefined || this.closeEvent !== undefined,
      3_000,
      "handshake",
    );
    if (!this.handshakeResponse) {
      throw new Error(`Closed before handshake response: ${JSON.stringify(this.closeEvent)}`);
    }
    return this.handshakeResponse;
  }

  /** Sends a text frame. */
  sendText(text: string): void {
    this.#socket.send(text);
  }

  /** Sends a binary frame. */
  sendBinary(bytes: Uint8Array): void {
    this.#socket.send(bytes);
  }

  /** Invocations of `target` received so far. */
  invocations(target: string): HubMessage[] {
    return this.messages.filter((m) => m.type === 1 && m.target === target);
  }

  /** Waits for the socket to close. */
  async closed(timeoutMs = 3_000): Promise<{ code: number; reason: string }> {
    await this.waitFor(() => this.closeEvent !== undefined, timeoutMs, "close");
    return this.closeEvent!;
  }

  /** Closes the socket and waits for the close to finish. */
  async close(): Promise<void> {
    if (
      this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING
    ) {
      this.#socket.close();
    }
    await this.#closed;
  }
}

/** A raw HTTP response. */
export interface RawResponse {
  /** Status code. */
  readonly status: number;
  /** Headers, lower-case names. */
  readonly headers: Map<string, string>;
  /** Body text. */
  readonly body: string;
}

/**
 * Sends one HTTP/1.1 request over a fresh TCP connection, so upgrade headers go out exactly as
 * written (fetch refuses or rewrites them).
 *
 * @param baseUrl Service base URL.
 * @param init Method, path and headers.
 * @returns The parsed response.
 */
export async function rawHttp(
  baseUrl: string,
  init: { method?: string; path: string; headers?: Record<string, string> },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  try {
    const headers = { host: url.host, connection: "close", ...init.headers };
    const head = `${init.method ?? "GET"} ${init.path} HTTP/1.1\r\n` +
      Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
    await conn.write(new TextEncoder().encode(head));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16_384);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      const text = new TextDecoder().decode(concatAll(chunks));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      if (length && text.length - end - 4 >= Number(length[1])) break;
    }
    const text = new TextDecoder().decode(concatAll(chunks));
    const end = text.indexOf("\r\n\r\n");
    const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
    const map = new Map<string, string>();
    for (const line of headerLines) {
      const i = line.indexOf(":");
      map.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    return { status: Number(statusLine!.split(" ")[1]), headers: map, body: text.slice(end + 4) };
  } finally {
    conn.close();
  }
}

function concatAll(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Upgrade headers for {@linkcode rawHttp}. */
export const UPGRADE_HEADERS: Readonly<Record<string, string>> = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** TCP states of the server's own side of its connections on one port. */
export interface ServerSocketStates {
  /** ESTABLISHED: the server still holds the socket open. */
  readonly established: number;
  /** CLOSE-WAIT: the peer closed, the server never closed its side (a leak). */
  readonly closeWait: number;
}

interface TcpRow {
  readonly state: "ESTABLISHED" | "CLOSE-WAIT" | "OTHER";
  readonly localPort: number;
  readonly remotePort: number;
}

function hexPort(address: string): number {
  return parseInt(address.slice(address.lastIndexOf(":") + 1), 16);
}

function decimalPort(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** `/proc/net/tcp{,6}`: Deno grants it only with --allow-all. */
async function procRows(): Promise<TcpRow[] | null> {
  const rows: TcpRow[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && file.endsWith("6")) continue;
      return null;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (!local || !remote || !state) continue;
      rows.push({
        state: state === "01" ? "ESTABLISHED" : state === "08" ? "CLOSE-WAIT" : "OTHER",
        localPort: hexPort(local),
        remotePort: hexPort(remote),
      });
    }
  }
  return rows;
}

/** `ss -tanH` (iproute2), for runs granted --allow-run but not --allow-all. */
async function ssRows(): Promise<TcpRow[] | null> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("ss", { args: ["-tanH"], stdin: "null", stderr: "null" })
      .output();
  } catch {
    return null;
  }
  if (!output.success) return null;
  return new TextDecoder().decode(output.stdout).split("\n").flatMap((line) => {
    const [state, , , local, remote] = line.trim().split(/\s+/);
    if (!state || !local || !remote) return [];
    return [
      {
        state: state === "ESTAB" ? "ESTABLISHED" : state === "CLOSE-WAIT" ? "CLOSE-WAIT" : "OTHER",
        localPort: decimalPort(local),
        remotePort: decimalPort(remote),
      } as const,
    ];
  });
}

/**
 * Counts the server side of TCP connections on `port` by state, as `ss -tn sport = :port`
 * shows them: from `/proc/net/tcp{,6}` when readable (Deno asks --allow-all for it), else from
 * `ss` (--allow-run). Only sockets with a local port of `port` count, so the test's own client
 * ends never do. A socket whose file descriptor was released is no longer ESTABLISHED or
 * CLOSE-WAIT (it is FIN-WAIT or TIME-WAIT in the kernel), so `established + closeWait` is what
 * the server process holds.
 *
 * @param port The server's port.
 * @param peerPorts Count only connections from these client ports (default: all).
 * @returns The counts.
 * @throws {Error} When neither source can be read: counting nothing would pass any test.
 */
export async function serverSocketStates(
  port: number,
  peerPorts?: ReadonlySet<number>,
): Promise<ServerSocketStates> {
  const rows = await procRows() ?? await ssRows();
  if (rows === null) {
    throw new Error(
      "Cannot count sockets: /proc/net/tcp needs --allow-all and `ss` needs --allow-run",
    );
  }
  let established = 0;
  let closeWait = 0;
  for (const row of rows) {
    if (row.localPort !== port) continue;
    if (peerPorts && !peerPorts.has(row.remotePort)) continue;
    if (row.state === "ESTABLISHED") established++;
    else if (row.state === "CLOSE-WAIT") closeWait++;
  }
  return { established, closeWait };
}

/** Options of {@linkcode SilentPeer.open}. */
export interface SilentPeerOptions {
  /** Access token (query `access_token`). */
  readonly token: string;
  /** Path (default `/hub`). */
  readonly path?: string;
  /** Send the JSON handshake request right after the upgrade (default false). */
  readonly handshake?: boolean;
}

/**
 * A WebSocket peer over raw TCP that upgrades and then never reads again and never answers
 * anything, a Close included: the peer that keeps a server's socket if the server waits for it.
 */
export class SilentPeer {
  /** The TCP connection. */
  readonly conn: Deno.TcpConn;
  /** The peer's local port (the server sees it as the remote port). */
  readonly port: number;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.port = conn.localAddr.port;
  }

  /**
   * Connects, upgrades (asserting the 101) and optionally sends the handshake.
   *
   * @param baseUrl Service base URL.
   * @param options Token, path, handshake.
   * @returns The peer.
   */
  static async open(baseUrl: string, options: SilentPeerOptions): Promise<SilentPeer> {
    const url = new URL(baseUrl);
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    const peer = new SilentPeer(conn);
    const request = `GET ${options.path ?? "/hub"}?access_token=${options.token} HTTP/1.1\r\n` +
      `host: ${url.host}\r\n` +
      Object.entries(UPGRADE_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("Closed during upgrade");
      head += new TextDecoder().decode(buffer.subarray(0, n));
    }
    if (!head.startsWith("HTTP/1.1 101")) {
      conn.close();
      throw new Error(`Upgrade refused: ${head.split("\r\n")[0]}`);
    }
    if (options.handshake) await peer.sendText('{"protocol":"json","version":1}\x1e');
    return peer;
  }

  /**
   * Sends one masked text frame (client frames must be masked).
   *
   * @param text The payload.
   */
  async sendText(text: string): Promise<void> {
    await this.conn.write(maskedFrame(0x1, new TextEncoder().encode(text)));
  }

  /**
   * Sends only the header of a text frame announcing `length` bytes (and none of them): what
   * a server that checks sizes up front must refuse without reading the payload.
   *
   * @param length The announced payload length.
   */
  async sendFrameHeader(length: number): Promise<void> {
    await this.conn.write(frameHeader(0x1, length));
  }

  /** Closes the TCP connection (the peer process "exits"). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

const MASK = [0x11, 0x22, 0x33, 0x44] as const;

/** A client frame header (FIN set, masked) announcing `length` payload bytes, mask included. */
function frameHeader(opcode: number, length: number): Uint8Array {
  const size = length < 126
    ? [0x80 | length]
    : length < 65_536
    ? [0x80 | 126, length >> 8, length & 0xff]
    : [0x80 | 127, 0, 0, 0, 0, ...[24, 16, 8, 0].map((shift) => (length >>> shift) & 0xff)];
  return new Uint8Array([0x80 | opcode, ...size, ...MASK]);
}

function maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const header = frameHeader(opcode, payload.length);
  const frame = new Uint8Array(header.length + payload.length);
  frame.set(header);
  for (let i = 0; i < payload.length; i++) {
    frame[header.length + i] = payload[i]! ^ MASK[i % 4]!;
  }
  return frame;
}
