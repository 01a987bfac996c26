import assert from "node:assert/strict";
import { type QueueClient, QueueServiceClient } from "@azure/storage-queue";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { parseQueueMessage } from "../../protocol/bitwarden/mod.ts";
import { azuriteConnectionString, type AzuriteQueue, startAzurite } from "../azurite/mod.ts";
import { freePort, until } from "../../testing/mod.ts";
import {
  type QueueClock,
  QueueConsumer,
  type QueueConsumerOptions,
  systemClock,
} from "./queue_consumer.ts";
import { renderPrometheus } from "./metrics.ts";
import { withService } from "./_testing.ts";

const USER_A = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const USER_B = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const logOut = (userId: string) => `{"Type":11,"Payload":{"UserId":"${userId}"}}`;
const utf8Base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const quiet = () => {};

/** Fast waits so tests notice redeliveries quickly. */
const FAST = {
  idleWait: { minMs: 10, maxMs: 50 },
  errorBackoff: { minMs: 10, maxMs: 50 },
} as const;

let queueCounter = 0;

/** A fresh, uniquely named queue pair on the Azurite. */
async function freshQueues(azurite: AzuriteQueue) {
  const queueName = `q${Date.now().toString(36)}${++queueCounter}`;
  const poisonQueueName = `${queueName}-poison`;
  const service = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const queue = service.getQueueClient(queueName);
  await queue.createIfNotExists();
  return { queueName, poisonQueueName, queue, poison: service.getQueueClient(poisonQueueName) };
}

async function messageCount(queue: QueueClient): Promise<number> {
  return (await queue.getProperties()).approximateMessagesCount ?? -1;
}

/** A consumer that records what it dispatches; always stopped by the caller. */
function recordingConsumer(
  options: Omit<QueueConsumerOptions, "dispatch"> & {
    readonly dispatch?: (envelope: Envelope) => void | Promise<void>;
  },
) {
  const dispatched: Envelope[] = [];
  const consumer = new QueueConsumer({
    log: quiet,
    ...FAST,
    ...options,
    dispatch: async (envelope) => {
      await options.dispatch?.(envelope);
      dispatched.push(envelope);
    },
  });
  return { consumer, dispatched };
}

