/**
 * Grading: how a case's outcome becomes a verdict, and which verdicts fail the run.
 *
 * | Outcome | MUST | SHOULD | MAY |
 * |---|---|---|---|
 * | returned (no verdict) | PASS | PASS | PASS |
 * | returned `INFORMATIONAL` / `UNSUPPORTED` | as returned | as returned | as returned |
 * | threw `CaseFailure` (also during the settle window after a timeout) | FAIL | NON-STRICT | INFORMATIONAL |
 * | threw `CaseFailure` with `level: "SHOULD"` | NON-STRICT | NON-STRICT | INFORMATIONAL |
 * | threw `CaseUnsupported` or `TargetLimitReached`, or needs not met | UNSUPPORTED | UNSUPPORTED | UNSUPPORTED |
 * | threw anything else, or did not finish in time | ERROR | ERROR | ERROR |
 *
 * FAIL and ERROR fail the run; NON-STRICT and an unexpected pass fail it only with `--strict`;
 * an expected failure (listed in the expectations file) never does.
 *
 * @module
 */

import type { ExpectationStatus } from "./expectations.ts";
import {
  CaseFailure,
  type CaseResult,
  CaseUnsupported,
  type Level,
  TargetLimitReached,
  type Verdict,
} from "./types.ts";

/** What happened when a case ran. */
export type CaseOutcome =
  /** `run` resolved. */
  | { readonly kind: "returned"; readonly result: CaseResult | void }
  /** `run` rejected (before its timeout, or within the settle window after it). */
  | { readonly kind: "threw"; readonly error: unknown; readonly afterTimeoutMs?: number }
  /** `run` did not settle: abandoned after its timeout plus the settle window. */
  | { readonly kind: "timeout"; readonly timeoutMs: number }
  /** `run` resolved, but only after its timeout fired. */
  | { readonly kind: "late"; readonly timeoutMs: number }
  /** The target lacks what the case needs; `run` was not called. */
  | { readonly kind: "unmet"; readonly reason: string }
  /** The run was cancelled before the case started. */
  | { readonly kind: "cancelled" };

/** A verdict with its explanation. */
export interface Grade {
  /** The verdict. */
  readonly verdict: Verdict;
  /** What the requirement expected (failures only). */
  readonly expected?: string;
  /** What was observed (failures only). */
  readonly actual?: string;
  /** Free-text detail: the failure message, the unsupported reason, the error. */
  readonly detail?: string;
}

const FAILURE_VERDICT: Readonly<Record<Level, Verdict>> = {
  MUST: "FAIL",
  SHOULD: "NON-STRICT",
  MAY: "INFORMATIONAL",
};

const STRENGTH: Readonly<Record<Level, number>> = { MUST: 2, SHOULD: 1, MAY: 0 };

/** The weaker of the case's level and a failure's own level. */
function weaker(level: Level, failed: Level | undefined): Level {
  return failed !== undefined && STRENGTH[failed] < STRENGTH[level] ? failed : level;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return `Thrown value: ${String(error)}`;
}

function withDetail(grade: Omit<Grade, "detail">, detail: string | undefined): Grade {
  return detail === undefined || detail === "" ? grade : { ...grade, detail };
}

/**
 * Grades one case's outcome by its level.
 *
 * @param level The case's requirement level.
 * @param outcome What happened.
 * @returns The verdict with expected/actual/detail.
 *
 * @example
 * ```ts
 * import { gradeOutcome } from "./verdict.ts";
 * import { CaseFailure } from "./types.ts";
 * const error = new CaseFailure("one message", "none");
 * gradeOutcome("SHOULD", { kind: "threw", error }).verdict; // "NON-STRICT"
 * ```
 */
export function gradeOutcome(level: Level, outcome: CaseOutcome): Grade {
  switch (outcome.kind) {
    case "returned": {
      const result = outcome.result ?? {};
      return withDetail({ verdict: result.verdict ?? "PASS" }, result.detail);
    }
    case "threw": {
      const { error } = outcome;
      if (error instanceof CaseFailure) {
        return withDetail({
          verdict: FAILURE_VERDICT[weaker(level, error.level)],
          expected: error.expected,
          actual: error.actual,
        }, error.message);
      }
      if (error instanceof CaseUnsupported || error instanceof TargetLimitReached) {
        return { verdict: "UNSUPPORTED", detail: error.message };
      }
      const after = outcome.afterTimeoutMs === undefined
        ? ""
        : `Case timed out after ${outcome.afterTimeoutMs} ms, then threw `;
      return { verdict: "ERROR", detail: `${after}${describeError(error)}` };
    }
    case "timeout":
      return {
        verdict: "ERROR",
        detail: `Case did not finish within ${outcome.timeoutMs} ms and was abandoned ` +
          `(a case reports a missing event as CaseFailure; a hang is a harness or target fault)`,
      };
    case "late":
      return {
        verdict: "ERROR",
        detail: `Case finished only after its ${outcome.timeoutMs} ms timeout fired`,
      };
    case "unmet":
      return { verdict: "UNSUPPORTED", detail: outcome.reason };
    case "cancelled":
      return { verdict: "ERROR", detail: "Run cancelled before the case started" };
  }
}

/**
 * Tells whether a case's verdict fails the run.
 *
 * @param verdict The case's verdict.
 * @param status How the verdict relates to the expectations file.
 * @param options `strict` also fails on NON-STRICT and on unexpected passes.
 * @returns True when the run must exit 1 because of this case.
 */
export function failsRun(
  verdict: Verdict,
  status: ExpectationStatus,
  options: { readonly strict?: boolean } = {},
): boolean {
  if (status === "expected") return false;
  if (status === "unexpected-pass") return options.strict === true;
  if (verdict === "FAIL" || verdict === "ERROR") return true;
  return verdict === "NON-STRICT" && options.strict === true;
}

/** Every verdict, in report order. */
export const VERDICTS: readonly Verdict[] = [
  "PASS",
  "FAIL",
  "NON-STRICT",
  "INFORMATIONAL",
  "UNSUPPORTED",
  "ERROR",
];
