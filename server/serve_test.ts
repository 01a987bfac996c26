import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { SilentPeer, until, UPGRADE_HEADERS } from "../testing/mod.ts";
import { runScenario } from "./_e2e_scenario.ts";
import { ALICE, BOB, CAROL, login, startTestServe, watch, type Watcher } from "./_test_helpers.ts";

Deno.test("end to end, self-hosted: API -> /send -> hub", async () => {
  const serve = await startTestServe();
  try {
    await runScenario(serve, "test-internal-key");
  } finally {
    await serve.stop();
  }
});

Deno.test("end to end, cloud: API -> Azure queue (Azurite) -> hub", async () => {
  const serve = await startTestServe(["--mode", "cloud"]);
  try {
    await runScenario(serve, "test-internal-key");
  } finally {
    await serve.stop();
  }
});

/** A WebSocket upgrade of `/hub` that must be refused: its status and JSON body. */
async function refusedUpgrade(base: string, token: string) {
  const response = await fetch(`${base}/notifications/hub?access_token=${token}`, {
    headers: UPGRADE_HEADERS,
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

Deno.test("serve flags --max-connections and --max-connections-per-user refuse before the upgrade", async () => {
  const serve = await startTestServe([
    "--max-connections",
    "2",
    "--max-connections-per-user",
    "1",
    "--close-timeout",
    "300",
  ]);
  const watchers: Watcher[] = [];
  try {
    const base = serve.url;
    const alice = await login(base, ALICE, { id: ALICE.web, type: 9 });
    const bob = await login(base, BOB, { id: BOB.web, type: 10 });
    const carol = await login(base, CAROL, { id: CAROL.cli, type: 23 });
    watchers.push(await watch(base, "alice", { token: alice }));
    deepStrictEqual(await refusedUpgrade(base, alice), {
      status: 429,
      body: {
        message: "Too many connections for this user (limits.maxConnectionsPerUser 1)",
        reason: "too-many-connections-per-user",
      },
    });
    watchers.push(await watch(base, "bob", { token: bob }));
    deepStrictEqual(await refusedUpgrade(base, carol), {
      status: 503,
      body: {
        message: "Too many connections (limits.maxConnections 2)",
        reason: "too-many-connections",
      },
    });
    const metrics = await (await fetch(`${base}/notifications/metrics`)).text();
    for (
      const line of [
        'hubproof_notifications_connection_limit{bound="maxPendingPerIp"} 256',
        'hubproof_notifications_connection_limit{bound="maxConnections"} 2',
        'hubproof_notifications_connections_refused_total{reason="too-many-connections"} 1',
      ]
    ) {
      strictEqual(metrics.includes(line), true, `/metrics has ${line}`);
    }
    await watchers.pop()!.stop();
    watchers.push(await watch(base, "carol, once bob has left", { token: carol }));
    await watchers.shift()!.stop();

    // --close-timeout 300 reaches the socket: a peer that never answers the server's Close (after
    // a protocol error) is cut off well before the 5 s default.
    const peer = await SilentPeer.open(base, {
      token: alice,
      path: "/notifications/hub",
      handshake: true,
    });
    try {
      const forced = () =>
        serve.notifications!.metrics.forcedCloses.get({ hub: "main", result: "aborted" });
      const started = Date.now();
      await peer.sendText("not json\x1e");
      await until(() => forced() === 1, "the unanswered close forced", { timeoutMs: 3_000 });
      strictEqual(Date.now() - started >= 300, true, "the close waited the flag's 300 ms");
    } finally {
      peer.close();
    }
  } finally {
    await Promise.all(watchers.map((w) => w.stop()));
    await serve.stop();
  }
});