Deno.test("QueueConsumer against a real Azurite", async (t) => {
  const azurite = await startAzurite();
  console.log(`Azurite started in ${azurite.startMs} ms on port ${azurite.port}`);
  const { connectionString } = azurite;
  try {
    await t.step("raw and base64 messages are dispatched and deleted; blanks deleted", async () => {
      const { queueName, queue } = await freshQueues(azurite);
      const { consumer, dispatched } = recordingConsumer({ connectionString, queueName });
      consumer.start();
      try {
        const sentAt = performance.now();
        await queue.sendMessage(logOut(USER_A));
        await until(() => dispatched.length === 1, "the raw message");
        const latencyMs = performance.now() - sentAt;
        await queue.sendMessage(utf8Base64(logOut(USER_B)));
        await queue.sendMessage("  \n");
        await queue.sendMessage(utf8Base64("   "));
        await until(() => consumer.metrics.blank === 2 && dispatched.length === 2, "all four");
        assert.deepEqual(dispatched, [
          parseQueueMessage(logOut(USER_A)),
          parseQueueMessage(logOut(USER_B)),
        ]);
        await until(async () => await messageCount(queue) === 0, "the queue to drain");
        const metrics = consumer.metrics;
        assert.equal(metrics.received, 4);
        assert.equal(metrics.dispatched, 2);
        assert.equal(metrics.failedDispatches, 0);
        assert.equal(metrics.settleErrors, 0);
        assert.ok(metrics.lastBatchLagMs !== null && metrics.lastBatchLagMs >= 0);
        console.log(`queue latency (send -> dispatch, idle consumer): ${latencyMs.toFixed(1)} ms`);
      } finally {
        await consumer.stop();
      }
    });

    await t.step("unknown push types are dispatched and the consumer goes on", async () => {
      const { queueName, queue } = await freshQueues(azurite);
      const { consumer, dispatched } = recordingConsumer({ connectionString, queueName });
      consumer.start();
      try {
        await queue.sendMessage('{"Type":250,"Payload":{"Whatever":1}}');
        await queue.sendMessage(logOut(USER_A));
        await until(() => dispatched.length === 2, "both messages");
        assert.equal(dispatched[0]?.type, 250);
        assert.equal(dispatched[1]?.type, 11);
        assert.equal(consumer.metrics.failedDispatches, 0);
      } finally {
        await consumer.stop();
      }
    });

    await t.step(
      "failing messages are retried, then dead-lettered; others keep flowing",
      async () => {
        const { queueName, poisonQueueName, queue, poison } = await freshQueues(azurite);
        const undecodable = '{"Type":11,"Payload":';
        const rejected = logOut(USER_B);
        const attempts = new Map<string, number>();
        const errors: string[] = [];
        const { consumer, dispatched } = recordingConsumer({
          connectionString,
          queueName,
          poisonQueueName,
          visibilityTimeoutSeconds: 1,
          maxDequeueCount: 3,
          log: (level, message) => level === "error" && errors.push(message),
          dispatch: (envelope) => {
            const user = String(envelope.payload.UserId);
            attempts.set(user, (attempts.get(user) ?? 0) + 1);
            if (user === USER_B) throw new Error("Dispatcher refused");
          },
        });
        consumer.start();
        try {
          await queue.sendMessage(undecodable);
          await queue.sendMessage(rejected);
          await until(() => consumer.metrics.failedDispatches === 2, "the first failures");
          // Sent after the failures, delivered long before they are dead-lettered.
          await queue.sendMessage(logOut(USER_A));
          await until(() => dispatched.length === 1, "the good message");
          assert.equal(consumer.metrics.deadLettered, 0);

          await until(() => consumer.metrics.deadLettered === 2, "both dead-letters", {
            timeoutMs: 15_000,
          });
          assert.equal(consumer.metrics.failedDispatches, 6);
          assert.equal(attempts.get(USER_B), 3);
          assert.deepEqual(dispatched.map((e) => e.payload.UserId), [USER_A]);
          assert.ok(errors.some((e) => /^Error processing dequeued message: \S+ x3: /.test(e)));
          await until(async () => await messageCount(queue) === 0, "the main queue to drain");
          const { receivedMessageItems } = await poison.receiveMessages({ numberOfMessages: 32 });
          assert.deepEqual(
            receivedMessageItems.map((m) => m.messageText).sort(),
            [undecodable, rejected].sort(),
          );
        } finally {
          await consumer.stop();
        }
      },
    );

    await t.step("stop during a backlog hands undispatched messages back", async () => {
      const { queueName, queue } = await freshQueues(azurite);
      const users = Array.from(
        { length: 20 },
        (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
      );
      for (const user of users) await queue.sendMessage(logOut(user));
      let stopping: Promise<void> | undefined;
      const first = recordingConsumer({
        connectionString,
        queueName,
        // A lease far longer than the test: only the hand-back can make messages visible again.
        visibilityTimeoutSeconds: 300,
        dispatch: () => {
          if (first.dispatched.length === 4) stopping = first.consumer.stop();
        },
      });
      first.consumer.start();
      await until(() => stopping !== undefined, "the stop request");
      await stopping;
      assert.equal(first.consumer.running, false);
      // The message being dispatched when stop was requested was finished.
      assert.equal(first.dispatched.length, 5);
      assert.equal(first.consumer.metrics.released, 15);

      const second = recordingConsumer({ connectionString, queueName });
      second.consumer.start();
      try {
        await until(() => second.dispatched.length === 15, "the rest on a second consumer");
        await until(async () => await messageCount(queue) === 0, "the queue to drain");
      } finally {
        await second.consumer.stop();
      }
      const seen = [...first.dispatched, ...second.dispatched].map((e) => e.payload.UserId);
      assert.equal(new Set(seen).size, 20, "nothing delivered twice");
      assert.deepEqual([...seen].sort(), users);
    });

    await t.step("a slow dispatch keeps the leases of its batch: no duplicates", async () => {
      const { queueName, queue } = await freshQueues(azurite);
      // Two consumers, a 1 s lease, and a first dispatch that takes longer than the lease:
      // without renewal the second consumer would take both messages while the first one is
      // still busy, and each would be delivered twice.
      const seen: string[] = [];
      let slowStarted = false;
      const first = recordingConsumer({
        connectionString,
        queueName,
        visibilityTimeoutSeconds: 1,
        dispatch: async (envelope) => {
          seen.push(`first:${envelope.payload.UserId}`);
          if (envelope.payload.UserId === USER_A) {
            slowStarted = true;
            await new Promise((resolve) => setTimeout(resolve, 1_600));
          }
        },
      });
      const second = recordingConsumer({
        connectionString,
        queueName,
        visibilityTimeoutSeconds: 1,
        dispatch: (envelope) => void seen.push(`second:${envelope.payload.UserId}`),
      });
      await queue.sendMessage(logOut(USER_A));
      await queue.sendMessage(logOut(USER_B));
      first.consumer.start();
      try {
        await until(() => slowStarted, "the slow dispatch");
        second.consumer.start();
        await until(() => first.dispatched.length === 2, "both messages on the first consumer", {
          timeoutMs: 10_000,
        });
        await until(async () => await messageCount(queue) === 0, "the queue to drain");
        assert.deepEqual(seen, [`first:${USER_A}`, `first:${USER_B}`]);
        assert.equal(first.consumer.metrics.settleErrors, 0);
        assert.ok(first.consumer.metrics.leaseRenewals >= 2);
      } finally {
        await first.consumer.stop();
        await second.consumer.stop();
      }
    });

    await t.step("queues deleted underneath a running consumer are recreated", async () => {
      const { queueName, poisonQueueName, queue, poison } = await freshQueues(azurite);
      const { consumer, dispatched } = recordingConsumer({
        connectionString,
        queueName,
        poisonQueueName,
        maxDequeueCount: 1,
        visibilityTimeoutSeconds: 1,
        dispatch: (envelope) => {
          if (envelope.payload.UserId === USER_B) throw new Error("Dispatcher refused");
        },
      });
      consumer.start();
      try {
        await queue.sendMessage(logOut(USER_A));
        await until(() => dispatched.length === 1, "the first message");
        await queue.delete();
        await poison.delete();
        await until(() => consumer.metrics.receiveErrors > 0, "the consumer to notice");
        await until(() => queue.exists(), "the consumer to recreate its queue");
        await until(() => poison.exists(), "the consumer to recreate its poison queue");
        await queue.sendMessage(logOut(USER_A));
        await until(() => dispatched.length === 2, "a message after the recreation");
        // The poison queue deleted again: the dead-letter copy fails, the original stays, and
        // the consumer recreates the poison queue and dead-letters it on the next attempt.
        await poison.delete();
        await queue.sendMessage(logOut(USER_B));
        await until(() => consumer.metrics.deadLettered === 1, "the dead-letter", {
          timeoutMs: 10_000,
        });
        assert.ok(consumer.metrics.settleErrors >= 1);
        const { receivedMessageItems } = await poison.receiveMessages();
        assert.deepEqual(receivedMessageItems.map((m) => m.messageText), [logOut(USER_B)]);
      } finally {
        await consumer.stop();
      }
    });

    await t.step("idle waits grow from min to max and reset after a message", async () => {
      const { queueName, queue } = await freshQueues(azurite);
      // One timeline of waits and dispatches, so the assertions do not depend on when the
      // test happens to poll.
      const timeline: (number | "dispatch")[] = [];
      const clock: QueueClock = {
        now: systemClock.now,
        sleep: (ms, signal) => {
          timeline.push(ms);
          return systemClock.sleep(ms, signal);
        },
      };
      const { consumer } = recordingConsumer({
        connectionString,
        queueName,
        clock,
        dispatch: () => void timeline.push("dispatch"),
        idleWait: { minMs: 5, maxMs: 40 },
      });
      consumer.start();
      try {
        await until(() => timeline.length >= 6, "six idle waits");
        assert.deepEqual(timeline.slice(0, 6), [5, 10, 20, 40, 40, 40]);
        await queue.sendMessage(logOut(USER_A));
        const after = () => timeline.slice(timeline.indexOf("dispatch"));
        await until(() => after().length >= 3, "idle waits after the message");
        assert.deepEqual(after().slice(0, 3), ["dispatch", 5, 10]);
      } finally {
        await consumer.stop();
      }
    });

    await t.step("metrics render as Prometheus text", async () => {
      const { queueName, queue } = await freshQueues(azurite);
      const { consumer, dispatched } = recordingConsumer({ connectionString, queueName });
      consumer.start();
      try {
        await queue.sendMessage(logOut(USER_A));
        await until(() => dispatched.length === 1, "the message");
      } finally {
        await consumer.stop();
      }
      const text = renderPrometheus(consumer.metricFamilies());
      assert.match(text, /^hubproof_queue_messages_received_total 1$/m);
      assert.match(text, /^hubproof_queue_messages_dispatched_total 1$/m);
      assert.match(text, /^hubproof_queue_messages_dead_lettered_total 0$/m);
      assert.match(text, /^hubproof_queue_last_batch_lag_seconds \d+(\.\d+)?(e-\d+)?$/m);
    });
  } finally {
    await azurite.stop();
  }
});

Deno.test("a Notifications service with a queue delivers queue messages to sockets", async () => {
  const azurite = await startAzurite();
  try {
    const queue = {
      connectionString: azurite.connectionString,
      idleWait: { minMs: 10, maxMs: 100 },
    };
    await withService({ selfHosted: false, queue }, async (f) => {
      const json = await f.connect({ token: await f.userToken({ sub: USER_A }) });
      const other = await f.connect({ token: await f.userToken({ sub: USER_B }) });
      const client = QueueServiceClient.fromConnectionString(azurite.connectionString)
        .getQueueClient("notifications");
      await until(() => client.exists(), "the service to create its queue");
      const sentAt = performance.now();
      await client.sendMessage(logOut(USER_A));
      await json.waitFor(() => json.invocations("ReceiveMessage").length === 1, 5_000, "raw");
      const latencyMs = performance.now() - sentAt;
      await client.sendMessage(
        utf8Base64(`{"Type":11,"Payload":{"UserId":"${USER_A}"},"ContextId":"dev-9"}`),
      );
      await json.waitFor(() => json.invocations("ReceiveMessage").length === 2, 5_000, "base64");
      assert.deepEqual(
        json.invocations("ReceiveMessage").map((m) => (m as { arguments: unknown[] }).arguments),
        [
          [{ type: 11, payload: { userId: USER_A, reason: null }, contextId: null }],
          [{ type: 11, payload: { userId: USER_A, reason: null }, contextId: "dev-9" }],
        ],
      );
      assert.equal(other.invocations("ReceiveMessage").length, 0);
      const metrics = await (await fetch(`${f.url}/metrics`)).text();
      assert.match(metrics, /^hubproof_queue_messages_dispatched_total 2$/m);
      assert.match(
        metrics,
        /^hubproof_notifications_messages_received_total\{source="queue"\} 2$/m,
      );
      console.log(`queue latency (Azurite -> service -> WebSocket): ${latencyMs.toFixed(1)} ms`);
    });
  } finally {
    await azurite.stop();
  }
});

Deno.test("QueueConsumer backs off on receive errors and recovers", async () => {
  const port = freePort();
  const sleeps: number[] = [];
  const clock: QueueClock = {
    now: systemClock.now,
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return systemClock.sleep(ms, signal);
    },
  };
  const errors: string[] = [];
  const { consumer, dispatched } = recordingConsumer({
    connectionString: azuriteConnectionString(port),
    clock,
    random: () => 0.5,
    errorBackoff: { minMs: 20, maxMs: 160 },
    log: (level, message) => level === "error" && errors.push(message),
  });
  let azurite: AzuriteQueue | undefined;
  consumer.start();
  try {
    await until(() => consumer.metrics.receiveErrors >= 5, "five receive errors");
    // Equal jitter with random 0.5: three quarters of 20, 40, 80, 160, 160.
    assert.deepEqual(sleeps.slice(0, 5), [15, 30, 60, 120, 120]);
    assert.match(errors[0] ?? "", /^Queue receive failed \(1 in a row\), retrying in 15 ms: /);

    azurite = await startAzurite({ port });
    await until(() => consumer.metrics.consecutiveReceiveErrors === 0, "recovery", {
      timeoutMs: 10_000,
    });
    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString)
      .getQueueClient("notifications");
    await queue.sendMessage(logOut(USER_A));
    await until(() => dispatched.length === 1, "a message after recovery");
    assert.ok(consumer.metrics.receiveErrors >= 5);

    // An in-memory Azurite restarted underneath the running consumer comes back empty: the
    // consumer must notice and recreate its queues rather than fail on QueueNotFound forever.
    await azurite.stop();
    const errorsBefore = consumer.metrics.receiveErrors;
    await until(() => consumer.metrics.receiveErrors > errorsBefore, "the outage");
    azurite = await startAzurite({ port });
    await until(() => queue.exists(), "the consumer to recreate its queue", {
      timeoutMs: 10_000,
    });
    await queue.sendMessage(logOut(USER_B));
    await until(() => dispatched.length === 2, "a message after the restart");
  } finally {
    await consumer.stop();
    await azurite?.stop();
  }
});

