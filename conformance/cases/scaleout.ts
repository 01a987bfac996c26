/**
 * `scaleout/*`: with several hub URLs of one deployment, a push injected once reaches sockets on
 * every instance, the anonymous hub included (research clients-vaultwarden.md §3 #6, §4).
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/client_type.ts";
import { PushType } from "../../protocol/bitwarden/push_type.ts";
import { type CaseContext, type CaseDefinition, CaseUnsupported } from "../types.ts";
import { newGuid } from "../driver/identity.ts";
import { createEnvelopeInjector } from "../driver/injectors.ts";
import {
  anonymousHubFor,
  assertExactDeliveries,
  connectWorld,
  type EndpointSpec,
  injectAndObserve,
} from "../driver/world.ts";

function hubUrls(ctx: CaseContext): string[] {
  if (ctx.target.extraHubUrls.length === 0) {
    throw new CaseUnsupported("Needs two or more hub URLs (--extra-hub-url)");
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
      source: "clients-vaultwarden.md §4 (deployment checks)",
      needs: ["inject:envelope", "authority", "scaleout"],
      async run(ctx) {
        const urls = hubUrls(ctx);
        const userId = newGuid();
        const org = newGuid();
        const specs: EndpointSpec[] = urls.flatMap((url, i) => [
          {
            name: `instance${i}-user`,
            hub: "main" as const,
            hubUrl: url,
            identity: {
              userId,
              deviceId: newGuid(),
              deviceType: DeviceType.ChromeBrowser,
              organizations: [org],
            },
          },
          {
            name: `instance${i}-other`,
            hub: "main" as const,
            hubUrl: url,
            identity: {
              userId: newGuid(),
              deviceId: newGuid(),
              deviceType: DeviceType.WindowsDesktop,
              organizations: [org],
            },
          },
        ]);
        const injector = await createEnvelopeInjector(ctx);
        const world = await connectWorld(ctx, specs, { protocol: "messagepack" });
        try {
          const observation = await injectAndObserve(ctx, world, [
            {
              type: PushType.SyncFolderCreate,
              payload: { Id: newGuid(), UserId: userId, RevisionDate: new Date().toISOString() },
              contextId: null,
            },
            {
              type: PushType.SyncOrganizationStatusChanged,
              payload: { OrganizationId: org, Enabled: true },
              contextId: null,
            },
          ], (e) => injector.inject(e));
          assertExactDeliveries(observation, "Deliveries across instances");
        } finally {
          await world.close();
          await injector.close();
        }
      },
    },
    {
      id: "scaleout/anonymous-every-instance",
      level: "MUST",
      requirement:
        "An AuthRequestResponse injected once MUST reach the requester's anonymous socket on whichever instance holds it",
      source: "clients-vaultwarden.md §3 #6",
      needs: ["inject:envelope", "authority", "scaleout"],
      async run(ctx) {
        const urls = hubUrls(ctx);
        const requests = urls.map(() => newGuid());
        const specs: EndpointSpec[] = urls.map((url, i) => ({
          name: `instance${i}-requester`,
          hub: "anonymous" as const,
          hubUrl: anonymousHubFor(url),
          token: requests[i]!,
        }));
        const injector = await createEnvelopeInjector(ctx);
        const world = await connectWorld(ctx, specs, { protocol: "messagepack" });
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
          );
          assertExactDeliveries(observation, "Anonymous deliveries across instances");
        } finally {
          await world.close();
          await injector.close();
        }
      },
    },
  ];
}
