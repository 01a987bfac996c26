/**
 * The hubproof reference server: Identity, a Bitwarden-shaped API, push engines and the
 * Notifications service, composed by {@linkcode startServe} from a {@linkcode ServeConfig}
 * (`deno task serve`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseServeConfig, startServe } from "./mod.ts";
 * const running = await startServe(parseServeConfig(["--port", "0"]), { log: () => {} });
 * try {
 *   const root = await (await fetch(running.url)).json();
 *   assert.deepEqual(root.roles, ["identity", "api", "notifications"]);
 *   assert.equal(running.urls.notifications, `${running.url}/notifications`);
 * } finally {
 *   await running.stop();
 * }
 * ```
 *
 * @module
 */

export {
  ConfigError,
  type Mode,
  parseServeConfig,
  type Role,
  SERVE_USAGE,
  type ServeConfig,
} from "./config.ts";
export { type RunningServe, startServe, type StartServeOptions } from "./serve.ts";
export * as identity from "./identity/mod.ts";
export * as api from "./api/mod.ts";
export * as push from "./push/mod.ts";
