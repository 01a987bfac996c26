/**
 * Service lifecycle with real collaborators: the Azure queue consumer against a real Azurite
 * (the cloud flow, received by the official client and a raw client), queue metrics on
 * `/metrics`, and graceful shutdown closing sockets with `allowReconnect: true`.
 */

import assert from "node:assert/strict";
import { rawHttp, RawHubClient, UPGRADE_HEADERS } from "../../testing/mod.ts";
import { QueueServiceClient } from "@azure/storage-queue";
import { HttpTransportType, HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { createEnvelope, writeQueueMessage } from "../../protocol/bitwarden/mod.ts";
import { startAzurite } from "../../server/azurite/mod.ts";
import { withService } from "./_testing.ts";

const USER = "d1000000-0000-4000-8000-000000000001";

Deno.test("cloud flow: queue messages reach official and raw clients", async () => {
  const azurite = await startAzurite();
  try {
    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
      "notifications",
    );
    await withService({
      selfHosted: false,
      queue: { connectionString: azurite.connectionString, idleWait: { minMs: 20, maxMs: 100 } },
    }, async (f) => {
      const token = await f.userToken({ sub: USER, devicetype: "ChromeExtension" });
      const raw = await f.connect({ token, protocol: "messagepack" });
      const official = new HubConnectionBuilder()
        .withUrl(`${f.url}/hub`, {
          accessTokenFactory: () => token,
          skipNegotiation: true,
          transport: HttpTransportType.WebSockets,
        })
        .withHubProtocol(new MessagePackHubProtocol())
        .configureLogging(LogLevel.None)
        .build();
      const received: unknown[] = [];
      const arrived = new Promise<void>((resolve) =>
        official.on("ReceiveMessage", (arg) => {
          received.push(arg);
          resolve();
        })
      );
      await official.start();
      try {
        await queue.createIfNotExists();
        const envelope = createEnvelope(5, { UserId: USER, Date: "2024-05-01T12:00:00Z" }, "ctx");
        await queue.sendMessage(writeQueueMessage(envelope));
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          arrived,
          new Promise((_, reject) =>
            timer = setTimeout(() => reject(new Error("No queue push in 10 s")), 10_000)
          ),
        ]).finally(() => clearTimeout(timer));
        assert.deepEqual(received, [{
          ContextId: "ctx",
          Type: 5,
          // The hub re-serializes SyncVault with the model it deserialized (UserId, Reason): no Date.
          Payload: { UserId: USER, Reason: null },
        }]);
        await raw.waitFor(() => raw.invocations("ReceiveMessage").length === 1);
        const metrics = await (await fetch(`${f.url}/metrics`)).text();
        assert.match(metrics, /hubproof_notifications_messages_received_total\{source="queue"\} 1/);
        assert.match(metrics, /hubproof_queue_messages_dispatched_total 1/);
        // Cloud mode: /send is refused.
        assert.equal((await f.send(envelope)).status, 400);
      } finally {
        await official.stop();
      }
    });
  } finally {
    await azurite.stop();
  }
});

Deno.test("shutdown closes every socket with allowReconnect and refuses new hub requests", async () => {
  await withService({}, async (f) => {
    const token = await f.userToken({ sub: USER });
    const json = await f.connect({ token });
    const mp = await f.connect({ token, protocol: "messagepack" });
    const anon = await f.connect({ path: "/anonymous-hub", query: "Token=t" });
    const pending = await RawHubClient.open(f.url, { token });
    await f.served.service.shutdown();
    for (const client of [json, mp, anon]) {
      const closed = await client.closed();
      assert.equal(closed.code, 1000);
      assert.deepEqual(client.messages.filter((m) => m.type === 7), [{
        type: 7,
        allowReconnect: true,
      }]);
    }
    await pending.closed();
    const refused = await rawHttp(f.url, {
      path: `/hub?access_token=${token}`,
      headers: UPGRADE_HEADERS,
    });
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.body).message, "Service is shutting down");
    await pending.close();
  });
});
