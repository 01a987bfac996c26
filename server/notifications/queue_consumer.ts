/**
 * The cloud transport's receiving end: polls the Azure Storage queue that the API's push engine
 * fills, turns each message into an {@linkcode Envelope} and hands it to the dispatcher.
 *
 * Behaviour follows Bitwarden's `AzureQueueHostedService` (batches of 32, text decoded Base64
 * first then raw, blank messages deleted without dispatch, a failing message retried until its
 * 3rd dequeue) with four deliberate differences: the idle wait adapts (100 ms doubling to 2 s
 * instead of a fixed 5 s), a message that fails its last attempt is moved to a poison queue
 * instead of being dropped, receive errors back off exponentially instead of spinning, and on
 * shutdown undispatched messages are handed back at once instead of waiting out their lease.
 *
 * @module
 */

import { QueueServiceClient } from "@azure/storage-queue";
import type { QueueClient, ReceivedMessageItem } from "@azure/storage-queue";
import type { Envelope } from "../../protocol/bitwarden/types.ts";
import {
  decodeQueueMessageText,
  isBlankMessage,
  parseQueueMessage,
} from "../../protocol/bitwarden/mod.ts";
import type { MetricFamily, MetricsProvider } from "./metrics.ts";
import type { Logger } from "./types.ts";
import { errorBackoffWait, nextIdleWait, type WaitRange } from "./_queue_backoff.ts";

/** Time source of the consumer, injectable so tests can observe and shorten waits. */
export interface QueueClock {
  /** Current time in ms since the epoch (compared with a message's `insertedOn`). */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Settings of a {@linkcode QueueConsumer} that come from configuration. */
export interface QueueSettings {
  /** Azure Storage connection string (for Azurite: see `testing/azurite.ts`). */
  readonly connectionString: string;
  /** Queue to consume (default `notifications`, the name Bitwarden hard-codes). */
  readonly queueName?: string;
  /** Queue that receives messages whose last allowed attempt failed (default `notifications-poison`). */
  readonly poisonQueueName?: string;
  /** Attempts per message before it is dead-lettered (default 3, as the real service). */
  readonly maxDequeueCount?: number;
  /** Messages per receive call, 1..32 (default 32). */
  readonly batchSize?: number;
  /** Lease of a received message in seconds, 1..604800 (default 30, the Azure default). */
  readonly visibilityTimeoutSeconds?: number;
  /** Wait after an empty receive: starts at `minMs`, doubles to `maxMs` (default 100..2000). */
  readonly idleWait?: WaitRange;
  /** Wait after a failed receive: exponential with jitter (default 250..30000). */
  readonly errorBackoff?: WaitRange;
  /** Timeout of one queue request in ms (default 10,000). */
  readonly requestTimeoutMs?: number;
}

/** Options of {@linkcode QueueConsumer}. */
export interface QueueConsumerOptions extends QueueSettings {
  /**
   * Delivers one envelope. A throw (or rejection) counts as a failed attempt: the message stays
   * in the queue and is retried after its lease, up to `maxDequeueCount` attempts.
   */
  readonly dispatch: (envelope: Envelope) => Promise<void> | void;
  /** Log sink (default: warnings and errors to `console.error`). */
  readonly log?: Logger;
  /** Time source (default: `Date.now` and `setTimeout`). */
  readonly clock?: QueueClock;
  /** Random numbers in [0, 1) for backoff jitter (default `Math.random`). */
  readonly random?: () => number;
}

/** Counters of a {@linkcode QueueConsumer} since it was created. */
export interface QueueConsumerMetrics {
  /** Messages received from the queue (a redelivered message counts again). */
  readonly received: number;
  /** Messages dispatched successfully (deleted afterwards unless `settleErrors` says otherwise). */
  readonly dispatched: number;
  /** Blank messages deleted without dispatch. */
  readonly blank: number;
  /** Failed attempts: undecodable text or a dispatch that threw. */
  readonly failedDispatches: number;
  /** Messages moved to the poison queue. */
  readonly deadLettered: number;
  /** Failed receive (or queue creation) calls. */
  readonly receiveErrors: number;
  /** Receive errors since the last successful receive. */
  readonly consecutiveReceiveErrors: number;
  /** Failed delete, dead-letter or hand-back calls (the message then reappears after its lease). */
  readonly settleErrors: number;
  /** Received messages handed back undispatched at shutdown. */
  readonly released: number;
  /** Age of the oldest message of the last non-empty batch when it arrived, in ms, or null. */
  readonly lastBatchLagMs: number | null;
}

type Counter = Exclude<keyof QueueConsumerMetrics, "lastBatchLagMs">;

const DEFAULTS = {
  queueName: "notifications",
  poisonQueueName: "notifications-poison",
  maxDequeueCount: 3,
  batchSize: 32,
  visibilityTimeoutSeconds: 30,
  idleWait: { minMs: 100, maxMs: 2_000 },
  errorBackoff: { minMs: 250, maxMs: 30_000 },
  requestTimeoutMs: 10_000,
} as const;

/** The real clock: `Date.now` and an abortable `setTimeout`. */
export const systemClock: QueueClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    }),
};

