/**
 * The cloud transport's receiving end: polls the Azure Storage queue that the API's push engine
 * fills, turns each message into an {@linkcode Envelope} and hands it to the dispatcher.
 *
 * Behaviour follows Bitwarden's `AzureQueueHostedService` (batches of 32, text decoded Base64
 * first then raw, blank messages deleted without dispatch, a failing message retried until its
 * 3rd dequeue) with these deliberate differences: the idle wait adapts (100 ms doubling to 2 s
 * instead of a fixed 5 s); a message that fails its last attempt is moved to a poison queue
 * instead of being dropped; receive errors back off exponentially instead of spinning, and the
 * queues are recreated after an error (a restarted in-memory Azurite, or a deleted queue);
 * the leases of a batch are renewed every half visibility timeout while the batch is being
 * worked through, and a message is dispatched only while this consumer holds its lease, so a
 * slow dispatch never lets another consumer deliver the same message a second time; on
 * shutdown undispatched messages are handed back at once instead of waiting out their lease.
 *
 * @module
 */

import { consoleLogger } from "../kernel/mod.ts";
import { integerInRange, invalid } from "../../config/mod.ts";
import { QueueServiceClient } from "@azure/storage-queue";
import type { QueueClient, ReceivedMessageItem } from "@azure/storage-queue";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
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
  /** Azure Storage connection string (for Azurite: `azuriteConnectionString` in `server/azurite/`). */
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
  /** Log sink (default: `consoleLogger`, info, warnings and errors to stderr). */
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
  /** Leases renewed while a batch was being worked through. */
  readonly leaseRenewals: number;
  /** Messages skipped undispatched because their lease ran out or went to another consumer. */
  readonly leasesLost: number;
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

const defaultLog: Logger = consoleLogger("queue");

/** A message being worked on: the newest pop receipt and when its lease ends (local clock). */
interface Lease {
  readonly message: ReceivedMessageItem;
  popReceipt: string;
  /** Local time by which the lease has surely ended (measured from before the request). */
  until: number;
  /** Set when the service said the pop receipt is no longer valid. */
  lost: boolean;
  /** The renewal in flight; whoever uses `popReceipt` waits for it first. */
  renewing: Promise<void>;
}

/** Storage error code (`QueueNotFound`, `PopReceiptMismatch`, ...) of a failed request. */
function storageCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The pop receipt is stale (another consumer received the message) or the message is gone. */
function isLeaseGone(error: unknown): boolean {
  const code = storageCode(error);
  return code === "PopReceiptMismatch" || code === "MessageNotFound" || code === "QueueNotFound";
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return code === undefined ? error.message : `${error.message} (${String(code)})`;
  }
  return String(error);
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  return integerInRange(`queue option ${name}`, value, { min, max });
}

function checkRange(name: string, range: WaitRange): WaitRange {
  const { minMs, maxMs } = range;
  if (!(Number.isFinite(minMs) && minMs > 0 && Number.isFinite(maxMs) && maxMs >= minMs)) {
    throw new RangeError(invalid(`queue option ${name}`, "0 < minMs <= maxMs", { minMs, maxMs }));
  }
  return { minMs, maxMs };
}

