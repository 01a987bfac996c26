/**
 * The end-to-end workload shared by the self-hosted, cloud and Vaultwarden scenarios: real API
 * changes (a folder created by one user, a cipher created in an organization collection) made
 * through a deployment's public API, received on M MessagePack hub connections of the same
 * account, every delivery checked (type, id, user or organization, acting device; exactly once
 * per connection; nothing else) and timed from the change's scheduled start to its receipt.
 *
 * Latency is measured from the scheduled time, not from when the request actually left: a
 * deployment that cannot keep the rate sees its queueing counted instead of hidden (no
 * coordinated omission).
 *
 * @module
 */

import {
  apiCall,
  type BenchAccount,
  type BenchDevice,
  createOrganization,
  FOLDER_BODY,
  loginDevice,
  orgCipherBody,
  registerAccount,
} from "./_bitwarden_client.ts";
import { connectHubClient, type HubClient } from "./_hub_client.ts";
import { cpuMicros, percentile, within } from "./_measure.ts";

/** Push types of the two changes (bitwarden/server src/Core/Enums/PushType.cs). */
const SYNC_FOLDER_CREATE = 7;
const SYNC_CIPHER_CREATE = 1;
/** The organization creation's own push to its owner; through a queue it can arrive late. */
const SYNC_ORG_KEYS = 6;

/** A phase fails when no delivery has arrived for this long while some are missing. */
const STALL_MS = 5_000;
/** Longest wait for a phase's backlog after its last change was answered. */
const SETTLE_LIMIT_MS = 120_000;

/** Which change the workload makes. */
export type ChangeKind = "user" | "org";

/** A deployment prepared for the workload: an account, its devices, M hub connections. */
export interface PreparedTarget {
  /** Display name (`hubproof`, `Vaultwarden 1.37.2`). */
  readonly name: string;
  /** Base URL. */
  readonly baseUrl: string;
  /** Hub connections held. */
  readonly connections: number;
  /** Runs one paced phase. */
  paced(kind: ChangeKind, options: PacedOptions): Promise<PhaseResult>;
  /** Runs one saturation phase. */
  saturate(kind: ChangeKind, options: SaturationOptions): Promise<PhaseResult>;
  /** Closes the hub connections. */
  close(): Promise<void>;
}

/** A paced phase: `rate` changes per second for `seconds`. */
export interface PacedOptions {
  /** Changes per second. */
  readonly rate: number;
  /** Duration of the schedule. */
  readonly seconds: number;
  /** Requests in flight before the schedule waits (default 256). */
  readonly maxInFlight?: number;
}

/** A saturation phase: `workers` loops making changes back to back for `seconds`. */
export interface SaturationOptions {
  /** Concurrent request loops. */
  readonly workers: number;
  /** Duration. */
  readonly seconds: number;
}

/** What one phase measured. */
export interface PhaseResult {
  /** Changes made (each answered 200). */
  readonly changes: number;
  /** Deliveries received (= changes × connections, or the phase throws). */
  readonly deliveries: number;
  /** Change scheduled → receipt on each connection, ms. */
  readonly p50Ms: number;
  /** 99th percentile of the same. */
  readonly p99Ms: number;
  /** Changes whose every delivery arrived, per second from the phase start to the last receipt. */
  readonly changesPerSecond: number;
  /** Changes answered per second while the schedule ran. */
  readonly answeredPerSecond: number;
  /** The server's CPU per change in ms (NaN when its process is not known). */
  readonly serverCpuMsPerChange: number;
  /** The server's CPU seconds per wall second over the phase (1 = one core busy). */
  readonly serverCpuShare: number;
}

interface Receipt {
  readonly times: number[];
}

/**
 * Registers an account on `baseUrl`, creates its organization, logs in an acting device and a
 * watching device (after the organization exists, so their tokens carry the membership), and
 * opens `connections` hub connections with the watcher's token.
 *
 * @param name Display name.
 * @param baseUrl The deployment.
 * @param connections Hub connections to hold.
 * @param serverPid The server's process, when known, for its CPU time.
 * @returns The prepared target.
 * @throws {Error} When registration, login or a connection fails.
 */
