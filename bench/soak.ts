/**
 * Soak benchmark (`deno task bench:soak`; not a test, not CI): holds many hub connections for a
 * long time under a steady push rate and checks that the server's memory and open files stay
 * flat and that no delivery is lost.
 *
 * - The server is `deno task serve --role notifications` (self-hosted `/send` flow, default
 *   connection bounds) in a child process pinned to CPU 0 with `taskset -c 0`, trusting an
 *   {@linkcode ActingAuthority} this process runs.
 * - Connections (default 10,000, MessagePack over WebSockets, the lean `bench/_hub_client.ts`)
 *   live in load processes of at most 5,000 each (`bench/_soak_loader.ts`), so no process nears
 *   the machine's 20,000 open files. Each connection pings every `--ping-interval` seconds
 *   (default 15, as SignalR clients do). Opening is paced instead of raising the bounds: each
 *   load process opens 100 at a time and waits for their handshakes, so at most
 *   `100 × loaders` connections are pending at once, under `--max-pending-per-ip` (256) for up to
 *   two load processes.
 * - Population and schedule come from `bench/_soak_plan.ts`: 2 devices per user, every
 *   connection in one of 100 organizations; `--push-rate` pushes per second (default 20) through
 *   `POST /send` (in order, at most 8 requests in flight, so the orchestrator's own connections
 *   to the server stay few), half organization-, half user-targeted.
 * - Every minute (minute 0 = all connections open, before the first push) it prints the server's
 *   RSS (`ps`), open files (`ls /proc/PID/fd`), connections open (server gauge and clients),
 *   deliveries expected / delivered / missing / duplicate so far (pushes `/send` answered at
 *   least 10 s before the sample are settled), delivery latency p50/p99 of the minute, the time `GET /alive` takes
 *   (the server's event-loop responsiveness) and the load processes' largest event-loop lag.
 *
 * **Flat**, the verdict, is judged over the last 20 minutes (for shorter runs: the last two
 * thirds of the minutes, at least two samples; minute 0, before the first push, never counts):
 * - RSS: the least-squares slope of the samples is at most 1 MiB per minute (20 MiB over 20
 *   minutes; a leak of 100 bytes per ping alone would be 4 MiB per minute at 10,000 connections);
 * - open files: max − min over those samples at most 16 + 0.1 % of the connections, and never
 *   fewer than the connections held (every socket still there).
 *
 * The run exits 1 when it is not flat, or when any delivery is missing, duplicated or misrouted,
 * a connection failed to open or was lost, or a `/send` was refused.
 *
 * Usage: deno run --allow-net --allow-read --allow-env --allow-sys --allow-run bench/soak.ts
 *          [--connections 10000] [--minutes 30] [--push-rate 20] [--ping-interval 15]
 *
 * @module
 */

import { parseFlags, parseInteger, parseOrExit } from "../config/mod.ts";
import { ActingAuthority } from "../testing/mod.ts";
import {
  openFileCount,
  rssKiB,
  type ServiceProcess,
  startServeProcess,
  within,
} from "./_measure.ts";
import type { LoaderSettings, LoaderStats } from "./_soak_loader.ts";
import {
  pushBody,
  soakOrganizationId,
  type SoakPlan,
  soakUserId,
  soakUsers,
} from "./_soak_plan.ts";

/** Settings of one soak run. */
export interface SoakSettings {
  /** Hub connections held (default 10,000). */
  readonly connections: number;
  /** Minutes held after opening (default 30). */
  readonly minutes: number;
  /** Pushes per second through `/send` (default 20). */
  readonly pushRate: number;
  /** Client ping interval in seconds (default 15). */
  readonly pingIntervalSeconds: number;
}

const RANGES = {
  connections: { min: 1, max: 15_000, fallback: 10_000 },
  minutes: { min: 2, max: 120, fallback: 30 },
  "push-rate": { min: 0, max: 500, fallback: 20 },
  "ping-interval": { min: 1, max: 25, fallback: 15 },
} as const;

