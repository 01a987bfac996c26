/**
 * `queue/*`: the cloud flow's Azure Storage queue consumer (research bitwarden-server.md §1.3).
 *
 * @module
 */

import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure } from "../types.ts";
import { QueueInjector } from "../driver/queue_injector.ts";
import { checkDelivery, envelopeKey, invocationKey } from "../driver/compare.ts";
import { newGuid } from "../driver/identity.ts";
import type { HubClient } from "../driver/hub_client.ts";
import { connectMain, ownPushes, sleep, validHubToken } from "./_common.ts";
import { server, sources } from "./_sources.ts";

const SOURCE = sources(
  server("src/Notifications/AzureQueueHostedService.cs"),
  server("src/Core/Utilities/CoreHelpers.cs", "DecodeMessageText: base64, else the raw text"),
  server("src/Core/Platform/Push/Engines/AzureQueuePushEngine.cs"),
);

function folderUpdate(userId: string): Envelope {
  return {
    type: PushType.SyncFolderUpdate,
    payload: { Id: newGuid(), UserId: userId, RevisionDate: new Date().toISOString() },
    contextId: newGuid(),
  };
}

async function received(ctx: CaseContext, client: HubClient, envelope: Envelope): Promise<boolean> {
  const key = envelopeKey(envelope);
  const got = await client.waitFor(
    () => ownPushes(ctx, client).find((m) => invocationKey(m) === key),
    Math.max(2000, ctx.timeoutMs * 0.6),
  );
  return got !== undefined;
}

async function withUser<T>(
  ctx: CaseContext,
  body: (client: HubClient, userId: string, queue: QueueInjector) => Promise<T>,
): Promise<T> {
  const queue = QueueInjector.fromContext(ctx);
  const { identity, token } = await validHubToken(ctx);
  const client = await connectMain(ctx, "user", { token });
  try {
    await sleep(Math.min(300, ctx.graceMs), ctx.signal);
    return await body(client, identity.userId, queue);
  } finally {
    await client.close();
    await queue.close();
  }
}

function encodingCase(encoding: "raw" | "base64"): CaseDefinition {
  return {
    id: `queue/${encoding}`,
    level: "MUST",
    requirement: encoding === "raw"
      ? "The consumer MUST deliver a raw JSON queue message (AzureQueuePushEngine's form) exactly once, unchanged"
      : "The consumer MUST deliver a base64-encoded JSON queue message (legacy form) exactly once, unchanged",
    source: SOURCE,
    needs: ["inject:queue"],
    run: (ctx) =>
      withUser(ctx, async (client, userId, queue) => {
        const envelope = folderUpdate(userId);
        await queue.inject(envelope, { encoding });
        if (!(await received(ctx, client, envelope))) {
          throw new CaseFailure("the push to be delivered", "nothing arrived");
        }
        await client.quiet(ctx.graceMs);
        const got = ownPushes(ctx, client);
        if (got.length !== 1) {
          throw new CaseFailure("exactly one delivery", `${got.length} deliveries`);
        }
        const problems = checkDelivery(envelope, got[0]!, "messagepack");
        if (problems.length > 0) {
          throw new CaseFailure("the reference MessagePack argument", problems.join("; "));
        }
      }),
  };
}

/**
 * The queue cases.
 *
 * @returns The cases.
 */
