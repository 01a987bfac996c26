/**
 * `anon/*`: the anonymous hub used by login with device (research bitwarden-server.md §4.3,
 * clients-vaultwarden.md §1.10, §3 #3).
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/client_type.ts";
import { PushType } from "../../protocol/bitwarden/push_type.ts";
import { MessageType } from "../../protocol/signalr/mod.ts";
import { type CaseDefinition, CaseFailure } from "../types.ts";
import { HubClient } from "../driver/hub_client.ts";
import { newGuid } from "../driver/identity.ts";
import { createEnvelopeInjector } from "../driver/injectors.ts";
import { checkDelivery } from "../driver/compare.ts";
import { assertExactDeliveries, connectWorld, injectAndObserve } from "../driver/world.ts";
import { connectMain, leaseTokenWorld, validHubToken } from "./_common.ts";
import { awaitHeartbeat } from "./keepalive.ts";

/**
 * The anonymous hub cases.
 *
 * @returns The cases.
 */
export function anonCases(): CaseDefinition[] {
  return [
    {
      id: "anon/no-auth",
      level: "MUST",
      requirement:
        "The anonymous hub MUST accept a connection with a Token query value and no access token",
      source: "bitwarden-server.md §4.3",
      needs: [],
      async run(ctx) {
        const client = await HubClient.connect(ctx.target.anonymousHubUrl, {
          name: "requester",
          query: { Token: newGuid() },
          trace: ctx.trace,
          signal: ctx.signal,
        });
        await client.close();
      },
    },
    {
      id: "anon/only-requester",
      level: "MUST",
      requirement:
        "An AuthRequestResponse MUST reach exactly the anonymous sockets whose Token equals the request id (ordinal), nobody else",
      source: "bitwarden-server.md §4.3; clients-vaultwarden.md §4 item 9",
      needs: ["inject:envelope"],
      needsAnyOf: ["authority", "identity"],
      async run(ctx) {
        const requestId = newGuid();
        const users = await leaseTokenWorld(ctx, [
          { name: "user-main-hub", user: 0, deviceType: DeviceType.ChromeBrowser },
        ], { users: 1 });
        const userId = users.userIds[0]!;
        let injector;
        let world;
        try {
          injector = await createEnvelopeInjector(ctx);
          world = await connectWorld(ctx, [
            { name: "requester-1", hub: "anonymous", token: requestId },
            { name: "requester-2", hub: "anonymous", token: requestId },
            { name: "other-request", hub: "anonymous", token: newGuid() },
            { name: "upper-case-token", hub: "anonymous", token: requestId.toUpperCase() },
            ...users.specs,
          ], { protocol: "messagepack", ...(users.sentinel ? { sentinel: users.sentinel } : {}) });
        } catch (error) {
          await injector?.close();
          users.release();
          throw error;
        }
        try {
          const envelope = {
            type: PushType.AuthRequestResponse,
            payload: { UserId: userId, Id: requestId },
            contextId: newGuid(),
          };
          const inject = injector;
          const observation = await injectAndObserve(
            ctx,
            world,
            [envelope],
            (e) => inject.inject(e),
            { startBarrier: users.sentinel !== undefined },
          );
          assertExactDeliveries(observation, "Deliveries");
          const problems = observation.deliveries
            .filter((d) => d.endpoint.startsWith("requester"))
            .flatMap((d) =>
              checkDelivery(envelope, d.invocation, "messagepack").map((p) => `${d.endpoint}: ${p}`)
            );
          if (problems.length > 0) {
            throw new CaseFailure(
              "the reference AuthRequestResponseRecieved message",
              problems.join("; "),
            );
          }
        } finally {
          await world.close();
          await injector.close();
          users.release();
        }
      },
    },
    {
      id: "anon/no-heartbeat",
      level: "SHOULD",
      requirement: "The anonymous hub SHOULD NOT receive the main hub's Heartbeat",
      source: "bitwarden-server.md §3.3",
      needs: [],
      async run(ctx) {
        const { token } = await validHubToken(ctx);
        const [main, anon] = await Promise.all([
          connectMain(ctx, "main", { token }),
          HubClient.connect(ctx.target.anonymousHubUrl, {
            name: "anonymous",
            query: { Token: newGuid() },
            trace: ctx.trace,
            signal: ctx.signal,
          }),
        ]);
        try {
          await awaitHeartbeat(ctx, main);
          await anon.quiet(ctx.graceMs);
          const beats = anon.messages.filter((m) =>
            m.type === MessageType.Invocation && m.target === "Heartbeat"
          );
          if (beats.length > 0) {
            throw new CaseFailure(
              "no Heartbeat on the anonymous hub",
              `${beats.length} Heartbeat(s)`,
            );
          }
        } finally {
          await Promise.all([main.close(), anon.close()]);
        }
      },
    },
  ];
}
