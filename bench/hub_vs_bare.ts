/**
 * The hub against a bare WebSocket server (issue 10): hubproof's Notifications role alone
 * (`_serve_notifications.ts`, tokens from an external {@linkcode ActingAuthority}) and the bare
 * broadcast server of `_bare_server.ts`, driven in the same run by the same load processes
 * (`_load_worker.ts`), rounds interleaved (hubproof, bare, hubproof, bare, …), medians reported.
 *
 * Workload, as the issue states it: MessagePack; N connections of N/5 users (5 connections each,
 * sharing the user's token as a client's reconnects do) in N/100 organizations (20 users each);
 * half the pushes user-targeted (a type 0 cipher update with `UserId`, 5 recipients), half
 * organization-targeted (the same with `OrganizationId`, 100 recipients); `POST /send` injection.
 * The server under test is pinned to core 0, this process and the load processes to core 1.
 *
 * Per N and server, each round measures:
 * - connection opening: connections/s, handshake p50/p99 (WebSocket created → handshake
 *   answered), server CPU µs per connection, RSS per connection (`VmRSS` after − before, / N);
 * - fan-out as fast as possible: server CPU µs per delivery (utime + stime from `/proc`) and
 *   deliveries/s (first POST → last receipt);
 * - fan-out paced at 200 pushes/s: POST start → receipt latency of every delivery, p50/p99.
 * Every delivery is verified by the load processes (missing, duplicate, misrouted, wrong
 * payload, unannounced); any wrong count fails the run with exit code 1 and the counts.
 *
 * Usage: deno run -A bench/hub_vs_bare.ts [--quick] [--connections 1000,5000,10000]
 *          [--rounds 3] [--pushes 2000] [--paced-seconds 5] [--rate 200] [--json]
 *          [--profile DIR]
 *
 * @module
 */

import { FlagError, parseFlags, parseInteger, parseOrExit } from "../config/mod.ts";
import { ActingAuthority } from "../testing/mod.ts";
import {
  cpuMicros,
  loadAverage,
  percentile,
  procRssKiB,
  sendPoster,
  type ServiceProcess,
  startServiceProcess,
  within,
} from "./_measure.ts";

/** One figure of a scenario (the results contract shared with `bench/main.ts`). */
export interface ScenarioResult {
  /** E.g. `fanout-5000-fast`. */
  scenario: string;
  /** E.g. `cpu µs per delivery`. */
  metric: string;
  /** Unit of both values. */
  unit: string;
  /** hubproof's median. */
  hubproof: number;
  /** The bare WebSocket server's median, same run. */
  baseline?: number;
  /** Always `bare WebSocket` here. */
  baselineName?: string;
  /** The target for hubproof / baseline. */
  target?: { kind: "ratio-max" | "ratio-min" | "max" | "min"; value: number };
  /** Rounds, N, load averages, per-round values. */
  details?: Record<string, number | string>;
}

/** Settings of a run. */
export interface HubBenchSettings {
  /** Connection counts, one scenario group each. */
  readonly connections: readonly number[];
  /** Rounds per server and N. */
  readonly rounds: number;
  /** Pushes of the as-fast-as-possible phase. */
  readonly pushes: number;
  /** Length of the paced phase in seconds. */
  readonly pacedSeconds: number;
  /** Pushes per second of the paced phase. */
  readonly rate: number;
  /** Print `{"results": […]}` as the last stdout line. */
  readonly json: boolean;
  /** Write a `--cpu-prof` profile of each server process into this directory. */
  readonly profile: string | undefined;
  /**
   * Server scripts relative to `bench/` (defaults `./_serve_notifications.ts` and
   * `./_bare_server.ts`); the self-tests swap in a deliberately wrong one.
   */
  readonly scripts?: { readonly hubproof?: string; readonly bare?: string };
}

