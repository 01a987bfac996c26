/**
 * `scaleout/*`: with several hub URLs of one deployment, a push injected once reaches sockets on
 * every instance, the anonymous hub included (research clients-vaultwarden.md §3 #6, §4). Every
 * instance holds a sentinel, so the closing barrier passes through each of them: a late delivery
 * on any instance is seen.
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseUnsupported } from "../types.ts";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { newGuid } from "../driver/identity.ts";
import { leaseTokenWorld } from "./_common.ts";
import { createEnvelopeInjector } from "../driver/injectors.ts";
import {
  anonymousHubFor,
  assertExactDeliveries,
  connectWorld,
  type EndpointSpec,
  injectAndObserve,
} from "../driver/world.ts";
import { HUB_HELPERS, server, sources } from "./_sources.ts";

function hubUrls(ctx: CaseContext): string[] {
  if (ctx.target.extraHubUrls.length === 0) {
    throw new CaseUnsupported("Needs two or more hub URLs (--scaleout-hub-url)");
  }
  return [ctx.target.hubUrl, ...ctx.target.extraHubUrls];
}

/**
 * The scale-out cases.
 *
 * @returns The cases.
 */
export function scaleoutCases(): CaseDefinition[] {
  return [
    {
      id: "scaleout/user-every-instance",
      level: "MUST",
      requirement:
        "A user push injected once MUST reach the user's sockets on every instance, once each",
      source: sources(
        server("src/Notifications/Startup.cs", "AddStackExchangeRedis backplane"),
        HUB_HELPERS,
      ),
      needs: ["inject:envelope", "scaleout"],
      needsAnyOf: ["authority", "identity"],
      async run(ctx) {
        const urls = hubUrls(ctx);
        const users = await leaseTokenWorld(
          ctx,
          urls.flatMap((url, i) => [
            {
              name: `instance${i}-user`,
              user: 0,
              deviceType: DeviceType.ChromeBrowser,
              hubUrl: url,
            },
            {
              name: `instance${i}-other`,
              user: 1,
              deviceType: DeviceType.WindowsDesktop,
              hubUrl: url,
            },
          ]),
          { users: 2, organizations: [[0, 1]] },
        );
        try {
          const [userId] = users.userIds;
          const [org] = users.organizationIds;
          const envelopes: Envelope[] = [{
            type: PushType.SyncFolderCreate,
            payload: { Id: newGuid(), UserId: userId!, RevisionDate: new Date().toISOString() },
            contextId: null,
          }];
          // Without organizations in the target, the user push alone still crosses instances.
          if (users.organizationProblem === undefined) {
            envelopes.push({
              type: PushType.SyncOrganizationStatusChanged,
              payload: { OrganizationId: org!, Enabled: true },
              contextId: null,
            });
          }
          const injector = await createEnvelopeInjector(ctx);
          try {
            const world = await connectWorld(ctx, users.specs, {
              protocol: "messagepack",
              ...(users.sentinel ? { sentinel: users.sentinel } : {}),
              sentinelHubUrls: urls,
            });
            try {
              const observation = await injectAndObserve(
                ctx,
                world,
                envelopes,
                (e) => injector.inject(e),
                { startBarrier: users.sentinel !== undefined },
              );
              assertExactDeliveries(observation, "Deliveries across instances");
            } finally {
              await world.close();
            }
          } finally {
            await injector.close();
          }
        } finally {
          users.release();
        }
      },
    },
    {
      id: "scaleout/anonymous-every-instance",
      level: "MUST",
      requirement:
        "An AuthRequestResponse injected once MUST reach the requester's anonymous socket on whichever instance holds it",
      source: sources(
        server("src/Notifications/Startup.cs", "AddStackExchangeRedis backplane"),
        server("src/Notifications/HubHelpers.cs", "AuthRequestResponse to the request id's group"),
      ),
      needs: ["inject:envelope", "scaleout"],
      needsAnyOf: ["authority", "identity"],
      async run(ctx) {
        const urls = hubUrls(ctx);
        const sentinel = await leaseTokenWorld(ctx, [], { users: 0 });
        const requests = urls.map(() => newGuid());
        const specs: EndpointSpec[] = urls.map((url, i) => ({
          name: `instance${i}-requester`,
          hub: "anonymous" as const,
          hubUrl: anonymousHubFor(url),
          token: requests[i]!,
        }));
        try {
          const injector = await createEnvelopeInjector(ctx);
          try {
            const world = await connectWorld(ctx, specs, {
              protocol: "messagepack",
              ...(sentinel.sentinel ? { sentinel: sentinel.sentinel } : {}),
              sentinelHubUrls: urls,
            });
            try {
              const observation = await injectAndObserve(
                ctx,
                world,
                requests.map((id) => ({
                  type: PushType.AuthRequestResponse,
                  payload: { UserId: newGuid(), Id: id },
                  contextId: null,
                })),
                (e) => injector.inject(e),
                { startBarrier: sentinel.sentinel !== undefined },
              );
              assertExactDeliveries(observation, "Anonymous deliveries across instances");
            } finally {
              await world.close();
            }
          } finally {
            await injector.close();
          }
        } finally {
          sentinel.release();
        }
      },
    },
  ];
}
