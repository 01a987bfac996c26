/**
 * Self-hosted end to end (issue 10): API change → `POST /notifications/send` → hub, through
 * hubproof's reference server (`server/main.ts`, a child pinned to core 0) and, in the same run
 * with rounds interleaved, through an already running Vaultwarden given with `--vaultwarden URL`
 * (its version read from `/api/version`). One account per deployment, M hub connections of it
 * (MessagePack), and:
 * - folders created by the user at 100 and 1,000 changes/s: p50/p99 change → receipt;
 * - ciphers created in an organization collection at 100 changes/s: p50/p99;
 * - folders created by 32 request loops as fast as the deployment answers: changes/s.
 *
 * Usage: deno run -A bench/e2e_selfhosted.ts [--vaultwarden URL [--vaultwarden-pid PID]]
 *          [--rounds 3] [--seconds 5]
 *          [--connections 10] [--quick] [--json]
 *
 * @module
 */

import { parseFlags, parseInteger, parseOrExit } from "../config/mod.ts";
import {
  type ChangeKind,
  type PhaseResult,
  type PreparedTarget,
  prepareTarget,
} from "./_e2e_workload.ts";
import { loadAverage, percentile } from "./_measure.ts";
import { LOAD_CORE, startReferenceServe } from "./_reference_serve.ts";
import { pinSelf } from "./_pinning.ts";
import { formatTable, printResults, type ScenarioResult } from "./_results.ts";

/** Settings of a run. */
export interface E2eSettings {
  /** A running Vaultwarden to compare with, or undefined. */
  readonly vaultwarden: string | undefined;
  /** Its process id, for its CPU time per change (optional). */
  readonly vaultwardenPid: number | undefined;
  /** Interleaved rounds (medians are reported). */
  readonly rounds: number;
  /** Seconds per paced or saturation phase. */
  readonly seconds: number;
  /** Hub connections of the account. */
  readonly connections: number;
  /** Print the results JSON line. */
  readonly json: boolean;
}

/**
 * Parses the command line (`--quick` = one round of 2 s phases).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseE2eArgs } from "./e2e_selfhosted.ts";
 * strictEqual(parseE2eArgs(["--quick"]).rounds, 1);
 * ```
 * @param args Arguments after the script name.
 * @returns The settings.
 * @throws {TypeError} Naming the flag when a value is invalid or a flag unknown.
 */
export function parseE2eArgs(args: readonly string[]): E2eSettings {
  const parsed = parseFlags(args, {
    vaultwarden: { type: "string" },
    "vaultwarden-pid": { type: "string" },
    rounds: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string" },
    quick: { type: "boolean" },
    json: { type: "boolean" },
  });
  const quick = parsed.quick === true;
  const integer = (flag: string, text: string | undefined, fallback: number, max: number) =>
    text === undefined ? fallback : parseInteger(`--${flag}`, text, { min: 1, max });
  const vaultwarden = parsed.vaultwarden;
  if (vaultwarden !== undefined && !URL.canParse(vaultwarden)) {
    throw new TypeError(`Invalid --vaultwarden: expected a URL, got ${vaultwarden}`);
  }
  const pidText = parsed["vaultwarden-pid"];
  if (pidText !== undefined && vaultwarden === undefined) {
    throw new TypeError("Invalid --vaultwarden-pid: it needs --vaultwarden URL too");
  }
  return {
    vaultwarden: vaultwarden?.replace(/\/+$/, ""),
    vaultwardenPid: pidText === undefined
      ? undefined
      : integer("vaultwarden-pid", pidText, 0, 4_194_304),
    rounds: integer("rounds", parsed.rounds, quick ? 1 : 3, 20),
    seconds: integer("seconds", parsed.seconds, quick ? 2 : 5, 120),
    connections: integer("connections", parsed.connections, 10, 2_000),
    json: parsed.json === true,
  };
}

/**
 * Reads a Vaultwarden's version from `GET /api/version` (a JSON string).
 *
 * @param baseUrl The Vaultwarden.
 * @returns e.g. `1.37.2`.
 * @throws {Error} When it does not answer a version.
 */
