import assert from "node:assert/strict";
import { FlagError } from "../config/mod.ts";
import {
  formatHubBench,
  type HubBenchSettings,
  parseHubBenchArgs,
  runHubBench,
  type ScenarioResult,
} from "./hub_vs_bare.ts";

Deno.test("parseHubBenchArgs", async (t) => {
  await t.step("fills the full run's defaults", () => {
    assert.deepEqual(parseHubBenchArgs([]), {
      connections: [1000, 5000, 10000],
      rounds: 3,
      pushes: 2000,
      pacedSeconds: 5,
      rate: 200,
      json: false,
      profile: undefined,
    });
  });
  await t.step("--quick is N=1,000, one round, short phases; flags still win", () => {
    const quick = parseHubBenchArgs(["--quick", "--rounds", "2"]);
    assert.deepEqual(quick.connections, [1000]);
    assert.equal(quick.rounds, 2);
    assert.equal(quick.pacedSeconds, 2);
  });
  await t.step("names the flag of a bad value", () => {
    assert.throws(
      () => parseHubBenchArgs(["--rounds", "0"]),
      new FlagError("--rounds", "Invalid --rounds: expected an integer 1..50, got 0"),
    );
    assert.throws(
      () => parseHubBenchArgs(["--connections", "1000,250"]),
      new FlagError(
        "--connections",
        "Invalid --connections: 250 is not a multiple of 100 (N/100 orgs)",
      ),
    );
    assert.throws(() => parseHubBenchArgs(["--users", "3"]), /Unknown flag --users/);
  });
});

Deno.test("formatHubBench shows the ratio and whether the target is met", () => {
  const results: ScenarioResult[] = [
    {
      scenario: "fanout-1000-fast",
      metric: "cpu µs per delivery",
      unit: "µs",
      hubproof: 12,
      baseline: 10,
      target: { kind: "ratio-max", value: 1.2 },
    },
    {
      scenario: "connect-1000",
      metric: "connections/s",
      unit: "1/s",
      hubproof: 600,
      baseline: 1000,
      target: { kind: "ratio-min", value: 0.7 },
    },
  ];
  const table = formatHubBench(results);
  assert.match(table, /fanout-1000-fast +cpu µs per delivery +12 +10 +1\.20× +met \(≤ 1\.2×\)/);
  assert.match(table, /connect-1000 +connections\/s +600 +1000 +0\.60× +MISSED \(≥ 0\.7×\)/);
});

const tiny: HubBenchSettings = {
  connections: [100],
  rounds: 1,
  pushes: 20,
  pacedSeconds: 1,
  rate: 20,
  json: true,
  profile: undefined,
};

Deno.test("runHubBench measures both servers with every delivery verified", async () => {
  const results = await runHubBench(tiny);
  const fast = results.find((r) => r.scenario === "fanout-100-fast" && r.metric === "deliveries/s");
  assert.ok(fast, "a fast fan-out figure");
  // 10 user pushes × 5 connections + 10 organization pushes × 100 connections.
  assert.equal(fast.details?.deliveries, 1050);
  assert.equal(results.length, 9);
  for (const result of results) {
    // CPU is counted in 10 ms ticks and RSS moves with the collector: at N=100 either may read 0.
    assert.ok(Number.isFinite(result.hubproof) && Number.isFinite(result.baseline!));
    assert.equal(result.baselineName, "bare WebSocket");
  }
  for (const metric of ["deliveries/s", "connections/s"]) {
    const result = results.find((r) => r.metric === metric)!;
    assert.ok(result.hubproof > 0 && result.baseline! > 0, `${metric} measured`);
  }
});

Deno.test("runHubBench fails loudly when a server delivers a push twice", async () => {
  await assert.rejects(
    runHubBench({ ...tiny, scripts: { bare: "./testdata/duplicating_bare_server.ts" } }),
    /Wrong deliveries in fast fan-out: .*"duplicates":[1-9]/,
  );
});