Deno.test("QueueConsumer refuses bad options with a message naming the option", () => {
  const base = { connectionString: azuriteConnectionString(10001), dispatch: quiet };
  assert.throws(() => new QueueConsumer({ ...base, batchSize: 33 }), /batchSize: .*1\.\.32/);
  assert.throws(() => new QueueConsumer({ ...base, maxDequeueCount: 0 }), /maxDequeueCount/);
  assert.throws(
    () => new QueueConsumer({ ...base, visibilityTimeoutSeconds: 0 }),
    /visibilityTimeoutSeconds/,
  );
  assert.throws(
    () => new QueueConsumer({ ...base, idleWait: { minMs: 50, maxMs: 10 } }),
    /idleWait/,
  );
  assert.throws(
    () => new QueueConsumer({ ...base, poisonQueueName: "notifications" }),
    /poisonQueueName: same as queueName/,
  );
  assert.throws(
    () => new QueueConsumer({ ...base, connectionString: "nonsense" }),
    /^RangeError: Invalid queue connection string: /,
  );
});

Deno.test("QueueConsumer.start twice is refused", async () => {
  const consumer = new QueueConsumer({
    connectionString: azuriteConnectionString(freePort()),
    dispatch: quiet,
    log: quiet,
    errorBackoff: { minMs: 5, maxMs: 5 },
  });
  consumer.start();
  try {
    assert.throws(() => consumer.start(), /already started/);
  } finally {
    await consumer.stop();
  }
});
