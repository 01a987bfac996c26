import assert from "node:assert/strict";
import { createClient } from "redis";
import { QueueServiceClient } from "@azure/storage-queue";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import {
  ActingAuthority,
  type ConnectOptions,
  freePort,
  RawHubClient,
  redisSkipReason,
  type RunningRedis,
  startRedis,
  until,
} from "../../testing/mod.ts";
import { startAzurite } from "../azurite/mod.ts";
import { FAST_TIMERS } from "./_testing.ts";
import {
  type ServedNotifications,
  serveNotifications,
  type ServeNotificationsOptions,
} from "./service.ts";
import { RedisBackplane, type RedisBackplaneOptions } from "./redis_backplane.ts";
import { decodeBackplaneMessage, encodeBackplaneMessage } from "./_redis_wire.ts";

const quiet = () => {};

// Without redis-server (and without HUBPROOF_REQUIRE_REDIS=1) the Redis tests show as ignored.
const skipRedis = await redisSkipReason();
if (skipRedis !== null) console.warn(skipRedis);
const ignore = skipRedis !== null;

function envelope(type: number, userId: string): Envelope {
  return { type, payload: { UserId: userId, Date: "2026-11-27T10:00:00Z" }, contextId: null };
}

/** Runs `body` with a fresh Redis, or skips (with the reason printed) when Redis is absent. */
async function withRedis(
  t: Deno.TestContext,
  body: (redis: RunningRedis) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  if (redis.status === "skipped") {
    console.warn(`${t.name}: ${redis.reason}`);
    return;
  }
  try {
    await body(redis);
  } finally {
    await redis.stop();
  }
}

/** A connected, subscribed backplane that records what it receives. */
async function node(options: RedisBackplaneOptions) {
  const backplane = await RedisBackplane.connect({ log: quiet, ...options });
  const received: Envelope[] = [];
  await backplane.subscribe((e) => received.push(e));
  return { backplane, received };
}

Deno.test("backplane wire format", async (t) => {
  await t.step("round-trips origin and envelope", () => {
    const message = {
      origin: "a",
      id: "p-1",
      envelope: { ...envelope(5, "u1"), contextId: "dev-1" },
    };
    assert.deepEqual(decodeBackplaneMessage(encodeBackplaneMessage(message)), message);
  });
  await t.step("rejects malformed messages with a message naming the field", () => {
    const cases: [string, RegExp][] = [
      ["nope", /not JSON/],
      ["[]", /not a JSON object/],
      ['{"v":2,"origin":"a","envelope":{}}', /unsupported version 2/],
      ['{"v":1,"envelope":{}}', /origin/],
      ['{"v":1,"origin":"a","envelope":{"type":"5","payload":{},"contextId":null}}', /type/],
      ['{"v":1,"origin":"a","envelope":{"type":5,"payload":[],"contextId":null}}', /payload/],
      ['{"v":1,"origin":"a","envelope":{"type":5,"payload":{},"contextId":7}}', /contextId/],
    ];
    for (const [text, pattern] of cases) {
      assert.throws(() => decodeBackplaneMessage(text), pattern, text);
    }
  });
});

