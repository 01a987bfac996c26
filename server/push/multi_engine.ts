/**
 * Fan-out to every configured engine, as `MultiServicePushNotificationService` does. Unlike the
 * real service in Release builds it awaits the engines (as its DEBUG build does), so an API
 * response is only sent once each engine has taken the push.
 *
 * @module
 */

import { consoleLogger, type Logger } from "../kernel/mod.ts";
import type { PushEngine, PushNotification } from "./types.ts";

/** Pushes to several engines. */
export class MultiPushEngine implements PushEngine {
  #engines: readonly PushEngine[];
  #log: Logger;

  /**
   * Creates the fan-out.
   *
   * @param engines The engines, in registration order.
   * @param options Logger.
   */
  constructor(engines: readonly PushEngine[], options: { log?: Logger } = {}) {
    this.#engines = engines;
    this.#log = options.log ?? consoleLogger("push");
  }

  /**
   * Pushes to every engine; one engine failing does not stop the others.
   *
   * @param notification The push request.
   */
  async push(notification: PushNotification): Promise<void> {
    if (this.#engines.length === 0) {
      this.#log("warn", "No services found to push notification");
      return;
    }
    const results = await Promise.allSettled(this.#engines.map((e) => e.push(notification)));
    for (const result of results) {
      if (result.status === "rejected") {
        this.#log(
          "error",
          `Push engine failed: ${(result.reason as Error)?.message ?? result.reason}`,
        );
      }
    }
  }

  /** Closes every engine. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#engines.map((e) => e.close?.()));
  }
}