/**
 * Parses the command line.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseSoakArgs } from "./soak.ts";
 * deepStrictEqual(parseSoakArgs(["--connections", "2000", "--minutes=3"]), {
 *   connections: 2000,
 *   minutes: 3,
 *   pushRate: 20,
 *   pingIntervalSeconds: 15,
 * });
 * ```
 * @param args Arguments after the script name.
 * @returns The settings, defaults filled in.
 * @throws {FlagError | RangeError} Naming the flag when it is unknown or its value not an integer in
 * range.
 */
export function parseSoakArgs(args: readonly string[]): SoakSettings {
  const values = parseFlags(args, {
    connections: { type: "string" },
    minutes: { type: "string" },
    "push-rate": { type: "string" },
    "ping-interval": { type: "string" },
  });
  const integer = (name: keyof typeof values, range: (typeof RANGES)[keyof typeof RANGES]) => {
    const text = values[name];
    return text === undefined ? range.fallback : parseInteger(`--${name}`, text, range);
  };
  return {
    connections: integer("connections", RANGES.connections),
    minutes: integer("minutes", RANGES.minutes),
    pushRate: integer("push-rate", RANGES["push-rate"]),
    pingIntervalSeconds: integer("ping-interval", RANGES["ping-interval"]),
  };
}

/** One per-minute sample. */
export interface SoakSample {
  /** Minutes since the connections were open. */
  readonly minute: number;
  /** Server resident memory, MiB. */
  readonly rssMiB: number;
  /** Server open file descriptors. */
  readonly openFiles: number;
  /** Connections the server counts (`hubproof_notifications_connections`, main hub). */
  readonly serverConnections: number;
  /** Connections the clients hold. */
  readonly clientConnections: number;
  /** Pushes sent so far. */
  readonly pushesSent: number;
  /** Deliveries owed by the settled pushes, and what became of them (cumulative). */
  readonly expected: number;
  /** Delivered once. */
  readonly delivered: number;
  /** Not delivered. */
  readonly missing: number;
  /** Delivered again. */
  readonly duplicate: number;
  /** Delivered to a connection it was not meant for. */
  readonly misrouted: number;
  /** Delivery latency of the minute, ms (p50, p99). */
  readonly latencyP50Ms: number;
  /** p99. */
  readonly latencyP99Ms: number;
  /** Time `GET /alive` took, ms. */
  readonly aliveMs: number;
  /** Largest event-loop lag of the load processes in the minute, ms. */
  readonly clientLagMs: number;
}

/** The verdict of a run. */
export interface SoakVerdict {
  /** RSS and open files flat over the window. */
  readonly flat: boolean;
  /** No delivery missing, duplicated or misrouted, nothing lost or refused. */
  readonly complete: boolean;
  /** Minutes judged (first and last). */
  readonly window: readonly [number, number];
  /** RSS least-squares slope over the window, MiB per minute. */
  readonly rssSlopeMiBPerMinute: number;
  /** Open files max − min over the window. */
  readonly openFilesSpread: number;
  /** Why it failed, one line each (empty when it passed). */
  readonly problems: readonly string[];
}

/** Slope bound of the RSS over the window, MiB per minute. */
export const RSS_SLOPE_BOUND_MIB_PER_MINUTE = 1;

/**
 * The flatness bound of the open-file count over the window.
 *
 * @param connections Connections held.
 * @returns 16 + 0.1 % of the connections.
 */
export function openFilesSpreadBound(connections: number): number {
  return 16 + Math.floor(connections / 1000);
}

