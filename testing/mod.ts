/**
 * Test infrastructure shared by every hubproof test suite: real backing services started and
 * stopped by the test itself, on free loopback ports.
 *
 * - {@linkcode startAzurite}: an in-memory Azurite queue service (`npm:azurite`), the same
 *   launcher `serve --mode cloud` uses (`server/azurite/`).
 * - {@linkcode startRedis}: a `redis-server` without persistence, or a skip result when it is not
 *   installed (unless `HUBPROOF_REQUIRE_REDIS=1`).
 * - {@linkcode freePort}: a free loopback port for servers that cannot listen on port 0.
 * - {@linkcode until}: polling for a condition with a timeout that names what was awaited.
 *
 * @module
 */

export {
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  AZURITE_SPECIFIER,
  azuriteConnectionString,
  type AzuriteOptions,
  type AzuriteQueue,
  startAzurite,
} from "../server/azurite/mod.ts";
export { freePort, type FreePortOptions } from "./free_port.ts";
export {
  type RedisOptions,
  redisRequired,
  redisSkipReason,
  type RedisStart,
  type RunningRedis,
  type SkippedRedis,
  startRedis,
} from "./redis.ts";
export { until, type UntilOptions } from "./until.ts";
