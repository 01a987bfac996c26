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

Deno.test("/send holds bodies to maxSendBodyBytes, declared or streamed", async (t) => {
  const body = JSON.stringify(LOG_OUT);
  await withService({ maxSendBodyBytes: body.length }, async (fixture) => {
    const post = (payload: BodyInit) =>
      fetch(`${fixture.url}/send`, {
        method: "POST",
        headers: { authorization: `Bearer ${fixture.internalToken}` },
        body: payload,
      });
    const streamed = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(text));
          controller.close();
        },
      });
    await t.step("a declared length at the limit is read whole and delivered: 200", async () => {
      const response = await post(body);
      await response.body?.cancel();
      assert.equal(response.status, 200);
    });
    await t.step("a declared length over the limit: 413, body never read", async () => {
      const response = await post(`${body} `);
      assert.equal(response.status, 413);
      assert.match((await response.json()).message, /^Body too large: limit is \d+ bytes$/);
    });
    await t.step("a streamed body (no Content-Length) at the limit: 200", async () => {
      const response = await post(streamed(body));
      await response.body?.cancel();
      assert.equal(response.status, 200);
    });
    await t.step("a streamed body over the limit: 413", async () => {
      const response = await post(streamed(`${body} `));
      assert.equal(response.status, 413);
      await response.body?.cancel();
    });
  });
});
