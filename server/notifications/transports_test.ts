/**
 * The HTTP transport surface through raw requests: negotiate versions and errors, long polling,
 * Server-Sent Events, the dispatcher's status codes, CORS, housekeeping and slow consumers.
 */

import assert from "node:assert/strict";
import { rawHttp, RawHubClient, SilentPeer, UPGRADE_HEADERS } from "../../testing/mod.ts";
import { delay, FAST_TIMERS, largeNotification, withService } from "./_testing.ts";

const USER = "c1000000-0000-4000-8000-000000000001";
const push = { type: 11, payload: { userId: USER, reason: null }, contextId: null };

Deno.test("negotiate", async (t) => {
  await withService({}, async (f) => {
    const auth = { authorization: `Bearer ${await f.userToken({ sub: USER })}` };
    await t.step("version 1: id, token and the three transports", async () => {
      const response = await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
        method: "POST",
        headers: auth,
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json");
      const body = await response.json();
      assert.deepEqual(Object.keys(body), [
        "negotiateVersion",
        "connectionId",
        "connectionToken",
        "availableTransports",
      ]);
      assert.equal(body.negotiateVersion, 1);
      assert.match(body.connectionId, /^[A-Za-z0-9_-]{22}$/);
      assert.match(body.connectionToken, /^[A-Za-z0-9_-]{22}$/);
      assert.notEqual(body.connectionId, body.connectionToken);
      assert.deepEqual(body.availableTransports, [
        { transport: "WebSockets", transferFormats: ["Text", "Binary"] },
        { transport: "ServerSentEvents", transferFormats: ["Text"] },
        { transport: "LongPolling", transferFormats: ["Text", "Binary"] },
      ]);
    });
    await t.step("version 0 (no query) answers without a token; the id connects", async () => {
      const body = await (await fetch(`${f.url}/hub/negotiate`, { method: "POST", headers: auth }))
        .json();
      assert.equal(body.negotiateVersion, 0);
      assert.equal(body.connectionToken, undefined);
      const client = await RawHubClient.open(f.url, {
        token: auth.authorization.slice(7),
        query: `id=${body.connectionId}`,
      });
      try {
        assert.deepEqual(await client.handshake("json"), {});
      } finally {
        await client.close();
      }
    });
    await t.step("bad version: 200 with the error body", async () => {
      const response = await fetch(`${f.url}/hub/negotiate?negotiateVersion=abc`, {
        method: "POST",
        headers: auth,
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        error: "The client requested a non-integer protocol version.",
      });
    });
    await t.step("GET on negotiate: 405", async () => {
      const response = await fetch(`${f.url}/hub/negotiate`, { headers: auth });
      assert.equal(response.status, 405);
      await response.body?.cancel();
    });
    await t.step("anonymous hub negotiates without a token", async () => {
      const response = await fetch(`${f.url}/anonymous-hub/negotiate?negotiateVersion=1&Token=x`, {
        method: "POST",
      });
      assert.equal(response.status, 200);
      assert.equal((await response.json()).negotiateVersion, 1);
    });
  });
});

Deno.test("dispatcher status codes", async (t) => {
  await withService({}, async (f) => {
    const token = await f.userToken({ sub: USER });
    const auth = { authorization: `Bearer ${token}` };
    const negotiate = async () =>
      (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
        method: "POST",
        headers: auth,
      })).json())
        .connectionToken as string;
    const expectText = async (response: Response, status: number, body: string) => {
      assert.equal(response.status, status);
      assert.equal(await response.text(), body);
    };
    await t.step("missing id: 400 Connection ID required", async () => {
      await expectText(
        await fetch(`${f.url}/hub`, { headers: auth }),
        400,
        "Connection ID required",
      );
    });
    await t.step("unknown id: 404 No Connection with that ID", async () => {
      await expectText(
        await fetch(`${f.url}/hub?id=nope`, { headers: auth }),
        404,
        "No Connection with that ID",
      );
      const ws = await rawHttp(f.url, {
        path: "/hub?id=nope",
        headers: { ...UPGRADE_HEADERS, ...auth },
      });
      assert.equal(ws.status, 404);
      assert.equal(ws.body, "No Connection with that ID");
    });
    await t.step("second WebSocket on one id: 409; POST: 405; DELETE: 400", async () => {
      const id = await negotiate();
      const client = await RawHubClient.open(f.url, { token, query: `id=${id}` });
      try {
        await client.handshake("json");
        const second = await rawHttp(f.url, {
          path: `/hub?id=${id}`,
          headers: { ...UPGRADE_HEADERS, ...auth },
        });
        assert.equal(second.status, 409);
        await expectText(
          await fetch(`${f.url}/hub?id=${id}`, { method: "POST", headers: auth, body: "x" }),
          405,
          "POST requests are not allowed for WebSocket connections.",
        );
        await expectText(
          await fetch(`${f.url}/hub?id=${id}`, { method: "DELETE", headers: auth }),
          400,
          "Cannot terminate this connection using the DELETE endpoint.",
        );
      } finally {
        await client.close();
      }
    });
    await t.step("changing transport: 400", async () => {
      const id = await negotiate();
      const first = await fetch(`${f.url}/hub?id=${id}`, { headers: auth });
      assert.equal(first.status, 200);
      await first.body?.cancel();
      const ws = await rawHttp(f.url, {
        path: `/hub?id=${id}`,
        headers: { ...UPGRADE_HEADERS, ...auth },
      });
      assert.equal(ws.status, 400);
      assert.equal(ws.body, "Cannot change transports mid-connection");
      await fetch(`${f.url}/hub?id=${id}`, { method: "DELETE", headers: auth }).then((r) =>
        r.body?.cancel()
      );
    });
    await t.step("PUT: 405", async () => {
      const response = await fetch(`${f.url}/hub`, { method: "PUT", headers: auth, body: "x" });
      assert.equal(response.status, 405);
      await response.body?.cancel();
    });
  });
});

