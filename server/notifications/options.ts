/**
 * Configuration of the Notifications service, and the one place it is validated and given its
 * defaults: {@linkcode resolveNotificationsOptions} turns the caller's options into the settings
 * the routes and the connection lifecycle read, or throws naming the option.
 *
 * @module
 */

import type { AuthOptions, TokenVerifier } from "../auth/mod.ts";
import type { CorsOrigins } from "./_http.ts";
import type { ConnectionLimitSettings } from "./connection_limits.ts";
import { defaultDeliveryRules, type DeliveryRules } from "./delivery_rules.ts";
import type { HubTimers } from "./hub_connection.ts";
import type { QueueConsumerOptions } from "./queue_consumer.ts";
import type { Backplane, Logger } from "./types.ts";

/** Timer settings in milliseconds; 0 disables a timer. */
export interface NotificationsTimers {
  /** Server Ping after this long without sending (default 15000). */
  readonly keepAliveMs?: number;
  /** Close after this long without a client message, once the client has sent one (default 30000). */
  readonly clientTimeoutMs?: number;
  /** Handshake deadline (default 15000). */
  readonly handshakeTimeoutMs?: number;
  /** `Heartbeat` invocation period on `/hub` (default 120000; first one at start). */
  readonly heartbeatMs?: number;
  /** Negotiated connection without transport / long poller without poll is dropped after (default 15000). */
  readonly negotiateTimeoutMs?: number;
  /** Long poll wait before an empty 200 (default 90000). */
  readonly longPollTimeoutMs?: number;
  /**
   * A server-initiated WebSocket close waits this long for the peer's Close, then the
   * connection is closed under it (default 5000, ASP.NET Core `WebSocketOptions.CloseTimeout`;
   * 0 waits for ever, which lets a peer that never answers keep its socket).
   */
  readonly closeTimeoutMs?: number;
}

/** Configuration of the Notifications service. */
export interface NotificationsOptions {
  /** Cloud mode refuses `/send` with 400 `Only allowed when self hosted.`. */
  readonly selfHosted: boolean;
  /** The service's installation id: connections join `Installation_` groups when set. */
  readonly installationId: string | null;
  /** Token verification (authority discovery, static JWKS or JWKS file). */
  readonly auth: AuthOptions;
  /**
   * A ready token verifier used instead of building one from `auth` (the hub and `/send`
   * policies still apply to its claims); the test tree's broken targets pass a faulty one.
   */
  readonly verifier?: TokenVerifier;
  /** Routing decisions (default {@linkcode defaultDeliveryRules}). */
  readonly rules?: DeliveryRules;
  /** Timers. */
  readonly timers?: NotificationsTimers;
  /** Largest incoming hub message in bytes (default 32768). */
  readonly maxMessageSize?: number;
  /** Bytes queued per connection before it is dropped as a slow consumer (default 1 MiB). */
  readonly sendBufferLimit?: number;
  /** Connection bounds checked before a transport starts (defaults in `connection_limits.ts`). */
  readonly limits?: ConnectionLimitSettings;
  /** Azure queue consumer settings (cloud flow); the service supplies `dispatch`. */
  readonly queue?: Omit<QueueConsumerOptions, "dispatch">;
  /** Scale-out backplane. */
  readonly backplane?: Backplane;
  /** Log sink (default: warnings and errors to stderr). */
  readonly log?: Logger;
  /**
   * Allowed CORS origins (default `file://` and `bw-desktop-file://bundle`, plus
   * `https://bitwarden.com` in cloud mode; `"*"` reflects any).
   */
  readonly corsOrigins?: CorsOrigins;
  /** Append exception details to hub error texts (ASP.NET `EnableDetailedErrors`; default false). */
  readonly detailedErrors?: boolean;
  /** Largest `/send` body in bytes (default 1 MiB). */
  readonly maxSendBodyBytes?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

/** Every timer, defaulted and checked. */
export interface ResolvedTimers extends HubTimers {
  /** `Heartbeat` period (0: none). */
  readonly heartbeatMs: number;
  /** Negotiated-but-unused and idle long-polling lifetime. */
  readonly negotiateTimeoutMs: number;
  /** Long poll wait. */
  readonly longPollTimeoutMs: number;
  /** Forced WebSocket close delay. */
  readonly closeTimeoutMs: number;
}

/** The options after defaults and validation: what the service's parts read. */
export interface ResolvedNotificationsOptions {
  /** As given. */
  readonly selfHosted: boolean;
  /** As given. */
  readonly installationId: string | null;
  /** Routing decisions. */
  readonly rules: DeliveryRules;
  /** Every timer. */
  readonly timers: ResolvedTimers;
  /** Largest incoming hub message in bytes. */
  readonly maxMessageSize: number;
  /** Per-connection send buffer in bytes. */
  readonly sendBufferLimit: number;
  /** Largest `/send` body in bytes. */
  readonly maxSendBodyBytes: number;
  /** Connection bounds (validated by `ConnectionLimits`). */
  readonly limits: ConnectionLimitSettings | undefined;
  /** Allowed CORS origins. */
  readonly corsOrigins: CorsOrigins;
  /** Hub error detail. */
  readonly detailedErrors: boolean;
  /** A log sink that never throws. */
  readonly log: Logger;
  /** Clock in milliseconds. */
  readonly now: () => number;
}

const DEFAULT_CORS: CorsOrigins = ["file://", "bw-desktop-file://bundle"];

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) {
    throw new RangeError(`Invalid option ${name}: expected a non-negative number, got ${v}`);
  }
  return v;
}

