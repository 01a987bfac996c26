import assert from "node:assert/strict";
import { QueueServiceClient } from "@azure/storage-queue";
import { freePort } from "../../testing/mod.ts";
import { startAzurite } from "./azurite.ts";

Deno.test("startAzurite serves a working queue endpoint and stops by PID", async (t) => {
  const azurite = await startAzurite();
  try {
    await t.step("the connection string reaches a queue service", async () => {
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString)
        .getQueueClient("probe");
      await queue.createIfNotExists();
      await queue.sendMessage("hello");
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      assert.deepEqual(receivedMessageItems.map((m) => m.messageText), ["hello"]);
    });
  } finally {
    await azurite.stop();
  }
  await t.step("after stop the port refuses connections", async () => {
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port: azurite.port }),
      Deno.errors.ConnectionRefused,
    );
  });
});

Deno.test("startAzurite listens on a requested port", async () => {
  const port = freePort();
  const azurite = await startAzurite({ port });
  try {
    assert.equal(azurite.port, port);
    assert.match(azurite.connectionString, new RegExp(`QueueEndpoint=http://127.0.0.1:${port}/`));
  } finally {
    await azurite.stop();
  }
});

Deno.test("startAzurite reports a clear error when the port is taken", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      startAzurite({ port: (blocker.addr as Deno.NetAddr).port }),
      /Azurite (exited with code \d+|was not ready).*EADDRINUSE|address already in use/is,
    );
  } finally {
    blocker.close();
  }
});
