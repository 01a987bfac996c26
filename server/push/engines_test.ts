import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { QueueClient } from "@azure/storage-queue";
import { SignJWT } from "jose";
import { startAzurite } from "../../server/azurite/mod.ts";
import { AzureQueuePushEngine } from "./azure_queue_engine.ts";
import { InternalTokenSource } from "./internal_token_source.ts";
import { MultiPushEngine } from "./multi_engine.ts";
import { NotificationsApiPushEngine } from "./notifications_api_engine.ts";
import type { PushNotification } from "./types.ts";

const USER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const logOut = (device: string | null): PushNotification => ({
  type: 11,
  target: "user",
  targetId: USER,
  payload: { UserId: USER, Reason: null },
  excludeCurrentContext: device !== null,
  deviceIdentifier: device,
});

Deno.test("AzureQueuePushEngine writes the queue form: PascalCase, nulls omitted, plain text", async () => {
  const azurite = await startAzurite();
  try {
    const engine = new AzureQueuePushEngine({
      connectionString: azurite.connectionString,
      log: () => {},
    });
    await engine.push(logOut("test-device-id"));
    await engine.push(logOut(null));
    const queue = new QueueClient(azurite.connectionString, "notifications");
    const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 2 });
    deepStrictEqual(peekedMessageItems.map((m) => m.messageText), [
      `{"Type":11,"Payload":{"UserId":"${USER}"},"ContextId":"test-device-id"}`,
      `{"Type":11,"Payload":{"UserId":"${USER}"}}`,
    ]);
    deepStrictEqual(engine.stats, { sent: 2, failed: 0 });
  } finally {
    await azurite.stop();
  }
});

Deno.test("NotificationsApiPushEngine: cached token, /send form, retries, outbox limits", async (t) => {
  const secret = new TextEncoder().encode("k".repeat(32));
  let tokenRequests = 0;
  let sendStatus = 200;
  const bodies: { auth: string | null; body: string }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/identity/connect/token") {
        const form = new URLSearchParams(await request.text());
        tokenRequests++;
        strictEqual(form.get("client_id"), "internal.Api");
        strictEqual(form.get("scope"), "internal");
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({ scope: ["internal"] }).setProtectedHeader({
          alg: "HS256",
        })
          .setIssuedAt(now).setExpirationTime(now + 86400).sign(secret);
        return Response.json({ access_token: token, expires_in: 86400, token_type: "Bearer" });
      }
      const body = await request.text();
      if (sendStatus === 200) bodies.push({ auth: request.headers.get("authorization"), body });
      return new Response(null, { status: sendStatus });
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const logs: string[] = [];
  const engine = new NotificationsApiPushEngine({
    notificationsUrl: `${url}/notifications`,
    tokens: new InternalTokenSource({
      identityUrl: `${url}/identity`,
      clientId: "internal.Api",
      clientSecret: "s",
    }),
    capacity: 3,
    minBackoffMs: 5,
    maxBackoffMs: 20,
    log: (_level, m) => logs.push(m),
  });
  try {
    await t.step("camelCase body with explicit nulls, one token for many pushes", async () => {
      await engine.push(logOut(null));
      await engine.push(logOut("dev-1"));
      await engine.drain();
      deepStrictEqual(bodies.map((b) => b.body), [
        `{"type":11,"payload":{"userId":"${USER}","reason":null},"contextId":null}`,
        `{"type":11,"payload":{"userId":"${USER}","reason":null},"contextId":"dev-1"}`,
      ]);
      strictEqual(bodies.every((b) => b.auth?.startsWith("Bearer ey")), true);
      strictEqual(tokenRequests, 1);
    });

    await t.step("5xx is retried until it succeeds; 401 renews the token", async () => {
      sendStatus = 503;
      await engine.push(logOut("dev-2"));
      await new Promise((r) => setTimeout(r, 60));
      sendStatus = 401;
      await new Promise((r) => setTimeout(r, 40));
      sendStatus = 200;
      await engine.drain();
      strictEqual(bodies.at(-1)!.body.includes("dev-2"), true);
      strictEqual(tokenRequests >= 2, true);
      strictEqual(engine.stats.retries > 0, true);
    });

    await t.step("a full outbox refuses and counts; a 400 is dropped, not retried", async () => {
      sendStatus = 503;
      for (let i = 0; i < 5; i++) await engine.push(logOut(`burst-${i}`));
      strictEqual(engine.stats.overflowed, 2);
      strictEqual(logs.some((l) => l.startsWith("Outbox full (3)")), true);
      sendStatus = 400;
      await engine.drain();
      deepStrictEqual([engine.stats.rejected, engine.stats.pending], [3, 0]);
    });
  } finally {
    await engine.close();
    await server.shutdown();
  }
});

Deno.test("MultiPushEngine fans out and isolates a failing engine", async () => {
  const got: number[] = [];
  const logs: string[] = [];
  const multi = new MultiPushEngine([
    { push: () => Promise.reject(new Error("boom")) },
    { push: (n) => Promise.resolve(void got.push(n.type)) },
  ], { log: (_level, m) => logs.push(m) });
  await multi.push(logOut(null));
  deepStrictEqual(got, [11]);
  deepStrictEqual(logs, ["Push engine failed: boom"]);
  const empty = new MultiPushEngine([], { log: (_level, m) => logs.push(m) });
  await empty.push(logOut(null));
  strictEqual(logs.at(-1), "No services found to push notification");
});
