/**
 * Scale-out over Redis pub/sub: every Notifications instance publishes the envelopes it
 * receives (from `/send` or the queue) on one channel and delivers the envelopes other instances
 * publish to its own connections. With the dispatcher delivering locally and publishing, and
 * delivering backplane envelopes locally only, each connection on every instance gets each
 * message exactly once, the anonymous hub included (what breaks in Vaultwarden #5795/#6305).
 *
 * Unlike ASP.NET Core's Redis backplane, which publishes per-target invocations with
 * pre-serialised hub messages, instances exchange whole envelopes and each routes them itself:
 * one publish per push, one channel, and no group bookkeeping across servers. As with SignalR,
 * nothing is buffered while Redis is unreachable: those publications fail (and are counted).
 *
 * @module
 */

import { createClient } from "redis";
import type { Envelope } from "../../protocol/bitwarden/types.ts";
import type { MetricFamily, MetricsProvider } from "./metrics.ts";
import type { Backplane, Logger } from "./types.ts";
import { decodeBackplaneMessage, encodeBackplaneMessage } from "./_redis_wire.ts";

/** Options of {@linkcode RedisBackplane.connect}. */
export interface RedisBackplaneOptions {
  /** `redis://[[user]:password@]host[:port][/db]` (or `rediss://`). */
  readonly url: string;
  /** Channel prefix; instances share deliveries only with the same prefix (default `hubproof`). */
  readonly channelPrefix?: string;
  /** This instance's id, unique among the instances (default: a random UUID). */
  readonly instanceId?: string;
  /** How long the first connection may take, in ms, before `connect` fails (default 5,000). */
  readonly connectTimeoutMs?: number;
  /** Reconnect delay after a lost connection: doubling from `minMs` to `maxMs` (default 50..2000). */
  readonly reconnect?: { readonly minMs: number; readonly maxMs: number };
  /** Log sink (default: warnings and errors to `console.error`). */
  readonly log?: Logger;
}

/** Counters of a {@linkcode RedisBackplane}. */
export interface RedisBackplaneMetrics {
  /** Envelopes published. */
  readonly published: number;
  /** Publications that failed (Redis unreachable or the command failed). */
  readonly publishErrors: number;
  /** Envelopes received from other instances. */
  readonly received: number;
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

type Counter = Exclude<keyof RedisBackplaneMetrics, "connected">;
type Client = ReturnType<typeof createClient>;

const defaultLog: Logger = (level, message) => {
  if (level === "warn" || level === "error") console.error(`[backplane] ${level}: ${message}`);
};

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
  #counts: Record<Counter, number> = {
    published: 0,
    publishErrors: 0,
    received: 0,
    ignoredOwn: 0,
    malformed: 0,
    handlerErrors: 0,
    connectionErrors: 0,
    reconnects: 0,
  };

  private constructor(
    publisher: Client,
    subscriber: Client,
    instanceId: string,
    channel: string,
    log: Logger,
  ) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.instanceId = instanceId;
    this.channel = channel;
    this.#log = log;
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
    const prefix = options.channelPrefix ?? "hubproof";
    const backplane = new RedisBackplane(
      publisher,
      subscriber,
      options.instanceId ?? crypto.randomUUID(),
      `${prefix}:notifications:envelopes`,
      log,
    );
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
      counter("publish_errors_total", "Envelopes that could not be published", c.publishErrors),
      counter("received_total", "Envelopes received from other instances", c.received),
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
   * Publishes an envelope to the other instances.
   *
   * @param envelope The envelope (as received by this instance).
   * @throws {Error} When Redis is unreachable or the command fails (nothing is queued for later).
   */
  async publish(envelope: Envelope): Promise<void> {
    if (this.#closed) throw new Error("Redis backplane is closed");
    try {
      await this.#publisher.publish(
        this.channel,
        encodeBackplaneMessage({ origin: this.instanceId, envelope }),
      );
      this.#counts.published++;
    } catch (error) {
      this.#counts.publishErrors++;
      throw new Error(`Redis backplane publish failed: ${describe(error)}`, { cause: error });
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
  }

  #onMessage(text: string): void {
    let origin: string;
    let envelope: Envelope;
    try {
      ({ origin, envelope } = decodeBackplaneMessage(text));
    } catch (error) {
      this.#counts.malformed++;
      this.#log("warn", `Dropped a message on ${this.channel}: ${describe(error)}`);
      return;
    }
    if (origin === this.instanceId) {
      this.#counts.ignoredOwn++;
      return;
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

  /** Disconnects both connections; pending publications are rejected. Safe to call twice. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#handlers = [];
      destroyQuietly(this.#subscriber);
      destroyQuietly(this.#publisher);
    }
    return Promise.resolve();
  }
}
