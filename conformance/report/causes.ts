/**
 * Failures grouped by root cause: when one defect (a rate limit, a missing protocol, a proxy that
 * answers 502) fails many cases, the reports name it once with the list of its cases instead of
 * repeating the same block a hundred times.
 *
 * Two failures share a cause when their observed text (the `actual`, or the `detail` of an ERROR)
 * is the same once the parts that differ from case to case are masked: GUIDs, timestamps, numbers
 * and long hex strings.
 *
 * @module
 */

import type { CaseReport } from "../runner.ts";
import type { Verdict } from "../types.ts";

/** One root cause and the failed cases it explains. */
export interface FailureCause {
  /** The verdict the cases share (FAIL, ERROR or NON-STRICT). */
  readonly verdict: Verdict;
  /** The masked text the cases share (what the reports print as the cause). */
  readonly cause: string;
  /** The first case's unmasked text, as an example. */
  readonly example: string;
  /** Ids of the cases, in report order. */
  readonly cases: readonly string[];
  /** How many of them fail the run. */
  readonly failingRun: number;
}

const MASKS: readonly (readonly [RegExp, string])[] = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>"],
  [/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?/g, "<time>"],
  [/\b[0-9a-f]{16,}\b/gi, "<hex>"],
  [/\d+(?:\.\d+)?/g, "<n>"],
  [/\s+/g, " "],
];

/** Longest cause text kept; longer texts are cut (their examples keep the whole text). */
const CAUSE_LENGTH = 400;

/**
 * Masks what varies between failures of one cause (GUIDs, timestamps, numbers, hex).
 *
 * @param text An observed failure text.
 * @returns The masked, single-line text (at most 400 characters).
 *
 * @example
 * ```ts
 * import { maskCause } from "./causes.ts";
 * const a = maskCause("user 6f1c6f9e-2a46-4a4b-9d55-2f0c7e0b8c11 got 2 messages in 1500 ms");
 * console.assert(a === "user <id> got <n> messages in <n> ms");
 * ```
 */
export function maskCause(text: string): string {
  let masked = text;
  for (const [pattern, replacement] of MASKS) masked = masked.replace(pattern, replacement);
  masked = masked.trim();
  return masked.length > CAUSE_LENGTH ? `${masked.slice(0, CAUSE_LENGTH)}…` : masked;
}

/** What a failed case observed: the actual value, or the detail of an ERROR. */
function observed(c: CaseReport): string {
  return c.actual ?? c.detail ?? "(no detail)";
}

function isFailure(c: CaseReport): boolean {
  return c.verdict === "FAIL" || c.verdict === "ERROR" || c.verdict === "NON-STRICT";
}

/**
 * Groups the failed cases of a run (FAIL, ERROR, NON-STRICT) by root cause, largest group first
 * (ties keep report order).
 *
 * @param cases The run's cases.
 * @returns One entry per cause.
 *
 * @example
 * ```ts
 * import { failureCauses } from "./causes.ts";
 * import type { CaseReport } from "../runner.ts";
 * const failed = (id: string, detail: string) =>
 *   ({ id, verdict: "ERROR", detail, failsRun: true }) as unknown as CaseReport;
 * const causes = failureCauses([
 *   failed("e2e/a", "POST /identity/connect/token answered HTTP 429 after 1 s"),
 *   failed("e2e/b", "POST /identity/connect/token answered HTTP 429 after 3 s"),
 * ]);
 * console.assert(causes.length === 1 && causes[0]!.cases.length === 2);
 * ```
 */
export function failureCauses(cases: readonly CaseReport[]): FailureCause[] {
  const groups = new Map<
    string,
    { verdict: Verdict; cause: string; example: string; cases: string[]; failingRun: number }
  >();
  for (const c of cases) {
    if (!isFailure(c)) continue;
    const text = observed(c);
    const cause = maskCause(text);
    const key = `${c.verdict}\u0000${cause}`;
    let group = groups.get(key);
    if (!group) {
      group = { verdict: c.verdict, cause, example: text, cases: [], failingRun: 0 };
      groups.set(key, group);
    }
    group.cases.push(c.id);
    if (c.failsRun) group.failingRun++;
  }
  return [...groups.values()].sort((a, b) => b.cases.length - a.cases.length);
}
