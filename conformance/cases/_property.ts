/**
 * Runs a property over generated worlds for the `isolation/*` cases (private to `cases/`), with
 * the grading a gate can rely on:
 * - a world whose differences from the oracle are not empty (or whose run threw a
 *   {@linkcode CaseFailure}) is a counterexample: shrunk, replayed, and reported with its seed;
 * - a world that cannot be built or run for another reason (a 429 while logging in, an
 *   organization the target refuses, an API error) stops the property and reports that cause:
 *   UNSUPPORTED for a {@linkcode CaseUnsupported} or a spent target limit, otherwise an error naming it; never a shrunk
 *   counterexample of a world that never ran;
 * - fewer worlds than `--runs` asked (the case's budget ran out) is INFORMATIONAL with
 *   "k of N worlds", not a PASS.
 *
 * @module
 */

import fc from "fast-check";
import {
  type CaseContext,
  CaseFailure,
  type CaseResult,
  CaseUnsupported,
  TargetLimitReached,
} from "../types.ts";

/** A property over generated worlds. */
export interface WorldProperty<W> {
  /** The world generator. */
  readonly arbitrary: fc.Arbitrary<W>;
  /** Builds and runs one world; returns its differences from the oracle (empty: it holds). */
  run(world: W): Promise<readonly string[]>;
  /** One line describing a world, for the counterexample. */
  describe(world: W): string;
  /** What every world must satisfy, for the failure's `expected`. */
  readonly requirement: string;
  /** What the worlds were checked against (appended to the detail). */
  readonly checked: string;
  /** Extra detail once the property ran (for example a capability the worlds went without). */
  note?(): string | undefined;
}

/**
 * Milliseconds a case of `runs` worlds needs: the run's per-case timeout plus `perWorldMs` for
 * every world asked for, so `--runs` decides how many worlds are checked rather than the clock.
 *
 * @param run The run's per-case timeout and property runs.
 * @param perWorldMs What one world may take.
 * @returns The case's timeout.
 *
 * @example
 * ```ts
 * import { propertyTimeout } from "./_property.ts";
 * console.assert(propertyTimeout({ timeoutMs: 30_000, runs: 10 }, 2_000) === 50_000);
 * ```
 */
export function propertyTimeout(
  run: { readonly timeoutMs: number; readonly runs: number },
  perWorldMs: number,
): number {
  return run.timeoutMs + run.runs * perWorldMs;
}

function describeCause(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
}

/**
 * Checks a property over `ctx.runs` generated worlds within the case's budget.
 *
 * @param ctx The case context (seed, runs, timeout, trace).
 * @param started `performance.now()` when the case started.
 * @param property The property.
 * @returns PASS with the number of worlds, or INFORMATIONAL when fewer worlds than asked ran.
 * @throws {CaseFailure} With the shrunk counterexample and its seed.
 * @throws {CaseUnsupported} When a world could not be built for a reason the target gives.
 * @throws {Error} When a world could not be built or run for another reason (named).
 */
export async function checkWorlds<W>(
  ctx: CaseContext,
  started: number,
  property: WorldProperty<W>,
): Promise<CaseResult> {
  let lastProblems: readonly string[] = [];
  let stopped: { cause: unknown; after: number } | undefined;
  let worlds = 0;
  const check = fc.asyncProperty(property.arbitrary, async (world) => {
    // Once a world could not be built, the rest pass untried: the cause is reported instead.
    if (stopped !== undefined) return true;
    worlds++;
    try {
      const problems = await property.run(world);
      if (problems.length === 0) return true;
      lastProblems = problems;
      return false;
    } catch (error) {
      if (error instanceof CaseFailure) {
        lastProblems = [error.actual];
        return false;
      }
      stopped = { cause: error, after: worlds - 1 };
      return true;
    }
  });
  const budget = Math.max(1000, ctx.timeoutMs * 0.85 - (performance.now() - started));
  const details = await fc.check(check, {
    seed: ctx.seed,
    numRuns: ctx.runs,
    interruptAfterTimeLimit: budget,
    markInterruptAsFailure: false,
  });
  const replay = `--seed ${details.seed} --runs ${ctx.runs}`;
  if (details.failed && details.counterexample) {
    const world = details.counterexample[0] as W;
    const found = lastProblems;
    // Replay the shrunk world once so the reported problems belong to it (unless setup broke).
    const problems = stopped === undefined ? await property.run(world).catch(() => found) : found;
    ctx.trace.record({
      from: "harness",
      to: "harness",
      kind: "note",
      summary:
        `counterexample after ${details.numShrinks} shrinks (seed ${details.seed}, path ${details.counterexamplePath})`,
      data: world as unknown,
    });
    const interrupted = stopped === undefined
      ? ""
      : `; shrinking stopped when a world could not be built: ${describeCause(stopped.cause)}`;
    throw new CaseFailure(
      `${property.requirement} (replay: ${replay})`,
      `shrunk counterexample (${details.numShrinks} shrinks, path ${details.counterexamplePath}): ${
        property.describe(world)
      } -> ${
        (problems.length ? problems : found).slice(0, 8).join("; ") ||
        "passed when replayed (flaky delivery?)"
      }${interrupted}`,
    );
  }
  if (stopped !== undefined) {
    const where = `World ${
      stopped.after + 1
    } of ${ctx.runs} could not be built or run (seed ${ctx.seed}; ${stopped.after} world(s) held before it)`;
    if (stopped.cause instanceof CaseUnsupported || stopped.cause instanceof TargetLimitReached) {
      throw new CaseUnsupported(`${where}: ${stopped.cause.message}`);
    }
    throw new Error(`${where}: ${describeCause(stopped.cause)}`, { cause: stopped.cause });
  }
  if (details.failed) {
    throw details.errorInstance ?? new Error("Property failed without a counterexample");
  }
  const note = property.note?.();
  const suffix = `${property.checked}, seed ${details.seed}${note ? `; ${note}` : ""}`;
  if (details.numRuns < ctx.runs) {
    return {
      verdict: "INFORMATIONAL",
      detail: `${details.numRuns} of ${ctx.runs} worlds checked before the case's budget ran out (${
        Math.round(ctx.timeoutMs / 1000)
      } s): all held, but fewer worlds than --runs asked are not a PASS (raise --timeout or lower --runs); ${suffix}`,
    };
  }
  return { detail: `${details.numRuns} of ${ctx.runs} worlds checked, ${suffix}` };
}