Deno.test("long polling by hand", async (t) => {
  await withService({ timers: { ...FAST_TIMERS, longPollTimeoutMs: 150 } }, async (f) => {
    const auth = { authorization: `Bearer ${await f.userToken({ sub: USER })}` };
    const id = (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
      method: "POST",
      headers: auth,
    })).json())
      .connectionToken as string;
    const poll = () => fetch(`${f.url}/hub?id=${id}&_=${Date.now()}`, { headers: auth });
    await t.step("first poll returns at once, empty", async () => {
      const response = await poll();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/octet-stream");
      assert.equal(response.headers.get("cache-control"), "no-cache, no-store");
      assert.equal(await response.text(), "");
    });
    await t.step("handshake by POST, response by poll", async () => {
      const posted = await fetch(`${f.url}/hub?id=${id}`, {
        method: "POST",
        headers: auth,
        body: '{"protocol":"json","version":1}\x1e',
      });
      assert.equal(posted.status, 200);
      await posted.body?.cancel();
      assert.equal(await (await poll()).text(), "{}\x1e");
    });
    await t.step("an idle poll times out with 200 empty", async () => {
      const response = await poll();
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "");
    });
    await t.step("a waiting poll gets the push", async () => {
      const waiting = poll();
      await delay(20);
      assert.equal((await f.send(push)).status, 200);
      const text = await (await waiting).text();
      assert.equal(JSON.parse(text.slice(0, -1)).target, "ReceiveMessage");
    });
    await t.step("a newer poll supersedes the older with 204", async () => {
      const older = poll();
      await delay(20);
      const newer = poll();
      assert.equal((await older).status, 204);
      await (await older).body?.cancel();
      await (await newer).body?.cancel();
    });
    await t.step("DELETE: 202, then the id is gone", async () => {
      const response = await fetch(`${f.url}/hub?id=${id}`, { method: "DELETE", headers: auth });
      assert.equal(response.status, 202);
      await response.body?.cancel();
      const after = await poll();
      assert.equal(after.status, 404);
      await after.body?.cancel();
    });
  });
});

Deno.test("Server-Sent Events by hand", async () => {
  await withService({}, async (f) => {
    const auth = { authorization: `Bearer ${await f.userToken({ sub: USER })}` };
    const id = (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
      method: "POST",
      headers: auth,
    })).json())
      .connectionToken as string;
    const controller = new AbortController();
    const response = await fetch(`${f.url}/hub?id=${id}`, {
      headers: { ...auth, accept: "text/event-stream" },
      signal: controller.signal,
    });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    assert.equal(response.headers.get("cache-control"), "no-cache,no-store");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = "";
    const readUntil = async (needle: string) => {
      while (!received.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`Stream ended before ${JSON.stringify(needle)}`);
        received += value;
      }
    };
    try {
      await readUntil(":\r\n");
      await fetch(`${f.url}/hub?id=${id}`, {
        method: "POST",
        headers: auth,
        body: '{"protocol":"json","version":1}\x1e',
      }).then((r) => r.body?.cancel());
      await readUntil("data: {}\x1e\r\n\r\n");
      // MessagePack is refused on SSE with the real server's text.
      const id2 = (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
        method: "POST",
        headers: auth,
      }))
        .json()).connectionToken;
      const second = await fetch(`${f.url}/hub?id=${id2}`, {
        headers: { ...auth, accept: "text/event-stream" },
      });
      await fetch(`${f.url}/hub?id=${id2}`, {
        method: "POST",
        headers: auth,
        body: '{"protocol":"messagepack","version":1}\x1e',
      }).then((r) => r.body?.cancel());
      const text = await second.text();
      assert.match(
        text,
        /data: \{"error":"Cannot use the 'messagepack' protocol on the current transport\. The transport does not support 'Binary' transfer format\."\}/,
      );
      assert.equal((await f.send(push)).status, 200);
      await readUntil('"target":"ReceiveMessage"');
    } finally {
      await reader.cancel();
      controller.abort();
    }
  });
});

