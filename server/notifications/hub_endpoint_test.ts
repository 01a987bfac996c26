import assert from "node:assert/strict";
import { HubEndpoint } from "./hub_endpoint.ts";

function endpoint(now: () => number): HubEndpoint {
  return new HubEndpoint({
    hub: "main",
    authenticate: () => Promise.resolve({ sub: "u" }),
    identityFor: () => {
      throw new Error("orguser is not a GUID");
    },
    createConnection: () => {
      throw new Error("no connection may start in this test");
    },
    sendBufferLimit: 1024,
    closeTimeoutMs: 1000,
    longPollTimeoutMs: 1000,
    disconnectTimeoutMs: 100,
    now,
  });
}

async function negotiate(hub: HubEndpoint): Promise<string> {
  const response = await hub.handle(
    new Request("http://x/hub/negotiate?negotiateVersion=1", { method: "POST" }),
    true,
  );
  return (await response.json()).connectionToken;
}

Deno.test("HubEndpoint forgets ids whose transport start was refused", async (t) => {
  for (
    const [name, headers] of [
      ["WebSockets", { upgrade: "websocket" }],
      ["LongPolling", {}],
    ] as const
  ) {
    await t.step(name, async () => {
      let now = 0;
      const hub = endpoint(() => now);
      const id = await negotiate(hub);
      for (let attempt = 0; attempt < 2; attempt++) {
        const refused = await hub.handle(new Request(`http://x/hub?id=${id}`, { headers }), false);
        assert.equal(refused.status, 400, "claims unusable for groups");
        assert.match((await refused.json()).message, /^Token claims cannot be used/);
      }
      assert.equal(hub.negotiatedCount, 1);
      now = 100;
      hub.sweep(now);
      assert.equal(hub.negotiatedCount, 0, "swept like an id that never connected");
    });
  }
});
