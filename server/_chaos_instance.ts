/**
 * Private: one Notifications instance in its own process, for chaos tests that `kill -9` it.
 * Run as `deno run -A server/_chaos_instance.ts '<json>'` with a
 * {@linkcode ChaosInstanceConfig}; prints `chaos instance listening <url>` once it serves.
 *
 * @module
 */

import { type Backplane, RedisBackplane, serveNotifications } from "./notifications/mod.ts";

/** What the instance serves with. */
export interface ChaosInstanceConfig {
  /** Port (the same one across restarts). */
  readonly port: number;
  /** Identity authority the instance trusts. */
  readonly authority: string;
  /** Redis backplane URL. */
  readonly redisUrl: string;
  /** Self-hosted (`/send`) or cloud (queue). */
  readonly selfHosted: boolean;
  /** Installation id. */
  readonly installationId: string;
  /**
   * Each publication waits this long first (ms, default 0): a slow instance, so that a kill
   * lands inside a queue batch (received, partly dispatched, not deleted).
   */
  readonly publishDelayMs?: number;
  /** Azure queue (cloud). */
  readonly queue?: {
    readonly connectionString: string;
    readonly visibilityTimeoutSeconds: number;
  };
}

/** The line the instance prints once it serves. */
export const CHAOS_READY = /chaos instance listening (http:\/\/\S+)/;

if (import.meta.main) {
  const config = JSON.parse(Deno.args[0] ?? "{}") as ChaosInstanceConfig;
  const redis = await RedisBackplane.connect({
    url: config.redisUrl,
    instanceName: "chaos",
    reconnect: { minMs: 20, maxMs: 200 },
    log: () => {},
  });
  const delayMs = config.publishDelayMs ?? 0;
  const slowed: Backplane = delayMs === 0 ? redis : {
    publish: async (envelope) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await redis.publish(envelope);
    },
    subscribe: (handler) => redis.subscribe(handler),
    close: () => redis.close(),
  };
  const served = await serveNotifications({
    port: config.port,
    selfHosted: config.selfHosted,
    installationId: config.installationId,
    auth: { authority: config.authority },
    prefix: "/notifications",
    backplane: slowed,
    log: () => {},
    ...(config.queue
      ? {
        queue: {
          connectionString: config.queue.connectionString,
          visibilityTimeoutSeconds: config.queue.visibilityTimeoutSeconds,
          idleWait: { minMs: 10, maxMs: 50 },
        },
      }
      : {}),
  });
  console.log(`chaos instance listening ${served.url}`);
}
