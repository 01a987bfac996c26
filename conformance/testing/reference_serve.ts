/**
 * The full reference deployment (`deno task serve`: identity, API and Notifications on one port,
 * or a Notifications-only instance) started in-process on a free port for the suite's
 * self-tests, with short timers, and the {@linkcode ResolvedTarget} that points the suite at it.
 *
 * @module
 */

import { parseServeConfig, type RunningServe, startServe } from "../../server/mod.ts";
import { resolveTarget, type TargetInput } from "../target.ts";
import type { ResolvedTarget } from "../types.ts";

/** The internal key every self-test deployment uses. */
export const SELFTEST_INTERNAL_KEY = "conformance-selftest-internal-key";

/**
 * Starts a deployment with `deno task serve` flags (plus `--port 0`, the internal key and a
 * fixed installation id unless given), logging nothing.
 *
 * @param args Extra serve flags (`--mode cloud`, `--role notifications`, `--redis URL`, ...).
 * @returns The running deployment; `stop()` it in `finally`.
 */
export function startReferenceServe(args: readonly string[] = []): Promise<RunningServe> {
  const config = parseServeConfig([
    "--port",
    "0",
    "--internal-key",
    SELFTEST_INTERNAL_KEY,
    ...args,
  ]);
  return startServe(config, {
    log: () => {},
    secretIterations: 1000,
    backoff: { minMs: 20, maxMs: 200 },
    queueIdleWait: { minMs: 20, maxMs: 100 },
    notificationsTimers: { keepAliveMs: 1000, heartbeatMs: 3000, handshakeTimeoutMs: 5000 },
  });
}

/**
 * The target description of a running deployment, as `--target URL` plus the given flags would
 * resolve it (installation id taken from the deployment).
 *
 * @param serve The running deployment.
 * @param input More target flags (`inject`, `internalKey`, `scaleoutHubUrl`, ...).
 * @returns The resolved target.
 */
export function serveTarget(serve: RunningServe, input: TargetInput = {}): ResolvedTarget {
  return resolveTarget({
    target: serve.url,
    installationId: serve.config.installationId,
    ...input,
  });
}
