/**
 * Private: one Notifications instance in its own process, for chaos tests that `kill -9` it.
 * Run as `deno run -A server/_chaos_instance.ts '<json>'` with a
 * {@linkcode ChaosInstanceConfig}; prints `chaos instance listening <url>` once it serves.
 *
 * @module
 */

import { RedisBackplane, serveNotifications } from "./notifications/mod.ts";

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
  const backplane = await RedisBackplane.connect({
    url: config.redisUrl,
    instanceName: "chaos",
    reconnect: { minMs: 20, maxMs: 200 },
    log: () => {},
  });
  const served = await serveNotifications({
    port: config.port,
    selfHosted: config.selfHosted,
    installationId: config.installationId,
    auth: { authority: config.authority },
    basePath: "/notifications",
    backplane,
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