const defaultLog: Logger = (level, message) => {
  if (level === "warn" || level === "error") console.error(`[queue] ${level}: ${message}`);
};

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return code === undefined ? error.message : `${error.message} (${String(code)})`;
  }
  return String(error);
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid queue option ${name}: expected an integer in ${min}..${max}`);
  }
  return value;
}

function checkRange(name: string, range: WaitRange): WaitRange {
  const { minMs, maxMs } = range;
  if (!(Number.isFinite(minMs) && minMs > 0 && Number.isFinite(maxMs) && maxMs >= minMs)) {
    throw new RangeError(`Invalid queue option ${name}: expected 0 < minMs <= maxMs`);
  }
  return { minMs, maxMs };
}

/**
 * Consumes push envelopes from an Azure Storage queue.
 *
 * @example
 * ```ts ignore
 * import { QueueConsumer } from "./queue_consumer.ts";
 *
 * const consumer = new QueueConsumer({
 *   connectionString: "UseDevelopmentStorage=true",
 *   dispatch: (envelope) => console.log(envelope.type),
 * });
 * consumer.start();
 * // ... on SIGTERM:
 * await consumer.stop();
 * ```
 */
export class QueueConsumer implements MetricsProvider {
  #queue: QueueClient;
  #poison: QueueClient;
  #dispatch: (envelope: Envelope) => Promise<void> | void;
  #log: Logger;
  #clock: QueueClock;
  #random: () => number;
  #maxDequeueCount: number;
  #batchSize: number;
  #visibilityTimeout: number;
  #idleWait: WaitRange;
  #errorBackoff: WaitRange;
  #counts: Record<Counter, number> = {
    received: 0,
    dispatched: 0,
    blank: 0,
    failedDispatches: 0,
    deadLettered: 0,
    receiveErrors: 0,
    consecutiveReceiveErrors: 0,
    settleErrors: 0,
    released: 0,
  };
  #lastBatchLagMs: number | null = null;
  #queuesReady = false;
  #loop: Promise<void> | undefined;
  #stopping = new AbortController();

  /**
   * Creates a consumer; nothing is contacted until {@linkcode QueueConsumer.start}.
   *
   * @param options Connection, queue names, limits, waits and the dispatch function.
   * @throws {RangeError} When an option is out of range or the connection string is unusable.
   */
  constructor(options: QueueConsumerOptions) {
    this.#maxDequeueCount = checkInteger(
      "maxDequeueCount",
      options.maxDequeueCount ?? DEFAULTS.maxDequeueCount,
      1,
      1_000,
    );
    this.#batchSize = checkInteger("batchSize", options.batchSize ?? DEFAULTS.batchSize, 1, 32);
    this.#visibilityTimeout = checkInteger(
      "visibilityTimeoutSeconds",
      options.visibilityTimeoutSeconds ?? DEFAULTS.visibilityTimeoutSeconds,
      1,
      604_800,
    );
    this.#idleWait = checkRange("idleWait", options.idleWait ?? DEFAULTS.idleWait);
    this.#errorBackoff = checkRange("errorBackoff", options.errorBackoff ?? DEFAULTS.errorBackoff);
    const requestTimeoutMs = checkInteger(
      "requestTimeoutMs",
      options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      1,
      600_000,
    );
    const queueName = options.queueName ?? DEFAULTS.queueName;
    const poisonQueueName = options.poisonQueueName ?? DEFAULTS.poisonQueueName;
    if (queueName === poisonQueueName) {
      throw new RangeError(`Invalid queue option poisonQueueName: same as queueName ${queueName}`);
    }
    let service: QueueServiceClient;
    try {
      // One try per call: the consumer's own backoff decides when to try again.
      service = QueueServiceClient.fromConnectionString(options.connectionString, {
        retryOptions: { maxTries: 1, tryTimeoutInMs: requestTimeoutMs },
      });
    } catch (error) {
      throw new RangeError(`Invalid queue connection string: ${describe(error)}`);
    }
    this.#queue = service.getQueueClient(queueName);
    this.#poison = service.getQueueClient(poisonQueueName);
    this.#dispatch = options.dispatch;
    this.#log = options.log ?? defaultLog;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Current counters.
   *
   * @returns A snapshot of the counters.
   */
  get metrics(): QueueConsumerMetrics {
    return { ...this.#counts, lastBatchLagMs: this.#lastBatchLagMs };
  }

  /**
   * Whether the consumer is running (started and not stopped).
   *
   * @returns True between `start()` and `stop()`.
   */
  get running(): boolean {
    return this.#loop !== undefined && !this.#stopping.signal.aborted;
  }

  /**
   * The counters as Prometheus metric families (`hubproof_queue_*`).
   *
   * @returns The families.
   */
  metricFamilies(): readonly MetricFamily[] {
    const counter = (name: string, help: string, value: number): MetricFamily => ({
      name: `hubproof_queue_${name}`,
      help,
      type: "counter",
      samples: [{ value }],
    });
    const c = this.#counts;
    return [
      counter("messages_received_total", "Queue messages received", c.received),
      counter("messages_dispatched_total", "Queue messages dispatched", c.dispatched),
      counter("messages_blank_total", "Blank queue messages deleted undispatched", c.blank),
      counter(
        "dispatch_failures_total",
        "Failed attempts to decode or dispatch",
        c.failedDispatches,
      ),
      counter("messages_dead_lettered_total", "Messages moved to the poison queue", c.deadLettered),
      counter("receive_errors_total", "Failed receive or create-queue calls", c.receiveErrors),
      counter("settle_errors_total", "Failed delete, dead-letter or release calls", c.settleErrors),
      counter("messages_released_total", "Messages handed back at shutdown", c.released),
      {
        name: "hubproof_queue_last_batch_lag_seconds",
        help: "Age of the oldest message of the last non-empty batch when it was received",
        type: "gauge",
        samples: this.#lastBatchLagMs === null ? [] : [{ value: this.#lastBatchLagMs / 1000 }],
      },
    ];
  }

  /**
   * Starts polling in the background: creates both queues if missing, then receives until
   * {@linkcode QueueConsumer.stop}.
   *
   * @throws {Error} When already started.
   */
  start(): void {
    if (this.#loop !== undefined) throw new Error("Queue consumer already started");
    // Every queue call is guarded inside; this only catches a bug, which must not crash the
    // whole service through an unhandled rejection.
    this.#loop = this.#run().catch((error) => {
      this.#log("error", `Queue consumer stopped by an unexpected error: ${describe(error)}`);
    });
  }

  /**
   * Stops gracefully: no further receive, the message being dispatched is finished (and
   * deleted), the rest of its batch is handed back to the queue undispatched (visible again
   * at once, or after its lease if the hand-back fails). Resolves when all of that is done.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    let idleMs: number | undefined;
    while (!signal.aborted) {
      let batch: ReceivedMessageItem[];
      try {
        await this.#ensureQueues();
        const response = await this.#queue.receiveMessages({
          numberOfMessages: this.#batchSize,
          visibilityTimeout: this.#visibilityTimeout,
        });
        batch = response.receivedMessageItems;
      } catch (error) {
        const failures = ++this.#counts.consecutiveReceiveErrors;
        this.#counts.receiveErrors++;
        const waitMs = errorBackoffWait(failures, this.#errorBackoff, this.#random);
        this.#log(
          "error",
          `Queue receive failed (${failures} in a row), retrying in ${waitMs} ms: ${
            describe(error)
          }`,
        );
        await this.#clock.sleep(waitMs, signal);
        continue;
      }
      if (this.#counts.consecutiveReceiveErrors > 0) {
        this.#log(
          "info",
          `Queue receive recovered after ${this.#counts.consecutiveReceiveErrors} errors`,
        );
        this.#counts.consecutiveReceiveErrors = 0;
      }
      if (batch.length === 0) {
        idleMs = nextIdleWait(idleMs, this.#idleWait);
        await this.#clock.sleep(idleMs, signal);
        continue;
      }
      idleMs = undefined;
      await this.#handleBatch(batch);
    }
  }

  async #ensureQueues(): Promise<void> {
    if (this.#queuesReady) return;
    await this.#queue.createIfNotExists();
    await this.#poison.createIfNotExists();
    this.#queuesReady = true;
  }

  async #handleBatch(batch: readonly ReceivedMessageItem[]): Promise<void> {
    this.#counts.received += batch.length;
    const oldest = Math.min(...batch.map((m) => m.insertedOn.getTime()));
    this.#lastBatchLagMs = Math.max(0, this.#clock.now() - oldest);
    // Dispatch in queue order; settle (delete, dead-letter) concurrently so one slow delete
    // does not hold back the next message of the batch.
    const settling: Promise<void>[] = [];
    for (const [index, message] of batch.entries()) {
      if (this.#stopping.signal.aborted) {
        settling.push(...batch.slice(index).map((m) => this.#release(m)));
        break;
      }
      const outcome = await this.#attempt(message);
      settling.push(this.#settle(message, outcome));
    }
    await Promise.all(settling);
  }

  async #attempt(message: ReceivedMessageItem): Promise<"done" | "blank" | "failed"> {
    // Blank after decoding, as `DecodeMessageText` + `IsNullOrWhiteSpace`: deleted, not sent.
    if (isBlankMessage(decodeQueueMessageText(message.messageText))) {
      this.#counts.blank++;
      return "blank";
    }
    try {
      await this.#dispatch(parseQueueMessage(message.messageText));
      this.#counts.dispatched++;
      return "done";
    } catch (error) {
      this.#counts.failedDispatches++;
      this.#log(
        "error",
        `Error processing dequeued message: ${message.messageId} x${message.dequeueCount}: ${
          describe(error)
        }`,
      );
      return "failed";
    }
  }

  async #settle(
    message: ReceivedMessageItem,
    outcome: "done" | "blank" | "failed",
  ): Promise<void> {
    try {
      if (outcome === "failed") {
        // Left alone, the message reappears when its lease ends and is tried again.
        if (message.dequeueCount < this.#maxDequeueCount) return;
        // Copy first: if the copy fails the message stays in the main queue and is retried.
        await this.#poison.sendMessage(message.messageText, { messageTimeToLive: -1 });
        await this.#queue.deleteMessage(message.messageId, message.popReceipt);
        this.#counts.deadLettered++;
        this.#log(
          "warn",
          `Moved message ${message.messageId} to ${this.#poison.name} after ${message.dequeueCount} failed attempts`,
        );
        return;
      }
      await this.#queue.deleteMessage(message.messageId, message.popReceipt);
    } catch (error) {
      this.#counts.settleErrors++;
      this.#log(
        "error",
        `Cannot settle message ${message.messageId} (it reappears after its lease): ${
          describe(error)
        }`,
      );
    }
  }

  async #release(message: ReceivedMessageItem): Promise<void> {
    try {
      await this.#queue.updateMessage(message.messageId, message.popReceipt, undefined, 0);
      this.#counts.released++;
    } catch (error) {
      this.#counts.settleErrors++;
      this.#log(
        "warn",
        `Cannot hand back message ${message.messageId} at shutdown (it reappears after its lease): ${
          describe(error)
        }`,
      );
    }
  }
}
