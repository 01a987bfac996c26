/**
 * Fan-out benchmark of the Notifications service (one scenario of `deno task bench`,
 * `bench/main.ts`): the service runs in a child process on a free loopback port; this process
 * opens N real WebSocket hub connections (MessagePack), injects pushes through `POST /send` with
 * internal tokens from an {@linkcode ActingAuthority}, and prints
 * - deliveries/s of an organization broadcast to every connection, one at a time and sustained;
 * - p50/p99 latency from POST to receipt of a message to one user;
 * - the service's resident memory per connection and its peak during the sustained broadcast.
 * Every delivery is checked (right recipient, right payload, exactly once); a lost connection or
 * a wrong count fails the run with exit code 1. Connection density at 2,000 connections is
 * measured separately by `bench/connections.ts`.
 *
 * Usage: deno run --allow-net --allow-read --allow-env --allow-sys --allow-run bench/fanout.ts
 *          [--connections 1000] [--broadcasts 20] [--samples 200] [--json]
 *
 * With `--json` the last stdout line is `{"results": ScenarioResult[]}` (`bench/_results.ts`).
 *
 * @module
 */

import { FlagError, parseFlags, parseInteger, parseOrExit } from "../config/mod.ts";
import { ActingAuthority } from "../testing/mod.ts";
import { connectHubClient, type HubClient } from "./_hub_client.ts";
import {
  loadAverage,
  percentile,
  rssKiB,
  sendPoster,
  startServiceProcess,
  within,
} from "./_measure.ts";
import { printResults, type ScenarioResult } from "./_results.ts";

/** Settings of one run. */
export interface FanoutSettings {
  /** Hub connections, all members of one organization (default 1,000). */
  readonly connections: number;
  /** Broadcasts sent back to back in the sustained phase (default 20). */
  readonly broadcasts: number;
  /** Sequential user messages timed for the latency percentiles (default 200). */
  readonly samples: number;
  /** Print JSON instead of a table. */
  readonly json: boolean;
}

const FLAGS = {
  connections: { type: "string" },
  broadcasts: { type: "string" },
  samples: { type: "string" },
  json: { type: "boolean" },
} as const;

const RANGES = {
  connections: { min: 1, max: 10_000, fallback: 1_000 },
  broadcasts: { min: 1, max: 1_000, fallback: 20 },
  samples: { min: 1, max: 10_000, fallback: 200 },
} as const;

/**
 * Parses the command line (`--flag value` or `--flag=value`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseFanoutArgs } from "./fanout.ts";
 * strictEqual(parseFanoutArgs(["--connections", "50"]).connections, 50);
 * ```
 * @param args Arguments after the script name.
 * @returns The settings, defaults filled in.
 * @throws {FlagError} Naming the flag when a flag is unknown or its value is not an integer in range.
 */
export function parseFanoutArgs(args: readonly string[]): FanoutSettings {
  const flags = parseFlags(args, FLAGS);
  const value = (name: keyof typeof RANGES) => {
    const text = flags[name];
    if (text === undefined) return RANGES[name].fallback;
    try {
      return parseInteger(`--${name}`, text, RANGES[name]);
    } catch (error) {
      throw new FlagError(`--${name}`, (error as Error).message);
    }
  };
  return {
    connections: value("connections"),
    broadcasts: value("broadcasts"),
    samples: value("samples"),
    json: flags.json === true,
  };
}

const ORGANIZATION_ID = "0a000000-0000-4000-8000-0000000000f0";
const ACTING_DEVICE = "bench-api-device";
/** Whole-run limit: the bench task must finish in under a minute. */
const RUN_LIMIT_MS = 55_000;

