/**
 * `queue/*`: the cloud flow's Azure Storage queue consumer (research bitwarden-server.md §1.3).
 *
 * @module
 */

import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure } from "../types.ts";
import { type EnqueuedMessage, QueueInjector } from "../driver/queue_injector.ts";
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

/**
 * Bitwarden's consumer deletes a message once its dispatch succeeded, and a failing one when
 * `DequeueCount > 2`, i.e. during its 3rd attempt (bitwarden/server
 * src/Notifications/AzureQueueHostedService.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd).
 */
const MAX_DEQUEUES = 3;

/** Azure's default lease of a received message, the one Bitwarden's consumer uses (it passes none). */
const AZURE_DEFAULT_LEASE_MS = 30_000;

/** A message whose dispatch fails (its UserId is no GUID), with a marker to find it by. */
function failingMessage(): { text: string; marker: string } {
  const marker = newGuid();
  return { text: `{"Type":11,"Payload":{"UserId":"not-a-guid-${marker}"}}`, marker };
}

/** Milliseconds left of the case's budget, keeping `reserveMs` to report. */
function budgetLeft(ctx: CaseContext, started: number, reserveMs = 2000): number {
  return ctx.timeoutMs - (performance.now() - started) - reserveMs;
}

/**
 * Whether `<queue>-poison` (hubproof's dead-letter extension) holds the message with `marker`;
 * Bitwarden has no dead-letter queue, and a missing one (404) holds nothing.
 */
async function deadLettered(queue: QueueInjector, marker: string): Promise<boolean> {
  const deadLetters = queue.deadLetterQueue();
  try {
    const dead = await deadLetters.peek().catch((error) =>
      (error as { statusCode?: number }).statusCode === 404 ? [] : Promise.reject(error)
    );
    return dead.some((m) => m.text.includes(marker));
  } finally {
    await deadLetters.close();
  }
}

/** How many times the visible message with `marker` was dequeued, or undefined when not visible. */
async function visibleDequeues(queue: QueueInjector, marker: string): Promise<number | undefined> {
  return (await queue.peek()).find((m) => m.text.includes(marker))?.dequeueCount;
}

/**
 * Checks that a delivered message was deleted from the queue: a consumer that dispatches and
 * never deletes delivers it again once its lease ends. The enqueue's pop receipt tells
 * "deleted" (404) from "received, still there" at once, whatever the lease.
 *
 * @throws {CaseFailure} When the message is still in the queue after the wait.
 */
