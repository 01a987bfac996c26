/**
 * `NotificationsApiPushEngine`: POSTs each push to Notifications `/send` as the real
 * self-hosted API does (camelCase, explicit nulls, `Authorization: Bearer` with an internal
 * token - research bitwarden-server.md §1.4). Unlike the real engine, which fires and forgets,
 * pushes go through a bounded in-memory outbox drained in order by one worker that retries
 * with exponential backoff, so a short Notifications restart loses nothing. A full outbox
 * refuses new pushes; each refusal is counted and logged.
 *
 * @module
 */

import { consoleLogger, type Logger } from "../kernel/mod.ts";
import { createEnvelope, writeSendBody } from "../../protocol/bitwarden/mod.ts";
import { type InternalTokenSource, TokenSourceError } from "./internal_token_source.ts";
import { contextIdOf, type PushEngine, type PushNotification } from "./types.ts";

/** Options of {@linkcode NotificationsApiPushEngine}. */
export interface NotificationsApiPushEngineOptions {
  /** Notifications base URL; the engine POSTs to `{notificationsUrl}/send`. */
  readonly notificationsUrl: string;
  /** Internal token source. */
  readonly tokens: InternalTokenSource;
  /** Outbox capacity (default 10000). */
  readonly capacity?: number;
  /** First retry delay in ms (default 100). */
  readonly minBackoffMs?: number;
  /** Largest retry delay in ms (default 5000). */
  readonly maxBackoffMs?: number;
  /** Per-request timeout in ms (default 10000). */
  readonly requestTimeoutMs?: number;
  /** Logger. */
  readonly log?: Logger;
}

/** Counters of the engine. */
export interface OutboxStats {
  /** Messages accepted by `/send`. */
  readonly delivered: number;
  /** Messages waiting. */
  readonly pending: number;
  /** Pushes refused because the outbox was full. */
  readonly overflowed: number;
  /** Messages `/send` refused with a non-retryable 4xx (dropped). */
  readonly rejected: number;
  /** Failed attempts that were retried. */
  readonly retries: number;
}

interface Entry {
  readonly body: string;
  readonly type: number;
}

/** Pushes through Notifications `/send` with an outbox. */
export class NotificationsApiPushEngine implements PushEngine {
  #url: string;
  #tokens: InternalTokenSource;
  #capacity: number;
  #minBackoff: number;
  #maxBackoff: number;
  #timeout: number;
  #log: Logger;
  #outbox: Entry[] = [];
  #running: Promise<void> | undefined;
  /** True from the worker's start until it returns; cleared in the same turn it stops. */
  #working = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #idleWaiters: (() => void)[] = [];
  #delivered = 0;
  #overflowed = 0;
  #rejected = 0;
  #retries = 0;
  #failing = false;

  /**
   * Creates the engine.
   *
   * @param options URL, token source, outbox and backoff settings.
   */
  constructor(options: NotificationsApiPushEngineOptions) {
    this.#url = `${options.notificationsUrl.replace(/\/+$/, "")}/send`;
    this.#tokens = options.tokens;
    this.#capacity = options.capacity ?? 10_000;
    this.#minBackoff = options.minBackoffMs ?? 100;
    this.#maxBackoff = options.maxBackoffMs ?? 5_000;
    this.#timeout = options.requestTimeoutMs ?? 10_000;
    this.#log = options.log ?? consoleLogger("push");
  }

  /** Current counters. */
  get stats(): OutboxStats {
    return {
      delivered: this.#delivered,
      pending: this.#outbox.length,
      overflowed: this.#overflowed,
      rejected: this.#rejected,
      retries: this.#retries,
    };
  }

