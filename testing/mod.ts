/**
 * Test infrastructure shared by every hubproof test suite: real backing services started and
 * stopped by the test itself, on free loopback ports.
 *
 * - {@linkcode ActingAuthority}: an OIDC authority the harness controls (discovery, JWKS, tokens
 *   with chosen claims and deliberate faults), for tests and the suite's `--act-as-authority`.
 * - {@linkcode spawnManaged}: a child process stopped by its PID, with its output kept for errors
 *   (the Redis launcher here and the Azurite launcher of `server/azurite/` use it).
 * - {@linkcode startRedis}: a `redis-server` without persistence, or a skip result when it is not
 *   installed (unless `HUBPROOF_REQUIRE_REDIS=1`).
 * - {@linkcode freePort}: a free loopback port for servers that cannot listen on port 0.
 * - {@linkcode serverSocketStates} and {@linkcode SilentPeer}: a server's sockets counted by TCP
 *   state, and a WebSocket peer that never reads or answers.
 * - {@linkcode RawHubClient} and {@linkcode rawHttp}: the tests' one hub client (every frame
 *   recorded) and a raw HTTP/1.1 client for upgrade requests `fetch` cannot send.
 * - {@linkcode until}: polling for a condition with a timeout that names what was awaited (the
 *   one polling helper of the tests).
 * - {@linkcode passwordForm}, {@linkcode postToken}, {@linkcode tokenRequest},
 *   {@linkcode passwordLogin}: the password grant as clients send it (the tests' one login helper).
 *
 * @module
 */

export {
  ActingAuthority,
  type ActingAuthorityOptions,
  type ListenOptions,
  type MintOptions,
  TOKEN_FAULTS,
  type TokenFault,
} from "./authority.ts";
export { type ManagedProcess, spawnManaged, type SpawnOptions } from "./child_process.ts";
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
export {
  type ServerSocketStates,
  serverSocketStates,
  SilentPeer,
  type SilentPeerOptions,
  UPGRADE_HEADERS,
} from "./tcp_peers.ts";
export { hasOpenssl, makeTestCert, type TestCert } from "./test_cert.ts";
export {
  type ConnectOptions,
  rawHttp,
  RawHubClient,
  rawMessagePack,
  type RawResponse,
  type RecordedFrame,
} from "./raw_hub_client.ts";
export {
  passwordForm,
  passwordLogin,
  postToken,
  type PostTokenOptions,
  tokenRequest,
} from "./password_grant.ts";
export { until, type UntilOptions } from "./until.ts";