export async function prepareTarget(
  name: string,
  baseUrl: string,
  connections: number,
  serverPid?: number,
): Promise<PreparedTarget> {
  const cpu = () =>
    serverPid === undefined ? Promise.resolve(NaN) : cpuMicros(serverPid).then((us) => us / 1e6);
  const account: BenchAccount = await registerAccount(baseUrl, name.split(" ")[0]!.toLowerCase());
  const setup = await loginDevice(baseUrl, account);
  const { organizationId, collectionId } = await createOrganization(baseUrl, setup, account);
  const acting: BenchDevice = await loginDevice(baseUrl, account);
  const watcher = await loginDevice(baseUrl, account);
  const userId = acting.userId;

  // Receipts by change id; a change's receipts may arrive before its HTTP answer does.
  let receipts = new Map<string, Receipt>();
  let expectedType = SYNC_FOLDER_CREATE;
  const problems: string[] = [];
  let lost = 0;
  let lastReceiptAt = 0;
  const onReceive = (argument: unknown, at: number) => {
    const message = argument as {
      Type?: number;
      ContextId?: string | null;
      Payload?: { Id?: string; UserId?: string | null; OrganizationId?: string | null };
    };
    const id = String(message.Payload?.Id ?? "").toLowerCase();
    if (
      message.Type === SYNC_ORG_KEYS &&
      String(message.Payload?.UserId ?? "").toLowerCase() === userId
    ) return;
    if (message.Type !== expectedType) {
      problems.push(`a push of type ${message.Type} while type ${expectedType} was expected`);
      return;
    }
    if (String(message.ContextId ?? "").toLowerCase() !== acting.deviceId) {
      problems.push(`push ${id} has ContextId ${message.ContextId}, not the acting device`);
    }
    if (
      expectedType === SYNC_FOLDER_CREATE &&
      String(message.Payload?.UserId ?? "").toLowerCase() !== userId
    ) {
      problems.push(`folder push ${id} names user ${message.Payload?.UserId}`);
    }
    if (
      expectedType === SYNC_CIPHER_CREATE &&
      String(message.Payload?.OrganizationId ?? "").toLowerCase() !== organizationId
    ) {
      problems.push(`cipher push ${id} names organization ${message.Payload?.OrganizationId}`);
    }
    lastReceiptAt = at;
    let receipt = receipts.get(id);
    if (receipt === undefined) receipts.set(id, receipt = { times: [] });
    receipt.times.push(at);
  };
  const clients: HubClient[] = [];
  try {
    for (let i = 0; i < connections; i += 25) {
      clients.push(
        ...await Promise.all(
          Array.from(
            { length: Math.min(25, connections - i) },
            () =>
              connectHubClient(`${baseUrl}/notifications`, watcher.accessToken, {
                onReceive,
                onLost: (reason) => {
                  lost++;
                  problems.push(`a hub connection was lost: ${reason}`);
                },
              }),
          ),
        ),
      );
    }
  } catch (error) {
    await Promise.all(clients.map((c) => c.close()));
    throw error;
  }

  const change = async (kind: ChangeKind): Promise<string> => {
    const answer = kind === "user"
      ? await apiCall(baseUrl, acting, { method: "POST", path: "/folders", body: FOLDER_BODY })
      : await apiCall(baseUrl, acting, {
        method: "POST",
        path: "/ciphers/create",
        body: orgCipherBody(organizationId, collectionId),
      });
    const id = (answer as { id?: string } | undefined)?.id;
    if (typeof id !== "string") throw new Error(`The ${kind} change's answer has no id`);
    return id.toLowerCase();
  };

  /** Waits for every delivery of `made`, checks them, and computes the figures. */
  const settle = async (
    made: Map<string, number>,
    startedAt: number,
    answeredSeconds: number,
    cpuAtStart: number,
  ): Promise<PhaseResult> => {
    const complete = () =>
      [...made.keys()].every((id) => (receipts.get(id)?.times.length ?? 0) >= connections);
    // A backlog drains as long as deliveries keep arriving: the phase fails once nothing has
    // arrived for 5 s (or after 2 minutes in all), never while the deployment is still catching up.
    const waitStart = performance.now();
    const stalled = () =>
      performance.now() - Math.max(lastReceiptAt, waitStart) > STALL_MS ||
      performance.now() - waitStart > SETTLE_LIMIT_MS;
    while (!complete() && !stalled() && lost === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const cpuUsed = await cpu() - cpuAtStart;
    const wallSeconds = (performance.now() - startedAt) / 1000;
    // Let duplicates and strays surface before counting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const latencies: number[] = [];
    let missing = 0;
    let duplicate = 0;
    let last = startedAt;
    for (const [id, scheduled] of made) {
      const times = receipts.get(id)?.times ?? [];
      if (times.length < connections) missing += connections - times.length;
      if (times.length > connections) duplicate += times.length - connections;
      for (const t of times) {
        latencies.push(t - scheduled);
        last = Math.max(last, t);
      }
    }
    const extra = [...receipts.keys()].filter((id) => !made.has(id)).length;
    if (missing + duplicate + extra > 0 || problems.length > 0) {
      throw new Error(
        `${name}: ${missing} missing, ${duplicate} duplicate, ${extra} extra deliveries over ${made.size} changes × ${connections} connections${
          problems.length > 0
            ? `; ${problems.length} problem(s): ${problems.slice(0, 3).join("; ")}`
            : ""
        }`,
      );
    }
    return {
      changes: made.size,
      deliveries: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      changesPerSecond: made.size / ((last - startedAt) / 1000),
      answeredPerSecond: made.size / answeredSeconds,
      serverCpuMsPerChange: (cpuUsed * 1000) / made.size,
      serverCpuShare: cpuUsed / wallSeconds,
    };
  };

  const begin = (kind: ChangeKind) => {
    receipts = new Map();
    expectedType = kind === "user" ? SYNC_FOLDER_CREATE : SYNC_CIPHER_CREATE;
  };

  return {
    name,
    baseUrl,
    connections,
    async paced(kind, { rate, seconds, maxInFlight = 256 }) {
      begin(kind);
      const made = new Map<string, number>();
      const total = Math.max(1, Math.round(rate * seconds));
      const interval = 1000 / rate;
      const inFlight = new Set<Promise<void>>();
      const failures: unknown[] = [];
      const cpuAtStart = await cpu();
      const startedAt = performance.now();
      for (let n = 0; n < total; n++) {
        const scheduled = startedAt + n * interval;
        const wait = scheduled - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
        const request: Promise<void> = change(kind).then(
          (id) => void made.set(id, scheduled),
          (error) => void failures.push(error),
        ).finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      await Promise.all(inFlight);
      const answeredSeconds = (performance.now() - startedAt) / 1000;
      if (failures.length > 0) {
        throw new Error(`${name}: ${failures.length} change(s) failed: ${failures[0]}`);
      }
      return await settle(made, startedAt, answeredSeconds, cpuAtStart);
    },
    async saturate(kind, { workers, seconds }) {
      begin(kind);
      const made = new Map<string, number>();
      const cpuAtStart = await cpu();
      const startedAt = performance.now();
      const stopAt = startedAt + seconds * 1000;
      await within(
        Promise.all(Array.from({ length: workers }, async () => {
          while (performance.now() < stopAt) {
            const start = performance.now();
            made.set(await change(kind), start);
          }
        })),
        seconds * 1000 + 30_000,
        `${name}: the saturation phase`,
      );
      return await settle(made, startedAt, (performance.now() - startedAt) / 1000, cpuAtStart);
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}
