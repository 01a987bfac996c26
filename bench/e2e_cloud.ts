/**
 * Cloud end to end (issue 10): API change → Azure Storage queue (Azurite) → queue consumer →
 * hub, through hubproof's reference server in `--mode cloud` (a child pinned to core 0). The
 * server reaches Azurite only through a small counting HTTP proxy in this process, so the
 * queue requests are counted on the wire, not read from hubproof's own counters. Measures:
 * - queue requests per second while idle (no change for 3 s before the window; target ≤ 5/s);
 * - folders created at 10 changes/s: p50/p99 change → receipt (target p50 ≤ 150 ms);
 * - folders created by 32 request loops as fast as the server answers: changes/s delivered.
 *
 * Usage: deno run -A bench/e2e_cloud.ts [--rounds 3] [--seconds 10] [--connections 10]
 *          [--quick] [--json]
 *
 * @module
 */

import { parseFlags, parseInteger, parseOrExit } from "../config/mod.ts";
import { azuriteConnectionString, startAzurite } from "../server/azurite/mod.ts";
import { type PhaseResult, type PreparedTarget, prepareTarget } from "./_e2e_workload.ts";
import { loadAverage, percentile } from "./_measure.ts";
import { pinSelf } from "./_pinning.ts";
import { LOAD_CORE, startReferenceServe } from "./_reference_serve.ts";
import { formatTable, printResults, type ScenarioResult } from "./_results.ts";

/** Requests the proxy forwarded, by method. */
export interface RequestCount {
  /** Every request. */
  total: number;
  /** `GET …/messages` (receive). */
  receives: number;
  /** `POST …/messages` (send). */
  sends: number;
  /** `DELETE …/messages/…` (delete after dispatch). */
  deletes: number;
}

/** A counting HTTP proxy in front of one upstream. */
export interface CountingProxy {
  /** Port it listens on (127.0.0.1). */
  readonly port: number;
  /** A snapshot of the counters. */
  count(): RequestCount;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a proxy that forwards every request to `upstream` and counts it by kind.
 *
 * @param upstream Base URL (`http://127.0.0.1:<port>`).
 * @returns The proxy.
 */
export function startCountingProxy(upstream: string): CountingProxy {
  const counts: RequestCount = { total: 0, receives: 0, sends: 0, deletes: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    counts.total++;
    if (/\/messages$/.test(url.pathname)) {
      if (request.method === "GET") counts.receives++;
      if (request.method === "POST") counts.sends++;
    } else if (request.method === "DELETE" && /\/messages\/[^/]+$/.test(url.pathname)) {
      counts.deletes++;
    }
    const headers = new Headers(request.headers);
    headers.delete("host");
    return fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      ...(request.body === null ? {} : { body: request.body }),
    });
  });
  return {
    port: server.addr.port,
    count: () => ({ ...counts }),
    close: () => server.shutdown(),
  };
}

/** Settings of a run. */
export interface CloudSettings {
  /** Rounds (medians reported). */
  readonly rounds: number;
  /** Seconds of the paced and idle windows (saturation takes half). */
  readonly seconds: number;
  /** Hub connections. */
  readonly connections: number;
  /** Print the results line. */
  readonly json: boolean;
}

/**
 * Parses the command line (`--quick` = one round of 3 s windows).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseCloudArgs } from "./e2e_cloud.ts";
 * strictEqual(parseCloudArgs(["--quick"]).seconds, 3);
 * ```
 * @param args Arguments after the script name.
 * @returns The settings.
 * @throws {TypeError} Naming the flag when a value is invalid or a flag unknown.
 */
export function parseCloudArgs(args: readonly string[]): CloudSettings {
  const values = parseFlags(args, {
    rounds: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string" },
    quick: { type: "boolean" },
    json: { type: "boolean" },
  });
  const quick = values.quick === true;
  const integer = (flag: string, text: string | undefined, fallback: number, max: number) =>
    text === undefined ? fallback : parseInteger(`--${flag}`, text, { min: 1, max });
  return {
    rounds: integer("rounds", values.rounds, quick ? 1 : 3, 20),
    seconds: integer("seconds", values.seconds, quick ? 3 : 10, 300),
    connections: integer("connections", values.connections, 10, 2_000),
    json: values.json === true,
  };
}

