import assert from "node:assert/strict";
import { createClient } from "redis";
import { redisSkipReason, startRedis } from "./redis.ts";

Deno.test("startRedis starts a reachable server and stops it", async (t) => {
  const redis = await startRedis();
  if (redis.status === "skipped") {
    console.warn(redis.reason);
    return;
  }
  try {
    await t.step("the server answers commands", async () => {
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        assert.equal(await client.ping(), "PONG");
      } finally {
        client.destroy();
      }
    });
  } finally {
    await redis.stop();
  }
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: redis.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("startRedis skips or fails clearly when redis-server is missing", async (t) => {
  const executable = "/nonexistent/redis-server";
  await t.step("not required: a skip result naming the executable", async () => {
    const result = await startRedis({ executable, required: false });
    assert.equal(result.status, "skipped");
    assert.match(result.status === "skipped" ? result.reason : "", /not found on PATH/);
  });
  await t.step("required: an error naming the variable", async () => {
    await assert.rejects(
      startRedis({ executable, required: true }),
      /HUBPROOF_REQUIRE_REDIS=1.*not found/,
    );
  });
});

Deno.test("redisSkipReason", async (t) => {
  await t.step("names the missing executable when not required", async () => {
    const reason = await redisSkipReason({
      executable: "/nonexistent/redis-server",
      required: false,
    });
    assert.match(reason ?? "", /\/nonexistent\/redis-server not found on PATH/);
  });
  await t.step("is null when required, so the tests run and fail loudly", async () => {
    assert.equal(
      await redisSkipReason({ executable: "/nonexistent/redis-server", required: true }),
      null,
    );
  });
});
