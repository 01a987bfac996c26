/**
 * The API's push request and the engine interface (`PushNotification<T>` and `IPushEngine`
 * of the real server, research bitwarden-server.md §1.1-§1.2).
 *
 * @module
 */

import type { JsonValue } from "../../protocol/bitwarden/mod.ts";

/** `NotificationTarget`: who a push is for. Not put on the SignalR-path wire. */
export type NotificationTarget = "user" | "organization" | "installation";

/** One push request, as the API raises it. */
export interface PushNotification {
  /** PushType number. */
  readonly type: number;
  /** Target kind. */
  readonly target: NotificationTarget;
  /** Id of the user, organization or installation. */
  readonly targetId: string;
  /** Payload model with PascalCase keys in declaration order; dates as ISO 8601 strings. */
  readonly payload: { readonly [key: string]: JsonValue };
  /** Whether the acting device is named as `ContextId` so it can drop its own echo. */
  readonly excludeCurrentContext: boolean;
  /**
   * The acting device identifier (the token's `device` claim, else the `Device-Identifier`
   * header); only used when `excludeCurrentContext` is true.
   */
  readonly deviceIdentifier?: string | null;
  /** ClientType, or undefined for All. */
  readonly clientType?: number;
}

/** A push engine: delivers one notification towards the hubs. */
export interface PushEngine {
  /**
   * Pushes a notification. Resolves once the engine has taken it (enqueued, sent or put in
   * its outbox); delivery failures are logged and counted, never thrown at the API.
   *
   * @param notification The push request.
   */
  push(notification: PushNotification): Promise<void>;
  /** Stops background work and releases resources. */
  close?(): Promise<void>;
}

/**
 * The `ContextId` of a push: the acting device when the current context is excluded, else null.
 *
 * @example
 * ```ts
 * import { contextIdOf } from "./types.ts";
 * console.assert(contextIdOf({ type: 7, target: "user", targetId: "u", payload: {},
 *   excludeCurrentContext: true, deviceIdentifier: "dev" }) === "dev");
 * ```
 * @param notification The push request.
 * @returns The context id or null.
 */
export function contextIdOf(notification: PushNotification): string | null {
  if (!notification.excludeCurrentContext) return null;
  const id = notification.deviceIdentifier;
  return id === undefined || id === null || id === "" ? null : id;
}
