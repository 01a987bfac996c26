/**
 * `runConformance(options)`: selects cases, checks the target is reachable, starts the harness
 * authority if asked, runs the cases in a bounded pool with a per-case timeout, grades them and
 * returns the report. It never exits the process; the CLI maps the report to an exit code.
 *
 * @module
 */

import { integerInRange } from "../config/mod.ts";
import { ActingAuthority } from "../testing/mod.ts";
import { PreflightError, UsageError } from "./errors.ts";
import {
  type Expectation,
  type Expectations,
  type ExpectationStatus,
  expectationStatus,
} from "./expectations.ts";
import { preflight } from "./preflight.ts";
import { removeCreatedData } from "./driver/cleanup.ts";
import type { CleanupSummary } from "./driver/cleanup_summary.ts";
import { registerReach } from "./driver/reach.ts";
import { selectCases } from "./select.ts";
import { redactTarget, targetCapabilities, unmetNeeds } from "./target.ts";
import { RecordingTrace } from "./trace.ts";
import type {
  Capability,
  CaseContext,
  CaseDefinition,
  CaseResult,
  Level,
  ResolvedTarget,
  TraceEvent,
  Verdict,
} from "./types.ts";
import { type CaseOutcome, failsRun, gradeOutcome, VERDICTS } from "./verdict.ts";

/** Name and version written into reports. */
export const TOOL = { name: "hubproof conformance", version: "0.1.0" } as const;

/** Options of {@linkcode runConformance}. */
export interface RunOptions {
  /** The deployment under test. */
  readonly target: ResolvedTarget;
  /** Cases to choose from (default: the case library's `allCases()`). */
  readonly cases?: readonly CaseDefinition[];
  /** `--only` patterns. */
  readonly only?: readonly string[];
  /** `--skip` patterns. */
  readonly skip?: readonly string[];
  /** Per-case timeout in milliseconds (default 30000). */
  readonly timeoutMs?: number;
  /** How long cases wait for messages that must not arrive (default 1000). */
  readonly graceMs?: number;
  /** After a timeout, how long a case may take to report CaseFailure before it is abandoned (default 1000). */
  readonly settleMs?: number;
  /** Cases run at once (default 4). */
  readonly concurrency?: number;
  /** Seed for property-based cases (default random; recorded in the report). */
  readonly seed?: number;
  /** Runs for property-based cases (default 100). */
  readonly runs?: number;
  /** Fail the run on NON-STRICT and on unexpected passes. */
  readonly strict?: boolean;
  /**
   * Fail the run when a MUST or SHOULD case is UNSUPPORTED (`--require-all`): the target or the
   * flags lacked something it needs, so the gate would pass without checking it.
   */
  readonly requireAll?: boolean;
  /** Known failures. */
  readonly expectations?: Expectations;
  /** Where the expectations came from (shown in reports). */
  readonly expectationsSource?: string;
  /** An authority to hand to cases instead of starting one on `target.actAsAuthorityPort`. */
  readonly authority?: ActingAuthority;
  /** Probe the target before running (default true). */
  readonly preflight?: boolean;
  /** Per-probe timeout in milliseconds (default 5000). */
  readonly preflightTimeoutMs?: number;
  /** Cancels the run: running cases are aborted, cases not started are graded ERROR. */
  readonly signal?: AbortSignal;
  /**
   * Keep what the run created on the target (`--keep-data`); by default it is removed through
   * the target's API once the cases are graded, also after the run is cancelled.
   */
  readonly keepData?: boolean;
  /** Stops the removal of what the run created (a second Ctrl-C). */
  readonly cleanupSignal?: AbortSignal;
  /** Progress callback (console reporter). Exceptions it throws are ignored. */
  readonly onEvent?: (event: RunEvent) => void;
}

/** Progress events of a run. */
export type RunEvent =
  | { readonly type: "start"; readonly total: number; readonly seed: number }
  | {
    readonly type: "case-start";
    readonly id: string;
    readonly elapsedMs: number;
    readonly running: readonly string[];
  }
  | { readonly type: "case-log"; readonly id: string; readonly message: string }
  | {
    readonly type: "case-end";
    readonly result: CaseReport;
    readonly completed: number;
    readonly total: number;
    readonly elapsedMs: number;
    readonly running: readonly string[];
  };

