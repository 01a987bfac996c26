import assert from "node:assert/strict";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import type { Backplane } from "./types.ts";
import { withService } from "./_testing.ts";

const USER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const LOG_OUT = { type: 11, payload: { userId: USER, reason: null }, contextId: null };

/** A backplane whose Redis is gone and whose outbox is full: it refuses every publication. */
const refusingBackplane: Backplane = {
  publish(_envelope: Envelope): Promise<void> {
    return Promise.reject(new Error("backplane outbox full"));
  },
  subscribe: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

Deno.test("/send answers a refused backplane publish by what a retry would do", async (t) => {
  await withService({ backplane: refusingBackplane }, async (fixture) => {
    await t.step("nothing delivered here: 503, so the sender's retry is safe", async () => {
      const response = await fixture.send(LOG_OUT);
      assert.equal(response.status, 503);
    });
    await t.step("delivered here: 200, because a retry would duplicate locally", async () => {
      const client = await fixture.connect({ token: await fixture.userToken({ sub: USER }) });
      const response = await fixture.send(LOG_OUT);
      assert.equal(response.status, 200);
      await client.waitFor(() => client.invocations("ReceiveMessage").length > 0);
      assert.equal(client.invocations("ReceiveMessage").length, 1);
    });
  });
});