const FLAGS = {
  quick: { type: "boolean" },
  json: { type: "boolean" },
  connections: { type: "string" },
  rounds: { type: "string" },
  pushes: { type: "string" },
  "paced-seconds": { type: "string" },
  rate: { type: "string" },
  profile: { type: "string" },
} as const;

function integerFlag(flag: string, text: string, max: number): number {
  try {
    return parseInteger(`--${flag}`, text, { min: 1, max });
  } catch (error) {
    throw new FlagError(`--${flag}`, (error as Error).message);
  }
}

/**
 * Parses the command line.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseHubBenchArgs } from "./hub_vs_bare.ts";
 * deepStrictEqual(parseHubBenchArgs(["--quick"]).connections, [1000]);
 * deepStrictEqual(parseHubBenchArgs(["--connections", "500,2000"]).connections, [500, 2000]);
 * ```
 * @param args Arguments after the script name.
 * @returns The settings, defaults filled in (`--quick`: N=1,000, one round, shorter phases).
 * @throws {FlagError} Naming the flag when a flag is unknown or a value is out of range.
 */
export function parseHubBenchArgs(args: readonly string[]): HubBenchSettings {
  const flags = parseFlags(args, FLAGS);
  const quick = flags.quick === true;
  const connections = (flags.connections ?? (quick ? "1000" : "1000,5000,10000"))
    .split(",").map((text) => integerFlag("connections", text.trim(), 20_000));
  for (const n of connections) {
    if (n % 100 !== 0) {
      throw new FlagError(
        "--connections",
        `Invalid --connections: ${n} is not a multiple of 100 (N/100 orgs)`,
      );
    }
  }
  return {
    connections,
    rounds: integerFlag("rounds", flags.rounds ?? (quick ? "1" : "3"), 50),
    pushes: integerFlag("pushes", flags.pushes ?? (quick ? "1000" : "2000"), 100_000),
    pacedSeconds: integerFlag("paced-seconds", flags["paced-seconds"] ?? (quick ? "2" : "5"), 600),
    rate: integerFlag("rate", flags.rate ?? "200", 10_000),
    json: flags.json === true,
    profile: flags.profile,
  };
}

const CONNECTIONS_PER_USER = 5;
const USERS_PER_ORG = 20;
/** Sockets one load process holds at most (the open-file limit is 20,000 per process). */
const SOCKETS_PER_WORKER = 2_500;
/** Handshakes in flight over all load processes (hubproof's per-IP pending bound is 256). */
const CONNECT_CONCURRENCY = 128;
/** POSTs in flight in the as-fast-as-possible phase. */
const SEND_CONCURRENCY = 8;
const SERVER_CPU = "0";
const LOAD_CPU = "1";

const hex12 = (n: number) => n.toString(16).padStart(12, "0");
const userIdOf = (u: number) => `b0000000-0000-4000-8000-${hex12(u)}`;
const orgIdOf = (o: number) => `0a000000-0000-4000-8000-${hex12(o)}`;
/** The cipher id carrying a push's sequence number (parsed back by `_load_worker.ts`). */
const cipherIdOf = (seq: number) => `c0000000-0000-4000-8000-${hex12(seq)}`;
const nowAbs = () => performance.timeOrigin + performance.now();

type PushSpec = [number, "u" | "o", string];

/** Push `seq`: even ones to a user, odd ones to an organization, spread over all of them. */
function pushSpec(seq: number, users: number): PushSpec {
  return seq % 2 === 0
    ? [seq, "u", userIdOf((seq * 7919) % users)]
    : [seq, "o", orgIdOf((seq * 31) % (users / USERS_PER_ORG))];
}

function sendBody([seq, kind, id]: PushSpec): string {
  return JSON.stringify({
    type: 0,
    payload: {
      id: cipherIdOf(seq),
      userId: kind === "u" ? id : null,
      organizationId: kind === "o" ? id : null,
      collectionIds: kind === "o" ? ["0e6f4b7a-93c1-4b5e-8d0f-6a1c2b3d4e5f"] : null,
      revisionDate: new Date().toISOString(),
    },
    contextId: null,
  });
}