interface Round {
  readonly idleRequestsPerSecond: number;
  readonly idleReceivesPerSecond: number;
  readonly paced: PhaseResult;
  readonly pacedRequestsPerChange: number;
  readonly saturation: PhaseResult;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the scenario.
 *
 * @param settings The run's settings.
 * @returns The figures (medians over rounds).
 * @throws {Error} When a delivery is missing, duplicated, extra or wrong, or a change fails.
 */
export async function runE2eCloud(settings: CloudSettings): Promise<ScenarioResult[]> {
  const load = await loadAverage();
  const azurite = await startAzurite();
  let proxy: CountingProxy | undefined;
  let serve: Awaited<ReturnType<typeof startReferenceServe>> | undefined;
  let target: PreparedTarget | undefined;
  try {
    proxy = startCountingProxy(`http://127.0.0.1:${azurite.port}`);
    serve = await startReferenceServe([
      "--mode",
      "cloud",
      "--queue-connection-string",
      azuriteConnectionString(proxy.port),
    ]);
    target = await prepareTarget("hubproof", serve.url, settings.connections, serve.process.pid);
    await target.paced("user", { rate: 10, seconds: 1 }); // warm-up, not counted
    const rounds: Round[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      await sleep(3_000);
      const idleStart = proxy.count();
      const idleStartedAt = performance.now();
      await sleep(settings.seconds * 1000);
      const idleEnd = proxy.count();
      const idleSeconds = (performance.now() - idleStartedAt) / 1000;
      const pacedStart = proxy.count();
      const paced = await target.paced("user", { rate: 10, seconds: settings.seconds });
      const pacedEnd = proxy.count();
      const saturation = await target.saturate("user", {
        workers: 32,
        seconds: Math.max(2, Math.round(settings.seconds / 2)),
      });
      rounds.push({
        idleRequestsPerSecond: (idleEnd.total - idleStart.total) / idleSeconds,
        idleReceivesPerSecond: (idleEnd.receives - idleStart.receives) / idleSeconds,
        paced,
        pacedRequestsPerChange: (pacedEnd.total - pacedStart.total) / paced.changes,
        saturation,
      });
    }
    const median = (pick: (r: Round) => number) =>
      Number(percentile(rounds.map(pick), 50).toFixed(2));
    const details = {
      rounds: settings.rounds,
      connections: settings.connections,
      secondsPerWindow: settings.seconds,
      pacedChanges: rounds.reduce((n, r) => n + r.paced.changes, 0),
      deliveriesVerified: rounds.reduce(
        (n, r) => n + r.paced.deliveries + r.saturation.deliveries,
        0,
      ),
      idleReceivesPerSecond: median((r) => r.idleReceivesPerSecond),
      queueRequestsPerPacedChange: median((r) => r.pacedRequestsPerChange),
      serverCpuMsPerChangeSaturated: median((r) => r.saturation.serverCpuMsPerChange),
      serverCpuShareSaturated: median((r) => r.saturation.serverCpuShare),
      loadAverageAtStart: load,
      setup:
        "reference serve --mode cloud pinned to core 0; Azurite (in memory) unpinned; counting proxy and load on core 1",
    };
    return [
      {
        scenario: "e2e-cloud-idle",
        metric: "queue requests/s while idle",
        unit: "requests/s",
        hubproof: median((r) => r.idleRequestsPerSecond),
        target: { kind: "max", value: 5 },
        details,
      },
      {
        scenario: "e2e-cloud-10",
        metric: "p50 ms",
        unit: "ms",
        hubproof: median((r) => r.paced.p50Ms),
        target: { kind: "max", value: 150 },
        details,
      },
      {
        scenario: "e2e-cloud-10",
        metric: "p99 ms",
        unit: "ms",
        hubproof: median((r) => r.paced.p99Ms),
        details,
      },
      {
        scenario: "e2e-cloud-saturation",
        metric: "changes/s",
        unit: "changes/s",
        hubproof: median((r) => r.saturation.changesPerSecond),
        details,
      },
    ];
  } finally {
    await target?.close();
    await serve?.process.stop();
    await proxy?.close();
    await azurite.stop();
  }
}

if (import.meta.main) {
  const settings: CloudSettings = parseOrExit(() => parseCloudArgs(Deno.args));
  await pinSelf(LOAD_CORE);
  try {
    const results = await runE2eCloud(settings);
    console.log(formatTable(results));
    if (settings.json) printResults(results);
  } catch (error) {
    console.error(`e2e cloud failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
