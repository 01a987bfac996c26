/**
 * A load process of the soak benchmark (`bench/soak.ts` spawns one per few thousand
 * connections, so no process nears the 20,000 open-file limit). It holds hub connections with
 * the lean client, pings every `pingIntervalMs` as SignalR clients do, and checks every
 * `ReceiveMessage` against the plan: meant for this connection, not seen before. Speaks JSON
 * lines: commands on stdin, one answer per command on stdout.
 *
 * - `{"open":[[index, token], ...]}` opens those connections; answers `{"opened":n,"failed":[..]}`.
 * - `{"settle":sent}` counts what pushes `0 .. sent-1` owed each connection against what arrived;
 *   answers `{"stats":LoaderStats}` (cumulative counts, this interval's latency and lag).
 * - `{"stop":true}` closes every connection; answers `{"stopped":n}` and exits.
 *
 * Usage (by the orchestrator): deno run --allow-net bench/_soak_loader.ts '<LoaderSettings JSON>'
 *
 * @module
 */

import { connectHubClient, type HubClient } from "./_hub_client.ts";
import { percentile } from "./_measure.ts";
import { expectedDeliveries, isRecipient, seqOfCipherId, type SoakPlan } from "./_soak_plan.ts";

/** What the orchestrator passes as the only argument. */
export interface LoaderSettings {
  /** Notifications base URL (the hub is `<url>/hub`). */
  readonly url: string;
  /** Population and schedule. */
  readonly plan: SoakPlan;
  /** Client ping interval in milliseconds. */
  readonly pingIntervalMs: number;
}

/** Cumulative counts of one load process, plus the last interval's latency and lag. */
export interface LoaderStats {
  /** Connections open now. */
  readonly open: number;
  /** Connections the server closed or that failed after the handshake. */
  readonly lost: number;
  /** Deliveries owed by the settled pushes. */
  readonly expected: number;
  /** Of those, received (once). */
  readonly delivered: number;
  /** Of those, not received by the time they were settled. */
  readonly missing: number;
  /** Receipts of a push a connection had already received. */
  readonly duplicate: number;
  /** Receipts of a push not meant for the connection (or not the soak's). */
  readonly misrouted: number;
  /** Receipts of a push already settled (it was counted missing). */
  readonly late: number;
  /** Delivery latency of this interval's receipts (send time to receipt), ms. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Largest event-loop lag of this process in the interval, ms. */
  readonly lagMaxMs: number;
}

interface Held {
  readonly index: number;
  /** When the handshake completed (`performance.now()`). */
  openedAt: number;
  client: HubClient | undefined;
  open: boolean;
  /** Push numbers received and not yet settled. */
  readonly pending: Set<number>;
}

const settings = JSON.parse(Deno.args[0] ?? "null") as LoaderSettings | null;
if (settings === null || typeof settings.url !== "string") {
  console.error("Invalid argument: expected the loader settings JSON");
  Deno.exit(2);
}
const { plan } = settings;
const held: Held[] = [];
const totals = { lost: 0, expected: 0, delivered: 0, missing: 0, duplicate: 0, misrouted: 0 };
let late = 0;
let settled = 0;
let latencies: number[] = [];
let lagMax = 0;
const reasons = new Map<string, number>();
/** The first few losses, with how long the connection had been open. */
const lostSamples: string[] = [];

// Event-loop lag: how late a 250 ms timer fires.
let expectedTick = performance.now() + 250;
setInterval(() => {
  const now = performance.now();
  lagMax = Math.max(lagMax, now - expectedTick);
  expectedTick = now + 250;
}, 250);

function receiver(entry: Held) {
  return (argument: unknown) => {
    const payload = (argument as { Payload?: { Id?: unknown; RevisionDate?: unknown } }).Payload;
    const seq = seqOfCipherId(payload?.Id);
    if (seq === undefined || !isRecipient(seq, entry.index, plan)) {
      totals.misrouted++;
      return;
    }
    if (seq < settled) late++;
    else if (entry.pending.has(seq)) totals.duplicate++;
    else entry.pending.add(seq);
    const sentAt = payload?.RevisionDate instanceof Date
      ? payload.RevisionDate.getTime()
      : Date.parse(String(payload?.RevisionDate));
    if (Number.isFinite(sentAt)) latencies.push(Date.now() - sentAt);
  };
}

async function open(batch: [number, string][]): Promise<{ opened: number; failed: string[] }> {
  const failed: string[] = [];
  let opened = 0;
  await Promise.all(batch.map(async ([index, token]) => {
    const entry: Held = { index, openedAt: 0, client: undefined, open: false, pending: new Set() };
    try {
      entry.client = await connectHubClient(settings!.url, token, {
        onReceive: receiver(entry),
        onLost: (reason) => {
          if (!entry.open) return;
          entry.open = false;
          totals.lost++;
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          if (lostSamples.length < 5) {
            lostSamples.push(
              `connection ${index} after ${
                ((performance.now() - entry.openedAt) / 1000).toFixed(1)
              } s: ${reason}`,
            );
          }
        },
        pingIntervalMs: settings!.pingIntervalMs,
      });
      entry.open = true;
      entry.openedAt = performance.now();
      held.push(entry);
      opened++;
    } catch (error) {
      failed.push(`connection ${index}: ${(error as Error).message}`);
    }
  }));
  return { opened, failed };
}

function settle(
  sent: number,
): LoaderStats & { lostReasons: Record<string, number>; lostSamples: string[] } {
  for (const entry of held) {
    const owed = expectedDeliveries(entry.index, sent, plan) -
      expectedDeliveries(entry.index, settled, plan);
    let received = 0;
    for (const seq of entry.pending) {
      if (seq < sent) {
        received++;
        entry.pending.delete(seq);
      }
    }
    totals.expected += owed;
    totals.delivered += received;
    totals.missing += owed - received;
  }
  settled = Math.max(settled, sent);
  const stats = {
    open: held.filter((h) => h.open).length,
    ...totals,
    late,
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.length === 0 ? NaN : Math.max(...latencies),
    },
    lagMaxMs: lagMax,
    lostReasons: Object.fromEntries(reasons),
    lostSamples,
  };
  latencies = [];
  lagMax = 0;
  return stats;
}

const encoder = new TextEncoder();
const answer = (value: unknown) => Deno.stdout.write(encoder.encode(`${JSON.stringify(value)}\n`));

let buffered = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += chunk;
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    const command = JSON.parse(line) as { open?: [number, string][]; settle?: number };
    if (command.open) await answer(await open(command.open));
    else if (command.settle !== undefined) await answer({ stats: settle(command.settle) });
    else {
      for (const entry of held) entry.open = false;
      await Promise.all(held.map((entry) => entry.client?.close()));
      await answer({ stopped: held.length });
      Deno.exit(0);
    }
  }
}
// The orchestrator went away without stopping us: close what closes within 5 s and leave (the
// ping and lag timers would keep the process alive).
for (const entry of held) entry.open = false;
await Promise.race([
  Promise.all(held.map((entry) => entry.client?.close())),
  new Promise((resolve) => setTimeout(resolve, 5_000)),
]);
Deno.exit(0);