function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/**
 * Judges a run from its samples (minute 0 first) and its failure counts.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { soakVerdict } from "./soak.ts";
 * const sample = (minute: number, rssMiB: number) => ({
 *   minute, rssMiB, openFiles: 1010, serverConnections: 1000, clientConnections: 1000,
 *   pushesSent: minute * 1200, expected: minute * 1000, delivered: minute * 1000, missing: 0,
 *   duplicate: 0, misrouted: 0, latencyP50Ms: 2, latencyP99Ms: 9, aliveMs: 1, clientLagMs: 5,
 * });
 * const flat = [0, 1, 2, 3].map((m) => sample(m, 100 + (m % 2)));
 * strictEqual(soakVerdict(flat, { connections: 1000, failedToOpen: 0, lost: 0, sendFailures: 0 }).flat, true);
 * const leaking = [0, 1, 2, 3].map((m) => sample(m, 100 + 5 * m));
 * strictEqual(soakVerdict(leaking, { connections: 1000, failedToOpen: 0, lost: 0, sendFailures: 0 }).flat, false);
 * ```
 * @param samples Per-minute samples, minute 0 first.
 * @param run Connections requested and the run's failure counts.
 * @returns The verdict.
 * @throws {RangeError} With fewer than 2 samples after minute 0.
 */
export function soakVerdict(
  samples: readonly SoakSample[],
  run: {
    readonly connections: number;
    readonly failedToOpen: number;
    readonly lost: number;
    readonly sendFailures: number;
  },
): SoakVerdict {
  // Minute 0 precedes the first push (no /send connections yet): never part of the window.
  const pushing = samples.filter((s) => s.minute >= 1);
  const size = Math.max(2, Math.min(20, Math.ceil((pushing.length * 2) / 3)));
  const window = pushing.slice(-size);
  if (window.length < 2) {
    throw new RangeError(
      `Invalid samples: flatness needs at least 2 minutes of pushes, got ${window.length}`,
    );
  }
  const rssSlope = slope(window.map((s) => [s.minute, s.rssMiB] as const));
  const files = window.map((s) => s.openFiles);
  const spread = Math.max(...files) - Math.min(...files);
  const problems: string[] = [];
  if (rssSlope > RSS_SLOPE_BOUND_MIB_PER_MINUTE) {
    problems.push(
      `RSS grows ${rssSlope.toFixed(2)} MiB/min over minutes ${window[0]!.minute}-${
        window.at(-1)!.minute
      } (bound ${RSS_SLOPE_BOUND_MIB_PER_MINUTE})`,
    );
  }
  const bound = openFilesSpreadBound(run.connections);
  if (spread > bound) problems.push(`Open files vary by ${spread} (bound ${bound})`);
  const held = run.connections - run.failedToOpen - run.lost;
  if (Math.min(...files) < held) {
    problems.push(`Fewer open files (${Math.min(...files)}) than connections held (${held})`);
  }
  const flat = problems.length === 0;
  const last = samples.at(-1)!;
  const failures = [
    [last.missing, "deliveries missing"],
    [last.duplicate, "deliveries duplicated"],
    [last.misrouted, "deliveries misrouted"],
    [run.failedToOpen, "connections failed to open"],
    [run.lost, "connections lost"],
    [run.sendFailures, "/send requests refused"],
  ] as const;
  for (const [count, what] of failures) if (count > 0) problems.push(`${count} ${what}`);
  return {
    flat,
    complete: failures.every(([count]) => count === 0),
    window: [window[0]!.minute, last.minute],
    rssSlopeMiBPerMinute: rssSlope,
    openFilesSpread: spread,
    problems,
  };
}

const LOADER_CAPACITY = 5_000;
const OPEN_BATCH = 100;
/** Most `/send` requests in flight at once. */
const SEND_CONCURRENCY = 8;
/** Pushes answered less than this long before a sample are not settled yet. */
const SETTLE_LAG_MS = 10_000;
const ORGANIZATIONS = 100;
const DEVICES_PER_USER = 2;

/** A load process: one JSON command out, one JSON answer back. */
class Loader {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(settings: LoaderSettings) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        new URL("./_soak_loader.ts", import.meta.url).pathname,
        JSON.stringify(settings),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout)[Symbol.asyncIterator]();
  }

  /** Sends a command and resolves with its answer (commands run one at a time). */
  ask<T>(command: unknown, timeoutMs: number): Promise<T> {
    const run = this.#busy.then(async () => {
      await this.#writer.write(new TextEncoder().encode(`${JSON.stringify(command)}\n`));
      const next = await within(this.#lines.next(), timeoutMs, "a load process to answer");
      if (next.done) throw new Error("A load process exited");
      return JSON.parse(next.value) as T;
    });
    this.#busy = run.catch(() => {});
    return run;
  }

  /** Stops the process (closing its connections), killing it if it does not answer. */
  async stop(): Promise<void> {
    try {
      await this.ask({ stop: true }, 60_000);
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
}

function serverConnections(metrics: string): number {
  const line = /^hubproof_notifications_connections\{[^}]*hub="main"[^}]*\} (\d+)/m.exec(metrics);
  return line ? Number(line[1]) : NaN;
}