function resolveTimers(t: NotificationsTimers = {}): ResolvedTimers {
  return {
    keepAliveMs: nonNegative("timers.keepAliveMs", t.keepAliveMs, 15_000),
    clientTimeoutMs: nonNegative("timers.clientTimeoutMs", t.clientTimeoutMs, 30_000),
    handshakeTimeoutMs: nonNegative("timers.handshakeTimeoutMs", t.handshakeTimeoutMs, 15_000),
    heartbeatMs: nonNegative("timers.heartbeatMs", t.heartbeatMs, 120_000),
    negotiateTimeoutMs: nonNegative("timers.negotiateTimeoutMs", t.negotiateTimeoutMs, 15_000),
    longPollTimeoutMs: nonNegative("timers.longPollTimeoutMs", t.longPollTimeoutMs, 90_000),
    closeTimeoutMs: nonNegative("timers.closeTimeoutMs", t.closeTimeoutMs, 5_000),
  };
}

function defaultLog(level: string, message: string, fields?: Record<string, unknown>): void {
  if (level === "warn" || level === "error") {
    console.error(
      `[notifications] ${level}: ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`,
    );
  }
}

/**
 * A log sink that never throws: logging runs inside socket event handlers, where an exception
 * would terminate the process.
 */
function safeLogger(log: Logger): Logger {
  return (level, message, fields) => {
    try {
      log(level, message, fields);
    } catch {
      // A broken sink loses the line, not the service.
    }
  };
}

/**
 * Applies defaults and checks every numeric option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveNotificationsOptions } from "./options.ts";
 * const options = { selfHosted: true, installationId: null, auth: {} };
 * const resolved = resolveNotificationsOptions({ ...options, timers: { keepAliveMs: 0 } });
 * assert.equal(resolved.timers.keepAliveMs, 0);
 * assert.equal(resolved.timers.clientTimeoutMs, 30_000);
 * assert.throws(
 *   () => resolveNotificationsOptions({ ...options, maxMessageSize: -1 }),
 *   /Invalid option maxMessageSize/,
 * );
 * ```
 * @param options The caller's options.
 * @returns The resolved settings.
 * @throws {RangeError} naming the invalid option.
 */
export function resolveNotificationsOptions(
  options: NotificationsOptions,
): ResolvedNotificationsOptions {
  return {
    selfHosted: options.selfHosted,
    installationId: options.installationId,
    rules: options.rules ?? defaultDeliveryRules,
    timers: resolveTimers(options.timers),
    maxMessageSize: nonNegative("maxMessageSize", options.maxMessageSize, 32_768),
    sendBufferLimit: nonNegative("sendBufferLimit", options.sendBufferLimit, 1_048_576),
    maxSendBodyBytes: nonNegative("maxSendBodyBytes", options.maxSendBodyBytes, 1_048_576),
    limits: options.limits,
    // Bitwarden's IsCorsOriginAllowed adds https://bitwarden.com in the cloud only.
    corsOrigins: options.corsOrigins ??
      (options.selfHosted ? DEFAULT_CORS : [...DEFAULT_CORS, "https://bitwarden.com"]),
    detailedErrors: options.detailedErrors ?? false,
    log: safeLogger(options.log ?? defaultLog),
    now: options.now ?? (() => Date.now()),
  };
}