/** One graded case. */
export interface CaseReport {
  /** Case id. */
  readonly id: string;
  /** Requirement level. */
  readonly level: Level;
  /** Requirement text. */
  readonly requirement: string;
  /** Where the requirement comes from. */
  readonly source?: string;
  /** What the case needs. */
  readonly needs: readonly Capability[];
  /** Alternatives of which the case needs one. */
  readonly needsAnyOf?: readonly Capability[];
  /**
   * Why a MUST or SHOULD case did not run (it is UNSUPPORTED), as a short reason shared by the
   * cases it affects, e.g. `needs --act-as-authority`.
   */
  readonly notCoveredReason?: string;
  /** Verdict. */
  readonly verdict: Verdict;
  /** Milliseconds since the run started when the case started. */
  readonly startMs: number;
  /** Duration in milliseconds. */
  readonly durationMs: number;
  /** What the requirement expected (failures). */
  readonly expected?: string;
  /** What was observed (failures). */
  readonly actual?: string;
  /** Failure message, unsupported reason or error. */
  readonly detail?: string;
  /** How the verdict relates to the expectations file. */
  readonly expectation: {
    readonly status: ExpectationStatus;
    readonly expected?: readonly string[];
    readonly reason?: string;
  };
  /** Whether this case makes the run fail (exit 1). */
  readonly failsRun: boolean;
  /** Exchanged frames and steps. */
  readonly trace: readonly TraceEvent[];
  /** Lines the case logged. */
  readonly logs: readonly string[];
}

/** The result of a run (what `index.json` holds, plus each case's trace). */
export interface ConformanceReport {
  /** Tool name and version. */
  readonly tool: { readonly name: string; readonly version: string };
  /** The target, secrets redacted. */
  readonly target: ResolvedTarget;
  /** Seed for property-based cases. */
  readonly seed: number;
  /** Runs for property-based cases. */
  readonly runs: number;
  /** Whether `--strict` was on. */
  readonly strict: boolean;
  /** Whether `--require-all` was on (an uncovered MUST or SHOULD case fails the run). */
  readonly requireAll: boolean;
  /** MUST and SHOULD cases that did not run (UNSUPPORTED), grouped by reason, largest first. */
  readonly notCovered: {
    readonly total: number;
    readonly byReason: readonly {
      readonly reason: string;
      readonly count: number;
      readonly cases: readonly string[];
    }[];
  };
  /** Per-case timeout. */
  readonly timeoutMs: number;
  /** Grace period. */
  readonly graceMs: number;
  /** Pool size. */
  readonly concurrency: number;
  /** `--only` patterns. */
  readonly only: readonly string[];
  /** `--skip` patterns. */
  readonly skip: readonly string[];
  /** Expectations file, if any. */
  readonly expectationsSource?: string;
  /** Start time (ISO 8601). */
  readonly startedAt: string;
  /** End time (ISO 8601). */
  readonly endedAt: string;
  /** Wall time in milliseconds. */
  readonly durationMs: number;
  /** Cases per verdict. */
  readonly totals: Readonly<Record<Verdict, number>>;
  /** Failures listed in the expectations file. */
  readonly expectedFailures: number;
  /** Listed cases that passed. */
  readonly unexpectedPasses: number;
  /** Cases that fail the run. */
  readonly failing: number;
  /** True when no case fails the run: exit code 0. */
  readonly passed: boolean;
  /** Expectation ids that name no case (stale entries). */
  readonly staleExpectations: readonly string[];
  /** What the run removed from the target afterwards, what failed, and what stays. */
  readonly cleanup: CleanupSummary;
  /** Every case, in catalogue order. */
  readonly cases: readonly CaseReport[];
}

interface Shared {
  readonly target: ResolvedTarget;
  readonly capabilities: ReadonlySet<Capability>;
  readonly timeoutMs: number;
  readonly graceMs: number;
  readonly settleMs: number;
  readonly seed: number;
  readonly runs: number;
  readonly strict: boolean;
  readonly requireAll: boolean;
  readonly expectations: Expectations;
  readonly authority: ActingAuthority | undefined;
  readonly signal: AbortSignal | undefined;
  readonly runStart: number;
  readonly emit: (event: RunEvent) => void;
}

type Settled = { readonly ok: true; readonly value: unknown } | {
  readonly ok: false;
  readonly error: unknown;
};