/** The server's `connections_closed_total` of the main hub, by reason. */
function closeReasons(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  const pattern = /^hubproof_notifications_connections_closed_total\{([^}]*)\} (\d+)/gm;
  for (const [, labels, value] of metrics.matchAll(pattern)) {
    if (!/hub="main"/.test(labels!)) continue;
    const reason = /reason="([^"]*)"/.exec(labels!)?.[1] ?? "?";
    out[reason] = (out[reason] ?? 0) + Number(value);
  }
  return out;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "-");

function printRow(s: SoakSample): void {
  console.log(
    [
      String(s.minute).padStart(3),
      f1(s.rssMiB).padStart(8),
      String(s.openFiles).padStart(6),
      `${s.serverConnections}/${s.clientConnections}`.padStart(12),
      String(s.pushesSent).padStart(7),
      String(s.expected).padStart(9),
      String(s.delivered).padStart(9),
      String(s.missing).padStart(6),
      String(s.duplicate).padStart(4),
      `${f1(s.latencyP50Ms)}/${f1(s.latencyP99Ms)}`.padStart(12),
      f1(s.aliveMs).padStart(6),
      f1(s.clientLagMs).padStart(7),
    ].join(" "),
  );
}

const HEADER = "min  RSS MiB    fds  srv/clients  pushes  expected delivered  miss dup" +
  "  lat p50/p99  alive lag max";

/**
 * Runs the soak: starts the authority, the pinned server and the load processes, opens the
 * connections, pushes and samples for `minutes`, settles the last pushes, stops everything it
 * started (also on failure) and returns the samples and the verdict.
 *
 * @param settings The run's settings.
 * @returns Samples and verdict.
 */
