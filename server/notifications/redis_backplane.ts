/**
 * Scale-out over Redis pub/sub: every Notifications instance publishes the envelopes it
 * receives (from `/send` or the queue) on one channel and delivers the envelopes other instances
 * publish to its own connections. With the dispatcher delivering locally and publishing, and
 * delivering backplane envelopes locally only, each connection on every instance gets each
 * message exactly once, the anonymous hub included (what breaks in Vaultwarden #5795/#6305).
 *
 * Unlike ASP.NET Core's Redis backplane, which publishes per-target invocations with
 * pre-serialised hub messages, instances exchange whole envelopes and each routes them itself:
 * one publish per push, one channel, and no group bookkeeping across servers.
 *
 * Unlike SignalR, which drops what is sent while Redis is down, a publication that cannot be
 * sent is held in a bounded in-memory outbox and sent, in order, once Redis is back (after the
 * other instances had a moment to re-subscribe). `publish` therefore succeeds as soon as the
 * envelope is sent or held: the caller has already delivered it locally, and its own retry
 * (the API's outbox re-POSTing `/send`, a queue message redelivered) would deliver it twice
 * on this instance. Every publication carries a unique id and receivers drop ids they have
 * already handled, so a publish retried after a lost reply is not delivered twice either.
 * Lost for good are only: publications beyond `maxPending` (refused and counted), and those
 * still held when the backplane closes and Redis is still unreachable (counted, logged).
 *
 * @module
 */

import { consoleLogger } from "../kernel/mod.ts";
import { positiveInteger } from "../../config/mod.ts";
import { createClient } from "redis";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import type { MetricFamily, MetricsProvider } from "./metrics.ts";
import type { Backplane, Logger } from "./types.ts";
import { decodeBackplaneMessage, encodeBackplaneMessage } from "./_redis_wire.ts";

/** Options of {@linkcode RedisBackplane.connect}. */
export interface RedisBackplaneOptions {
  /** `redis://[[user]:password@]host[:port][/db]` (or `rediss://`). */
  readonly url: string;
  /** Channel prefix; instances share deliveries only with the same prefix (default `hubproof`). */
  readonly channelPrefix?: string;
  /**
   * A readable name for this instance (default `notifications`). The instance id is this name
   * plus a random UUID, so two instances can never share an id (and ignore each other's
   * publications as their own).
   */
  readonly instanceName?: string;
  /** Publications held while Redis is unreachable before `publish` refuses (default 10,000). */
  readonly maxPending?: number;
  /** Publication ids remembered to drop repeats (default 10,000). */
  readonly dedupeWindow?: number;
  /**
   * After a reconnect, how long held publications wait for the other instances to re-subscribe
   * (as many subscribers as before the outage), in ms (default 2,000).
   */
  readonly resubscribeGraceMs?: number;
  /** How long `close` may spend sending held publications, in ms (default 1,000). */
  readonly closeFlushMs?: number;
  /** How long the first connection may take, in ms, before `connect` fails (default 5,000). */
  readonly connectTimeoutMs?: number;
  /** Reconnect delay after a lost connection: doubling from `minMs` to `maxMs` (default 50..2000). */
  readonly reconnect?: { readonly minMs: number; readonly maxMs: number };
  /** Log sink (default: `consoleLogger`, info, warnings and errors to stderr). */
  readonly log?: Logger;
}

/** Counters of a {@linkcode RedisBackplane}. */
export interface RedisBackplaneMetrics {
  /** Envelopes published (sent to Redis), retried ones included. */
  readonly published: number;
  /** PUBLISH commands that failed (Redis unreachable or the command failed). */
  readonly publishErrors: number;
  /** Publications held in the outbox because Redis could not take them at once. */
  readonly deferred: number;
  /** Publications lost: refused because the outbox was full, or still held at close. */
  readonly dropped: number;
  /** Publications currently held in the outbox. */
  readonly pending: number;
  /** Envelopes received from other instances. */
  readonly received: number;
  /** Publications received a second time and dropped. */
  readonly duplicates: number;
  /** Own publications echoed back by Redis and ignored. */
  readonly ignoredOwn: number;
  /** Channel messages that were not valid backplane messages (dropped). */
  readonly malformed: number;
  /** Handler calls that threw. */
  readonly handlerErrors: number;
  /** Connection errors reported by the Redis client (each failed reconnect attempt counts). */
  readonly connectionErrors: number;
  /** Successful reconnections after a lost connection. */
  readonly reconnects: number;
  /** Whether both connections are currently up. */
  readonly connected: boolean;
}