Deno.test("CORS preflight", async () => {
  await withService({ corsOrigins: ["https://vault.example"] }, async (f) => {
    const preflight = await fetch(`${f.url}/hub/negotiate`, {
      method: "OPTIONS",
      headers: {
        origin: "https://vault.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,x-requested-with,x-signalr-user-agent",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "https://vault.example");
    assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
    assert.equal(
      preflight.headers.get("access-control-allow-headers"),
      "authorization,x-requested-with,x-signalr-user-agent",
    );
    await preflight.body?.cancel();
    const other = await fetch(`${f.url}/hub/negotiate`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(other.status, 204);
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    await other.body?.cancel();
  });
});

Deno.test("negotiated connections that never connect are swept", async () => {
  await withService({ timers: { ...FAST_TIMERS, negotiateTimeoutMs: 80 } }, async (f) => {
    const auth = { authorization: `Bearer ${await f.userToken({ sub: USER })}` };
    const id = (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
      method: "POST",
      headers: auth,
    })).json())
      .connectionToken;
    await delay(200);
    const response = await rawHttp(f.url, {
      path: `/hub?id=${id}`,
      headers: { ...UPGRADE_HEADERS, ...auth },
    });
    assert.equal(response.status, 404);
  });
});

Deno.test("a long poller that stops polling is dropped as a slow consumer; others keep receiving", async () => {
  await withService({ sendBufferLimit: 2048 }, async (f) => {
    const token = await f.userToken({ sub: USER });
    const auth = { authorization: `Bearer ${token}` };
    const witness = await f.connect({ token });
    const id = (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
      method: "POST",
      headers: auth,
    })).json())
      .connectionToken;
    await fetch(`${f.url}/hub?id=${id}`, { headers: auth }).then((r) => r.body?.cancel());
    await fetch(`${f.url}/hub?id=${id}`, {
      method: "POST",
      headers: auth,
      body: '{"protocol":"json","version":1}\x1e',
    })
      .then((r) => r.body?.cancel());
    for (let i = 0; i < 30; i++) assert.equal((await f.send(push)).status, 200);
    await witness.waitFor(() => witness.invocations("ReceiveMessage").length === 30);
    const metrics = await (await fetch(`${f.url}/metrics`)).text();
    assert.match(metrics, /hubproof_notifications_slow_consumers_dropped_total\{hub="main"\} 1/);
    assert.match(metrics, /hubproof_notifications_connections\{hub="main"\} 1/);
  });
});

Deno.test("a WebSocket peer that stops reading is dropped as a slow consumer", async () => {
  await withService({ sendBufferLimit: 65_536 }, async (f) => {
    const token = await f.userToken({ sub: USER });
    const witness = await f.connect({ token });
    const stalled = await SilentPeer.open(f.url, { token, handshake: true });
    try {
      await delay(50);
      const big = largeNotification(USER);

      let sent = 0;
      const dropped = () =>
        fetch(`${f.url}/metrics`).then((r) => r.text()).then((t) =>
          /slow_consumers_dropped_total\{hub="main"\} 1/.test(t)
        );
      while (!(await dropped())) {
        assert.ok(sent < 2_000, "the stalled peer was never dropped");
        for (let i = 0; i < 20; i++, sent++) assert.equal((await f.send(big)).status, 200);
      }
      await witness.waitFor(
        () => witness.invocations("ReceiveMessage").length === sent,
        10_000,
        "witness",
      );
      const metrics = await (await fetch(`${f.url}/metrics`)).text();
      assert.match(metrics, /connections_closed_total\{hub="main",reason="slow-consumer"\} 1/);
    } finally {
      stalled.close();
    }
  });
});
