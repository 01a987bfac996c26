/**
 * Private: what every API route module receives, and small shared helpers.
 *
 * @module
 */

import type { Logger } from "../kernel/log.ts";
import type { PushNotification } from "../push/types.ts";
import type { Authenticator, UserContext } from "./context.ts";
import { notFound } from "../kernel/http.ts";
import type { MemoryStore } from "../kernel/store.ts";
import { isGuid } from "../kernel/validation.ts";

/** Dependencies of the API route modules. */
export interface ApiDeps {
  /** The store. */
  readonly store: MemoryStore;
  /** Authenticator. */
  readonly auth: Authenticator;
  /** Push sink (the engine's `push`). */
  readonly push: (notification: PushNotification) => Promise<void>;
  /** Clock. */
  readonly now: () => Date;
  /** Installation id (global notifications). */
  readonly installationId: string;
  /** Self-hosted deployment. */
  readonly selfHosted: boolean;
  /** Logger. */
  readonly log: Logger;
}

/**
 * Reads a GUID route parameter; anything else is a 404 (the real server answers 500 for
 * string ids it parses with `new Guid(id)`; hubproof never answers 500 for bad input).
 *
 * @param value The parameter.
 * @returns The lowercase GUID.
 */
export function guidParam(value: string | undefined): string {
  if (!isGuid(value)) throw notFound();
  return value.toLowerCase();
}

/**
 * Push of a user-targeted change that excludes the acting device.
 *
 * @param ctx The caller.
 * @param type PushType.
 * @param payload The payload.
 * @returns The push request.
 */
export function userPush(
  ctx: UserContext,
  type: number,
  payload: PushNotification["payload"],
): PushNotification {
  return {
    type,
    target: "user",
    targetId: ctx.user.id,
    payload,
    excludeCurrentContext: true,
    deviceIdentifier: ctx.deviceIdentifier,
  };
}

/**
 * ISO 8601 text of a date, as payloads carry it.
 *
 * @param date The date.
 * @returns The text.
 */
export function iso(date: Date): string {
  return date.toISOString();
}
