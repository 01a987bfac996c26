/**
 * The API role of the reference server: Bitwarden-shaped routes whose data changes raise the
 * pushes the real server raises, over an in-memory store seeded from `fixtures/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createApiService } from "./mod.ts";
 * import { MemoryStore } from "../kernel/mod.ts";
 * const pushes: unknown[] = [];
 * const api = createApiService({
 *   store: new MemoryStore(),
 *   verify: () => Promise.reject(new Error("no token in this example")),
 *   engine: { push: (notification) => (pushes.push(notification), Promise.resolve()) },
 *   installationId: crypto.randomUUID(),
 *   selfHosted: true,
 *   log: () => {},
 * });
 * // The caller strips `/api`; without a bearer token every route answers 401.
 * const response = await api.fetch(new Request("http://127.0.0.1:8080/api/folders"), "/folders");
 * assert.equal(response.status, 401);
 * assert.equal(pushes.length, 0);
 * ```
 *
 * @module
 */

export { type ApiService, type ApiServiceOptions, createApiService } from "./service.ts";
export { type Fixtures, type FixtureUser, loadFixtures, readFixtures } from "./fixtures.ts";
export { type Authenticator, createAuthenticator, type UserContext } from "./context.ts";
