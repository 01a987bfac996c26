/**
 * Operator-set bounds on hub connections, checked before a transport starts (before the
 * WebSocket upgrade, the SSE stream or the first long poll): connections not yet past the
 * handshake per remote IP and in total, connections per user, and connections in total. A
 * request over a bound gets 429 (one client or user asks for too much) or 503 (the service is
 * full) with a JSON `{ message, reason }`, and the refusal is counted.
 *
 * @module
 */

import { integerInRange } from "../../config/mod.ts";
import type { MetricFamily } from "./metrics.ts";
import { LabelledCounter } from "./metrics.ts";

/** The bounds; 0 means unbounded. */
export interface ConnectionLimitSettings {
  /** Connections not yet past the handshake from one remote IP (default 256). */
  readonly maxPendingPerIp?: number;
  /** Connections not yet past the handshake in total (default 2048). */
  readonly maxPending?: number;
  /** Connections of one user (`sub`), pending or connected (default 128). */
  readonly maxConnectionsPerUser?: number;
  /** Connections in total, pending or connected (default 16384; keep it under `ulimit -n`). */
  readonly maxConnections?: number;
}

/** Why a connection was refused; the `reason` label and JSON field. */
export type RefusalReason =
  | "too-many-pending-per-ip"
  | "too-many-pending"
  | "too-many-connections-per-user"
  | "too-many-connections";

/** A refusal: status, reason and message. */
export interface Refusal {
  /** 429 for one client or user over its share, 503 when the service is full. */
  readonly status: 429 | 503;
  /** Machine-readable reason. */
  readonly reason: RefusalReason;
  /** Human-readable message naming the bound. */
  readonly message: string;
}

/** Default bounds. */
export const DEFAULT_CONNECTION_LIMITS: Required<ConnectionLimitSettings> = {
  maxPendingPerIp: 256,
  maxPending: 2048,
  maxConnectionsPerUser: 128,
  maxConnections: 16_384,
};

interface Tracked {
  readonly ip: string | null;
  readonly userId: string | null;
  pending: boolean;
}

function validated(settings: ConnectionLimitSettings): Required<ConnectionLimitSettings> {
  const out = { ...DEFAULT_CONNECTION_LIMITS };
  for (const key of Object.keys(out) as (keyof ConnectionLimitSettings)[]) {
    out[key] = integerInRange(`option limits.${key}`, settings[key] ?? out[key], {
      min: 0,
      expected: "a non-negative integer (0 for no bound)",
    });
  }
  return out;
}