function userIdOf(index: number): string {
  return `b0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
}

/** The most frequent organization push: a cipher changed in a shared collection. */
function cipherUpdateBody(sequence: number): string {
  return JSON.stringify({
    type: 0,
    payload: {
      id: `c0000000-0000-4000-8000-${sequence.toString(16).padStart(12, "0")}`,
      userId: null,
      organizationId: ORGANIZATION_ID,
      collectionIds: ["0e6f4b7a-93c1-4b5e-8d0f-6a1c2b3d4e5f"],
      revisionDate: new Date().toISOString(),
    },
    contextId: ACTING_DEVICE,
  });
}

function syncVaultBody(userId: string): string {
  return JSON.stringify({
    type: 5,
    payload: { userId, date: new Date().toISOString() },
    contextId: ACTING_DEVICE,
  });
}

interface Tally {
  broadcasts: number;
  userMessages: number;
}

/** Everything measured by one run. */
export interface FanoutReport {
  /** The settings used. */
  readonly settings: FanoutSettings;
  /** Seconds to open and handshake every connection. */
  readonly connectSeconds: number;
  /** One broadcast at a time: ms from POST to the first and to the last receipt (medians). */
  readonly singleBroadcast: {
    readonly firstMs: number;
    readonly lastMs: number;
    readonly deliveriesPerSecond: number;
  };
  /** Back-to-back broadcasts: total time and delivery rate. */
  readonly sustainedBroadcast: {
    readonly deliveries: number;
    readonly seconds: number;
    readonly deliveriesPerSecond: number;
  };
  /** POST to receipt of a message to one user, in ms. */
  readonly userMessageMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Service memory in MiB and per connection in KiB. */
  readonly serviceMemory: {
    readonly baselineMiB: number;
    readonly connectedMiB: number;
    readonly peakDuringSustainedMiB: number;
    readonly perConnectionKiB: number;
  };
}

/**
 * Runs the benchmark: starts an authority and the service, connects the clients, measures,
 * checks every delivery, and stops everything it started (also on failure).
 *
 * @param settings The run's settings.
 * @returns The measurements.
 * @throws {Error} When a connection is lost, a delivery is missing, duplicated or misrouted, a
 *   `/send` is refused, or a phase exceeds its time limit.
 */
export async function runFanout(settings: FanoutSettings): Promise<FanoutReport> {
  const deadline = performance.now() + RUN_LIMIT_MS;
  const remaining = () => Math.max(1, deadline - performance.now());
  const { connections } = settings;
  const authority = await ActingAuthority.create();
  const clients: HubClient[] = [];
  let service: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  try {
    service = await startServiceProcess(await authority.listen({ port: 0 }));
    const { url, pid } = service;
    const internal = await authority.mint({ claims: { scope: ["internal"] } });
    const send = sendPoster(url, internal);

    // Warm the send path (JIT, auth cache) before the memory baseline.
    for (let i = 0; i < 20; i++) await send(syncVaultBody(userIdOf(connections + i)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const baselineKiB = await rssKiB(pid);

    const tallies: Tally[] = Array.from({ length: connections }, () => ({
      broadcasts: 0,
      userMessages: 0,
    }));
    const problems: string[] = [];
    let onBroadcast = () => {};
    let onUserMessage = (_index: number, _at: number) => {};
    const receiver = (index: number) => (argument: unknown, at: number) => {
      const { Type, Payload } = argument as {
        Type: number;
        Payload: { OrganizationId?: string; UserId?: string };
      };
      if (Type === 0 && Payload.OrganizationId === ORGANIZATION_ID) {
        tallies[index]!.broadcasts++;
        onBroadcast();
      } else if (Type === 5 && Payload.UserId === userIdOf(index)) {
        tallies[index]!.userMessages++;
        onUserMessage(index, at);
      } else {
        problems.push(`Connection ${index} received a push not meant for it: type ${Type}`);
      }
    };
    const lost = (index: number) => (reason: string) =>
      problems.push(`Connection ${index} was lost: ${reason}`);

    const connectStart = performance.now();
    const BATCH = 50;
    for (let batch = 0; batch < connections; batch += BATCH) {
      const size = Math.min(BATCH, connections - batch);
      const opened = await within(
        Promise.all(Array.from({ length: size }, async (_, k) => {
          const index = batch + k;
          const token = await authority.mint({
            claims: {
              sub: userIdOf(index),
              amr: ["Application"],
              scope: ["api"],
              device: `d0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`,
              devicetype: "Android",
              orguser: ORGANIZATION_ID,
            },
          });
          const client = await connectHubClient(url, token, {
            onReceive: receiver(index),
            onLost: lost(index),
          });
          clients.push(client);
          return client;
        })),
        remaining(),
        "opening connections",
      );
      if (opened.length !== size) throw new Error("Connections went missing while opening");
    }
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const connectedKiB = await rssKiB(pid);

    const failOnProblems = () => {
      if (problems.length > 0) {
        throw new Error(
          `${problems.length} delivery problem(s): ${problems.slice(0, 3).join("; ")}`,
        );
      }
    };

    /** Resolves once `count` more broadcast deliveries arrived; records first/last receipt. */
    const awaitBroadcasts = (count: number) => {
      let left = count;
      let first = NaN;
      return new Promise<{ first: number; last: number }>((resolve) => {
        onBroadcast = () => {
          const now = performance.now();
          if (Number.isNaN(first)) first = now;
          if (--left === 0) resolve({ first, last: now });
        };
      });
    };

    // Phase 1: one broadcast at a time.
    const firsts: number[] = [];
    const lasts: number[] = [];
    const SINGLE_ROUNDS = 10;
    let sequence = 0;
    for (let round = 0; round < SINGLE_ROUNDS; round++) {
      const done = awaitBroadcasts(connections);
      const start = performance.now();
      await send(cipherUpdateBody(sequence++));
      const { first, last } = await within(done, remaining(), "a broadcast to arrive");
      firsts.push(first - start);
      lasts.push(last - start);
    }
    failOnProblems();

    // Phase 2: broadcasts back to back; memory sampled while they drain.
    let peakKiB = connectedKiB;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakKiB = Math.max(peakKiB, await rssKiB(pid));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const sustainedDeliveries = connections * settings.broadcasts;
    const drained = awaitBroadcasts(sustainedDeliveries);
    const sustainedStart = performance.now();
    try {
      for (let i = 0; i < settings.broadcasts; i++) await send(cipherUpdateBody(sequence++));
      await within(drained, remaining(), "the sustained broadcasts to arrive");
    } finally {
      sampling = false;
      await sampler;
    }
    const sustainedSeconds = (performance.now() - sustainedStart) / 1000;
    failOnProblems();

    // Phase 3: one user at a time, recipients spread over the connections.
    const latencies: number[] = [];
    for (let n = 0; n < settings.samples; n++) {
      const target = (n * 7919) % connections;
      const arrived = new Promise<number>((resolve) => {
        onUserMessage = (index, at) => index === target && resolve(at);
      });
      const start = performance.now();
      await send(syncVaultBody(userIdOf(target)));
      latencies.push(await within(arrived, remaining(), "a user message to arrive") - start);
    }
    // Let stray duplicates surface before counting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    failOnProblems();

    const expectedBroadcasts = SINGLE_ROUNDS + settings.broadcasts;
    const expectedUser = (index: number) =>
      Array.from({ length: settings.samples }, (_, n) => (n * 7919) % connections)
        .filter((target) => target === index).length;
    tallies.forEach((tally, index) => {
      if (tally.broadcasts !== expectedBroadcasts) {
        problems.push(
          `Connection ${index} got ${tally.broadcasts} broadcasts, expected ${expectedBroadcasts}`,
        );
      }
      if (tally.userMessages !== expectedUser(index)) {
        problems.push(
          `Connection ${index} got ${tally.userMessages} user messages, expected ${
            expectedUser(index)
          }`,
        );
      }
    });
    failOnProblems();

    const medianLast = percentile(lasts, 50);
    return {
      settings,
      connectSeconds: round(connectSeconds, 2),
      singleBroadcast: {
        firstMs: round(percentile(firsts, 50), 1),
        lastMs: round(medianLast, 1),
        deliveriesPerSecond: Math.round(connections / (medianLast / 1000)),
      },
      sustainedBroadcast: {
        deliveries: sustainedDeliveries,
        seconds: round(sustainedSeconds, 2),
        deliveriesPerSecond: Math.round(sustainedDeliveries / sustainedSeconds),
      },
      userMessageMs: {
        p50: round(percentile(latencies, 50), 2),
        p99: round(percentile(latencies, 99), 2),
        max: round(Math.max(...latencies), 2),
      },
      serviceMemory: {
        baselineMiB: round(baselineKiB / 1024, 1),
        connectedMiB: round(connectedKiB / 1024, 1),
        peakDuringSustainedMiB: round(peakKiB / 1024, 1),
        perConnectionKiB: round((connectedKiB - baselineKiB) / connections, 1),
      },
    };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await service?.stop();
    await authority.close();
  }
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/**
 * Formats a report as a plain-text table.
 *
 * @param report A run's measurements.
 * @returns The table, one measurement per line.
 */
export function formatFanoutReport(report: FanoutReport): string {
  const { settings: s, singleBroadcast: one, sustainedBroadcast: many } = report;
  const { userMessageMs: user, serviceMemory: memory } = report;
  const rows: [string, string][] = [
    ["connections (MessagePack, one organization)", `${s.connections}`],
    ["connect + handshake, all connections", `${report.connectSeconds} s`],
    ["broadcast, one at a time: first receipt (p50)", `${one.firstMs} ms`],
    ["broadcast, one at a time: last receipt (p50)", `${one.lastMs} ms`],
    ["broadcast, one at a time: deliveries/s", one.deliveriesPerSecond.toLocaleString("en-US")],
    [
      `broadcast, ${s.broadcasts} back to back: ${many.deliveries} deliveries`,
      `${many.seconds} s`,
    ],
    ["broadcast, back to back: deliveries/s", many.deliveriesPerSecond.toLocaleString("en-US")],
    [`user message POST -> receipt, ${s.samples} samples: p50`, `${user.p50} ms`],
    ["user message POST -> receipt: p99", `${user.p99} ms`],
    ["user message POST -> receipt: max", `${user.max} ms`],
    ["service RSS: before connections", `${memory.baselineMiB} MiB`],
    ["service RSS: connections open", `${memory.connectedMiB} MiB`],
    ["service RSS: peak during back-to-back broadcasts", `${memory.peakDuringSustainedMiB} MiB`],
    ["service RSS per connection", `${memory.perConnectionKiB} KiB`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value.padStart(valueWidth)}`)
    .join("\n");
}

