import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { SignJWT } from "jose";
import { until } from "../../testing/mod.ts";
import { InternalTokenSource } from "./internal_token_source.ts";
import { NotificationsApiPushEngine } from "./notifications_api_engine.ts";
import type { PushNotification } from "./types.ts";

const USER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const FIRST = "f0000000-0000-4000-8000-000000000001";
const SECOND = "f0000000-0000-4000-8000-000000000002";
const folder = (id: string): PushNotification => ({
  type: 7,
  target: "user",
  targetId: USER,
  payload: { Id: id, UserId: USER, RevisionDate: "2026-08-20T00:00:00.000Z" },
  excludeCurrentContext: false,
});

/**
 * A fake Identity + Notifications `/send`; `answer` decides each `/send` response.
 */
function fakeNotifications(answer: (count: number) => Response) {
  const secret = new TextEncoder().encode("k".repeat(32));
  const received: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    if (new URL(r.url).pathname.endsWith("/connect/token")) {
      await r.body?.cancel();
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ scope: ["internal"] }).setProtectedHeader({ alg: "HS256" })
        .setIssuedAt(now).setExpirationTime(now + 86400).sign(secret);
      return Response.json({ access_token: token, expires_in: 86400, token_type: "Bearer" });
    }
    received.push(await r.text());
    return answer(received.length);
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const engine = new NotificationsApiPushEngine({
    notificationsUrl: `${url}/notifications`,
    tokens: new InternalTokenSource({
      identityUrl: `${url}/identity`,
      clientId: "internal.Api",
      clientSecret: "s",
    }),
    minBackoffMs: 5,
    maxBackoffMs: 20,
    log: () => {},
  });
  return {
    engine,
    received,
    async stop() {
      await engine.close();
      await server.shutdown();
    },
  };
}

Deno.test("outbox: a push made as the worker goes idle is still delivered", async () => {
  const fake = fakeNotifications(() => new Response(null, { status: 200 }));
  try {
    await fake.engine.push(folder(FIRST));
    await fake.engine.drain();
    // Runs in the turn the worker finishes in, before its promise has settled.
    await fake.engine.push(folder(SECOND));
    await until(() => fake.received.length === 2, "the second push to reach /send", {
      timeoutMs: 2000,
    });
    await fake.engine.drain();
    deepStrictEqual(fake.engine.stats.pending, 0);
    strictEqual(fake.received[1]!.includes(SECOND), true);
  } finally {
    await fake.stop();
  }
});

Deno.test("outbox: a /send answer whose body breaks off neither crashes the worker nor loses data", async () => {
  const broken = () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("{"));
          controller.error(new Error("connection reset"));
        },
      }),
      { status: 200, headers: { "content-type": "application/json" } },
    );
  const fake = fakeNotifications((n) => n === 1 ? broken() : new Response(null, { status: 200 }));
  try {
    await fake.engine.push(folder(FIRST));
    await fake.engine.push(folder(SECOND));
    await fake.engine.drain();
    deepStrictEqual(
      fake.received.map((b) => JSON.parse(b).payload.id),
      [FIRST, SECOND],
      "the 200 counted as delivered and the worker went on",
    );
    deepStrictEqual([fake.engine.stats.delivered, fake.engine.stats.pending], [2, 0]);
  } finally {
    await fake.stop();
  }
});
