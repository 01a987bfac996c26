/**
 * The API role of the reference server: Bitwarden-shaped routes whose data changes raise the
 * pushes the real server raises, over an in-memory store seeded from `fixtures/`.
 *
 * @example
 * ```ts ignore
 * import { createApiService, MemoryStore } from "./mod.ts";
 * const api = createApiService({ store, verify, engine, installationId, selfHosted: true });
 * const response = await api.fetch(request, "/folders");
 * ```
 *
 * @module
 */

export { type ApiService, type ApiServiceOptions, createApiService } from "./service.ts";
export { type Fixtures, type FixtureUser, loadFixtures, readFixtures } from "./fixtures.ts";
export { type Authenticator, createAuthenticator, type UserContext } from "./context.ts";