/**
 * The report as results of the bench's contract (`fanout-<N>-…`; no baseline: the bare
 * WebSocket comparison is `bench/hub_vs_bare.ts`).
 *
 * @param report A run's measurements.
 * @param loadAverage /proc/loadavg at the start.
 * @returns One result per figure.
 */
export function fanoutResults(report: FanoutReport, loadAverage: string): ScenarioResult[] {
  const n = report.settings.connections;
  const details = {
    connections: n,
    broadcasts: report.settings.broadcasts,
    samples: report.settings.samples,
    loadAverageAtStart: loadAverage,
    note: "service and clients unpinned in one machine; clients share its cores",
  };
  const result = (scenario: string, metric: string, unit: string, hubproof: number) => ({
    scenario: `fanout-${n}-${scenario}`,
    metric,
    unit,
    hubproof,
    details,
  });
  return [
    result(
      "broadcast-one",
      "deliveries/s",
      "deliveries/s",
      report.singleBroadcast.deliveriesPerSecond,
    ),
    result(
      "broadcast-sustained",
      "deliveries/s",
      "deliveries/s",
      report.sustainedBroadcast.deliveriesPerSecond,
    ),
    result("user-message", "p50 ms", "ms", report.userMessageMs.p50),
    result("user-message", "p99 ms", "ms", report.userMessageMs.p99),
    result("memory", "RSS per connection", "KiB", report.serviceMemory.perConnectionKiB),
  ];
}

if (import.meta.main) {
  const settings: FanoutSettings = parseOrExit(() => parseFanoutArgs(Deno.args));
  try {
    const load = await loadAverage();
    const report = await runFanout(settings);
    console.log(`fan-out\n${formatFanoutReport(report)}`);
    if (settings.json) printResults(fanoutResults(report, load));
  } catch (error) {
    console.error(`Fan-out benchmark failed: ${(error as Error).message}`);
    Deno.exitCode = 1;
  }
}