function increment(map: Map<string, number>, key: string, by: number): void {
  const next = (map.get(key) ?? 0) + by;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

/**
 * Counts live connections by remote IP, user and state, and admits or refuses new ones.
 *
 * @example
 * ```ts
 * import { ConnectionLimits } from "./connection_limits.ts";
 *
 * const limits = new ConnectionLimits<object>({ maxConnectionsPerUser: 1 });
 * const first = {};
 * console.assert(limits.admit("10.0.0.1", "u1") === null);
 * limits.opened(first, "10.0.0.1", "u1");
 * console.assert(limits.admit("10.0.0.2", "u1")?.status === 429);
 * limits.closed(first);
 * console.assert(limits.admit("10.0.0.2", "u1") === null);
 * ```
 */
export class ConnectionLimits<C extends object> {
  /** The bounds in force (defaults filled in). */
  readonly settings: Required<ConnectionLimitSettings>;
  #tracked = new Map<C, Tracked>();
  #pendingByIp = new Map<string, number>();
  #byUser = new Map<string, number>();
  #pending = 0;
  #refused = new LabelledCounter(
    "hubproof_notifications_connections_refused_total",
    "Transport starts refused before the upgrade by a connection bound, by reason",
  );

  /**
   * Creates the counters.
   *
   * @param settings The bounds (defaults for the ones left out).
   * @throws {RangeError} naming the bound that is not a non-negative integer.
   */
  constructor(settings: ConnectionLimitSettings = {}) {
    this.settings = validated(settings);
  }

  /**
   * Decides whether a new connection may start; counts the refusal when not.
   *
   * @param ip The remote IP (null when unknown: no per-IP bound applies).
   * @param userId The user (null on the anonymous hub: no per-user bound applies).
   * @returns null to admit, or the refusal.
   */
  admit(ip: string | null, userId: string | null): Refusal | null {
    const refusal = this.#check(ip, userId);
    if (refusal) this.#refused.inc({ reason: refusal.reason });
    return refusal;
  }

  #check(ip: string | null, userId: string | null): Refusal | null {
    const s = this.settings;
    if (
      ip !== null && s.maxPendingPerIp > 0 && (this.#pendingByIp.get(ip) ?? 0) >= s.maxPendingPerIp
    ) {
      return {
        status: 429,
        reason: "too-many-pending-per-ip",
        message:
          `Too many connections from ${ip} not yet past the handshake (limits.maxPendingPerIp ${s.maxPendingPerIp})`,
      };
    }
    if (s.maxPending > 0 && this.#pending >= s.maxPending) {
      return {
        status: 503,
        reason: "too-many-pending",
        message:
          `Too many connections not yet past the handshake (limits.maxPending ${s.maxPending})`,
      };
    }
    if (
      userId !== null && s.maxConnectionsPerUser > 0 &&
      (this.#byUser.get(userId) ?? 0) >= s.maxConnectionsPerUser
    ) {
      return {
        status: 429,
        reason: "too-many-connections-per-user",
        message:
          `Too many connections for this user (limits.maxConnectionsPerUser ${s.maxConnectionsPerUser})`,
      };
    }
    if (s.maxConnections > 0 && this.#tracked.size >= s.maxConnections) {
      return {
        status: 503,
        reason: "too-many-connections",
        message: `Too many connections (limits.maxConnections ${s.maxConnections})`,
      };
    }
    return null;
  }

  /**
   * Starts counting a connection (pending until {@linkcode ConnectionLimits.connected}).
   *
   * @param connection The connection.
   * @param ip Its remote IP.
   * @param userId Its user.
   */
  opened(connection: C, ip: string | null, userId: string | null): void {
    if (this.#tracked.has(connection)) return;
    this.#tracked.set(connection, { ip, userId, pending: true });
    this.#pending++;
    if (ip !== null) increment(this.#pendingByIp, ip, 1);
    if (userId !== null) increment(this.#byUser, userId, 1);
  }

  /**
   * Records that a connection completed its handshake.
   *
   * @param connection The connection.
   */
  connected(connection: C): void {
    const entry = this.#tracked.get(connection);
    if (!entry?.pending) return;
    entry.pending = false;
    this.#pending--;
    if (entry.ip !== null) increment(this.#pendingByIp, entry.ip, -1);
  }

  /**
   * Stops counting a connection. Idempotent.
   *
   * @param connection The connection.
   */
  closed(connection: C): void {
    const entry = this.#tracked.get(connection);
    if (!entry) return;
    this.connected(connection);
    this.#tracked.delete(connection);
    if (entry.userId !== null) increment(this.#byUser, entry.userId, -1);
  }

  /**
   * Gauges of the counted connections, the bounds and the refusal counter.
   *
   * @returns The families.
   */
  metricFamilies(): MetricFamily[] {
    return [
      {
        name: "hubproof_notifications_connection_limit",
        help: "Connection bounds in force (0: unbounded), by bound",
        type: "gauge",
        samples: Object.entries(this.settings).map(([bound, value]) => ({
          labels: { bound },
          value,
        })),
      },
      {
        name: "hubproof_notifications_connections_tracked",
        help: "Connections counted against the bounds, pending or connected",
        type: "gauge",
        samples: [{ value: this.#tracked.size }],
      },
      this.#refused.family(),
    ];
  }

  /**
   * Refusals so far for one reason.
   *
   * @param reason The reason.
   * @returns The count.
   */
  refusals(reason: RefusalReason): number {
    return this.#refused.get({ reason });
  }
}
