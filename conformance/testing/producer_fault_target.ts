/**
 * A full reference deployment (identity, API, Notifications in one process) whose API has one
 * producer fault: the routes of the given rules push something else or nothing (a member revoke
 * that forgets its SyncOrgKeys). The suite reaches it with `--inject api`; only the API answers
 * from a second port, with the faulty rules, over the deployment's own store and push engine.
 * Test tree only: what the mutation audit's producer mutants run against.
 *
 * @module
 */

import { createApiService } from "../../server/api/mod.ts";
import { createTokenVerifier } from "../../server/auth/mod.ts";
import { stripPrefix } from "../../server/kernel/mod.ts";
import type { ResolvedTarget } from "../types.ts";
import { SELFTEST_INTERNAL_KEY, serveTarget, startReferenceServe } from "./reference_serve.ts";
import { type RoutePushRule, routePushRules } from "./_route_push_rules.ts";

/** A running producer-fault deployment. */
export interface RunningProducerFault {
  /** The target (`--inject api`, the faulty API as `--api-url`). */
  readonly target: ResolvedTarget;
  /** Stops the faulty API and the deployment. */
  close(): Promise<void>;
}

/**
 * Starts the deployment with the faulty API on free loopback ports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startProducerFaultTarget } from "./producer_fault_target.ts";
 * const faulty = await startProducerFaultTarget([
 *   { method: "PUT", path: /\/revoke$/, push: () => null },
 * ]);
 * try {
 *   // The faulty API checks tokens as the reference one does.
 *   const answer = await fetch(`${faulty.target.apiUrl}/sync`);
 *   assert.equal(answer.status, 401);
 *   await answer.body?.cancel();
 * } finally {
 *   await faulty.close();
 * }
 * ```
 * @param rules The routes that push wrongly.
 * @returns The running deployment; `close()` it in `finally`.
 */
export async function startProducerFaultTarget(
  rules: readonly RoutePushRule[],
): Promise<RunningProducerFault> {
  const serve = await startReferenceServe();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    const pushes = routePushRules(serve.engine!, rules);
    const api = createApiService({
      store: serve.store!,
      verify: await createTokenVerifier({ authority: `${serve.url}/identity` }),
      engine: pushes.engine,
      installationId: serve.config.installationId,
      selfHosted: true,
      log: () => {},
    });
    server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const path = stripPrefix(new URL(request.url).pathname, "/api");
      if (path === null) return Response.json({ message: "Not found" }, { status: 404 });
      return pushes.around(request.method, path, () => api.fetch(request, path));
    });
    const target = serveTarget(serve, {
      inject: "api",
      internalKey: SELFTEST_INTERNAL_KEY,
      apiUrl: `http://127.0.0.1:${server.addr.port}/api`,
    });
    const running = server;
    return {
      target,
      async close() {
        await running.shutdown();
        await serve.stop();
      },
    };
  } catch (error) {
    await server?.shutdown();
    await serve.stop();
    throw error;
  }
}
