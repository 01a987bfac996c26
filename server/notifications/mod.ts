/**
 * The hubproof Notifications service: a SignalR server wire-compatible with Bitwarden's
 * Notifications (`/hub`, `/anonymous-hub`, `POST /send`, `/alive`, `/now`, plus `/metrics`),
 * with WebSockets, Server-Sent Events and Long Polling, JSON and MessagePack hub protocols,
 * jose-based JWT auth, the Azure queue consumer and a pluggable scale-out backplane.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveNotifications } from "./mod.ts";
 * // A static key set (an authority URL works the same way, fetched on the first token).
 * const served = await serveNotifications({
 *   selfHosted: true,
 *   installationId: null,
 *   auth: { jwks: { keys: [] }, issuer: "http://127.0.0.1:8080/identity" },
 *   prefix: "/notifications",
 *   log: () => {},
 * });
 * try {
 *   const alive = await fetch(`${served.url}/notifications/alive`);
 *   assert.equal(alive.status, 200);
 *   const hub = await fetch(`${served.url}/notifications/hub/negotiate`, { method: "POST" });
 *   assert.equal(hub.status, 401);
 *   await hub.body?.cancel();
 * } finally {
 *   await served.close();
 * }
 * ```
 *
 * @module
 */

export {
  createNotificationsService,
  type NotificationsOptions,
  type NotificationsService,
  type NotificationsTimers,
  type ServedNotifications,
  serveNotifications,
  type ServeNotificationsOptions,
} from "./service.ts";
export type {
  Backplane,
  DispatchFunction,
  DispatchResult,
  Logger,
  MessageSource,
} from "./types.ts";
export {
  anonymousGroupForToken,
  defaultDeliveryRules,
  type DeliveryRules,
} from "./delivery_rules.ts";
export {
  AuthError,
  type AuthOptions,
  createTokenVerifier,
  extractAccessToken,
  requireApplicationPolicy,
  requireInternalPolicy,
  type TokenVerifier,
} from "../auth/mod.ts";
export { ConnectionRegistry, type RegistryEntry } from "./connection_registry.ts";
export {
  type ConnectionLimitSettings,
  DEFAULT_CONNECTION_LIMITS,
  type Refusal,
  type RefusalReason,
} from "./connection_limits.ts";
export {
  LabelledCounter,
  type MetricFamily,
  type MetricSample,
  type MetricsProvider,
  NotificationsMetrics,
  renderPrometheus,
} from "./metrics.ts";
export {
  type QueueClock,
  QueueConsumer,
  type QueueConsumerMetrics,
  type QueueConsumerOptions,
  type QueueSettings,
  systemClock,
} from "./queue_consumer.ts";
export {
  RedisBackplane,
  type RedisBackplaneMetrics,
  type RedisBackplaneOptions,
} from "./redis_backplane.ts";