/**
 * Consumes push envelopes from an Azure Storage queue.
 *
 * @example
 * ```ts
 * import { QueueConsumer } from "./queue_consumer.ts";
 * import { startAzurite } from "../azurite/mod.ts";
 *
 * // Any Azure Storage queue; here the embedded in-memory Azurite.
 * const azurite = await startAzurite();
 * try {
 *   const consumer = new QueueConsumer({
 *     connectionString: azurite.connectionString,
 *     dispatch: (envelope) => console.log(envelope.type),
 *     log: () => {},
 *   });
 *   consumer.start();
 *   // ... on SIGTERM:
 *   await consumer.stop();
 * } finally {
 *   await azurite.stop();
 * }
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
    leaseRenewals: 0,
    leasesLost: 0,
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
      counter("lease_renewals_total", "Leases renewed during a batch", c.leaseRenewals),
      counter(
        "leases_lost_total",
        "Messages skipped because their lease was lost before dispatch",
        c.leasesLost,
      ),
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
      let receivedAt: number;
      try {
        await this.#ensureQueues();
        receivedAt = this.#clock.now();
        const response = await this.#queue.receiveMessages({
          numberOfMessages: this.#batchSize,
          visibilityTimeout: this.#visibilityTimeout,
        });
        batch = response.receivedMessageItems;
      } catch (error) {
        // The queues may be gone (deleted, or an in-memory Azurite restarted): create them
        // again before the next receive. Creating an existing queue is a cheap no-op.
        this.#queuesReady = false;
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
      await this.#handleBatch(batch, receivedAt);
    }
  }

  async #ensureQueues(): Promise<void> {
    if (this.#queuesReady) return;
    await this.#queue.createIfNotExists();
    await this.#poison.createIfNotExists();
    this.#queuesReady = true;
  }

  async #handleBatch(batch: readonly ReceivedMessageItem[], receivedAt: number): Promise<void> {
    this.#counts.received += batch.length;
    const oldest = Math.min(...batch.map((m) => m.insertedOn.getTime()));
    this.#lastBatchLagMs = Math.max(0, this.#clock.now() - oldest);
    const leaseMs = this.#visibilityTimeout * 1000;
    const held = new Map<string, Lease>();
    for (const message of batch) {
      held.set(message.messageId, {
        message,
        popReceipt: message.popReceipt,
        until: receivedAt + leaseMs,
        lost: false,
        renewing: Promise.resolve(),
      });
    }
    // Renew every lease still held every half lease, so messages waiting behind a slow
    // dispatch (or the slow dispatch itself) do not become visible to other consumers.
    const keeper = setInterval(() => {
      for (const lease of held.values()) {
        lease.renewing = lease.renewing.then(() => this.#renew(lease));
      }
    }, leaseMs / 2);
    // Dispatch in queue order; settle (delete, dead-letter) concurrently so one slow delete
    // does not hold back the next message of the batch.
    const settling: Promise<void>[] = [];
    const take = (message: ReceivedMessageItem): Lease => {
      const lease = held.get(message.messageId)!;
      held.delete(message.messageId);
      return lease;
    };
    try {
      for (const [index, message] of batch.entries()) {
        if (this.#stopping.signal.aborted) {
          for (const rest of batch.slice(index)) {
            const lease = take(rest);
            settling.push(lease.renewing.then(() => this.#release(lease)));
          }
          break;
        }
        const lease = held.get(message.messageId)!;
        await lease.renewing;
        if (!lease.lost && this.#clock.now() >= lease.until - leaseMs / 4) await this.#renew(lease);
        if (lease.lost || this.#clock.now() >= lease.until) {
          // Another consumer may have this message now: dispatching it here could deliver it
          // twice. Left alone, it is dispatched by whoever holds it (or reappears).
          take(message);
          this.#counts.leasesLost++;
          this.#log(
            "warn",
            `Skipped message ${message.messageId}: its lease ended before its turn`,
          );
          continue;
        }
        const outcome = await this.#attempt(message);
        take(message);
        settling.push(lease.renewing.then(() => this.#settle(lease, outcome)));
      }
    } finally {
      clearInterval(keeper);
    }
    await Promise.all(settling);
  }

  async #renew(lease: Lease): Promise<void> {
    if (lease.lost) return;
    const { messageId } = lease.message;
    const sentAt = this.#clock.now();
    try {
      const response = await this.#queue.updateMessage(
        messageId,
        lease.popReceipt,
        undefined,
        this.#visibilityTimeout,
      );
      if (response.popReceipt === undefined) throw new Error("No pop receipt in the answer");
      lease.popReceipt = response.popReceipt;
      lease.until = sentAt + this.#visibilityTimeout * 1000;
      this.#counts.leaseRenewals++;
    } catch (error) {
      if (isLeaseGone(error)) lease.lost = true;
      // Otherwise the lease is still valid until `until`; the next renewal may work.
      this.#log("warn", `Cannot renew the lease of message ${messageId}: ${describe(error)}`);
    }
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

  async #settle(lease: Lease, outcome: "done" | "blank" | "failed"): Promise<void> {
    const { message, popReceipt } = lease;
    try {
      if (outcome === "failed") {
        // Left alone, the message reappears when its lease ends and is tried again.
        if (message.dequeueCount < this.#maxDequeueCount) return;
        // Copy first: if the copy fails the message stays in the main queue and is retried.
        await this.#poison.sendMessage(message.messageText, { messageTimeToLive: -1 });
        await this.#queue.deleteMessage(message.messageId, popReceipt);
        this.#counts.deadLettered++;
        this.#log(
          "warn",
          `Moved message ${message.messageId} to ${this.#poison.name} after ${message.dequeueCount} failed attempts`,
        );
        return;
      }
      await this.#queue.deleteMessage(message.messageId, popReceipt);
    } catch (error) {
      // A deleted poison (or main) queue is recreated before the next receive.
      if (storageCode(error) === "QueueNotFound") this.#queuesReady = false;
      this.#counts.settleErrors++;
      this.#log(
        "error",
        `Cannot settle message ${message.messageId} (it reappears after its lease): ${
          describe(error)
        }`,
      );
    }
  }

  async #release(lease: Lease): Promise<void> {
    const { message, popReceipt } = lease;
    try {
      await this.#queue.updateMessage(message.messageId, popReceipt, undefined, 0);
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