/** A load process speaking the JSON-lines protocol of `_load_worker.ts`. */
class LoadWorker {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #waiting: { op: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  #failure: Error | undefined;
  #exited: Promise<unknown>;

  constructor() {
    this.#child = new Deno.Command("taskset", {
      args: [
        "-c",
        LOAD_CPU,
        Deno.execPath(),
        "run",
        "--allow-net",
        new URL("./_load_worker.ts", import.meta.url).pathname,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#exited = this.#child.status;
    void this.#read();
  }

  async #read(): Promise<void> {
    let text = "";
    try {
      for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        let end: number;
        while ((end = text.indexOf("\n")) >= 0) {
          const message = JSON.parse(text.slice(0, end)) as Record<string, unknown>;
          text = text.slice(end + 1);
          if (message.op === "error") {
            this.#failure = new Error(`Load process failed: ${message.message}`);
          }
          const index = this.#waiting.findIndex((w) => w.op === message.op);
          if (index >= 0) this.#waiting.splice(index, 1)[0]!.resolve(message);
        }
      }
    } catch (error) {
      this.#failure = error as Error;
    }
  }

  /** Sends a command; resolves with the next answer whose `op` is `answer`. */
  request(command: Record<string, unknown>, answer: string): Promise<Record<string, unknown>> {
    const reply = this.next(answer);
    void this.#writer.write(new TextEncoder().encode(`${JSON.stringify(command)}\n`));
    return reply;
  }

  /** The next message with this `op`. */
  next(op: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      this.#waiting.push({ op, resolve });
      void this.#exited.then(() =>
        setTimeout(() => reject(this.#failure ?? new Error("Load process exited")), 100)
      );
    });
  }

  async close(): Promise<void> {
    await within(this.request({ op: "close" }, "closed"), 10_000, "a load process to close")
      .catch(() => {});
    await this.#writer.close().catch(() => {});
    try {
      await within(this.#exited, 5_000, "a load process to exit");
    } catch {
      this.#child.kill("SIGKILL");
      await this.#exited;
    }
  }
}

/** What one round against one server measured. */
interface RoundFigures {
  connectionsPerSecond: number;
  handshakeP50: number;
  handshakeP99: number;
  rssPerConnectionKiB: number;
  cpuMicrosPerConnection: number;
  cpuMicrosPerDelivery: number;
  deliveriesPerSecond: number;
  pacedP50: number;
  pacedP99: number;
  deliveries: number;
}

type ServerKind = "hubproof" | "bare";

interface Fleet {
  readonly tokens: string[];
  readonly users: number;
}

async function mintFleet(authority: ActingAuthority, connections: number): Promise<Fleet> {
  const users = connections / CONNECTIONS_PER_USER;
  const tokens: string[] = [];
  for (let u = 0; u < users; u++) {
    tokens.push(
      await authority.mint({
        claims: {
          sub: userIdOf(u),
          amr: ["Application"],
          scope: ["api"],
          devicetype: "Android",
          orguser: orgIdOf(Math.floor(u / USERS_PER_ORG)),
        },
      }),
    );
  }
  return { tokens, users };
}