type Counter = Exclude<keyof RedisBackplaneMetrics, "connected" | "pending">;
type Client = ReturnType<typeof createClient>;

const defaultLog: Logger = consoleLogger("backplane");

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describe).join("; ");
  }
  return error instanceof Error ? error.message || error.name : String(error);
}

/** Closes a client at once; a client that gave up connecting is already closed, which is fine. */
function destroyQuietly(client: Client): void {
  if (client.isOpen) client.destroy();
}

function positiveOption(name: string, value: number): number {
  return positiveInteger(`Redis backplane option ${name}`, value);
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * A {@linkcode Backplane} over Redis pub/sub with node-redis: one connection publishes, a second
 * one subscribes (a subscribed Redis connection cannot publish). node-redis reconnects both
 * after a Redis restart and re-subscribes by itself; errors are logged and counted, never thrown
 * out of an event handler.
 *
 * @example
 * ```ts ignore
 * // Not run by `deno test --doc`: it needs a live Redis server.
 * import { RedisBackplane } from "./redis_backplane.ts";
 *
 * const backplane = await RedisBackplane.connect({ url: "redis://127.0.0.1:6379" });
 * await backplane.subscribe((envelope) => console.log("from another instance", envelope.type));
 * await backplane.publish({ type: 5, payload: { UserId: "u1" }, contextId: null });
 * await backplane.close();
 * ```
 */
export class RedisBackplane implements Backplane, MetricsProvider {
  /** This instance's id (the `origin` of its publications). */
  readonly instanceId: string;
  /** The Redis channel shared by the instances. */
  readonly channel: string;
  #publisher: Client;
  #subscriber: Client;
  #log: Logger;
  #handlers: ((envelope: Envelope) => void)[] = [];
  #subscribed: Promise<void> | undefined;
  #closed = false;
  #settings: Required<
    Pick<
      RedisBackplaneOptions,
      "maxPending" | "dedupeWindow" | "resubscribeGraceMs" | "closeFlushMs" | "reconnect"
    >
  >;
  /** Encoded publications waiting for Redis, oldest first. */
  #outbox: string[] = [];
  #flushing: Promise<void> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryDelayMs = 0;
  /**
   * Subscribers that got the last successful PUBLISH (all instances, this one included), or
   * counted when this instance subscribed: how many to wait for after an outage.
   */
  #lastReceivers = 0;
  /** Ids of recently handled publications, oldest first (a Set keeps insertion order). */
  #seen = new Set<string>();
  #counts: Record<Counter, number> = {
    published: 0,
    publishErrors: 0,
    deferred: 0,
    dropped: 0,
    received: 0,
    duplicates: 0,
    ignoredOwn: 0,
    malformed: 0,
    handlerErrors: 0,
    connectionErrors: 0,
    reconnects: 0,
  };

  private constructor(
    clients: { publisher: Client; subscriber: Client },
    options: RedisBackplaneOptions,
    log: Logger,
  ) {
    this.#publisher = clients.publisher;
    this.#subscriber = clients.subscriber;
    this.instanceId = `${options.instanceName ?? "notifications"}/${crypto.randomUUID()}`;
    this.channel = `${options.channelPrefix ?? "hubproof"}:notifications:envelopes`;
    this.#log = log;
    this.#settings = {
      maxPending: positiveOption("maxPending", options.maxPending ?? 10_000),
      dedupeWindow: positiveOption("dedupeWindow", options.dedupeWindow ?? 10_000),
      resubscribeGraceMs: options.resubscribeGraceMs ?? 2_000,
      closeFlushMs: options.closeFlushMs ?? 1_000,
      reconnect: options.reconnect ?? { minMs: 50, maxMs: 2_000 },
    };
  }

  /**
   * Connects the publishing and the subscribing connection.
   *
   * @param options URL, channel prefix, instance id, timeouts, log sink.
   * @returns The connected backplane (not yet subscribed: call `subscribe`).
   * @throws {Error} When Redis cannot be reached within `connectTimeoutMs` or the URL is invalid;
   * the message names the URL without its password.
   */
  static async connect(options: RedisBackplaneOptions): Promise<RedisBackplane> {
    const log = options.log ?? defaultLog;
    const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    const { minMs, maxMs } = options.reconnect ?? { minMs: 50, maxMs: 2_000 };
    const target = redactUrl(options.url);
    const started = Date.now();
    let everReady = false;
    const reconnectStrategy = (retries: number, cause: Error): number | Error => {
      // Before the first success, give up after the connect timeout so a wrong URL fails
      // startup with a clear message instead of retrying forever.
      if (!everReady && Date.now() - started >= connectTimeoutMs) {
        return new Error(
          `Cannot connect to the Redis backplane at ${target} within ${connectTimeoutMs} ms: ${
            describe(cause)
          }`,
        );
      }
      const base = Math.min(maxMs, minMs * 2 ** Math.min(retries, 20));
      return Math.round(base / 2 + Math.random() * (base / 2));
    };
    let publisher: Client;
    try {
      publisher = createClient({
        url: options.url,
        // Queued commands would be replayed after an outage; SignalR drops instead, and so
        // do we: a failed publish is reported to the caller at once.
        disableOfflineQueue: true,
        socket: { connectTimeout: Math.min(connectTimeoutMs, 5_000), reconnectStrategy },
      });
    } catch (error) {
      throw new Error(`Invalid Redis backplane URL ${target}: ${describe(error)}`);
    }
    const subscriber = publisher.duplicate();
    let backplane: RedisBackplane;
    try {
      backplane = new RedisBackplane({ publisher, subscriber }, options, log);
    } catch (error) {
      destroyQuietly(publisher);
      destroyQuietly(subscriber);
      throw error;
    }
    backplane.#watch(publisher, "publisher");
    backplane.#watch(subscriber, "subscriber");
    const outcomes = await Promise.allSettled([publisher.connect(), subscriber.connect()]);
    const failures = outcomes.flatMap((o) => o.status === "rejected" ? [describe(o.reason)] : []);
    if (failures.length > 0) {
      destroyQuietly(publisher);
      destroyQuietly(subscriber);
      // Prefer the reconnect strategy's message, which names the URL and the timeout.
      const message = failures.find((f) => f.startsWith("Cannot connect")) ?? failures[0];
      throw new Error(
        message?.startsWith("Cannot connect")
          ? message
          : `Cannot connect to the Redis backplane at ${target}: ${message}`,
      );
    }
    everReady = true;
    return backplane;
  }

  #watch(client: Client, role: string): void {
    let lost = false;
    let ready = false;
    client.on("error", (error: unknown) => {
      this.#counts.connectionErrors++;
      if (!ready || lost) {
        this.#log("debug", `Redis backplane ${role} error: ${describe(error)}`);
        return;
      }
      lost = true;
      this.#log(
        "error",
        `Redis backplane ${role} connection lost, reconnecting: ${describe(error)}`,
      );
    });
    client.on("ready", () => {
      if (lost) {
        this.#counts.reconnects++;
        this.#log("info", `Redis backplane ${role} reconnected`);
      }
      lost = false;
      ready = true;
      if (role === "publisher" && !this.#closed) {
        // Back online: retry now instead of waiting out the backoff.
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#retryDelayMs = 0;
        this.#scheduleFlush(0);
      }
    });
  }

  /**
   * Current counters.
   *
   * @returns A snapshot of the counters.
   */
  get metrics(): RedisBackplaneMetrics {
    return {
      ...this.#counts,
      pending: this.#outbox.length,
      connected: this.#publisher.isReady && this.#subscriber.isReady,
    };
  }

  /**
   * The counters as Prometheus metric families (`hubproof_backplane_*`).
   *
   * @returns The families.
   */
  metricFamilies(): readonly MetricFamily[] {
    const c = this.#counts;
    const counter = (name: string, help: string, value: number): MetricFamily => ({
      name: `hubproof_backplane_${name}`,
      help,
      type: "counter",
      samples: [{ value }],
    });
    return [
      counter("published_total", "Envelopes published to Redis", c.published),
      counter("publish_errors_total", "PUBLISH commands that failed", c.publishErrors),
      counter(
        "publish_deferred_total",
        "Publications held until Redis was reachable again",
        c.deferred,
      ),
      counter(
        "publish_dropped_total",
        "Publications lost (outbox full, or held at close)",
        c.dropped,
      ),
      {
        name: "hubproof_backplane_pending",
        help: "Publications held in the outbox",
        type: "gauge",
        samples: [{ value: this.#outbox.length }],
      },
      counter("received_total", "Envelopes received from other instances", c.received),
      counter("duplicates_total", "Publications received twice and dropped", c.duplicates),
      counter("ignored_own_total", "Own publications echoed back and ignored", c.ignoredOwn),
      counter("malformed_total", "Invalid messages on the backplane channel", c.malformed),
      counter("handler_errors_total", "Backplane handler calls that threw", c.handlerErrors),
      counter("connection_errors_total", "Redis connection errors", c.connectionErrors),
      counter("reconnects_total", "Reconnections after a lost Redis connection", c.reconnects),
      {
        name: "hubproof_backplane_connected",
        help: "1 when both Redis connections are up",
        type: "gauge",
        samples: [{ value: this.metrics.connected ? 1 : 0 }],
      },
    ];
  }

  /**
   * Publishes an envelope to the other instances: sent at once when Redis is reachable and
   * nothing older is waiting, otherwise held and sent in order once Redis is back.
   *
   * @param envelope The envelope (as received by this instance).
   * @throws {Error} When the backplane is closed, or `maxPending` publications are already
   * held (the envelope is then lost for the other instances, and counted as dropped).
   */
  async publish(envelope: Envelope): Promise<void> {
    if (this.#closed) throw new Error("Redis backplane is closed");
    const text = encodeBackplaneMessage({
      origin: this.instanceId,
      id: crypto.randomUUID(),
      envelope,
    });
    if (this.#outbox.length === 0 && this.#publisher.isReady) {
      try {
        await this.#send(text);
        return;
      } catch (error) {
        this.#log("warn", `Redis backplane publish failed, holding it: ${describe(error)}`);
      }
    }
    if (this.#closed) throw new Error("Redis backplane is closed");
    if (this.#outbox.length >= this.#settings.maxPending) {
      this.#counts.dropped++;
      throw new Error(
        `Redis backplane publish failed: ${this.#outbox.length} publications already wait for Redis`,
      );
    }
    this.#outbox.push(text);
    this.#counts.deferred++;
    this.#scheduleFlush(this.#retryDelayMs);
  }

  async #send(text: string): Promise<void> {
    try {
      const receivers = await this.#publisher.publish(this.channel, text);
      this.#lastReceivers = Number(receivers);
      this.#counts.published++;
    } catch (error) {
      this.#counts.publishErrors++;
      throw error;
    }
  }

  /** Arms one retry of the outbox after `delayMs` (a pending retry that is sooner wins). */
  #scheduleFlush(delayMs: number): void {
    if (this.#closed || this.#outbox.length === 0 || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#outbox.length > 0) {
          const { minMs, maxMs } = this.#settings.reconnect;
          this.#retryDelayMs = Math.min(maxMs, Math.max(minMs, this.#retryDelayMs * 2));
          this.#scheduleFlush(this.#retryDelayMs);
        } else {
          this.#retryDelayMs = 0;
        }
      });
    }, delayMs);
  }

  /** Sends held publications in order until the outbox is empty or a send fails. */
  async #flush(deadline = Infinity): Promise<void> {
    if (!this.#publisher.isReady) return;
    await this.#awaitSubscribers(
      Math.min(deadline, Date.now() + this.#settings.resubscribeGraceMs),
    );
    while (this.#outbox.length > 0 && this.#publisher.isReady && Date.now() < deadline) {
      try {
        await this.#send(this.#outbox[0]!);
      } catch (error) {
        this.#log("warn", `Redis backplane retry failed: ${describe(error)}`);
        return;
      }
      this.#outbox.shift();
    }
  }

  /**
   * Redis keeps no pub/sub history: a publication sent before another instance re-subscribed
   * after the same outage would never reach it. Wait (until `deadline`) for as many
   * subscribers as the last publication before the outage reached.
   */
  async #awaitSubscribers(deadline: number): Promise<void> {
    while (Date.now() < deadline && !this.#closed) {
      try {
        const counts = await this.#publisher.pubSubNumSub(this.channel);
        if (Number(counts[this.channel] ?? 0) >= this.#lastReceivers) return;
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Registers a handler for envelopes from other instances. The first call subscribes to the
   * channel; the promise resolves once Redis confirmed the subscription. A handler that throws
   * is logged and counted; the other handlers still run.
   *
   * @param handler Called once per envelope published by another instance.
   */
  async subscribe(handler: (envelope: Envelope) => void): Promise<void> {
    if (this.#closed) throw new Error("Redis backplane is closed");
    this.#handlers.push(handler);
    this.#subscribed ??= this.#subscriber.subscribe(
      this.channel,
      (text: string) => this.#onMessage(text),
    );
    await this.#subscribed;
    // A first estimate of the instances listening, for the wait after an outage.
    await this.#publisher.pubSubNumSub(this.channel).then((counts) => {
      this.#lastReceivers = Math.max(this.#lastReceivers, Number(counts[this.channel] ?? 0));
    }, () => {});
  }

  #onMessage(text: string): void {
    let origin: string;
    let id: string | null;
    let envelope: Envelope;
    try {
      ({ origin, id, envelope } = decodeBackplaneMessage(text));
    } catch (error) {
      this.#counts.malformed++;
      this.#log("warn", `Dropped a message on ${this.channel}: ${describe(error)}`);
      return;
    }
    if (origin === this.instanceId) {
      this.#counts.ignoredOwn++;
      return;
    }
    if (id !== null) {
      if (this.#seen.has(id)) {
        this.#counts.duplicates++;
        return;
      }
      this.#seen.add(id);
      if (this.#seen.size > this.#settings.dedupeWindow) {
        this.#seen.delete(this.#seen.values().next().value!);
      }
    }
    this.#counts.received++;
    for (const handler of this.#handlers) {
      try {
        handler(envelope);
      } catch (error) {
        this.#counts.handlerErrors++;
        this.#log("error", `Backplane handler failed: ${describe(error)}`);
      }
    }
  }

  /**
   * Sends what the outbox still holds (for at most `closeFlushMs`, and only if Redis is
   * reachable), then disconnects both connections. What is still held is lost: counted as
   * dropped and logged. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers = [];
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#flushing;
    if (this.#outbox.length > 0) await this.#flush(Date.now() + this.#settings.closeFlushMs);
    if (this.#outbox.length > 0) {
      this.#counts.dropped += this.#outbox.length;
      this.#log(
        "error",
        `Redis backplane closed with ${this.#outbox.length} publications not sent to the other instances`,
      );
      this.#outbox = [];
    }
    destroyQuietly(this.#subscriber);
    destroyQuietly(this.#publisher);
  }
}
