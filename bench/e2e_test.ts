import * as assert from "node:assert/strict";
import { parseCloudArgs, startCountingProxy } from "./e2e_cloud.ts";
import { parseE2eArgs } from "./e2e_selfhosted.ts";
import { parseBenchArgs, planScenarios, SCENARIO_NAMES } from "./main.ts";
import { prepareTarget } from "./_e2e_workload.ts";
import { startReferenceServe } from "./_reference_serve.ts";

Deno.test("the scenario flags name the flag of a bad value", () => {
  assert.throws(() => parseE2eArgs(["--rounds", "0"]), /Invalid --rounds: expected an integer/);
  assert.throws(
    () => parseE2eArgs(["--vaultwarden", "nope"]),
    /Invalid --vaultwarden: expected a URL/,
  );
  assert.throws(() => parseE2eArgs(["--vaultwarden-pid", "5"]), /needs --vaultwarden URL too/);
  assert.throws(
    () => parseE2eArgs(["--users", "3"]),
    /Unknown flag --users: expected one of --vaultwarden/,
  );
  assert.throws(() => parseCloudArgs(["--seconds", "x"]), /Invalid --seconds/);
  assert.throws(() => parseBenchArgs(["--only", "nope"]), /Invalid --only: unknown scenario nope/);
  const settings = parseE2eArgs(["--vaultwarden", "http://127.0.0.1:1/", "--vaultwarden-pid", "7"]);
  assert.equal(settings.vaultwarden, "http://127.0.0.1:1");
  assert.equal(settings.vaultwardenPid, 7);
});

Deno.test("planScenarios passes Vaultwarden on and says what it skipped", () => {
  const plan = planScenarios(
    parseBenchArgs(["--vaultwarden", "http://127.0.0.1:1", "--only", "e2e-selfhosted"]),
  );
  assert.deepEqual(plan.run.map((s) => s.name), ["e2e-selfhosted"]);
  assert.deepEqual(plan.run[0]!.args, ["--vaultwarden", "http://127.0.0.1:1"]);
  assert.deepEqual(plan.skipped, []);
  const bare = planScenarios(parseBenchArgs([]));
  assert.equal(bare.run.length, SCENARIO_NAMES.length);
  assert.match(bare.skipped[0]!.reason, /no --vaultwarden URL/);
});

Deno.test("the counting proxy forwards requests and counts queue operations by kind", async () => {
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    const body = await r.text();
    return new Response(`${r.method} ${new URL(r.url).pathname}${new URL(r.url).search} ${body}`, {
      status: 201,
    });
  });
  const proxy = startCountingProxy(`http://127.0.0.1:${upstream.addr.port}`);
  try {
    const base = `http://127.0.0.1:${proxy.port}/devstoreaccount1/notifications`;
    const sent = await fetch(`${base}/messages?visibilitytimeout=0`, { method: "POST", body: "x" });
    assert.equal(sent.status, 201);
    assert.equal(
      await sent.text(),
      "POST /devstoreaccount1/notifications/messages?visibilitytimeout=0 x",
    );
    await (await fetch(`${base}/messages?numofmessages=32`)).text();
    await (await fetch(`${base}/messages/abc?popreceipt=1`, { method: "DELETE" })).text();
    await (await fetch(`${base}?comp=metadata`)).text();
    assert.deepEqual(proxy.count(), { total: 4, receives: 1, sends: 1, deletes: 1 });
  } finally {
    await proxy.close();
    await upstream.shutdown();
  }
});

Deno.test("the end-to-end workload checks every delivery through a real reference server", async () => {
  const serve = await startReferenceServe();
  try {
    const target = await prepareTarget("hubproof", serve.url, 3, serve.process.pid);
    try {
      const user = await target.paced("user", { rate: 20, seconds: 1 });
      assert.equal(user.changes, 20);
      assert.equal(user.deliveries, 60);
      assert.ok(user.p50Ms <= user.p99Ms);
      assert.ok(user.serverCpuMsPerChange > 0);
      const org = await target.paced("org", { rate: 20, seconds: 0.5 });
      assert.equal(org.deliveries, 30);
      const saturated = await target.saturate("user", { workers: 4, seconds: 1 });
      assert.equal(saturated.deliveries, saturated.changes * 3);
      assert.ok(saturated.changesPerSecond > 0);
    } finally {
      await target.close();
    }
  } finally {
    await serve.process.stop();
  }
});