export async function runSoak(
  settings: SoakSettings,
): Promise<{ samples: SoakSample[]; verdict: SoakVerdict }> {
  const plan: SoakPlan = {
    connections: settings.connections,
    organizations: Math.min(ORGANIZATIONS, settings.connections),
    devicesPerUser: DEVICES_PER_USER,
  };
  const authority = await ActingAuthority.create();
  let server: ServiceProcess | undefined;
  const loaders: Loader[] = [];
  try {
    const authorityUrl = await authority.listen({ port: 0 });
    server = await startServeProcess([
      "--role",
      "notifications",
      "--identity-authority",
      authorityUrl,
      "--port",
      "0",
    ], { cpus: "0" });
    const { url, pid } = server;
    console.log(`server pid ${pid} at ${url}, pinned to CPU 0; authority ${authorityUrl}`);
    const internal = await authority.mint({ claims: { scope: ["internal"] } });
    let sendFailures = 0;
    const send = async (body: string) => {
      try {
        const response = await fetch(`${url}/send`, {
          method: "POST",
          headers: { authorization: `Bearer ${internal}`, "content-type": "application/json" },
          body,
        });
        const text = await response.text();
        if (response.status !== 200) {
          sendFailures++;
          console.error(`POST /send refused: ${response.status} ${text}`);
        }
      } catch (error) {
        sendFailures++;
        console.error(`POST /send failed: ${(error as Error).message}`);
      }
    };
    // Pushes whose time has come go out in order, at most SEND_CONCURRENCY at once: a bounded
    // pool, as an API server's HTTP client has, so a slow moment of the server does not grow
    // the orchestrator's own connections to it (they count in the server's open files).
    let scheduled = 0;
    let dispatched = 0;
    let backlogMax = 0;
    const unfinished = new Set<number>();
    const pump = () => {
      backlogMax = Math.max(backlogMax, scheduled - dispatched);
      while (unfinished.size < SEND_CONCURRENCY && dispatched < scheduled) {
        const seq = dispatched++;
        unfinished.add(seq);
        void send(pushBody(seq, plan, Date.now())).finally(() => {
          unfinished.delete(seq);
          pump();
        });
      }
    };
    /** Pushes 0 .. n-1 have all been answered by `/send`. */
    const answered = () => (unfinished.size > 0 ? Math.min(...unfinished) : dispatched);

    const loaderCount = Math.ceil(settings.connections / LOADER_CAPACITY);
    const share = Math.ceil(settings.connections / loaderCount);
    for (let k = 0; k < loaderCount; k++) {
      loaders.push(new Loader({ url, plan, pingIntervalMs: settings.pingIntervalSeconds * 1000 }));
    }
    const t0 = performance.now();
    let failedToOpen = 0;
    await Promise.all(loaders.map(async (loader, k) => {
      const end = Math.min(settings.connections, (k + 1) * share);
      for (let first = k * share; first < end; first += OPEN_BATCH) {
        const batch: [number, string][] = [];
        for (let index = first; index < Math.min(end, first + OPEN_BATCH); index++) {
          const token = await authority.mint({
            claims: {
              sub: soakUserId(Math.floor(index / DEVICES_PER_USER)),
              amr: ["Application"],
              scope: ["api"],
              device: `d0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`,
              devicetype: "ChromeBrowser",
              orguser: soakOrganizationId(index % plan.organizations),
            },
            lifetimeSeconds: (settings.minutes + 30) * 60,
          });
          batch.push([index, token]);
        }
        const answer = await loader.ask<{ opened: number; failed: string[] }>(
          { open: batch },
          60_000,
        );
        failedToOpen += answer.failed.length;
        for (const reason of answer.failed.slice(0, 3)) console.error(reason);
      }
    }));
    console.log(
      `opened ${settings.connections - failedToOpen} of ${settings.connections} connections ` +
        `over ${loaderCount} load process(es) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    let sent = 0;
    const history: [number, number][] = [];
    const samples: SoakSample[] = [];
    let lost = 0;
    const sample = async (minute: number, settleUpTo: number) => {
      const stats = await Promise.all(
        loaders.map((l) => l.ask<{ stats: LoaderStats }>({ settle: settleUpTo }, 60_000)),
      ).then((answers) => answers.map((a) => a.stats));
      const aliveStart = performance.now();
      await (await fetch(`${url}/alive`)).arrayBuffer();
      const aliveMs = performance.now() - aliveStart;
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const sum = (key: keyof LoaderStats) => stats.reduce((s, x) => s + (x[key] as number), 0);
      lost = sum("lost");
      const row: SoakSample = {
        minute,
        rssMiB: (await rssKiB(pid)) / 1024,
        openFiles: await openFileCount(pid),
        serverConnections: serverConnections(metrics),
        clientConnections: sum("open"),
        pushesSent: sent,
        expected: sum("expected"),
        delivered: sum("delivered"),
        missing: sum("missing"),
        duplicate: sum("duplicate"),
        misrouted: sum("misrouted"),
        latencyP50Ms: Math.max(...stats.map((x) => x.latencyMs.p50)),
        latencyP99Ms: Math.max(...stats.map((x) => x.latencyMs.p99)),
        aliveMs,
        clientLagMs: Math.max(...stats.map((x) => x.lagMaxMs)),
      };
      samples.push(row);
      printRow(row);
      const late = sum("late");
      const closes = closeReasons(metrics);
      if (late > 0 || row.misrouted > 0 || lost > 0 || Object.keys(closes).length > 0) {
        const extra = stats as (LoaderStats & { lostReasons: unknown; lostSamples: unknown })[];
        console.log(
          `    late ${late}, misrouted ${row.misrouted}, lost ${lost}; server closes ${
            JSON.stringify(closes)
          }; client side ${JSON.stringify(extra.map((x) => x.lostReasons))} ${
            JSON.stringify(extra.flatMap((x) => x.lostSamples))
          }`,
        );
      }
    };
    // Warm the /send path (the server's first token check discovers the authority) with pushes
    // to a user nobody holds, so the first counted push does not wait for it.
    for (let i = 0; i < 20; i++) {
      await send(JSON.stringify({
        type: 5,
        payload: { userId: soakUserId(soakUsers(plan) + i), date: new Date().toISOString() },
        contextId: null,
      }));
    }
    console.log(HEADER);
    await sample(0, 0);

    const start = performance.now();
    const interval = settings.pushRate > 0 ? 1000 / settings.pushRate : Infinity;
    const durationMs = settings.minutes * 60_000;
    let nextMinute = 1;
    while (true) {
      const elapsed = performance.now() - start;
      if (elapsed >= durationMs) break;
      // Every push whose time has come (catching up after a slow tick keeps the rate).
      scheduled = Math.min(Math.floor(elapsed / interval) + 1, Math.ceil(durationMs / interval));
      pump();
      sent = dispatched;
      history.push([performance.now(), answered()]);
      if (elapsed >= nextMinute * 60_000) {
        const cutoff = performance.now() - SETTLE_LAG_MS;
        const settled = history.findLast(([at]) => at <= cutoff)?.[1] ?? 0;
        while (history.length > 0 && history[0]![0] < cutoff - 1000) history.shift();
        await sample(nextMinute, settled);
        nextMinute++;
      }
      const wait = Math.min(interval, 50) - ((performance.now() - start) % Math.min(interval, 50));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    // Let the last pushes arrive, then settle all of them.
    const drainUntil = performance.now() + SETTLE_LAG_MS;
    while (dispatched < scheduled || unfinished.size > 0 || performance.now() < drainUntil) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    sent = dispatched;
    await sample(settings.minutes, sent);
    console.log(`largest /send backlog: ${backlogMax} pushes`);
    return {
      samples,
      verdict: soakVerdict(samples, {
        connections: settings.connections,
        failedToOpen,
        lost,
        sendFailures,
      }),
    };
  } finally {
    await Promise.all(loaders.map((l) => l.stop()));
    await server?.stop();
    await authority.close();
  }
}

if (import.meta.main) {
  const settings: SoakSettings = parseOrExit(() => parseSoakArgs(Deno.args));
  console.log(
    `soak: ${settings.connections} connections, ${settings.minutes} min, ` +
      `${settings.pushRate} pushes/s, client ping every ${settings.pingIntervalSeconds} s; ` +
      `load average ${Deno.loadavg().map((n) => n.toFixed(2)).join(" ")}`,
  );
  const { samples, verdict } = await runSoak(settings);
  const rss = samples.map((s) => s.rssMiB);
  const files = samples.map((s) => s.openFiles);
  const last = samples.at(-1)!;
  console.log(JSON.stringify({
    settings,
    rssMiB: { start: rss[0], end: rss.at(-1), max: Math.max(...rss) },
    openFiles: { start: files[0], end: files.at(-1), max: Math.max(...files) },
    pushesSent: last.pushesSent,
    expected: last.expected,
    delivered: last.delivered,
    missing: last.missing,
    duplicate: last.duplicate,
    misrouted: last.misrouted,
    loadAverage: Deno.loadavg(),
    verdict,
  }));
  console.log(
    `verdict: ${verdict.flat ? "flat" : "NOT flat"} over minutes ${verdict.window.join("-")} ` +
      `(RSS slope ${verdict.rssSlopeMiBPerMinute.toFixed(2)} MiB/min, bound ` +
      `${RSS_SLOPE_BOUND_MIB_PER_MINUTE}; open files spread ${verdict.openFilesSpread}, bound ` +
      `${openFilesSpreadBound(settings.connections)}); deliveries ${
        verdict.complete ? "complete" : "INCOMPLETE"
      }${verdict.problems.length > 0 ? `: ${verdict.problems.join("; ")}` : ""}`,
  );
  if (!verdict.flat || !verdict.complete) Deno.exitCode = 1;
}
