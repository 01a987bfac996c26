import assert from "node:assert/strict";
import { rawHttp, SilentPeer, until, UPGRADE_HEADERS } from "../../testing/mod.ts";
import { withService } from "./_testing.ts";
import { ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connection_limits.ts";
import { createNotificationsService } from "./service.ts";

const USER = "d0000000-0000-4000-8000-00000000000d";
const OTHER = "d0000000-0000-4000-8000-0000000000d2";

Deno.test("ConnectionLimits counts pending per IP, pending, per user and total", () => {
  const limits = new ConnectionLimits<object>({
    maxPendingPerIp: 1,
    maxPending: 2,
    maxConnectionsPerUser: 2,
    maxConnections: 3,
  });
  const a = {}, b = {}, c = {}, d = {};
  assert.equal(limits.admit("1.1.1.1", "u"), null);
  limits.opened(a, "1.1.1.1", "u");
  assert.equal(limits.admit("1.1.1.1", "v")?.reason, "too-many-pending-per-ip");
  limits.opened(b, "2.2.2.2", "u");
  assert.equal(limits.admit("3.3.3.3", "v")?.reason, "too-many-pending");
  limits.connected(a);
  limits.connected(b);
  assert.equal(limits.admit("1.1.1.1", "u")?.reason, "too-many-connections-per-user");
  assert.equal(limits.admit("1.1.1.1", "u")?.status, 429);
  limits.opened(c, "1.1.1.1", "v");
  limits.connected(c);
  const full = limits.admit("4.4.4.4", null);
  assert.equal(full?.reason, "too-many-connections");
  assert.equal(full?.status, 503);
  assert.match(full!.message, /limits\.maxConnections 3/);
  limits.closed(a);
  limits.closed(a);
  assert.equal(limits.admit("4.4.4.4", "u"), null);
  limits.opened(d, null, null);
  assert.equal(limits.refusals("too-many-connections"), 1);
  assert.equal(limits.refusals("too-many-connections-per-user"), 2);
});

Deno.test("ConnectionLimits defaults and validation", () => {
  assert.deepEqual(new ConnectionLimits().settings, DEFAULT_CONNECTION_LIMITS);
  assert.equal(new ConnectionLimits({ maxConnections: 0 }).admit("1.1.1.1", "u"), null);
  assert.throws(
    () => new ConnectionLimits({ maxPending: -1 }),
    new RangeError(
      "Invalid option limits.maxPending: expected a non-negative integer (0 for no bound), got -1",
    ),
  );
  assert.throws(() => new ConnectionLimits({ maxPendingPerIp: 1.5 }), /limits\.maxPendingPerIp/);
});

Deno.test("the service validates limits when it is created", async () => {
  await assert.rejects(
    createNotificationsService({
      selfHosted: true,
      installationId: null,
      auth: { jwks: { keys: [] }, issuer: "http://127.0.0.1:1" },
      limits: { maxConnectionsPerUser: Number.NaN },
    }),
    /Invalid option limits\.maxConnectionsPerUser/,
  );
});

async function upgrade(url: string, token: string) {
  const response = await rawHttp(url, {
    path: `/hub?access_token=${token}`,
    headers: UPGRADE_HEADERS,
  });
  return { ...response, json: response.status === 101 ? null : JSON.parse(response.body) };
}

Deno.test("over a bound, the transport is refused before the upgrade with a JSON reason", async (t) => {
  await t.step("connections per user: 429, another user still connects", async () => {
    await withService({ limits: { maxConnectionsPerUser: 2 } }, async (f) => {
      const token = await f.userToken({ sub: USER });
      const first = await f.connect({ token });
      await f.connect({ token });
      const refused = await upgrade(f.url, token);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("content-type"), "application/json");
      assert.deepEqual(refused.json, {
        message: "Too many connections for this user (limits.maxConnectionsPerUser 2)",
        reason: "too-many-connections-per-user",
      });
      await f.connect({ token: await f.userToken({ sub: OTHER }) });
      // Long polling is refused the same way, at its first poll.
      const auth = { authorization: `Bearer ${token}` };
      const id = (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
        method: "POST",
        headers: auth,
      })).json()).connectionToken;
      const poll = await fetch(`${f.url}/hub?id=${id}`, { headers: auth });
      assert.equal(poll.status, 429);
      assert.equal((await poll.json()).reason, "too-many-connections-per-user");
      await first.close();
      await until(() => f.served.service.connectionCount("main") === 2, "first closed");
      await f.connect({ token });
      const metrics = await (await fetch(`${f.url}/metrics`)).text();
      assert.match(
        metrics,
        /hubproof_notifications_connections_refused_total\{reason="too-many-connections-per-user"\} 2/,
      );
      assert.match(
        metrics,
        /hubproof_notifications_connection_limit\{bound="maxConnectionsPerUser"\} 2/,
      );
    });
  });

  await t.step("pending per IP: 429 until a pending peer completes its handshake", async () => {
    await withService({ limits: { maxPendingPerIp: 2 } }, async (f) => {
      const token = await f.userToken({ sub: USER });
      const peers = [
        await SilentPeer.open(f.url, { token }),
        await SilentPeer.open(f.url, { token }),
      ];
      try {
        const refused = await upgrade(f.url, token);
        assert.equal(refused.status, 429);
        assert.equal(refused.json.reason, "too-many-pending-per-ip");
        assert.match(refused.json.message, /from 127\.0\.0\.1 .*limits\.maxPendingPerIp 2/);
        await peers[0]!.sendText('{"protocol":"json","version":1}\x1e');
        await until(() => f.served.service.connectionCount("main") === 1, "handshake");
        await f.connect({ token });
      } finally {
        for (const peer of peers) peer.close();
      }
    });
  });

  await t.step("pending in total: 503", async () => {
    await withService({ limits: { maxPendingPerIp: 0, maxPending: 1 } }, async (f) => {
      const token = await f.userToken({ sub: USER });
      const peer = await SilentPeer.open(f.url, { token });
      try {
        const refused = await upgrade(f.url, token);
        assert.equal(refused.status, 503);
        assert.equal(refused.json.reason, "too-many-pending");
      } finally {
        peer.close();
      }
    });
  });

  await t.step("connections in total: 503", async () => {
    await withService({ limits: { maxConnections: 1 } }, async (f) => {
      await f.connect({ token: await f.userToken({ sub: USER }) });
      const refused = await upgrade(f.url, await f.userToken({ sub: OTHER }));
      assert.equal(refused.status, 503);
      assert.deepEqual(refused.json, {
        message: "Too many connections (limits.maxConnections 1)",
        reason: "too-many-connections",
      });
    });
  });
});
