/**
 * The conformance case library: every case definition, in catalogue order. The runner calls
 * {@linkcode allCases} and never looks inside a case.
 *
 * @example
 * ```ts
 * import { allCases } from "./mod.ts";
 * const ids = allCases().map((c) => c.id);
 * console.assert(new Set(ids).size === ids.length);
 * ```
 *
 * @module
 */

import type { CaseDefinition } from "../types.ts";
import { handshakeCases } from "./handshake.ts";
import { authCases } from "./auth.ts";
import { keepaliveCases } from "./keepalive.ts";
import { hubProtocolCases } from "./hub_protocol.ts";
import { routeCases } from "./route.ts";
import { anonCases } from "./anon.ts";
import { sendCases } from "./send.ts";
import { queueCases } from "./queue.ts";
import { isolationCases } from "./isolation.ts";
import { isolationApiCases } from "./isolation_api.ts";
import { e2eCases } from "./e2e.ts";
import { e2eProducerCases } from "./e2e_producers.ts";
import { scaleoutCases } from "./scaleout.ts";

export { type RouteCaseInfo, routeCaseInfo } from "./route.ts";
export { ROUTE_SCENARIOS, type RouteScenario } from "../driver/route_world.ts";

/**
 * Every conformance case, with unique stable ids.
 *
 * @returns The cases.
 */
export function allCases(): CaseDefinition[] {
  return [
    ...handshakeCases(),
    ...authCases(),
    ...keepaliveCases(),
    ...hubProtocolCases(),
    ...routeCases(),
    ...anonCases(),
    ...sendCases(),
    ...queueCases(),
    ...isolationCases(),
    ...e2eCases(),
    ...e2eProducerCases(),
    // Last of the API-driven cases: its worlds need many logins, so on a target with a login
    // rate limit (Vaultwarden: 10, then 1 per minute) the single-change cases spend it first.
    ...isolationApiCases(),
    ...scaleoutCases(),
  ];
}
