/**
 * The Long Polling transport (server -> client half; the client POSTs its data), as ASP.NET
 * Core serves it: the first poll returns at once (200, empty) to mark the connection started;
 * later polls wait for data (200 with every buffered byte), time out (200, empty), are
 * superseded by a newer poll (204) or find the connection closed (204).
 *
 * @module
 */

import { TransferFormat } from "../../protocol/signalr/mod.ts";
import type { TransportCloseInfo, TransportSink } from "./hub_connection.ts";
import type { OutgoingFrame } from "./outgoing_frame.ts";

/** Cache headers ASP.NET Core adds to every poll response. */
export const NO_CACHE_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-cache, no-store",
  "pragma": "no-cache",
  "expires": "Thu, 01 Jan 1970 00:00:00 GMT",
};

interface PendingPoll {
  readonly resolve: (response: Response) => void;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

/** Options of {@linkcode LongPollingSink}. */
export interface LongPollingOptions {
  /** Bytes buffered between polls before the peer counts as a slow consumer. */
  readonly sendBufferLimit: number;
  /** How long a poll waits for data before answering empty (ASP.NET: 90 s); 0 = forever. */
  readonly pollTimeoutMs: number;
}

function pollResponse(status: 200 | 204, body: Uint8Array | null): Response {
  return new Response(body as BodyInit | null, {
    status,
    headers: {
      ...NO_CACHE_HEADERS,
      ...(status === 200 ? { "content-type": "application/octet-stream" } : {}),
    },
  });
}

/** A long-polling connection's outgoing buffer and poll handling. */
export class LongPollingSink implements TransportSink {
  /** Transport name. */
  readonly kind = "LongPolling" as const;
  /** Both formats travel as raw bytes. */
  readonly transferFormats: readonly TransferFormat[] = [
    TransferFormat.Text,
    TransferFormat.Binary,
  ];
  /** Polling is its own keep-alive: no Pings, no client timeout. */
  readonly inherentKeepAlive = true;
  #options: LongPollingOptions;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #pending: PendingPoll | undefined;
  #closed = false;
  #started = false;
  #lastActivity: number;

  /**
   * Creates the sink.
   *
   * @param options Buffer limit and poll timeout.
   * @param now Current time in milliseconds.
   */
  constructor(options: LongPollingOptions, now: number) {
    this.#options = options;
    this.#lastActivity = now;
  }

  /** True while a poll request is waiting. */
  get polling(): boolean {
    return this.#pending !== undefined;
  }

  /** When the last poll ended (or started, while one waits it counts as now). */
  lastActivity(now: number): number {
    return this.#pending ? now : this.#lastActivity;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  write(frame: OutgoingFrame): boolean {
    if (this.#closed) return true;
    const bytes = frame.bytes;
    this.#chunks.push(bytes);
    this.#bytes += bytes.length;
    if (this.#pending) {
      // Let the rest of this turn's writes join the same response.
      queueMicrotask(() => this.#flush());
      return true;
    }
    return this.#bytes <= this.#options.sendBufferLimit;
  }

  #take(): Uint8Array {
    const out = new Uint8Array(this.#bytes);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.#chunks = [];
    this.#bytes = 0;
    return out;
  }

  #finish(response: Response, now = Date.now()): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    this.#lastActivity = now;
    pending.resolve(response);
  }

  #flush(): void {
    if (!this.#pending || this.#bytes === 0) return;
    this.#finish(pollResponse(200, this.#take()));
  }

  /**
   * Serves one poll request. A poller that vanished is not watched for: its poll times out
   * and the disconnect timeout ends the connection, as in ASP.NET Core.
   *
   * @returns The poll response.
   */
  poll(): Promise<Response> {
    if (this.#closed) return Promise.resolve(this.drainAfterClose());
    if (!this.#started) {
      this.#started = true;
      this.#lastActivity = Date.now();
      return Promise.resolve(pollResponse(200, new Uint8Array(0)));
    }
    // A newer poll supersedes the waiting one.
    this.#finish(pollResponse(204, null));
    if (this.#bytes > 0) {
      this.#lastActivity = Date.now();
      return Promise.resolve(pollResponse(200, this.#take()));
    }
    return new Promise((resolve) => {
      const timeout = this.#options.pollTimeoutMs;
      const timer = timeout > 0
        ? setTimeout(() => this.#finish(pollResponse(200, new Uint8Array(0))), timeout)
        : undefined;
      this.#pending = { resolve, timer };
    });
  }

  close(_info: TransportCloseInfo): void {
    if (this.#closed) return;
    this.#closed = true;
    // Whatever is buffered (the Close message) goes out with the last poll; then 204.
    if (this.#pending) {
      if (this.#bytes > 0) this.#finish(pollResponse(200, this.#take()));
      else this.#finish(pollResponse(204, null));
    }
  }

  /**
   * Answers a poll after close: buffered bytes first (the Close message), then 204.
   *
   * @returns The response.
   */
  drainAfterClose(): Response {
    if (this.#bytes > 0) return pollResponse(200, this.#take());
    return pollResponse(204, null);
  }
}