Deno.test({ name: "RedisBackplane against a real Redis", ignore }, async (t) => {
  await withRedis(t, async (redis) => {
    await t.step("a publication reaches every other instance once and not its origin", async () => {
      const a = await node({ url: redis.url, instanceName: "a" });
      const b = await node({ url: redis.url, instanceName: "b" });
      const c = await node({ url: redis.url, instanceName: "c" });
      try {
        const sent = envelope(5, "u1");
        await a.backplane.publish(sent);
        // Redis delivers in publication order: once everyone has seen the marker published
        // after `sent`, every copy of `sent` that will ever arrive has arrived.
        const marker = envelope(0, "marker");
        await b.backplane.publish(marker);
        await until(
          () =>
            a.received.length === 1 && c.received.length === 2 &&
            a.backplane.metrics.ignoredOwn === 1 && b.backplane.metrics.ignoredOwn === 1,
          "the marker and both echoes",
        );
        assert.deepEqual(a.received, [marker]);
        assert.deepEqual(b.received, [sent]);
        assert.deepEqual(c.received, [sent, marker]);
        assert.equal(a.backplane.metrics.ignoredOwn, 1);
        assert.equal(a.backplane.metrics.published, 1);
        assert.equal(b.backplane.metrics.received, 1);
      } finally {
        await Promise.all([a, b, c].map((n) => n.backplane.close()));
      }
    });

    await t.step("instances with another channel prefix are isolated", async () => {
      const a = await node({ url: redis.url, instanceName: "a", channelPrefix: "app1" });
      const b = await node({ url: redis.url, instanceName: "b", channelPrefix: "app2" });
      const a2 = await node({ url: redis.url, instanceName: "a2", channelPrefix: "app1" });
      try {
        await a.backplane.publish(envelope(5, "u1"));
        await until(() => a2.received.length === 1, "delivery on the same prefix");
        // b's subscription would have received it by now (same Redis, same publication).
        await b.backplane.publish(envelope(6, "u2"));
        await until(() => b.backplane.metrics.ignoredOwn === 1, "b's own echo");
        assert.deepEqual(b.received, []);
        assert.deepEqual(a.received, []);
      } finally {
        await Promise.all([a, b, a2].map((n) => n.backplane.close()));
      }
    });

    await t.step("malformed channel messages and throwing handlers are counted", async () => {
      const a = await node({ url: redis.url, instanceName: "a" });
      const b = await node({ url: redis.url, instanceName: "b" });
      await b.backplane.subscribe(() => {
        throw new Error("Handler bug");
      });
      const raw = createClient({ url: redis.url });
      await raw.connect();
      try {
        await raw.publish(b.backplane.channel, "garbage");
        await a.backplane.publish(envelope(5, "u1"));
        await until(() => b.received.length === 1, "the valid envelope after the garbage");
        assert.equal(b.backplane.metrics.malformed, 1);
        assert.equal(b.backplane.metrics.handlerErrors, 1);
      } finally {
        raw.destroy();
        await Promise.all([a, b].map((n) => n.backplane.close()));
      }
    });

    await t.step("two backplanes given the same name are still distinct instances", async () => {
      const a = await node({ url: redis.url, instanceName: "same" });
      const b = await node({ url: redis.url, instanceName: "same" });
      try {
        assert.notEqual(a.backplane.instanceId, b.backplane.instanceId);
        assert.match(a.backplane.instanceId, /^same\//);
        await a.backplane.publish(envelope(5, "from-a"));
        await b.backplane.publish(envelope(5, "from-b"));
        await until(() => a.received.length === 1 && b.received.length === 1, "both deliveries");
        assert.equal(a.received[0]?.payload.UserId, "from-b");
        assert.equal(b.received[0]?.payload.UserId, "from-a");
      } finally {
        await Promise.all([a, b].map((n) => n.backplane.close()));
      }
    });

    await t.step("a publication repeated on the channel is delivered once", async () => {
      const b = await node({ url: redis.url, instanceName: "b" });
      const raw = createClient({ url: redis.url });
      await raw.connect();
      try {
        const text = encodeBackplaneMessage({
          origin: "a",
          id: "p-1",
          envelope: envelope(5, "u1"),
        });
        await raw.publish(b.backplane.channel, text);
        await raw.publish(b.backplane.channel, text);
        await raw.publish(
          b.backplane.channel,
          encodeBackplaneMessage({ origin: "a", id: "p-2", envelope: envelope(5, "u2") }),
        );
        await until(() => b.received.length === 2, "the second publication");
        assert.deepEqual(b.received.map((e) => e.payload.UserId), ["u1", "u2"]);
        assert.equal(b.backplane.metrics.duplicates, 1);
      } finally {
        raw.destroy();
        await b.backplane.close();
      }
    });

    await t.step("publish after close fails clearly", async () => {
      const a = await node({ url: redis.url, instanceName: "a" });
      await a.backplane.close();
      await assert.rejects(a.backplane.publish(envelope(5, "u1")), /Redis backplane is closed/);
    });
  });
});

Deno.test({ name: "RedisBackplane survives a Redis restart", ignore }, async (t) => {
  const first = await startRedis();
  if (first.status === "skipped") {
    console.warn(`${t.name}: ${first.reason}`);
    return;
  }
  let second: RunningRedis | undefined;
  const logs: string[] = [];
  const log = (level: string, message: string) => logs.push(`${level}: ${message}`);
  const options = { url: first.url, reconnect: { minMs: 20, maxMs: 100 }, log };
  const a = await node({ ...options, instanceName: "a" });
  const b = await node({ ...options, instanceName: "b" });
  try {
    await a.backplane.publish(envelope(5, "before"));
    await until(() => b.received.length === 1, "delivery before the restart");

    await first.stop();
    await until(() => !a.backplane.metrics.connected, "a to notice the outage");
    // Held, not refused: the caller already delivered it locally.
    await a.backplane.publish(envelope(5, "during"));
    assert.equal(a.backplane.metrics.pending, 1);
    assert.equal(a.backplane.metrics.deferred, 1);

    const restarted = await startRedis({ port: first.port });
    assert.equal(restarted.status, "started");
    second = restarted as RunningRedis;
    await until(
      () => a.backplane.metrics.connected && b.backplane.metrics.connected,
      "both to reconnect",
    );
    // Re-subscription follows the reconnect; publish until b hears again.
    // The held publication goes out once b has re-subscribed, then a fresh one.
    await until(() => b.received.length === 2, "the held publication", { timeoutMs: 10_000 });
    assert.equal(a.backplane.metrics.pending, 0);
    await a.backplane.publish(envelope(5, "after"));
    await until(() => b.received.length === 3, "delivery after the restart");
    assert.equal(b.received[0]?.payload.UserId, "before");
    assert.equal(b.received[1]?.payload.UserId, "during");
    assert.equal(b.received[2]?.payload.UserId, "after");
    assert.equal(b.received.filter((e) => e.payload.UserId === "during").length, 1);
    assert.ok(a.backplane.metrics.reconnects >= 1);
    assert.ok(logs.some((l) => l.startsWith("error: Redis backplane publisher connection lost")));
    assert.ok(logs.some((l) => l.startsWith("info: Redis backplane subscriber reconnected")));
  } finally {
    await Promise.all([a, b].map((n) => n.backplane.close()));
    await first.stop();
    await second?.stop();
  }
});

Deno.test("RedisBackplane.connect fails clearly when Redis is unreachable", async () => {
  const port = freePort();
  await assert.rejects(
    RedisBackplane.connect({
      url: `redis://:secret@127.0.0.1:${port}`,
      connectTimeoutMs: 200,
      reconnect: { minMs: 20, maxMs: 50 },
      log: quiet,
    }),
    (error: Error) => {
      assert.match(error.message, /^Cannot connect to the Redis backplane at redis:\/\/:\*\*\*@/);
      assert.match(error.message, /within 200 ms/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    },
  );
});

// ---------------------------------------------------------------------------------------------
// End to end: two Notifications instances sharing Redis, real WebSocket clients on both.

const U1 = "11111111-1111-4111-8111-111111111111";
const U2 = "22222222-2222-4222-8222-222222222222";
const AUTH_REQUEST = "33333333-3333-4333-8333-333333333333";
const OTHER_AUTH_REQUEST = "44444444-4444-4444-8444-444444444444";

/** Two served instances sharing one authority and one Redis. */
interface Cluster {
  readonly instances: readonly ServedNotifications[];
  readonly backplanes: readonly RedisBackplane[];
  /** Opens a raw WebSocket hub client on instance `index` (handshake done). */
  connect(index: number, options: ConnectOptions): Promise<RawHubClient>;
  /** A `/hub` token for `sub`. */
  userToken(sub: string): Promise<string>;
  /** POSTs an envelope to `/send` of instance `index`. */
  send(index: number, body: unknown): Promise<Response>;
}

async function withCluster(
  redisUrl: string,
  extra: (index: number) => Partial<ServeNotificationsOptions>,
  body: (cluster: Cluster) => Promise<void>,
  backplaneOptions: Partial<RedisBackplaneOptions> = {},
): Promise<void> {
  const authority = await ActingAuthority.create();
  const authorityUrl = await authority.listen({ port: 0 });
  const instances: ServedNotifications[] = [];
  const backplanes: RedisBackplane[] = [];
  const clients: RawHubClient[] = [];
  try {
    for (const index of [0, 1]) {
      const backplane = await RedisBackplane.connect({
        url: redisUrl,
        instanceName: `instance-${index}`,
        log: quiet,
        ...backplaneOptions,
      });
      backplanes.push(backplane);
      instances.push(
        await serveNotifications({
          selfHosted: true,
          installationId: null,
          log: quiet,
          timers: FAST_TIMERS,
          auth: { authority: authorityUrl },
          backplane,
          ...extra(index),
        }),
      );
    }
    const internalToken = await authority.mint({
      claims: { sub: "internal.test", client_id: "internal.test", scope: ["internal"] },
    });
    await body({
      instances,
      backplanes,
      connect: async (index, options) => {
        const client = await RawHubClient.open(instances[index]!.url, options);
        clients.push(client);
        await client.handshake(options.protocol ?? "json");
        return client;
      },
      userToken: (sub) =>
        authority.mint({ claims: { sub, amr: ["Application"], scope: ["api", "offline_access"] } }),
      send: async (index, payload) => {
        const response = await fetch(`${instances[index]!.url}/send`, {
          method: "POST",
          headers: { authorization: `Bearer ${internalToken}`, "content-type": "application/json" },
          body: JSON.stringify(payload),
        });
        await response.arrayBuffer();
        return response;
      },
    });
  } finally {
    for (const client of clients) await client.close();
    for (const served of instances) await served.close();
    // Normally closed by the service's shutdown; this covers a failed start.
    for (const backplane of backplanes) await backplane.close();
    await authority.close();
  }
}

const syncVault = (userId: string) => ({
  type: 5,
  payload: { userId, date: "2026-11-27T10:00:00Z" },
  contextId: null,
});
const authRequestResponse = (id: string) => ({
  type: 16,
  payload: { id, userId: U1 },
  contextId: null,
});

function count(client: RawHubClient, method: string): number {
  return client.invocations(method).length;
}

/** The payload ids of every `ReceiveMessage` a client got, in order (repeats kept). */
function receivedIds(client: RawHubClient): unknown[] {
  return client.invocations("ReceiveMessage").map((m) => {
    const arg = (m as { arguments: Record<string, Record<string, unknown>>[] }).arguments[0]!;
    return (arg.payload ?? arg.Payload)?.id ?? (arg.payload ?? arg.Payload)?.Id;
  });
}

/** SyncCipherUpdate for `userId` with a distinct cipher id per `n`. */
function numberedPush(userId: string, n: number) {
  return {
    type: 0,
    payload: {
      id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
      userId,
      revisionDate: "2026-11-27T10:00:00Z",
    },
    contextId: null,
  };
}

/** Sent, delivered, missing and duplicate counts of numbered pushes at one client. */
function tally(client: RawHubClient, sent: number) {
  const ids = receivedIds(client);
  const distinct = new Set(ids).size;
  return { sent, delivered: distinct, missing: sent - distinct, duplicate: ids.length - distinct };
}

// ---------------------------------------------------------------------------------------------
// Chaos: Redis killed with SIGKILL while pushes flow through two instances. Every push enters
// on A; the count that matters is what reached B, the instance that did not take the /send.

Deno.test({
  name: "chaos: Redis kill -9 and restart on the same port while pushes flow loses nothing",
  ignore,
}, async (t) => {
  const first = await startRedis();
  if (first.status === "skipped") {
    console.warn(`${t.name}: ${first.reason}`);
    return;
  }
  let second: RunningRedis | undefined;
  const started = performance.now();
  try {
    await withCluster(first.url, () => ({}), async (cluster) => {
      const token = await cluster.userToken(U1);
      const onA = await cluster.connect(0, { token });
      const onB = await cluster.connect(1, { token, protocol: "messagepack" });
      const [a] = cluster.backplanes as [RedisBackplane, RedisBackplane];
      const pushes = 300;
      const killAt = 100;
      let restart: Promise<void> | undefined;
      for (let n = 0; n < pushes; n++) {
        if (n === killAt) {
          Deno.kill(first.pid, "SIGKILL");
          await first.stop();
          // Back on the same port after 1 s, while the pushes keep coming.
          restart = (async () => {
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            second = await startRedis({ port: first.port }) as RunningRedis;
          })();
        }
        assert.equal((await cluster.send(0, numberedPush(U1, n))).status, 200);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await restart;
      await until(() => new Set(receivedIds(onB)).size === pushes, "every push on B", {
        timeoutMs: 15_000,
      });
      // A marker after the flush: once B has it, anything A held or retried is in.
      assert.equal((await cluster.send(0, numberedPush(U1, pushes))).status, 200);
      await until(() => receivedIds(onB).includes(numberedPush(U1, pushes).payload.id), "marker");
      const atA = tally(onA, pushes + 1);
      const atB = tally(onB, pushes + 1);
      console.log(
        `[chaos] Redis kill -9 at push ${killAt}, back after 1 s: on A ${JSON.stringify(atA)}, ` +
          `on B ${JSON.stringify(atB)}; A deferred ${a.metrics.deferred}, dropped ` +
          `${a.metrics.dropped}, B dropped duplicates ${
            cluster.backplanes[1]!.metrics.duplicates
          }; ` +
          `${Math.round(performance.now() - started)} ms`,
      );
      assert.deepEqual(atA, { sent: pushes + 1, delivered: pushes + 1, missing: 0, duplicate: 0 });
      assert.deepEqual(atB, { sent: pushes + 1, delivered: pushes + 1, missing: 0, duplicate: 0 });
      assert.ok(a.metrics.deferred > 0, "the outage was seen by the publisher");
      assert.equal(a.metrics.dropped, 0);
    }, { reconnect: { minMs: 20, maxMs: 100 } });
  } finally {
    await first.stop();
    await second?.stop();
  }
});

Deno.test({
  name: "chaos: an outage longer than the backplane holds loses exactly what was refused, counted",
  ignore,
}, async (t) => {
  const first = await startRedis();
  if (first.status === "skipped") {
    console.warn(`${t.name}: ${first.reason}`);
    return;
  }
  let second: RunningRedis | undefined;
  try {
    const maxPending = 20;
    await withCluster(first.url, () => ({}), async (cluster) => {
      const token = await cluster.userToken(U1);
      const onA = await cluster.connect(0, { token });
      const onB = await cluster.connect(1, { token });
      const [a] = cluster.backplanes as [RedisBackplane, RedisBackplane];
      const before = 10, during = 50, after = 10;
      let n = 0;
      for (; n < before; n++) {
        assert.equal((await cluster.send(0, numberedPush(U1, n))).status, 200);
      }
      await until(() => receivedIds(onB).length === before, "steady state");
      Deno.kill(first.pid, "SIGKILL");
      await first.stop();
      await until(() => !a.metrics.connected, "A to notice the outage");
      // A has a local recipient, so /send answers 200 even when the outbox refuses: a retry
      // would deliver on A twice. What B misses is exactly what the outbox refused.
      for (; n < before + during; n++) {
        assert.equal((await cluster.send(0, numberedPush(U1, n))).status, 200);
      }
      assert.equal(a.metrics.pending, maxPending);
      assert.equal(a.metrics.dropped, during - maxPending);
      second = await startRedis({ port: first.port }) as RunningRedis;
      await until(() => a.metrics.pending === 0, "the held publications to go out", {
        timeoutMs: 10_000,
      });
      for (; n < before + during + after; n++) {
        assert.equal((await cluster.send(0, numberedPush(U1, n))).status, 200);
      }
      const last = numberedPush(U1, n - 1).payload.id;
      await until(() => receivedIds(onB).includes(last), "the pushes after the outage");
      const atA = tally(onA, n);
      const atB = tally(onB, n);
      console.log(
        `[chaos] Redis down for ${during} pushes with maxPending ${maxPending}: on A ` +
          `${JSON.stringify(atA)}, on B ${JSON.stringify(atB)}; A dropped ${a.metrics.dropped}`,
      );
      assert.deepEqual(atA, { sent: n, delivered: n, missing: 0, duplicate: 0 });
      assert.deepEqual(atB, {
        sent: n,
        delivered: n - (during - maxPending),
        missing: during - maxPending,
        duplicate: 0,
      });
      // The first maxPending publications of the outage were held and delivered, in order; the
      // rest were refused.
      const missing = new Set(
        Array.from(
          { length: during - maxPending },
          (_, i) => numberedPush(U1, before + maxPending + i).payload.id,
        ),
      );
      assert.ok(receivedIds(onB).every((id) => !missing.has(id as string)));
      const metrics = await (await fetch(`${cluster.instances[0]!.url}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(`^hubproof_backplane_publish_dropped_total ${during - maxPending}$`, "m"),
      );
    }, { reconnect: { minMs: 20, maxMs: 100 }, maxPending });
  } finally {
    await first.stop();
    await second?.stop();
  }
});

Deno.test({
  name: "two instances sharing Redis deliver a push exactly once per connection",
  ignore,
}, async (t) => {
  await withRedis(t, async (redis) => {
    await withCluster(redis.url, () => ({}), async (cluster) => {
      const u1OnA = await cluster.connect(0, { token: await cluster.userToken(U1) });
      const u1OnB = await cluster.connect(1, {
        token: await cluster.userToken(U1),
        protocol: "messagepack",
      });
      const u2OnA = await cluster.connect(0, { token: await cluster.userToken(U2) });
      const u2OnB = await cluster.connect(1, { token: await cluster.userToken(U2) });
      const anonOnB = await cluster.connect(1, {
        path: "/anonymous-hub",
        query: `Token=${AUTH_REQUEST}`,
        protocol: "messagepack",
      });
      const otherAnonOnA = await cluster.connect(0, {
        path: "/anonymous-hub",
        query: `Token=${OTHER_AUTH_REQUEST}`,
      });
      const everyone = [u1OnA, u1OnB, u2OnA, u2OnB, anonOnB, otherAnonOnA];

      await t.step("a user push entering on A reaches the user's sockets on A and B", async () => {
        const sentAt = performance.now();
        assert.equal((await cluster.send(0, syncVault(U1))).status, 200);
        await u1OnB.waitFor(() => count(u1OnB, "ReceiveMessage") === 1, 3_000, "B delivery");
        const latencyMs = performance.now() - sentAt;
        await u1OnA.waitFor(() => count(u1OnA, "ReceiveMessage") === 1, 3_000, "A delivery");
        const [onB] = u1OnB.invocations("ReceiveMessage");
        const argument = (onB as { arguments: Record<string, unknown>[] }).arguments[0];
        assert.equal(argument?.Type, 5);
        assert.equal((argument?.Payload as Record<string, unknown>).UserId, U1);
        console.log(`Redis e2e latency (/send on A -> socket on B): ${latencyMs.toFixed(1)} ms`);
      });

      await t.step("the anonymous hub on B gets an auth response entering on A", async () => {
        assert.equal((await cluster.send(0, authRequestResponse(AUTH_REQUEST))).status, 200);
        await anonOnB.waitFor(
          () => count(anonOnB, "AuthRequestResponseRecieved") === 1,
          3_000,
          "the anonymous delivery on B",
        );
        const [message] = anonOnB.invocations("AuthRequestResponseRecieved");
        const argument = (message as { arguments: Record<string, unknown>[] }).arguments[0];
        assert.equal(argument?.Type, 16);
        assert.equal((argument?.Payload as Record<string, unknown>).Id, AUTH_REQUEST);
      });

      await t.step("nobody got anything twice or meant for someone else", async () => {
        // A marker for U2 entering on B, then on A: once both arrive on both instances, every
        // earlier publication has been processed everywhere (Redis keeps publication order).
        await cluster.send(1, syncVault(U2));
        await cluster.send(0, syncVault(U2));
        for (const client of [u2OnA, u2OnB]) {
          await client.waitFor(() => count(client, "ReceiveMessage") === 2, 3_000, "the markers");
        }
        assert.equal(count(u1OnA, "ReceiveMessage"), 1);
        assert.equal(count(u1OnB, "ReceiveMessage"), 1);
        assert.equal(count(anonOnB, "AuthRequestResponseRecieved"), 1);
        assert.equal(otherAnonOnA.messages.filter((m) => m.type === 1).length, 0);
        assert.equal(anonOnB.invocations("ReceiveMessage").length, 0);
        for (const client of everyone) assert.deepEqual(client.errors, []);
        const [a, b] = cluster.backplanes;
        assert.equal(a?.metrics.published, 3);
        assert.equal(b?.metrics.published, 1);
        assert.equal(a?.metrics.received, 1);
        assert.equal(b?.metrics.received, 3);
      });

      await t.step("/metrics of B counts backplane-sourced messages", async () => {
        const text = await (await fetch(`${cluster.instances[1]!.url}/metrics`)).text();
        assert.match(
          text,
          /hubproof_notifications_messages_received_total\{source="backplane"\} 3/,
        );
      });
    });
  });
});

Deno.test(
  { name: "two instances consuming one queue deliver each message on both", ignore },
  async (t) => {
    await withRedis(t, async (redis) => {
      const azurite = await startAzurite();
      try {
        const queue = {
          connectionString: azurite.connectionString,
          queueName: "notifications",
          idleWait: { minMs: 10, maxMs: 50 },
          batchSize: 2,
        };
        await withCluster(redis.url, () => ({ selfHosted: false, queue }), async (cluster) => {
          const token = await cluster.userToken(U1);
          const clients = [
            await cluster.connect(0, { token }),
            await cluster.connect(1, { token, protocol: "messagepack" }),
          ];
          const client = QueueServiceClient.fromConnectionString(azurite.connectionString)
            .getQueueClient("notifications");
          await client.createIfNotExists();
          const pushes = 10;
          for (let i = 0; i < pushes; i++) {
            // SyncCipherUpdate with a distinct cipher id per push.
            const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
            await client.sendMessage(
              `{"Type":0,"Payload":{"Id":"${id}","UserId":"${U1}","RevisionDate":"2026-11-27T10:00:00Z"}}`,
            );
          }
          for (const c of clients) {
            await c.waitFor(() => count(c, "ReceiveMessage") >= pushes, 10_000, "every push");
          }
          // Settle: any duplicate would come from a redelivered queue message or a double publish.
          await until(
            () =>
              cluster.backplanes.reduce((n, b) => n + b.metrics.published, 0) === pushes &&
              cluster.backplanes.reduce((n, b) => n + b.metrics.received, 0) === pushes,
            "the backplane counters",
          );
          for (const c of clients) assert.equal(count(c, "ReceiveMessage"), pushes);
          const ids = (c: RawHubClient) => new Set(receivedIds(c));
          assert.equal(ids(clients[0]!).size, pushes);
          assert.deepEqual(ids(clients[1]!), ids(clients[0]!));
          // Which instance took which message is up to the queue; together, each exactly once.
          const consumed = await Promise.all(
            cluster.instances.map(async (s) => {
              const text = await (await fetch(`${s.url}/metrics`)).text();
              return Number(/^hubproof_queue_messages_dispatched_total (\d+)$/m.exec(text)?.[1]);
            }),
          );
          assert.equal(consumed[0]! + consumed[1]!, pushes);
        });
      } finally {
        await azurite.stop();
      }
    });
  },
);

Deno.test({
  name: "a push entering during a Redis outage reaches every instance exactly once",
  ignore,
}, async (t) => {
  const first = await startRedis();
  if (first.status === "skipped") {
    console.warn(`${t.name}: ${first.reason}`);
    return;
  }
  let second: RunningRedis | undefined;
  try {
    await withCluster(first.url, () => ({}), async (cluster) => {
      const token = await cluster.userToken(U1);
      const u1OnA = await cluster.connect(0, { token });
      const u1OnB = await cluster.connect(1, { token, protocol: "messagepack" });
      const u2OnB = await cluster.connect(1, { token: await cluster.userToken(U2) });
      const [a, b] = cluster.backplanes as [RedisBackplane, RedisBackplane];
      // Steady state first: A learns from the PUBLISH reply that two instances listen, and
      // after the outage waits for both to re-subscribe before sending what it held.
      assert.equal((await cluster.send(0, syncVault(U2))).status, 200);
      await u2OnB.waitFor(() => count(u2OnB, "ReceiveMessage") === 1, 3_000, "steady state");

      await first.stop();
      await until(() => !a.metrics.connected, "A to notice the outage");
      // Delivered on A; publishing waits for Redis. The API's outbox retries anything but a
      // success, so any other answer would deliver the push on A twice.
      const response = await cluster.send(0, syncVault(U1));
      assert.equal(response.status, 200);
      await u1OnA.waitFor(() => count(u1OnA, "ReceiveMessage") === 1, 3_000, "A delivery");
      assert.equal(a.metrics.pending, 1);

      second = await startRedis({ port: first.port }) as RunningRedis;
      await u1OnB.waitFor(
        () => count(u1OnB, "ReceiveMessage") === 1,
        10_000,
        "B delivery after Redis came back",
      );
      assert.equal(a.metrics.pending, 0);
      // A marker published by A after the flush: once B has it, anything A sent earlier is in.
      assert.equal((await cluster.send(0, syncVault(U2))).status, 200);
      await u2OnB.waitFor(() => count(u2OnB, "ReceiveMessage") === 2, 3_000, "the marker");
      assert.equal(count(u1OnA, "ReceiveMessage"), 1);
      assert.equal(count(u1OnB, "ReceiveMessage"), 1);
      assert.equal(b.metrics.received, 3);
      assert.equal(b.metrics.duplicates, 0);
      const metrics = await (await fetch(`${cluster.instances[0]!.url}/metrics`)).text();
      assert.match(metrics, /^hubproof_backplane_publish_deferred_total 1$/m);
      assert.match(metrics, /^hubproof_backplane_pending 0$/m);
    });
  } finally {
    await first.stop();
    await second?.stop();
  }
});