export async function vaultwardenVersion(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/version`);
  const body = await response.text();
  const version = response.ok ? JSON.parse(body) : undefined;
  if (typeof version !== "string") {
    throw new Error(`${baseUrl}/api/version answered ${response.status}: ${body.slice(0, 100)}`);
  }
  return version;
}

/** One phase of a round. */
interface Phase {
  readonly key: string;
  readonly kind: ChangeKind;
  readonly rate?: number;
}

const PHASES: readonly Phase[] = [
  { key: "user-100", kind: "user", rate: 100 },
  { key: "user-1000", kind: "user", rate: 1000 },
  { key: "org-100", kind: "org", rate: 100 },
  { key: "saturation", kind: "user" },
];

/** Saturation request loops. */
const WORKERS = 32;

/**
 * Runs the scenario: every phase on every target, rounds interleaved.
 *
 * @param settings The run's settings.
 * @returns The figures (medians over rounds).
 * @throws {Error} When a delivery is missing, duplicated, extra or wrong, or a change fails.
 */
export async function runE2eSelfHosted(settings: E2eSettings): Promise<ScenarioResult[]> {
  const load = await loadAverage();
  const serve = await startReferenceServe();
  const targets: PreparedTarget[] = [];
  let baselineName: string | undefined;
  try {
    targets.push(
      await prepareTarget("hubproof", serve.url, settings.connections, serve.process.pid),
    );
    if (settings.vaultwarden !== undefined) {
      const version = await vaultwardenVersion(settings.vaultwarden);
      baselineName = `Vaultwarden ${version} (debug build)`;
      targets.push(
        await prepareTarget(
          baselineName,
          settings.vaultwarden,
          settings.connections,
          settings.vaultwardenPid,
        ),
      );
    }
    // Warm-up (JIT, connection pools, database caches), not counted.
    for (const target of targets) {
      await target.paced("user", { rate: 100, seconds: 1 });
      await target.paced("org", { rate: 100, seconds: 1 });
    }
    const measured = new Map<string, PhaseResult[]>();
    for (let round = 0; round < settings.rounds; round++) {
      for (const phase of PHASES) {
        for (const target of targets) {
          const result = phase.rate === undefined
            ? await target.saturate(phase.kind, { workers: WORKERS, seconds: settings.seconds })
            : await target.paced(phase.kind, { rate: phase.rate, seconds: settings.seconds });
          const key = `${target.name}|${phase.key}`;
          measured.set(key, [...measured.get(key) ?? [], result]);
        }
      }
    }
    const median = (name: string, phase: string, pick: (r: PhaseResult) => number) => {
      const values = measured.get(`${name}|${phase}`)?.map(pick);
      return values === undefined ? undefined : round(percentile(values, 50));
    };
    const results: ScenarioResult[] = [];
    const details = (phase: string): Record<string, number | string> => {
      const runs = measured.get(`hubproof|${phase}`)!;
      const out: Record<string, number | string> = {
        rounds: settings.rounds,
        connections: settings.connections,
        secondsPerPhase: settings.seconds,
        hubproofChanges: runs.reduce((n, r) => n + r.changes, 0),
        hubproofDeliveriesVerified: runs.reduce((n, r) => n + r.deliveries, 0),
        hubproofAnsweredPerSecond: median("hubproof", phase, (r) => r.answeredPerSecond)!,
        hubproofServerCpuMsPerChange: median("hubproof", phase, (r) => r.serverCpuMsPerChange)!,
        hubproofServerCpuShare: median("hubproof", phase, (r) => r.serverCpuShare)!,
        loadAverageAtStart: load,
        server: "reference serve, all roles in one process, pinned to core 0; load on core 1",
      };
      if (baselineName !== undefined) {
        const base = measured.get(`${baselineName}|${phase}`)!;
        out.baselineDeliveriesVerified = base.reduce((n, r) => n + r.deliveries, 0);
        out.baselineAnsweredPerSecond = median(baselineName, phase, (r) => r.answeredPerSecond)!;
        if (settings.vaultwardenPid !== undefined) {
          out.baselineServerCpuMsPerChange = median(
            baselineName,
            phase,
            (r) => r.serverCpuMsPerChange,
          )!;
          out.baselineServerCpuShare = median(baselineName, phase, (r) => r.serverCpuShare)!;
        }
        out.baselineNote =
          "Vaultwarden is a debug build (not release); started by the operator, login limits raised";
      }
      return out;
    };
    const add = (
      scenario: string,
      phase: string,
      metric: string,
      unit: string,
      pick: (r: PhaseResult) => number,
      target?: ScenarioResult["target"],
    ) => {
      const baseline = baselineName === undefined ? undefined : median(baselineName, phase, pick);
      results.push({
        scenario,
        metric,
        unit,
        hubproof: median("hubproof", phase, pick)!,
        ...(baseline === undefined ? {} : { baseline, baselineName: baselineName! }),
        ...(target === undefined ? {} : { target }),
        details: details(phase),
      });
    };
    for (const rate of [100, 1000]) {
      const phase = `user-${rate}`;
      add(`e2e-selfhosted-${rate}`, phase, "p50 ms", "ms", (r) => r.p50Ms);
      add(
        `e2e-selfhosted-${rate}`,
        phase,
        "p99 ms",
        "ms",
        (r) => r.p99Ms,
        rate === 1000 ? { kind: "max", value: 20 } : undefined,
      );
    }
    add("e2e-selfhosted-org-100", "org-100", "p50 ms", "ms", (r) => r.p50Ms);
    add("e2e-selfhosted-org-100", "org-100", "p99 ms", "ms", (r) => r.p99Ms);
    add(
      "e2e-selfhosted-saturation",
      "saturation",
      "changes/s",
      "changes/s",
      (r) => r.changesPerSecond,
    );
    return results;
  } finally {
    await Promise.all(targets.map((t) => t.close()));
    await serve.process.stop();
  }
}

function round(value: number): number {
  return Number(value.toFixed(value >= 100 ? 0 : 2));
}

if (import.meta.main) {
  const settings: E2eSettings = parseOrExit(() => parseE2eArgs(Deno.args));
  await pinSelf(LOAD_CORE);
  if (settings.vaultwarden === undefined) {
    console.log("Vaultwarden comparison skipped: no --vaultwarden URL given");
  }
  try {
    const results = await runE2eSelfHosted(settings);
    console.log(formatTable(results));
    if (settings.json) printResults(results);
  } catch (error) {
    console.error(`e2e self-hosted failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