function delay(ms: number): { promise: Promise<"elapsed">; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<"elapsed">((resolve) => {
    timer = setTimeout(() => resolve("elapsed"), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

async function execute(
  def: CaseDefinition,
  ctx: CaseContext,
  controller: AbortController,
  shared: Shared,
): Promise<CaseOutcome> {
  const timeoutMs = ctx.timeoutMs;
  const settled: Promise<Settled> = Promise.resolve()
    .then(() => def.run(ctx))
    .then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));
  const timeout = delay(timeoutMs);
  const first = await Promise.race([settled, timeout.promise]);
  timeout.cancel();
  if (first !== "elapsed") {
    return first.ok
      ? { kind: "returned", result: first.value as CaseResult | void }
      : { kind: "threw", error: first.error };
  }
  controller.abort(new DOMException(`Case timed out after ${timeoutMs} ms`, "TimeoutError"));
  const settle = delay(shared.settleMs);
  const second = await Promise.race([settled, settle.promise]);
  settle.cancel();
  if (second === "elapsed") return { kind: "timeout", timeoutMs };
  if (second.ok) return { kind: "late", timeoutMs };
  return { kind: "threw", error: second.error, afterTimeoutMs: timeoutMs };
}

function describeExpectation(
  status: ExpectationStatus,
  expectation: Expectation | undefined,
): CaseReport["expectation"] {
  if (expectation === undefined) return { status };
  return expectation.reason === undefined
    ? { status, expected: expectation.expected }
    : { status, expected: expectation.expected, reason: expectation.reason };
}

async function runCase(def: CaseDefinition, shared: Shared): Promise<CaseReport> {
  const trace = new RecordingTrace();
  const logs: string[] = [];
  const started = performance.now();
  const controller = new AbortController();
  const onRunAbort = () => controller.abort(shared.signal?.reason);
  shared.signal?.addEventListener("abort", onRunAbort, { once: true });
  let outcome: CaseOutcome;
  try {
    const unmet = unmetNeeds(def.needs, shared.capabilities, def.needsAnyOf ?? []);
    if (unmet !== undefined) {
      outcome = { kind: "unmet", reason: unmet };
    } else if (shared.signal?.aborted) {
      outcome = { kind: "cancelled" };
    } else {
      let sealed = false;
      const ctx: CaseContext = {
        target: shared.target,
        trace,
        signal: controller.signal,
        timeoutMs: def.timeout?.(shared) ?? shared.timeoutMs,
        graceMs: shared.graceMs,
        seed: shared.seed,
        runs: shared.runs,
        ...(shared.authority ? { authority: shared.authority } : {}),
        log: (message: string) => {
          if (sealed) return;
          logs.push(message);
          shared.emit({ type: "case-log", id: def.id, message });
        },
      };
      outcome = await execute(def, ctx, controller, shared);
      sealed = true;
    }
  } catch (error) {
    outcome = { kind: "threw", error };
  } finally {
    shared.signal?.removeEventListener("abort", onRunAbort);
    trace.seal();
  }
  // Whatever a case still holds open is released by aborting its signal once it is graded.
  if (!controller.signal.aborted) controller.abort(new DOMException("Case finished", "AbortError"));
  const grade = gradeOutcome(def.level, outcome);
  const expectation = shared.expectations.get(def.id);
  const status = expectationStatus(grade.verdict, expectation);
  const gap = grade.verdict === "UNSUPPORTED" && def.level !== "MAY"
    ? notCoveredReason(def, shared.capabilities, grade.detail)
    : undefined;
  return {
    id: def.id,
    level: def.level,
    requirement: def.requirement,
    ...(def.source === undefined ? {} : { source: def.source }),
    needs: def.needs,
    ...(def.needsAnyOf === undefined ? {} : { needsAnyOf: def.needsAnyOf }),
    ...(gap === undefined ? {} : { notCoveredReason: gap }),
    ...grade,
    startMs: Math.round(started - shared.runStart),
    durationMs: Math.round(performance.now() - started),
    expectation: describeExpectation(status, expectation),
    failsRun: failsRun(grade.verdict, status, { strict: shared.strict }) ||
      (gap !== undefined && shared.requireAll),
    trace: trace.events,
    logs,
  };
}

const FLAG_FOR: Readonly<Record<Capability, string>> = {
  "inject:api": "--inject api",
  "inject:send": "--inject send",
  "inject:queue": "--inject queue",
  "inject:envelope": "--inject send or queue",
  authority: "--act-as-authority",
  identity: "users registered through the target",
  scaleout: "two hub URLs (--scaleout-hub-url)",
  installation: "--installation-id",
};

/**
 * A short reason shared by every case a coverage gap affects: the flags an unmet need calls
 * for, or the first clause of a case's own UNSUPPORTED message.
 */
function notCoveredReason(
  def: CaseDefinition,
  capabilities: ReadonlySet<Capability>,
  detail: string | undefined,
): string {
  const missing = def.needs.filter((n) => !capabilities.has(n)).map((n) => FLAG_FOR[n]);
  const anyOf = def.needsAnyOf ?? [];
  if (anyOf.length > 0 && !anyOf.some((n) => capabilities.has(n))) {
    missing.push(anyOf.map((n) => FLAG_FOR[n]).join(" or "));
  }
  if (missing.length > 0) return `needs ${missing.join(" and ")}`;
  const text = (detail ?? "unsupported").replace(/\s*\(.*$/s, "").split(":")[0]!.trim();
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function groupNotCovered(results: readonly CaseReport[]): ConformanceReport["notCovered"] {
  const groups = new Map<string, string[]>();
  for (const r of results) {
    if (r.notCoveredReason === undefined) continue;
    groups.set(r.notCoveredReason, [...(groups.get(r.notCoveredReason) ?? []), r.id]);
  }
  const byReason = [...groups].map(([reason, cases]) => ({ reason, count: cases.length, cases }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return { total: byReason.reduce((n, g) => n + g.count, 0), byReason };
}

/** An integer option of at least `min` (default 1), defaulted. */
function integerOption(name: string, value: number | undefined, fallback: number, min = 1): number {
  return integerInRange(`option ${name}`, value ?? fallback, { min });
}

async function startAuthority(target: ResolvedTarget): Promise<ActingAuthority> {
  const authority = await ActingAuthority.create(
    target.authorityIssuer === undefined ? {} : { issuer: target.authorityIssuer },
  );
  const hostname = target.actAsAuthorityHostname ?? "127.0.0.1";
  try {
    await authority.listen({ hostname, port: target.actAsAuthorityPort ?? 0 });
  } catch (error) {
    throw new PreflightError(
      `Cannot serve the harness authority on ${hostname}:${target.actAsAuthorityPort} (--act-as-authority): ${
        (error as Error).message
      }`,
    );
  }
  return authority;
}

/**
 * Runs the conformance suite against a target and grades every selected case.
 *
 * @param options Target, cases, selection, timeouts, expectations, progress callback.
 * @returns The report; `report.passed` tells whether the run passes the gate.
 * @throws {UsageError} When the selection is empty.
 * @throws {PreflightError} When the target is unreachable or the harness authority cannot start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runConformance } from "./runner.ts";
 * import { resolveTarget } from "./target.ts";
 * // Any deployment will do; here the reference server, started on a free port.
 * import { parseServeConfig, startServe } from "../server/mod.ts";
 * const running = await startServe(parseServeConfig(["--port", "0"]), { log: () => {} });
 * try {
 *   const report = await runConformance({
 *     target: resolveTarget({ target: running.url }),
 *     only: ["hub/auth/missing"],
 *   });
 *   assert.ok(report.passed);
 *   assert.equal(report.totals.PASS, report.cases.length);
 * } finally {
 *   await running.stop();
 * }
 * ```
 */
export async function runConformance(options: RunOptions): Promise<ConformanceReport> {
  // Every request and WebSocket of the run to the target's origins carries --header and --ca-cert.
  const releaseReach = registerReach(options.target);
  try {
    return await runRegistered(options);
  } finally {
    releaseReach();
  }
}

async function runRegistered(options: RunOptions): Promise<ConformanceReport> {
  const timeoutMs = integerOption("timeoutMs", options.timeoutMs, 30_000);
  const graceMs = integerOption("graceMs", options.graceMs, 1_000, 0);
  const settleMs = integerOption("settleMs", options.settleMs, 1_000, 0);
  const concurrency = integerOption("concurrency", options.concurrency, 4);
  const runs = integerOption("runs", options.runs, 100);
  const seed = options.seed ?? (crypto.getRandomValues(new Uint32Array(1))[0]! & 0x7fffffff);
  const only = options.only ?? [];
  const skip = options.skip ?? [];
  const select = (all: readonly CaseDefinition[]) => {
    const ids = new Set<string>();
    for (const def of all) {
      if (ids.has(def.id)) throw new Error(`Duplicate case id: ${def.id}`);
      ids.add(def.id);
    }
    const selected = selectCases(all, { only, skip });
    if (selected.length === 0) {
      throw new UsageError(
        only.length > 0 ? "--only" : "--skip",
        `No case selected: ${all.length} cases, none left after --only/--skip`,
      );
    }
    return { ids, selected };
  };
  // Given cases are checked before any network use; the case library is loaded after the preflight.
  const early = options.cases === undefined ? undefined : select(options.cases);
  const expectations: Expectations = options.expectations ?? new Map();

  const startedAt = new Date();
  const runStart = performance.now();
  if (options.preflight !== false) {
    await preflight(options.target, {
      ...(options.preflightTimeoutMs === undefined
        ? {}
        : { timeoutMs: options.preflightTimeoutMs }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  const { ids: seen, selected } = early ??
    select(await (await import("./_load_cases.ts")).loadAllCases());
  const ownAuthority =
    options.authority === undefined && options.target.actAsAuthorityPort !== undefined
      ? await startAuthority(options.target)
      : undefined;
  const emit = (event: RunEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken progress printer must not change verdicts.
    }
  };
  const shared: Shared = {
    target: options.target,
    capabilities: targetCapabilities(options.target),
    timeoutMs,
    graceMs,
    settleMs,
    seed,
    runs,
    strict: options.strict === true,
    requireAll: options.requireAll === true,
    expectations,
    authority: options.authority ?? ownAuthority,
    signal: options.signal,
    runStart,
    emit,
  };

  const results: CaseReport[] = new Array(selected.length);
  // Start order: `startFirst` cases, then the catalogue order; results keep the catalogue order.
  const order = selected.map((_, i) => i);
  order.sort((a, b) =>
    Number(selected[b]!.startFirst === true) - Number(selected[a]!.startFirst === true)
  );
  const running = new Set<string>();
  let next = 0;
  let completed = 0;
  emit({ type: "start", total: selected.length, seed });
  const worker = async () => {
    while (next < selected.length) {
      const index = order[next++]!;
      const def = selected[index]!;
      running.add(def.id);
      emit({
        type: "case-start",
        id: def.id,
        elapsedMs: performance.now() - runStart,
        running: [...running],
      });
      const result = await runCase(def, shared);
      running.delete(def.id);
      results[index] = result;
      completed++;
      emit({
        type: "case-end",
        result,
        completed,
        total: selected.length,
        elapsedMs: performance.now() - runStart,
        running: [...running],
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, selected.length) }, worker));
  } finally {
    await ownAuthority?.close();
  }
  // After every case is graded, so a removal failure cannot change a verdict.
  const cleanup = await removeCreatedData(options.target, {
    ...(options.keepData ? { keep: true } : {}),
    ...(options.cleanupSignal ? { signal: options.cleanupSignal } : {}),
    timeoutMs,
  });

  const totals = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const r of results) totals[r.verdict]++;
  const failing = results.filter((r) => r.failsRun).length;
  return {
    tool: { ...TOOL },
    target: redactTarget(options.target),
    seed,
    runs,
    strict: shared.strict,
    requireAll: shared.requireAll,
    notCovered: groupNotCovered(results),
    timeoutMs,
    graceMs,
    concurrency,
    only,
    skip,
    ...(options.expectationsSource === undefined
      ? {}
      : { expectationsSource: options.expectationsSource }),
    startedAt: startedAt.toISOString(),
    endedAt: new Date(startedAt.getTime() + (performance.now() - runStart)).toISOString(),
    durationMs: Math.round(performance.now() - runStart),
    totals,
    expectedFailures: results.filter((r) => r.expectation.status === "expected").length,
    unexpectedPasses: results.filter((r) => r.expectation.status === "unexpected-pass").length,
    failing,
    passed: failing === 0,
    staleExpectations: [...expectations.keys()].filter((id) => !seen.has(id)),
    cleanup,
    cases: results,
  };
}

/**
 * Maps a report to the CLI exit code: 0 when no case fails the run, 1 otherwise. (Usage errors and
 * an unreachable target exit 2 before a report exists.)
 *
 * @param report The run's report.
 * @returns 0 or 1.
 */
export function exitCodeFor(report: ConformanceReport): 0 | 1 {
  return report.passed ? 0 : 1;
}
