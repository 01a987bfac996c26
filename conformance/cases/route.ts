/**
 * `route/<PushTypeName>/<scenario>/<protocol>`: one push of each of the 28 types, injected as a
 * raw envelope, must reach exactly the connections the routing rules name — once each, with the
 * right method and hub argument — and nobody else within the grace period.
 *
 * @module
 */

import { pushTypeName } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure, CaseUnsupported } from "../types.ts";
import { createEnvelopeInjector } from "../driver/injectors.ts";
import { checkDelivery, envelopeKey } from "../driver/compare.ts";
import type { HubProtocolName } from "../driver/hub_client.ts";
import { assertExactDeliveries, connectWorld, injectAndObserve } from "../driver/world.ts";
import {
  createRouteWorld,
  type IdentityRouteWorld,
  leaseIdentityRouteWorld,
  ROUTE_SCENARIOS,
  type RouteScenario,
} from "../driver/route_world.ts";
import { requireProtocol } from "./_common.ts";
import {
  HUB_HELPERS,
  NOTIFICATIONS_HUB,
  NOTIFICATIONS_STARTUP,
  PUSH_TYPE,
  sources,
} from "./_sources.ts";

/** Metadata of a route case, for self-tests that predict which cases a fault breaks. */
export interface RouteCaseInfo {
  /** Case id. */
  readonly id: string;
  /** The scenario. */
  readonly scenario: RouteScenario;
  /** Hub protocol. */
  readonly protocol: HubProtocolName;
}

function caseId(scenario: RouteScenario, protocol: HubProtocolName): string {
  return `route/${pushTypeName(scenario.type)}/${scenario.name}/${protocol}`;
}

/**
 * Metadata of every route case.
 *
 * @returns One entry per case.
 */
export function routeCaseInfo(): RouteCaseInfo[] {
  return ROUTE_SCENARIOS.flatMap((scenario) =>
    (["messagepack", "json"] as const).map((protocol) => ({
      id: caseId(scenario, protocol),
      scenario,
      protocol,
    }))
  );
}

async function runScenario(
  ctx: CaseContext,
  scenario: RouteScenario,
  protocol: HubProtocolName,
): Promise<void> {
  await requireProtocol(ctx, protocol);
  // Forged claims need the harness authority; without it the world is built through the
  // target's identity and API, and routed by the claims of the tokens the target issued.
  let leased: IdentityRouteWorld | undefined;
  if (ctx.authority === undefined) {
    leased = await leaseIdentityRouteWorld(ctx);
    if (scenario.organizationRouted && leased.organizationProblem !== undefined) {
      leased.release();
      throw new CaseUnsupported(leased.organizationProblem);
    }
  }
  try {
    const world = leased?.world ?? createRouteWorld();
    const envelope = scenario.build(world, ctx.target.installationId);
    const injector = await createEnvelopeInjector(ctx);
    const connected = await connectWorld(ctx, world.specs, {
      protocol,
      ...(leased ? { sentinel: leased.sentinel } : {}),
    });
    try {
      const observation = await injectAndObserve(
        ctx,
        connected,
        [envelope],
        (e) => injector.inject(e),
        { startBarrier: leased !== undefined },
      );
      assertExactDeliveries(observation, "Deliveries");
      const key = envelopeKey(envelope);
      const problems: string[] = [];
      for (const delivery of observation.deliveries) {
        if (delivery.key !== key) continue;
        for (const problem of checkDelivery(envelope, delivery.invocation, protocol)) {
          problems.push(`${delivery.endpoint}: ${problem}`);
        }
      }
      if (problems.length > 0) {
        throw new CaseFailure(
          `the ${protocol} hub argument of the reference projection (ContextId ${
            JSON.stringify(envelope.contextId)
          })`,
          problems.slice(0, 10).join("; "),
        );
      }
    } finally {
      await connected.close();
      await injector.close();
    }
  } finally {
    leased?.release();
  }
}

/**
 * The route cases: every scenario of every push type, once per hub protocol.
 *
 * @returns The cases.
 */
export function routeCases(): CaseDefinition[] {
  return routeCaseInfo().map(({ id, scenario, protocol }) => ({
    id,
    level: "MUST",
    requirement: `The hub MUST deliver ${
      pushTypeName(scenario.type)
    } (${scenario.type}) ${scenario.summary}, exactly once, with the ${
      protocol === "json" ? "JSON (camelCase)" : "MessagePack (PascalCase)"
    } argument and ContextId, and to nobody else`,
    source: sources(HUB_HELPERS, NOTIFICATIONS_HUB, PUSH_TYPE, NOTIFICATIONS_STARTUP),
    needs: ["inject:envelope", ...scenario.needs],
    needsAnyOf: ["authority", "identity"],
    run: (ctx) => runScenario(ctx, scenario, protocol),
  }));
}