export function queueCases(): CaseDefinition[] {
  return [
    encodingCase("raw"),
    encodingCase("base64"),
    {
      id: "queue/poison-does-not-block",
      level: "MUST",
      requirement: "An unparseable queue message MUST NOT block the messages queued after it",
      source: SOURCE,
      needs: ["inject:queue"],
      run: (ctx) =>
        withUser(ctx, async (client, userId, queue) => {
          await queue.enqueue(`not json ${newGuid()} {`, "enqueue poison");
          const envelope = folderUpdate(userId);
          await queue.inject(envelope);
          if (!(await received(ctx, client, envelope))) {
            throw new CaseFailure(
              "the message after the poison message to be delivered",
              "nothing arrived",
            );
          }
        }),
    },
    {
      id: "queue/unknown-type-ignored",
      level: "MUST",
      requirement:
        "A queue message of an undefined push type MUST be dropped without delivery and without stopping the consumer",
      source: sources(
        server("src/Notifications/HubHelpers.cs", "default branch"),
        server("src/Notifications/AzureQueueHostedService.cs"),
      ),
      needs: ["inject:queue"],
      run: (ctx) =>
        withUser(ctx, async (client, userId, queue) => {
          await queue.enqueue(
            JSON.stringify({ Type: 200, Payload: { UserId: userId, Id: newGuid() } }),
            "enqueue Type 200",
          );
          const envelope = folderUpdate(userId);
          await queue.inject(envelope);
          if (!(await received(ctx, client, envelope))) {
            throw new CaseFailure(
              "the message after the unknown type to be delivered",
              "nothing arrived",
            );
          }
          await client.quiet(ctx.graceMs);
          const got = ownPushes(ctx, client);
          if (got.length !== 1) {
            throw new CaseFailure("only the valid message delivered", `${got.length} deliveries`);
          }
        }),
    },
    {
      id: "queue/failed-dispatch-retried",
      level: "MUST",
      requirement:
        "A queue message whose dispatch failed MUST stay in the queue and be retried (not deleted before its retries are used up)",
      source: server(
        "src/Notifications/AzureQueueHostedService.cs",
        "deleted after a failure only when DequeueCount > 2",
      ),
      needs: ["inject:queue"],
      run: (ctx) =>
        withUser(ctx, async (client, userId, queue) => {
          const marker = newGuid();
          const poison = `{"Type":11,"Payload":{"UserId":"not-a-guid-${marker}"}}`;
          const failing = await queue.enqueue(poison, "enqueue a message whose dispatch fails");
          const envelope = folderUpdate(userId);
          await queue.inject(envelope);
          if (!(await received(ctx, client, envelope))) {
            throw new CaseFailure(
              "the consumer to pass the failing message",
              "the following message never arrived",
            );
          }
          // After a failed dispatch the message must stay in the queue (invisible for its lease,
          // 30 s on Azure) until its retries are used up. Probing with the enqueue's pop receipt
          // tells "received and still there" from "deleted" at once, whatever the lease. A message
          // already dead-lettered (`<queue>-poison`, hubproof's extension) after fast retries is
          // evidence of the same thing.
          const deadLetters = queue.deadLetterQueue();
          const deadline = performance.now() + Math.max(1000, ctx.timeoutMs - 2000);
          try {
            while (performance.now() < deadline && !ctx.signal.aborted) {
              let state = await queue.probe(failing);
              if (state === "received") {
                // A consumer that deletes after every attempt, failed or not, does so right away.
                await sleep(ctx.graceMs, ctx.signal);
                state = await queue.probe(failing);
              }
              if (state === "received") {
                return { detail: "received, dispatch failed, and still in the queue for a retry" };
              }
              if (state === "deleted") {
                // Bitwarden has no dead-letter queue: a missing one (404) holds nothing.
                const dead = await deadLetters.peek().catch((error) =>
                  (error as { statusCode?: number }).statusCode === 404 ? [] : Promise.reject(error)
                );
                if (dead.some((m) => m.text.includes(marker))) {
                  return { detail: "retried, then kept in the dead-letter queue" };
                }
                throw new CaseFailure(
                  "the failed message to stay in the queue until its retries are used up",
                  "it was deleted after its first failed dispatch",
                );
              }
              await sleep(50, ctx.signal);
            }
          } finally {
            await deadLetters.close();
          }
          throw new CaseFailure(
            "the consumer to receive the failing message",
            "it was never received (the following message was delivered)",
          );
        }),
    },
  ];
}