  /**
   * Puts the notification in the outbox and wakes the worker.
   *
   * @param notification The push request.
   */
  push(notification: PushNotification): Promise<void> {
    if (this.#closed) {
      this.#log("warn", `Push dropped: engine closed: type ${notification.type}`);
      return Promise.resolve();
    }
    if (this.#outbox.length >= this.#capacity) {
      this.#overflowed++;
      this.#log(
        "warn",
        `Outbox full (${this.#capacity}): push of type ${notification.type} dropped (${this.#overflowed} dropped so far)`,
      );
      return Promise.resolve();
    }
    const envelope = createEnvelope(
      notification.type,
      notification.payload,
      contextIdOf(notification),
    );
    this.#outbox.push({ body: writeSendBody(envelope), type: notification.type });
    this.#startWorker();
    return Promise.resolve();
  }

  // The flag, not the worker's promise, says whether a worker runs: the promise settles a few
  // turns after the worker's last look at the outbox, and a push made in between would wait
  // for the next push.
  #startWorker(): void {
    if (this.#working) return;
    this.#working = true;
    this.#running = this.#work().catch((error) => {
      this.#log("error", `Push engine worker failed: ${(error as Error)?.stack ?? String(error)}`);
    });
  }

  /**
   * Resolves once the outbox is empty (or the engine is closed).
   *
   * @returns A promise.
   */
  drain(): Promise<void> {
    if (this.#outbox.length === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops the worker; messages still in the outbox are logged as lost. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
    if (this.#outbox.length > 0) {
      this.#log("warn", `Push engine closed with ${this.#outbox.length} undelivered message(s)`);
    }
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        resolve();
      }, ms);
    });
  }

  async #work(): Promise<void> {
    let attempt = 0;
    try {
      while (!this.#closed && this.#outbox.length > 0) {
        const entry = this.#outbox[0]!;
        const outcome = await this.#send(entry);
        if (outcome === "retry") {
          this.#retries++;
          const delay = Math.min(this.#maxBackoff, this.#minBackoff * 2 ** attempt);
          attempt++;
          await this.#sleep(delay);
          continue;
        }
        if (this.#failing) {
          this.#log(
            "info",
            `Notifications /send reachable again: ${this.#outbox.length} message(s) to deliver`,
          );
          this.#failing = false;
        }
        attempt = 0;
        this.#outbox.shift();
      }
    } finally {
      // Same turn as the last look at the outbox: a later push starts a new worker.
      this.#working = false;
    }
    if (this.#outbox.length === 0) { for (const resolve of this.#idleWaiters.splice(0)) resolve(); }
  }

  async #send(entry: Entry): Promise<"done" | "retry"> {
    let token: string;
    try {
      token = await this.#tokens.get();
    } catch (error) {
      this.#noteFailure(`token: ${(error as Error).message}`);
      if (error instanceof TokenSourceError && !error.retryable) {
        // Misconfiguration (wrong internal key) is retried slowly rather than dropping data.
        await this.#sleep(this.#maxBackoff);
      }
      return "retry";
    }
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: "POST",
        headers: {
          "authorization": `Bearer ${token}`,
          "content-type": "application/json; charset=utf-8",
          "accept": "application/json",
        },
        body: entry.body,
        signal: AbortSignal.timeout(this.#timeout),
      });
    } catch (error) {
      this.#noteFailure((error as Error).message);
      return "retry";
    }
    // The status decides; a body that breaks off (Notifications going down) changes nothing.
    const text = await response.text().catch(() => "");
    if (response.ok) {
      this.#delivered++;
      return "done";
    }
    if (response.status === 401) {
      this.#tokens.invalidate();
      this.#noteFailure("HTTP 401, token renewed");
      return "retry";
    }
    if (
      response.status >= 400 && response.status < 500 && response.status !== 408 &&
      response.status !== 429
    ) {
      this.#rejected++;
      this.#log(
        "error",
        `Notifications /send refused type ${entry.type}: HTTP ${response.status}: ${
          text.slice(0, 200)
        }`,
      );
      return "done";
    }
    this.#noteFailure(`HTTP ${response.status}`);
    return "retry";
  }

  #noteFailure(detail: string): void {
    if (!this.#failing) {
      this.#log(
        "warn",
        `Notifications /send failing, retrying with backoff: ${this.#url}: ${detail}`,
      );
      this.#failing = true;
    }
  }
}
