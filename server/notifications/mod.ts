/**
 * The hubproof Notifications service: a SignalR server wire-compatible with Bitwarden's
 * Notifications (`/hub`, `/anonymous-hub`, `POST /send`, `/alive`, `/now`, plus `/metrics`),
 * with WebSockets, Server-Sent Events and Long Polling, JSON and MessagePack hub protocols,
 * jose-based JWT auth, the Azure queue consumer and a pluggable scale-out backplane.
 *
 * @example
 * ```ts ignore
 * import { serveNotifications } from "./mod.ts";
 * const served = await serveNotifications({
 *   selfHosted: true,
 *   installationId: null,
 *   auth: { authority: "http://127.0.0.1:33656" },
 * });
 * console.log(served.url);
 * await served.close();
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
