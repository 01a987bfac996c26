/**
 * `anon/*`: the anonymous hub used by login with device (research bitwarden-server.md §4.3,
 * clients-vaultwarden.md §1.10, §3 #3).
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import { type CaseDefinition, CaseFailure, CaseUnsupported } from "../types.ts";
import { HubClient, HubConnectError } from "../driver/hub_client.ts";
import { newGuid } from "../driver/identity.ts";
import { createEnvelopeInjector } from "../driver/injectors.ts";
import { checkDelivery } from "../driver/compare.ts";
import { assertExactDeliveries, connectWorld, injectAndObserve } from "../driver/world.ts";
import { connectMain, leaseTokenWorld, sharedHubToken } from "./_common.ts";
import { awaitHeartbeat, HEARTBEAT_INTERVAL_MS, isHeartbeat } from "./keepalive.ts";
import { server, sources } from "./_sources.ts";

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
      source: server(
        "src/Notifications/AnonymousNotificationsHub.cs",
        "[AllowAnonymous], Token query",
      ),
      needs: [],
      async run(ctx) {
        const client = await HubClient.connect(ctx.target.anonymousHubUrl, {
          name: "requester",
          query: { Token: newGuid() },
          trace: ctx.trace,
          signal: ctx.signal,
        }).catch((error: Error) => {
          if (!(error instanceof HubConnectError)) throw error;
          throw new CaseFailure(
            "the anonymous hub to accept ?Token=<id> without an access token",
            `refused at the ${error.stage}: ${error.message}`,
          );
        });
        await client.close();
      },
    },
    {
      id: "anon/only-requester",
      level: "MUST",
      requirement:
        "An AuthRequestResponse MUST reach exactly the anonymous sockets whose Token equals the request id (ordinal), nobody else",
      source: sources(
        server("src/Notifications/HubHelpers.cs", "AuthRequestResponse to the request id's group"),
        server("src/Notifications/AnonymousNotificationsHub.cs", "one group per Token"),
      ),
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
      id: "anon/missing-token",
      level: "MUST",
      requirement:
        "An anonymous-hub socket without a Token (or with an empty one) MUST receive no AuthRequestResponse, while the requester's socket does",
      source:
        "bitwarden/server src/Notifications/AnonymousNotificationsHub.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd (joins a group only for a non-blank Token)",
      needs: ["inject:envelope"],
      async run(ctx) {
        const requestId = newGuid();
        const injector = await createEnvelopeInjector(ctx);
        const open = (name: string, query: Record<string, string>) =>
          HubClient.connect(ctx.target.anonymousHubUrl, {
            name,
            query,
            trace: ctx.trace,
            signal: ctx.signal,
          });
        // The requester first, as in a login with device; then the strays. Bitwarden accepts
        // them and puts them in no group; refusing them delivers nothing either.
        const [requester] = await Promise.allSettled([open("requester", { Token: requestId })]);
        const others = await Promise.allSettled([
          open("no-token", {}),
          open("empty-token", { Token: "" }),
        ]);
        const connected = others.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
        try {
          if (requester.status === "rejected") {
            throw new CaseFailure(
              "the requester's socket (?Token=<request id>) accepted (positive control)",
              (requester.reason as Error).message,
            );
          }
          const control = requester.value;
          await new Promise((r) => setTimeout(r, Math.min(300, ctx.graceMs)));
          await injector.inject({
            type: PushType.AuthRequestResponse,
            payload: { UserId: newGuid(), Id: requestId },
            contextId: null,
          });
          const got = await control.waitFor(
            () => control.invocations()[0],
            Math.floor(ctx.timeoutMs / 2),
          );
          if (!got) {
            throw new CaseFailure(
              "the AuthRequestResponse to reach the requester's socket (positive control)",
              "nothing arrived",
            );
          }
          await Promise.all(connected.map((c) => c.quiet(ctx.graceMs)));
          const leaks = connected.filter((c) => c.invocations().length > 0).map((c) => c.name);
          if (leaks.length > 0) {
            throw new CaseFailure(
              "nothing on the sockets without a Token",
              `${leaks.join(", ")} received the push`,
            );
          }
          const refused = ["no-token", "empty-token"].filter((n) =>
            !connected.some((c) => c.name === n)
          );
          return {
            detail: refused.length > 0
              ? `refused: ${refused.join(", ")}; the requester got the push`
              : "accepted without a group; only the requester got the push",
          };
        } finally {
          await Promise.all([
            requester.status === "fulfilled" ? requester.value.close() : undefined,
            ...connected.map((c) => c.close()),
            injector.close(),
          ]);
        }
      },
    },
    {
      id: "anon/no-heartbeat",
      level: "SHOULD",
      requirement: "The anonymous hub SHOULD NOT receive the main hub's Heartbeat",
      source: server(
        "src/Notifications/HeartbeatHostedService.cs",
        "IHubContext<NotificationsHub> only",
      ),
      needs: [],
      async run(ctx) {
        const caseStart = performance.now();
        const token = await sharedHubToken(ctx);
        const opened = await Promise.allSettled([
          connectMain(ctx, "main", { token }),
          HubClient.connect(ctx.target.anonymousHubUrl, {
            name: "anonymous",
            query: { Token: newGuid() },
            trace: ctx.trace,
            signal: ctx.signal,
          }),
        ]);
        if (opened[0].status === "rejected" || opened[1].status === "rejected") {
          await Promise.all(opened.map((o) => o.status === "fulfilled" ? o.value.close() : null));
          const reason = opened.find((o) => o.status === "rejected")!.reason;
          if (opened[1].status === "rejected" && reason instanceof HubConnectError) {
            throw new CaseUnsupported(
              `The anonymous hub refused the connection (see anon/no-auth): ${reason.message}`,
            );
          }
          throw reason;
        }
        const [main, anon] = [opened[0].value, opened[1].value];
        try {
          const started = performance.now();
          await awaitHeartbeat(ctx, main, caseStart);
          // A hub that beats on the anonymous hub on its own schedule may not have done so yet:
          // watch until the main hub's next Heartbeat (one full period) when the timeout allows.
          const left = ctx.timeoutMs - (performance.now() - started) - ctx.graceMs - 2000;
          if (left > 0) {
            await main.waitFor(
              () => main.messages.filter(isHeartbeat).length >= 2 ? true : undefined,
              Math.min(HEARTBEAT_INTERVAL_MS + 2000, left),
            );
          }
          await anon.quiet(ctx.graceMs);
          const beats = anon.messages.filter(isHeartbeat);
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
