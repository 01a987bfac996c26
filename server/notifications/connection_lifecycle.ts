/**
 * The life of hub connections from transport start to close: admission against the connection
 * bounds, construction with the service's codecs and timers, joining the registry once the
 * handshake completes, timer ticks, counting and logging the close, and closing everything at
 * shutdown. The routes start connections through it; the dispatcher reads its registry.
 *
 * @module
 */

import type { ConnectionGroups, HubName } from "../../protocol/bitwarden/mod.ts";
import { DEFAULT_CODECS } from "./_hub_codec.ts";
import { ConnectionLimits, type ConnectionLimitSettings } from "./connection_limits.ts";
import { ConnectionRegistry } from "./connection_registry.ts";
import {
  type CloseReason,
  HubConnection,
  type HubTimers,
  type TransportSink,
} from "./hub_connection.ts";
import type { MetricFamily, MetricsProvider, NotificationsMetrics } from "./metrics.ts";
import type { Logger } from "./types.ts";

/** Construction options of {@linkcode ConnectionLifecycle}. */
export interface ConnectionLifecycleOptions {
  /** Keep-alive, client timeout and handshake deadline. */
  readonly timers: HubTimers;
  /** Largest incoming hub message in bytes. */
  readonly maxMessageSize: number;
  /** Append exception details to hub error texts. */
  readonly detailedErrors: boolean;
  /** Connection bounds (defaults in `connection_limits.ts`). */
  readonly limits?: ConnectionLimitSettings | undefined;
  /** Counters. */
  readonly metrics: NotificationsMetrics;
  /** Log sink (must not throw). */
  readonly log: Logger;
  /** Clock in milliseconds. */
  readonly now: () => number;
  /** Told after a connection closed and left the registry (the hub endpoint forgets its id). */
  readonly onClosed: (connection: HubConnection) => void;
}

/** What a hub endpoint knows when a transport starts. */
export interface ConnectionStart {
  /** Connection id (the negotiated one, if any). */
  readonly id: string;
  /** The hub. */
  readonly hub: HubName;
  /** Identity and groups, fixed for the connection's life. */
  readonly identity: ConnectionGroups;
  /** The transport. */
  readonly sink: TransportSink;
  /** The client's address, when the HTTP server told it. */
  readonly remoteIp: string | null;
}

/** Owns every live hub connection of one service. */
export class ConnectionLifecycle {
  /** Connections past the handshake, indexed by user and group. */
  readonly registry: ConnectionRegistry<HubConnection> = new ConnectionRegistry<HubConnection>();
  #options: ConnectionLifecycleOptions;
  #limits: ConnectionLimits<HubConnection>;
  #live = new Set<HubConnection>();
  #accepting = true;

  /**
   * Creates the lifecycle.
   *
   * @param options Timers, limits, metrics, log, clock and the close callback.
   * @throws {RangeError} for an invalid connection bound.
   */
  constructor(options: ConnectionLifecycleOptions) {
    this.#options = options;
    this.#limits = new ConnectionLimits(options.limits);
  }

  /** The connection bounds' own metric families. */
  get limits(): MetricsProvider {
    return this.#limits;
  }

  /**
   * Decides, before a transport starts, whether the bounds admit one more connection.
   *
   * @param identity The connection's identity.
   * @param remoteIp The client's address.
   * @returns The refusal response (JSON `message` and `reason`), or null to admit.
   */
  admit(identity: ConnectionGroups, remoteIp: string | null): Response | null {
    const refusal = this.#limits.admit(remoteIp, identity.userId);
    return refusal
      ? Response.json({ message: refusal.message, reason: refusal.reason }, {
        status: refusal.status,
      })
      : null;
  }

  /**
   * Builds a hub connection over a started transport. While the service shuts down the
   * connection is closed at once (no Close message: the transport just started).
   *
   * @param start Id, hub, identity, transport and address.
   * @returns The connection.
   */
  create(start: ConnectionStart): HubConnection {
    const { metrics } = this.#options;
    const connection = new HubConnection({
      id: start.id,
      hub: start.hub,
      identity: start.identity,
      transport: start.sink,
      codecs: DEFAULT_CODECS,
      maxMessageSize: this.#options.maxMessageSize,
      timers: this.#options.timers,
      detailedErrors: this.#options.detailedErrors,
      now: this.#options.now,
      onConnected: (c) => {
        this.#limits.connected(c);
        this.registry.add(c);
        metrics.connectionsOpened.inc({
          hub: c.hub,
          transport: c.transport.kind,
          protocol: c.protocol ?? "unknown",
        });
      },
      onClosed: (c, reason, detail) => this.#closed(c, reason, detail),
    });
    this.#live.add(connection);
    this.#limits.opened(connection, start.remoteIp, start.identity.userId);
    if (!this.#accepting) {
      connection.close({
        reason: "shutdown",
        detail: "Service is shutting down",
        sendClose: false,
      });
    }
    return connection;
  }

  #closed(connection: HubConnection, reason: CloseReason, detail: string): void {
    const { metrics } = this.#options;
    this.#live.delete(connection);
    this.#limits.closed(connection);
    this.registry.remove(connection);
    this.#options.onClosed(connection);
    metrics.connectionsClosed.inc({ hub: connection.hub, reason });
    if (reason === "slow-consumer") metrics.slowConsumersDropped.inc({ hub: connection.hub });
    const level =
      reason === "transport-closed" || reason === "client-close" || reason === "shutdown"
        ? "debug"
        : "info";
    this.#options.log(level, "Connection closed", {
      id: connection.id,
      hub: connection.hub,
      reason,
      detail,
    });
  }

  /**
   * Runs every live connection's timers.
   *
   * @param now Current time in milliseconds.
   */
  tick(now: number): void {
    for (const connection of [...this.#live]) connection.tick(now);
  }

  /** From now on, a connection that starts is closed at once (shutdown has begun). */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Closes every live connection with `allowReconnect: true` (service shutdown). */
  closeAll(): void {
    this.#accepting = false;
    for (const connection of [...this.#live]) {
      connection.close({
        reason: "shutdown",
        detail: "Service is shutting down",
        allowReconnect: true,
      });
    }
  }

  /**
   * The two connection gauges: open connections per hub, and transports not yet past the
   * handshake.
   *
   * @returns The families.
   */
  metricFamilies(): readonly MetricFamily[] {
    const { registry } = this;
    return [{
      name: "hubproof_notifications_connections",
      help: "Open hub connections (handshake completed), by hub",
      type: "gauge",
      samples: (["main", "anonymous"] as const).map((hub) => ({
        labels: { hub },
        value: registry.count(hub),
      })),
    }, {
      name: "hubproof_notifications_connections_pending",
      help: "Transport connections not yet past the handshake",
      type: "gauge",
      samples: [{
        value: this.#live.size - registry.count("main") - registry.count("anonymous"),
      }],
    }];
  }
}
