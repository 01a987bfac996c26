/**
 * The queue preflight against a real Azurite: a missing queue stops the run with exit 2 naming
 * the queue and how to create it; `--create-queue` creates it.
 */
import assert from "node:assert/strict";
import { QueueClient } from "@azure/storage-queue";
import { startAzurite } from "../../server/azurite/mod.ts";
import { main } from "../main.ts";
import { checkQueue } from "../preflight.ts";
import { resolveTarget } from "../target.ts";
import { PreflightError } from "../errors.ts";
import { exampleCases } from "./example_cases.ts";

Deno.test({
  name: "preflight: a missing queue is exit 2 naming it; --create-queue creates it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const azurite = await startAzurite();
    try {
      const name = `missing-${crypto.randomUUID().slice(0, 8)}`;
      const target = (createQueue: boolean) =>
        resolveTarget({
          target: "http://127.0.0.1:1",
          inject: "queue",
          queueConnectionString: azurite.connectionString,
          queueName: name,
          ...(createQueue ? { createQueue } : {}),
        });
      await assert.rejects(checkQueue(target(false)), (error: Error) => {
        assert.ok(error instanceof PreflightError);
        assert.match(error.message, new RegExp(`Target queue ${name} does not exist`));
        assert.match(error.message, /--create-queue/);
        return true;
      });
      const client = new QueueClient(azurite.connectionString, name);
      assert.equal(await client.exists(), false);
      await checkQueue(target(true));
      assert.equal(await client.exists(), true);
      await checkQueue(target(false));

      // Through the CLI: the hub probe passes (any HTTP answer), then the queue check exits 2.
      const hub = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () => new Response("no"),
      );
      try {
        const errors: string[] = [];
        const code = await main([
          "--target",
          `http://127.0.0.1:${hub.addr.port}`,
          "--inject",
          "queue",
          "--queue-connection-string",
          azurite.connectionString,
          "--queue-name",
          `${name}-2`,
        ], {
          out: () => {},
          err: (line) => errors.push(line),
          color: false,
          loadCases: () => Promise.resolve(exampleCases()),
        });
        assert.equal(code, 2);
        assert.match(errors.join("\n"), new RegExp(`queue ${name}-2 does not exist`));
      } finally {
        await hub.shutdown();
      }
    } finally {
      await azurite.stop();
    }
  },
});
