/**
 * Per-route changes to what the reference API pushes, for test targets that must push what
 * another server (or a faulty one) would: a route rule rewrites or drops the pushes made while a
 * request of its route runs. The rule travels with the request (`AsyncLocalStorage`), so
 * concurrent requests of other routes keep their pushes. Test tree only.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type { PushEngine, PushNotification } from "../../server/push/mod.ts";

/** One API route whose pushes change. */
export interface RoutePushRule {
  /** HTTP method. */
  readonly method: string;
  /** API path below `/api` (`/organizations/{id}/users/{id}/revoke`). */
  readonly path: RegExp;
  /** The push the route makes instead of `n` (`path`: the request's), or null for none. */
  readonly push: (n: PushNotification, path: string) => PushNotification | null;
}

/** An engine that applies route rules, and the wrapper requests run through. */
export interface RoutePushRules {
  /** The engine to give the API: the inner engine, rules applied. */
  readonly engine: PushEngine;
  /**
   * Runs one API request with the rule of its route, if any.
   *
   * @param method The request's method.
   * @param path Its path below `/api`.
   * @param call The API call.
   * @returns The call's answer.
   */
  around<T>(method: string, path: string, call: () => Promise<T>): Promise<T>;
}

/**
 * Wraps an engine with route rules.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { routePushRules } from "./_route_push_rules.ts";
 * const pushed: number[] = [];
 * const rules = routePushRules({ push: (n) => Promise.resolve(void pushed.push(n.type)) }, [
 *   { method: "PUT", path: /\/revoke$/, push: () => null },
 * ]);
 * const n = { type: 6, target: "user", targetId: "u", payload: {}, excludeCurrentContext: false } as const;
 * await rules.around("PUT", "/organizations/o/users/m/revoke", () => rules.engine.push(n));
 * await rules.around("PUT", "/organizations/o/users/m/restore", () => rules.engine.push(n));
 * assert.deepEqual(pushed, [6]);
 * ```
 * @param inner The engine pushes go to.
 * @param rules The route rules (first match wins).
 * @returns The engine and the request wrapper.
 */
export function routePushRules(
  inner: PushEngine,
  rules: readonly RoutePushRule[],
): RoutePushRules {
  const current = new AsyncLocalStorage<{ rule: RoutePushRule; path: string }>();
  return {
    engine: {
      push(n) {
        const request = current.getStore();
        if (request === undefined) return inner.push(n);
        const changed = request.rule.push(n, request.path);
        return changed === null ? Promise.resolve() : inner.push(changed);
      },
      close: () => inner.close?.() ?? Promise.resolve(),
    },
    around(method, path, call) {
      const rule = rules.find((r) => r.method === method && r.path.test(path));
      return rule === undefined ? call() : current.run({ rule, path }, call);
    },
  };
}
