import assert from "node:assert/strict";
import { FlagError } from "../config/mod.ts";
import { formatFanoutReport, parseFanoutArgs, runFanout } from "./fanout.ts";
import { percentile, startServiceProcess } from "./_measure.ts";

Deno.test("parseFanoutArgs", async (t) => {
  await t.step("fills defaults", () => {
    assert.deepEqual(parseFanoutArgs([]), {
      connections: 1_000,
      broadcasts: 20,
      samples: 200,
      json: false,
    });
  });
  await t.step("reads every flag", () => {
    assert.deepEqual(
      parseFanoutArgs(["--samples", "5", "--json", "--connections", "10", "--broadcasts", "2"]),
      { connections: 10, broadcasts: 2, samples: 5, json: true },
    );
  });
  await t.step("names the flag of a bad value", () => {
    assert.throws(
      () => parseFanoutArgs(["--connections", "0"]),
      new FlagError("--connections", "Invalid --connections: expected an integer 1..10000, got 0"),
    );
    assert.throws(
      () => parseFanoutArgs(["--samples"]),
      new FlagError("--samples", "Invalid --samples: expected a value, got nothing"),
    );
    assert.equal(parseFanoutArgs(["--samples=7"]).samples, 7);
    assert.throws(() => parseFanoutArgs(["--broadcasts", "2.5"]), /Invalid --broadcasts/);
  });
  await t.step("rejects an unknown flag", () => {
    assert.throws(
      () => parseFanoutArgs(["--users", "3"]),
      /^FlagError: Unknown flag --users: expected one of --connections, --broadcasts, --samples, --json$/,
    );
  });
});

Deno.test("percentile uses the nearest rank", () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile([7], 1), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("runFanout delivers every push over real sockets and stops what it started", async () => {
  const report = await runFanout({ connections: 12, broadcasts: 3, samples: 8, json: false });
  assert.equal(report.sustainedBroadcast.deliveries, 36);
  assert.ok(report.singleBroadcast.deliveriesPerSecond > 0);
  assert.ok(report.userMessageMs.p50 <= report.userMessageMs.p99);
  assert.ok(report.userMessageMs.p99 <= report.userMessageMs.max);
  assert.ok(report.serviceMemory.connectedMiB > 0);
  const table = formatFanoutReport(report);
  assert.match(table, /^connections \(MessagePack, one organization\) +12$/m);
  assert.match(table, /broadcast, 3 back to back: 36 deliveries/);
});

Deno.test("startServiceProcess reports a service that cannot start", async () => {
  await assert.rejects(startServiceProcess("not a url"), /exited before listening/);
});
