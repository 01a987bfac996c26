/**
 * hubproof: proves that a Bitwarden-style push-notification deployment delivers every change
 * to exactly the right clients.
 *
 * - The pure wire layer ({@link ./protocol/mod.ts}): SignalR hub protocols (`jsonHubProtocol`,
 *   `messagePackHubProtocol`), framing and negotiate; the Bitwarden push model (push types,
 *   envelope codecs, `groupsForConnection`, `routeEnvelope`).
 * - The reference Notifications service ({@link ./server/notifications/mod.ts}):
 *   `createNotificationsService`, `serveNotifications`, the queue consumer and Redis backplane.
 * - The whole reference deployment ({@link ./server/mod.ts}): `startServe(config)` with
 *   `parseServeConfig(args)`, and the `identity`, `api` and `push` namespaces.
 * - The conformance suite ({@link ./conformance/mod.ts}): `runConformance(options)` returns the
 *   report object the CLI (`deno task conformance`) prints and exits on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { messagePackHubProtocol, parseSendBody, routeEnvelope } from "./mod.ts";
 *
 * const envelope = parseSendBody(
 *   '{"type":11,"payload":{"userId":"d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c","reason":null},"contextId":null}',
 * );
 * const route = routeEnvelope(envelope);
 * assert.equal(route.method, "ReceiveMessage");
 * assert.deepEqual(route.targets, [{ kind: "user", userId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c" }]);
 * assert.equal(messagePackHubProtocol.name, "messagepack");
 * ```
 *
 * @module
 */

export * from "./protocol/mod.ts";
export * from "./server/notifications/mod.ts";
export {
  api,
  ConfigError,
  identity,
  parseServeConfig,
  push,
  type RunningServe,
  type ServeConfig,
  startServe,
  type StartServeOptions,
} from "./server/mod.ts";
export { runConformance } from "./conformance/mod.ts";
export type {
  CaseContext,
  CaseDefinition,
  CaseResult,
  ResolvedTarget,
  Verdict,
} from "./conformance/mod.ts";
