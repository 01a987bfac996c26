import assert from "node:assert/strict";
import { ExtData } from "@msgpack/msgpack";
import { delay, FAST_TIMERS, withService } from "./_testing.ts";

const USER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const FOLDER = "0f6a2c1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

const SYNC_FOLDER = {
  type: 8,
  payload: { id: FOLDER, userId: USER, revisionDate: "2024-05-01T12:34:56.789Z" },
  contextId: "device-1",
};

Deno.test("WebSocket hub receives /send pushes in both protocols", async (t) => {
  await withService({}, async (f) => {
    const token = await f.userToken({ sub: USER, devicetype: "ChromeBrowser" });
    const json = await f.connect({ token });
    const mp = await f.connect({ token, header: true, protocol: "messagepack" });
    assert.deepEqual(json.handshakeResponse, {});
    assert.deepEqual(mp.handshakeResponse, {});

    await t.step("/send answers 200 with an empty body", async () => {
      const response = await f.send(SYNC_FOLDER);
      assert.equal(response.status, 200);
    });

    await t.step("JSON: camelCase payload in a Text frame", async () => {
      await json.waitFor(() => json.invocations("ReceiveMessage").length === 1);
      const [message] = json.invocations("ReceiveMessage");
      assert.deepEqual(message, {
        type: 1,
        target: "ReceiveMessage",
        arguments: [{
          contextId: "device-1",
          type: 8,
          payload: { id: FOLDER, userId: USER, revisionDate: "2024-05-01T12:34:56.789Z" },
        }],
      });
      assert.ok(json.frames.slice(1).every((fr) => fr.kind === "text"));
    });

    await t.step(
      "MessagePack: PascalCase map with a timestamp extension in a Binary frame",
      async () => {
        await mp.waitFor(() => mp.invocations("ReceiveMessage").length === 1);
        const [message] = mp.invocations("ReceiveMessage");
        assert.equal(message!.type, 1);
        const arg = (message as { arguments: unknown[] }).arguments[0] as Record<string, unknown>;
        assert.equal(arg.Type, 8);
        assert.equal(arg.ContextId, "device-1");
        const payload = arg.Payload as Record<string, unknown>;
        assert.equal(payload.Id, FOLDER);
        assert.equal(payload.UserId, USER);
        assert.ok(payload.RevisionDate instanceof ExtData);
        assert.equal((payload.RevisionDate as ExtData).type, -1);
        assert.ok(mp.frames.slice(1).every((fr) => fr.kind === "binary"));
      },
    );

    await t.step("metrics count the connections and the delivery", async () => {
      const text = await (await fetch(`${f.url}/metrics`)).text();
      assert.match(text, /hubproof_notifications_connections\{hub="main"\} 2/);
      assert.match(text, /hubproof_notifications_messages_received_total\{source="send"\} 1/);
      assert.match(text, /hubproof_notifications_deliveries_total\{hub="main",protocol="json"\} 1/);
      assert.match(
        text,
        /hubproof_notifications_deliveries_total\{hub="main",protocol="messagepack"\} 1/,
      );
    });
  });
});

Deno.test("info endpoints", async () => {
  await withService({}, async (f) => {
    for (const path of ["/alive", "/now"]) {
      const response = await fetch(`${f.url}${path}`);
      assert.equal(response.status, 200);
      const value = await response.json();
      assert.equal(typeof value, "string");
      assert.ok(Math.abs(Date.parse(value) - Date.now()) < 5_000);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    }
    const missing = await fetch(`${f.url}/nope`);
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).message, /Not found: \/nope/);
  });
});

Deno.test("keep-alive Ping, client timeout and Heartbeat with short timers", async (t) => {
  await withService({
    timers: { ...FAST_TIMERS, keepAliveMs: 60, clientTimeoutMs: 150, heartbeatMs: 80 },
  }, async (f) => {
    const token = await f.userToken({ sub: USER });
    await t.step("idle connection gets Pings and Heartbeats", async () => {
      const client = await f.connect({ token });
      await client.waitFor(() => client.messages.some((m) => m.type === 6), 2_000, "ping");
      await client.waitFor(() => client.invocations("Heartbeat").length > 0, 2_000, "heartbeat");
      const heartbeat = client.invocations("Heartbeat")[0];
      assert.deepEqual(heartbeat, { type: 1, target: "Heartbeat", arguments: [] });
      assert.equal(client.closeEvent, undefined, "no client message yet: no client timeout");
    });
    await t.step("after a first client Ping, silence closes with an error Close", async () => {
      const client = await f.connect({ token });
      client.sendText('{"type":6}\x1e');
      const closed = await client.closed(2_000);
      assert.equal(closed.code, 1000);
      assert.match(closed.reason, /ClientTimeoutInterval/);
      const close = client.messages.find((m) => m.type === 7);
      assert.deepEqual(close, {
        type: 7,
        error: "Connection closed with an error.",
        allowReconnect: true,
      });
    });
    await t.step("the anonymous hub gets no Heartbeat", async () => {
      const anon = await f.connect({ path: "/anonymous-hub", query: "Token=abc" });
      await delay(250);
      assert.equal(anon.invocations("Heartbeat").length, 0);
    });
  });
});
