/**
 * The tests' one hub client: a WebSocket hub client with no library in the way that records
 * every frame and decoded message, and a raw HTTP/1.1 client for requests `fetch` cannot send
 * (upgrade refusals). The Notifications tests, the server's end-to-end tests (through
 * `server/_test_helpers.ts`'s `watch`) and the suite's self-tests use it. The benchmarks keep
 * their own leaner client (`bench/_hub_client.ts`, see why there); the official
 * `@microsoft/signalr` client appears only in the tests that check compatibility with it.
 *
 * @module
 */

import type { HubMessage } from "../protocol/signalr/mod.ts";
import {
  BinaryMessageParser,
  createMessagePackHubProtocol,
  frameBinary,
  type HubProtocol,
  jsonHubProtocol,
  parseHandshakeResponse,
  TextMessageParser,
  writeHandshakeRequest,
} from "../protocol/signalr/mod.ts";

/** A raw MessagePack protocol instance keeping timestamps as `ExtData` (exact bytes). */
export const rawMessagePack: HubProtocol = createMessagePackHubProtocol({ timestamps: "raw" });

const dateMessagePack: HubProtocol = createMessagePackHubProtocol();

/** Options of {@linkcode RawHubClient.open} (and of the notifications fixture's `connect`). */
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
  /**
   * MessagePack timestamps as the raw extension bytes (default, for exact-encoding checks) or
   * as `Date`, the way the official client decodes them.
   */
  readonly timestamps?: "raw" | "date";
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
  #messagePack: HubProtocol;
  #text = new TextMessageParser();
  #binary = new BinaryMessageParser();
  #waiters: (() => void)[] = [];
  #closed: Promise<void>;

  private constructor(socket: WebSocket, messagePack: HubProtocol) {
    this.#socket = socket;
    this.#messagePack = messagePack;
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
    const client = new RawHubClient(
      socket,
      options.timestamps === "date" ? dateMessagePack : rawMessagePack,
    );
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
          this.messages.push(...this.#messagePack.parseMessages(frameBinary(body)));
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
