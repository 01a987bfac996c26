/**
 * Connection-density benchmark (run by `deno task bench:connections`, not a test): starts the
 * Notifications service in a child process, holds N MessagePack WebSocket hub connections
 * (default 2,000), and reports connections held, the service's resident memory per connection,
 * and push latency to one user and to every connection through one organization group.
 *
 * Usage: deno run --allow-net --allow-read --allow-env --allow-sys --allow-run \
 *          bench/connections.ts [--connections 2000] [--json]
 *
 * With `--json` the last stdout line is `{"results": ScenarioResult[]}` (`bench/_results.ts`).
 *
 * @module
 */

import { parseFlags, parseInteger, parseOrExit } from "../config/mod.ts";
import { ActingAuthority } from "../testing/mod.ts";
import { connectHubClient, type HubClient } from "./_hub_client.ts";
import { loadAverage, percentile, rssKiB, startServiceProcess, within } from "./_measure.ts";
import { printResults } from "./_results.ts";

const ORG = "0a000000-0000-4000-8000-0000000000a1";
const BATCH = 100;

const { count, json } = parseOrExit(() => {
  const flags = parseFlags(Deno.args, {
    connections: { type: "string" },
    json: { type: "boolean" },
  });
  return {
    count: parseInteger("--connections", flags.connections ?? "2000", { min: 1 }),
    json: flags.json === true,
  };
});

const userId = (i: number) => `b0000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;

const load = await loadAverage();
const authority = await ActingAuthority.create();
const authorityUrl = await authority.listen({ port: 0 });
const service = await startServiceProcess(authorityUrl);
const clients: HubClient[] = [];
try {
  const internal = await authority.mint({ claims: { scope: ["internal"] } });
  const send = async (body: unknown) => {
    const response = await fetch(`${service.url}/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${internal}` },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`/send answered ${response.status}`);
  };
  // Warm up the code paths before taking the baseline.
  await send({ type: 11, payload: { userId: ORG, reason: null }, contextId: null });
  await new Promise((r) => setTimeout(r, 500));
  const baseline = await rssKiB(service.pid);

  let onReceive: (i: number) => void = () => {};
  let lost = 0;
  const started = performance.now();
  for (let batch = 0; batch < count; batch += BATCH) {
    const size = Math.min(BATCH, count - batch);
    clients.push(
      ...await Promise.all(Array.from({ length: size }, async (_, k) => {
        const i = batch + k;
        const token = await authority.mint({
          claims: {
            sub: userId(i),
            amr: ["Application"],
            scope: ["api"],
            devicetype: "ChromeBrowser",
            orguser: ORG,
          },
        });
        return connectHubClient(service.url, token, {
          onReceive: () => onReceive(i),
          onLost: () => lost++,
        });
      })),
    );
  }
  const connectMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 1000));
  const loaded = await rssKiB(service.pid);

  const single: number[] = [];
  for (let n = 0; n < 50; n++) {
    const i = (n * 37) % count;
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => onReceive = (j) => j === i && resolve());
    await send({ type: 11, payload: { userId: userId(i), reason: null }, contextId: null });
    await within(got, 10_000, `the push to connection ${i}`);
    single.push(performance.now() - t0);
  }
  const fanout: number[] = [];
  for (let n = 0; n < 5; n++) {
    let remaining = count;
    const t0 = performance.now();
    const all = new Promise<void>((resolve) => onReceive = () => --remaining === 0 && resolve());
    await send({ type: 18, payload: { organizationId: ORG, enabled: true }, contextId: null });
    await within(all, 30_000, "the organization broadcast");
    fanout.push(performance.now() - t0);
  }
  const summary = {
    connectionsRequested: count,
    connectionsHeld: count - lost,
    connectSeconds: +(connectMs / 1000).toFixed(2),
    serviceRssBaselineMiB: +(baseline / 1024).toFixed(1),
    serviceRssLoadedMiB: +(loaded / 1024).toFixed(1),
    rssPerConnectionKiB: +((loaded - baseline) / count).toFixed(1),
    singleUserLatencyMs: {
      p50: +percentile(single, 50).toFixed(2),
      p95: +percentile(single, 95).toFixed(2),
      max: +Math.max(...single).toFixed(2),
    },
    fanoutAllConnectionsMs: {
      p50: +percentile(fanout, 50).toFixed(1),
      max: +Math.max(...fanout).toFixed(1),
    },
  };
  console.log(JSON.stringify(summary, null, 2));
  if (json) {
    const details = { connections: count, held: count - lost, loadAverageAtStart: load };
    const result = (metric: string, unit: string, hubproof: number) => ({
      scenario: `connections-${count}`,
      metric,
      unit,
      hubproof,
      details,
    });
    printResults([
      result("connections opened/s", "connections/s", Math.round(count / (connectMs / 1000))),
      result("RSS per connection", "KiB", summary.rssPerConnectionKiB),
      result("one-user push p50", "ms", summary.singleUserLatencyMs.p50),
      result("broadcast to all, last receipt p50", "ms", summary.fanoutAllConnectionsMs.p50),
    ]);
  }
  if (lost > 0) Deno.exitCode = 1;
} finally {
  await Promise.all(clients.map((c) => c.close()));
  await service.stop();
  await authority.close();
}