/** Waits for every worker's `complete`, then collects and checks their reports. */
async function collect(
  workers: LoadWorker[],
  completes: Promise<Record<string, unknown>>[],
  expected: number,
  what: string,
  timeoutMs: number,
): Promise<{ lastAt: number; samples: number[] }> {
  let completed: Record<string, unknown>[] = [];
  let timedOut = false;
  try {
    completed = await within(Promise.all(completes), timeoutMs, what);
  } catch {
    timedOut = true;
  }
  // Let stray duplicates surface before counting.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const reports = await Promise.all(workers.map((w) => w.request({ op: "report" }, "report")));
  const sum = (key: string) => reports.reduce((total, r) => total + (r[key] as number), 0);
  const counts = {
    expected,
    received: sum("received"),
    missing: sum("missing"),
    duplicates: sum("duplicates"),
    misrouted: sum("misrouted"),
    badPayload: sum("badPayload"),
    unknown: sum("unknown"),
    lost: sum("lost"),
  };
  if (
    timedOut || counts.received !== expected || counts.missing !== 0 ||
    counts.duplicates + counts.misrouted + counts.badPayload + counts.unknown + counts.lost > 0
  ) {
    throw new Error(
      `Wrong deliveries in ${what}${timedOut ? " (timed out)" : ""}: ${JSON.stringify(counts)}`,
    );
  }
  const lastAt = Math.max(...completed.map((c) => c.lastAt as number));
  return { lastAt, samples: reports.flatMap((r) => r.samples as number[]) };
}

