/**
 * A real Redis server (no persistence, loopback only) as a subprocess of the test that needs
 * it. When `redis-server` is not installed the helper returns a skip result with a clear reason,
 * unless Redis is required (`HUBPROOF_REQUIRE_REDIS=1`, set in CI), in which case it throws.
 *
 * @module
 */

import { freePort } from "./free_port.ts";
import { spawnManaged } from "./child_process.ts";

const READY = /Ready to accept connections/;
const ADDRESS_IN_USE = /Address already in use/i;

/** Options of {@linkcode startRedis}. */
export interface RedisOptions {
  /** Port to listen on (default: a free port). A given port is not retried when taken. */
  readonly port?: number;
  /** The `redis-server` executable (default: looked up on PATH). */
  readonly executable?: string;
  /**
   * Throw instead of skipping when `redis-server` is missing (default: true when the
   * environment variable `HUBPROOF_REQUIRE_REDIS` is `1`).
   */
  readonly required?: boolean;
  /** How long to wait for Redis to accept connections, in ms (default 10,000). */
  readonly readyTimeoutMs?: number;
}

/** A running Redis server. */
export interface RunningRedis {
  /** Discriminant. */
  readonly status: "started";
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Port it listens on. */
  readonly port: number;
  /** OS process id. */
  readonly pid: number;
  /** Kills the process by PID and awaits its exit. */
  stop(): Promise<void>;
}

/** Redis is not installed and not required: the caller skips its Redis tests. */
export interface SkippedRedis {
  /** Discriminant. */
  readonly status: "skipped";
  /** Why, for the test output. */
  readonly reason: string;
}

/** Result of {@linkcode startRedis}. */
export type RedisStart = RunningRedis | SkippedRedis;

/**
 * Whether Redis tests must run rather than skip: `HUBPROOF_REQUIRE_REDIS=1`.
 *
 * @returns True when the environment requires Redis.
 */
export function redisRequired(): boolean {
  return Deno.env.get("HUBPROOF_REQUIRE_REDIS") === "1";
}

/**
 * Why Redis tests must be skipped, or null when they must run: `redis-server` answers
 * `--version`, or Redis is required (then the tests run and fail with a clear message). Use it
 * for `Deno.test({ ignore })` so skipped tests show as ignored, not as passed.
 *
 * @param options Executable and whether Redis is required.
 * @returns The skip reason, or null.
 *
 * @example
 * ```ts
 * import { redisSkipReason } from "./redis.ts";
 *
 * const skip = await redisSkipReason();
 * if (skip) console.warn(skip);
 * Deno.test({ name: "needs Redis", ignore: skip !== null, fn: async () => {} });
 * ```
 */
export async function redisSkipReason(
  options: Pick<RedisOptions, "executable" | "required"> = {},
): Promise<string | null> {
  if (options.required ?? redisRequired()) return null;
  const executable = options.executable ?? "redis-server";
  try {
    const { success } = await new Deno.Command(executable, {
      args: ["--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    if (success) return null;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return missingReason(executable);
}

function missingReason(executable: string): string {
  return `Redis tests skipped: ${executable} not found on PATH ` +
    "(install the redis-server package, or set HUBPROOF_REQUIRE_REDIS=1 to fail instead)";
}

/**
 * Starts `redis-server --port <free> --bind 127.0.0.1 --save '' --appendonly no` and waits
 * until it accepts connections. Always `stop()` a started server (in a `finally`).
 *
 * @param options Port, executable, whether Redis is required, readiness timeout.
 * @returns The running server, or a skip result when `redis-server` is missing and not required.
 * @throws {Error} When Redis is required but missing, or fails to start.
 *
 * @example
 * ```ts
 * import { startRedis } from "./redis.ts";
 *
 * const redis = await startRedis();
 * if (redis.status === "skipped") {
 *   console.log(redis.reason);
 * } else {
 *   try {
 *     console.log(redis.url);
 *   } finally {
 *     await redis.stop();
 *   }
 * }
 * ```
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisStart> {
  const executable = options.executable ?? "redis-server";
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? freePort();
    let child;
    try {
      child = spawnManaged(executable, {
        name: "redis-server",
        args: [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
        ],
      });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      if (options.required ?? redisRequired()) {
        throw new Error(
          `Redis is required (HUBPROOF_REQUIRE_REDIS=1) but ${executable} was not found on PATH`,
        );
      }
      return { status: "skipped", reason: missingReason(executable) };
    }
    try {
      await child.waitFor(READY, options.readyTimeoutMs ?? 10_000);
      return {
        status: "started",
        url: `redis://127.0.0.1:${port}`,
        port,
        pid: child.pid,
        stop: child.stop,
      };
    } catch (error) {
      await child.stop();
      lastError = error;
      // Another process took the probed port between the probe and the bind: probe again.
      if (!ADDRESS_IN_USE.test(child.output())) break;
    }
  }
  throw lastError;
}
