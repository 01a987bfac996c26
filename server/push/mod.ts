/**
 * Push engines: the API's side of both transports (Azure queue for cloud, Notifications
 * `/send` for self-hosted) and their fan-out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InternalTokenSource, MultiPushEngine, NotificationsApiPushEngine } from "./mod.ts";
 * const send = new NotificationsApiPushEngine({
 *   notificationsUrl: "http://127.0.0.1:8080/notifications",
 *   tokens: new InternalTokenSource({
 *     identityUrl: "http://127.0.0.1:8080/identity",
 *     clientId: "internal.Api",
 *     clientSecret: "key",
 *   }),
 *   log: () => {},
 * });
 * const engine = new MultiPushEngine([send], { log: () => {} });
 * // Nothing is sent until a push arrives; closing an idle engine loses nothing.
 * assert.equal(send.stats.pending, 0);
 * await engine.close();
 * ```
 *
 * @module
 */

export {
  contextIdOf,
  type NotificationTarget,
  type PushEngine,
  type PushNotification,
} from "./types.ts";
export { AzureQueuePushEngine, type AzureQueuePushEngineOptions } from "./azure_queue_engine.ts";
export {
  NotificationsApiPushEngine,
  type NotificationsApiPushEngineOptions,
  type OutboxStats,
} from "./notifications_api_engine.ts";
export {
  InternalTokenSource,
  type InternalTokenSourceOptions,
  TokenSourceError,
} from "./internal_token_source.ts";
export { MultiPushEngine } from "./multi_engine.ts";