/** Runs one round against one server: connect, fast fan-out, paced fan-out. */
async function runRound(
  kind: ServerKind,
  authority: ActingAuthority,
  authorityUrl: string,
  fleet: Fleet,
  settings: HubBenchSettings,
  round: number,
): Promise<RoundFigures> {
  const n = fleet.users * CONNECTIONS_PER_USER;
  const internal = await authority.mint({ claims: { scope: ["internal"] } });
  let server: ServiceProcess | undefined;
  const workers: LoadWorker[] = [];
  try {
    const profileFlags = settings.profile !== undefined
      ? [
        "--cpu-prof",
        `--cpu-prof-dir=${settings.profile}`,
        `--cpu-prof-name=${kind}-${n}-${round}.cpuprofile`,
      ]
      : [];
    server = await startServiceProcess(authorityUrl, {
      script: settings.scripts?.[kind] ??
        (kind === "hubproof" ? "./_serve_notifications.ts" : "./_bare_server.ts"),
      cpus: SERVER_CPU,
      denoFlags: profileFlags,
    });
    const { url, pid } = server;
    const send = sendPoster(url, internal);
    // Warm the /send path (and hubproof's key set) before the memory baseline.
    for (let i = 0; i < 20; i++) await send(sendBody([1e9 + i, "u", userIdOf(fleet.users + i)]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rssBefore = await procRssKiB(pid);

    const workerCount = Math.ceil(n / SOCKETS_PER_WORKER);
    for (let w = 0; w < workerCount; w++) workers.push(new LoadWorker());
    const shares: { t: string; u: string; o: string }[][] = workers.map(() => []);
    for (let i = 0; i < n; i++) {
      const u = Math.floor(i / CONNECTIONS_PER_USER);
      shares[i % workerCount]!.push({
        t: fleet.tokens[u]!,
        u: userIdOf(u),
        o: orgIdOf(Math.floor(u / USERS_PER_ORG)),
      });
    }
    const concurrency = Math.max(1, Math.floor(CONNECT_CONCURRENCY / workerCount));
    const connectCpuBefore = await cpuMicros(pid);
    const connected = await within(
      Promise.all(
        workers.map((worker, w) =>
          worker.request({ op: "connect", url, conns: shares[w], concurrency }, "connected")
        ),
      ),
      120_000,
      `opening ${n} connections`,
    );
    const startAt = Math.min(...connected.map((c) => c.startAt as number));
    const endAt = Math.max(...connected.map((c) => c.endAt as number));
    const handshakes = connected.flatMap((c) => c.handshakeMs as number[]);
    const connectCpu = await cpuMicros(pid) - connectCpuBefore;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssAfter = await procRssKiB(pid);

    let seq = 0;
    /** Announces pushes to every worker; resolves with their `complete` promises. */
    const announce = async (list: PushSpec[], record: boolean) => {
      const completes = workers.map((w) => w.next("complete"));
      const ready = await Promise.all(
        workers.map((w) => w.request({ op: "expect", pushes: list, record }, "ready")),
      );
      return { completes, expected: ready.reduce((t, r) => t + (r.expected as number), 0) };
    };
    const fast = async (count: number) => {
      const list = Array.from({ length: count }, () => pushSpec(seq++, fleet.users));
      const { completes, expected } = await announce(list, false);
      const cpuBefore = await cpuMicros(pid);
      const startedAt = nowAbs();
      let next = 0;
      await Promise.all(Array.from({ length: SEND_CONCURRENCY }, async () => {
        while (next < list.length) await send(sendBody(list[next++]!));
      }));
      const { lastAt } = await collect(workers, completes, expected, "fast fan-out", 60_000);
      const cpu = await cpuMicros(pid) - cpuBefore;
      return { expected, cpu, seconds: (lastAt - startedAt) / 1000 };
    };
    // Warm-up (JIT) before the measured phase; verified like every phase.
    await fast(Math.min(200, settings.pushes));
    const measured = await fast(settings.pushes);

    // Paced: POSTs started on a fixed schedule, not waiting for each other.
    const pacedCount = settings.pacedSeconds * settings.rate;
    const list = Array.from({ length: pacedCount }, () => pushSpec(seq++, fleet.users));
    const { completes, expected } = await announce(list, true);
    const sentAt = new Map<number, number>();
    const inFlight: Promise<void>[] = [];
    const t0 = performance.now() + 20;
    for (let k = 0; k < list.length; k++) {
      const due = t0 + (k * 1000) / settings.rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      sentAt.set(list[k]![0], nowAbs());
      inFlight.push(send(sendBody(list[k]!)));
    }
    await Promise.all(inFlight);
    const { samples } = await collect(workers, completes, expected, "paced fan-out", 60_000);
    const latencies: number[] = [];
    for (let i = 0; i < samples.length; i += 2) {
      latencies.push(samples[i + 1]! - sentAt.get(samples[i]!)!);
    }
    return {
      connectionsPerSecond: n / ((endAt - startAt) / 1000),
      handshakeP50: percentile(handshakes, 50),
      handshakeP99: percentile(handshakes, 99),
      rssPerConnectionKiB: (rssAfter - rssBefore) / n,
      cpuMicrosPerConnection: connectCpu / n,
      cpuMicrosPerDelivery: measured.cpu / measured.expected,
      deliveriesPerSecond: measured.expected / measured.seconds,
      pacedP50: percentile(latencies, 50),
      pacedP99: percentile(latencies, 99),
      deliveries: measured.expected,
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await server?.stop();
  }
}

const round2 = (value: number) => Number(value.toFixed(2));

/**
 * Runs every scenario: per N, `rounds` interleaved rounds against hubproof and the bare server.
 *
 * @param settings The run's settings.
 * @param progress Called with a line after each round.
 * @returns The figures, medians over rounds.
 * @throws {Error} When any delivery is wrong or a phase times out.
 */
export async function runHubBench(
  settings: HubBenchSettings,
  progress: (line: string) => void = () => {},
): Promise<ScenarioResult[]> {
  const authority = await ActingAuthority.create();
  const results: ScenarioResult[] = [];
  try {
    const authorityUrl = await authority.listen({ port: 0 });
    for (const n of settings.connections) {
      const loadavg = await loadAverage();
      const fleet = await mintFleet(authority, n);
      const rounds: Record<ServerKind, RoundFigures[]> = { hubproof: [], bare: [] };
      for (let r = 0; r < settings.rounds; r++) {
        for (const kind of ["hubproof", "bare"] as const) {
          const figures = await runRound(kind, authority, authorityUrl, fleet, settings, r);
          rounds[kind].push(figures);
          progress(
            `N=${n} round ${r + 1} ${kind}: ${
              JSON.stringify(figures, (_, v) => typeof v === "number" ? round2(v) : v)
            }`,
          );
        }
      }
      const loadavgEnd = await loadAverage();
      const add = (
        scenario: string,
        metric: string,
        unit: string,
        key: keyof RoundFigures,
        target?: ScenarioResult["target"],
      ) => {
        const hub = rounds.hubproof.map((f) => f[key]);
        const bare = rounds.bare.map((f) => f[key]);
        results.push({
          scenario,
          metric,
          unit,
          hubproof: round2(percentile(hub, 50)),
          baseline: round2(percentile(bare, 50)),
          baselineName: "bare WebSocket",
          ...(target ? { target } : {}),
          details: {
            connections: n,
            rounds: settings.rounds,
            deliveries: rounds.hubproof[0]!.deliveries,
            loadavgStart: loadavg,
            loadavgEnd,
            hubproofRounds: hub.map(round2).join(" "),
            baselineRounds: bare.map(round2).join(" "),
          },
        });
      };
      add(`fanout-${n}-fast`, "cpu µs per delivery", "µs", "cpuMicrosPerDelivery", {
        kind: "ratio-max",
        value: 1.2,
      });
      add(`fanout-${n}-fast`, "deliveries/s", "1/s", "deliveriesPerSecond", {
        kind: "ratio-min",
        value: 0.95,
      });
      add(`fanout-${n}-paced-${settings.rate}`, "p50 ms", "ms", "pacedP50");
      add(`fanout-${n}-paced-${settings.rate}`, "p99 ms", "ms", "pacedP99", {
        kind: "ratio-max",
        value: 1.5,
      });
      add(`connect-${n}`, "connections/s", "1/s", "connectionsPerSecond", {
        kind: "ratio-min",
        value: 0.7,
      });
      add(`connect-${n}`, "cpu µs per connection", "µs", "cpuMicrosPerConnection");
      add(`connect-${n}`, "handshake p50 ms", "ms", "handshakeP50");
      add(`connect-${n}`, "handshake p99 ms", "ms", "handshakeP99");
      add(`connect-${n}`, "RSS KiB per connection", "KiB", "rssPerConnectionKiB", {
        kind: "ratio-max",
        value: 1.2,
      });
    }
  } finally {
    await authority.close();
  }
  return results;
}

/**
 * Formats results as a table with the hubproof / baseline ratio and the target verdict.
 *
 * @param results The figures.
 * @returns One line per figure.
 */
export function formatHubBench(results: readonly ScenarioResult[]): string {
  const rows = results.map((r) => {
    const ratio = r.baseline ? r.hubproof / r.baseline : NaN;
    const verdict = r.target === undefined
      ? ""
      : (r.target.kind === "ratio-max" ? ratio <= r.target.value : ratio >= r.target.value)
      ? `met (${r.target.kind === "ratio-max" ? "≤" : "≥"} ${r.target.value}×)`
      : `MISSED (${r.target.kind === "ratio-max" ? "≤" : "≥"} ${r.target.value}×)`;
    return [
      r.scenario,
      r.metric,
      String(r.hubproof),
      String(r.baseline ?? ""),
      Number.isNaN(ratio) ? "" : `${ratio.toFixed(2)}×`,
      verdict,
    ];
  });
  const header = ["scenario", "metric", "hubproof", "bare", "ratio", "target"];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n");
}

if (import.meta.main) {
  const settings: HubBenchSettings = parseOrExit(() => parseHubBenchArgs(Deno.args));
  // This process sends the pushes: it belongs with the load, away from the server's core.
  await new Deno.Command("taskset", { args: ["-a", "-pc", LOAD_CPU, String(Deno.pid)] })
    .output();
  try {
    const results = await runHubBench(settings, (line) => console.error(line));
    console.log(formatHubBench(results));
    if (settings.json) console.log(JSON.stringify({ results }));
  } catch (error) {
    console.error(`Hub benchmark failed: ${(error as Error).message}`);
    Deno.exitCode = 1;
  }
}