async function expectDeleted(
  ctx: CaseContext,
  queue: QueueInjector,
  message: EnqueuedMessage,
  what: string,
): Promise<void> {
  // Bitwarden deletes right after the dispatch returns; allow a loaded queue some slack.
  const waitMs = Math.max(2000, 2 * ctx.graceMs);
  const deadline = performance.now() + waitMs;
  let state = await queue.probe(message);
  while (state !== "deleted" && performance.now() < deadline && !ctx.signal.aborted) {
    await sleep(50, ctx.signal);
    state = await queue.probe(message);
  }
  if (state !== "deleted") {
    throw new CaseFailure(
      `${what} to be deleted from the queue after its delivery`,
      `still in the queue ${waitMs} ms after it was delivered (${
        state === "received" ? "received, not deleted" : "visible again"
      })`,
    );
  }
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
        const message = await queue.inject(envelope, { encoding });
        if (!(await received(ctx, client, envelope))) {
          throw new CaseFailure("the push to be delivered", "nothing arrived");
        }
        await expectDeleted(ctx, queue, message, "the delivered message");
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
 * `queue/slow/poison-removed`: a message whose dispatch always fails leaves the queue after a
 * bounded number of attempts. Bitwarden deletes it during its 3rd attempt, so it is never seen
 * visible with `dequeueCount` 3; seen so, the consumer is handing it out a 4th time. On a real
 * deployment that takes three 30 s leases, hence the case's own budget and its `slow` segment.
 */
function poisonRemovedCase(): CaseDefinition {
  return {
    id: "queue/slow/poison-removed",
    level: "MUST",
    requirement:
      `A queue message whose dispatch always fails MUST be deleted or dead-lettered by its ${MAX_DEQUEUES}rd dequeue, not retried for ever`,
    source:
      "bitwarden/server src/Notifications/AzureQueueHostedService.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd (delete when DequeueCount > 2)",
    needs: ["inject:queue"],
    timeout: (run) => Math.max(run.timeoutMs, (MAX_DEQUEUES + 1) * AZURE_DEFAULT_LEASE_MS),
    run: async (ctx) => {
      const started = performance.now();
      const queue = QueueInjector.fromContext(ctx);
      try {
        const { text, marker } = failingMessage();
        const failing = await queue.enqueue(text, "enqueue a message whose dispatch always fails");
        let seen = 0;
        while (budgetLeft(ctx, started) > 0 && !ctx.signal.aborted) {
          if (await queue.probe(failing) === "deleted") {
            const where = await deadLettered(queue, marker) ? "dead-lettered" : "deleted";
            return { detail: `${where}; seen visible after ${seen} failed dequeue(s)` };
          }
          const dequeues = await visibleDequeues(queue, marker);
          if (dequeues !== undefined && dequeues >= MAX_DEQUEUES) {
            throw new CaseFailure(
              `the message deleted or dead-lettered by its ${MAX_DEQUEUES}rd dequeue`,
              `still in the queue, visible again after ${dequeues} failed dequeues`,
            );
          }
          seen = Math.max(seen, dequeues ?? 0);
          await sleep(25, ctx.signal);
        }
        return {
          verdict: "UNSUPPORTED",
          detail:
            `Still retrying when the case's budget ran out (seen after ${seen} failed dequeue(s)): the queue's lease is too long for --timeout`,
        };
      } finally {
        await queue.close();
      }
    },
  };
}

/**
 * `queue/slow/no-redelivery-after-lease`: the client's view of deletion. After a delivery the
 * case waits out the queue's lease, measured with a failing canary enqueued after the delivery:
 * once the canary is visible again, any lease taken before it has ended too, so a message the
 * consumer failed to delete would have been delivered a second time.
 */
function noRedeliveryCase(): CaseDefinition {
  return {
    id: "queue/slow/no-redelivery-after-lease",
    level: "MUST",
    requirement:
      "A delivered queue message MUST NOT be delivered again once the queue's visibility timeout has passed",
    source:
      "bitwarden/server src/Notifications/AzureQueueHostedService.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd (deleted after dispatch)",
    needs: ["inject:queue"],
    timeout: (run) => Math.max(run.timeoutMs, AZURE_DEFAULT_LEASE_MS + 3 * run.graceMs + 15_000),
    run: (ctx) =>
      withUser(ctx, async (client, userId, queue) => {
        const started = performance.now();
        const envelope = folderUpdate(userId);
        await queue.inject(envelope);
        if (!(await received(ctx, client, envelope))) {
          throw new CaseFailure("the push to be delivered", "nothing arrived");
        }
        const deliveredAt = performance.now();
        const { text, marker } = failingMessage();
        const canary = await queue.enqueue(text, "enqueue a failing canary to time the lease");
        let leaseSeen = false;
        let canaryGone = false;
        while (budgetLeft(ctx, started, ctx.graceMs + 2000) > 0 && !ctx.signal.aborted) {
          if ((await visibleDequeues(queue, marker) ?? 0) >= 1) {
            leaseSeen = true;
            break;
          }
          // Gone without being seen again (deleted at once, or its visible moment was missed):
          // fall back to Azure's default lease, counted from the delivery.
          canaryGone ||= await queue.probe(canary) === "deleted";
          if (canaryGone && performance.now() - deliveredAt > AZURE_DEFAULT_LEASE_MS) break;
          await sleep(25, ctx.signal);
        }
        const watchedMs = Math.round(performance.now() - deliveredAt);
        await client.quiet(ctx.graceMs);
        const key = envelopeKey(envelope);
        const got = ownPushes(ctx, client).filter((m) => invocationKey(m) === key);
        if (got.length !== 1) {
          throw new CaseFailure(
            "one delivery, none after the lease",
            `${got.length} deliveries within ${watchedMs + ctx.graceMs} ms`,
          );
        }
        if (!leaseSeen && !(canaryGone && watchedMs > AZURE_DEFAULT_LEASE_MS)) {
          return {
            verdict: "UNSUPPORTED",
            detail:
              `The queue's lease did not end within the case's budget (watched ${watchedMs} ms)`,
          };
        }
        return { detail: `one delivery; watched ${watchedMs} ms, past the queue's lease` };
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
          const message = await queue.inject(envelope);
          if (!(await received(ctx, client, envelope))) {
            throw new CaseFailure(
              "the message after the poison message to be delivered",
              "nothing arrived",
            );
          }
          await expectDeleted(ctx, queue, message, "the message after the poison message");
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
          const unknown = await queue.enqueue(
            JSON.stringify({ Type: 200, Payload: { UserId: userId, Id: newGuid() } }),
            "enqueue Type 200",
          );
          const envelope = folderUpdate(userId);
          const message = await queue.inject(envelope);
          if (!(await received(ctx, client, envelope))) {
            throw new CaseFailure(
              "the message after the unknown type to be delivered",
              "nothing arrived",
            );
          }
          // Bitwarden's dispatch ignores an undefined type without an error, so it is deleted.
          await expectDeleted(ctx, queue, unknown, "the message of an undefined type");
          await expectDeleted(ctx, queue, message, "the message after the unknown type");
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
          const { text, marker } = failingMessage();
          const failing = await queue.enqueue(text, "enqueue a message whose dispatch fails");
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
          const deadline = performance.now() + Math.max(1000, ctx.timeoutMs - 2000);
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
              if (await deadLettered(queue, marker)) {
                return { detail: "retried, then kept in the dead-letter queue" };
              }
              throw new CaseFailure(
                "the failed message to stay in the queue until its retries are used up",
                "it was deleted after its first failed dispatch",
              );
            }
            await sleep(50, ctx.signal);
          }
          throw new CaseFailure(
            "the consumer to receive the failing message",
            "it was never received (the following message was delivered)",
          );
        }),
    },
    poisonRemovedCase(),
    noRedeliveryCase(),
  ];
}
