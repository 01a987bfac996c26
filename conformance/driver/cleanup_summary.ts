/**
 * What the removal of a run's data did, as reports show it (see `cleanup.ts`).
 *
 * @module
 */

/** What the cleanup counts as removed. */
export type RemovedKind = "accounts" | "organizations" | "ciphers" | "folders" | "sends";

/** What the cleanup did (the `cleanup` of a report). */
export interface CleanupSummary {
  /** True when `--keep-data` asked to keep everything (nothing was removed). */
  readonly kept: boolean;
  /** Removed objects by kind (what went with a removed account or organization included). */
  readonly removed: Readonly<Record<RemovedKind, number>>;
  /** Removals that failed, in total. */
  readonly failed: number;
  /** The failures grouped by reason, largest first. */
  readonly failures: readonly { readonly reason: string; readonly count: number }[];
  /** What stays on the target, as short phrases. */
  readonly stays: readonly string[];
  /** Wall time in milliseconds. */
  readonly durationMs: number;
}

/** The kinds in the order reports list them. */
export const KIND_ORDER: readonly RemovedKind[] = [
  "accounts",
  "organizations",
  "ciphers",
  "folders",
  "sends",
];
/**
 * One line for the console and the HTML report.
 *
 * @param summary The cleanup summary.
 * @returns The line, e.g. `removed 12 accounts, 3 organizations; 0 removal failures; stays: event logs`.
 *
 * @example
 * ```ts
 * import { describeCleanup } from "./cleanup_summary.ts";
 * const line = describeCleanup({
 *   kept: false,
 *   removed: { accounts: 2, organizations: 1, ciphers: 0, folders: 0, sends: 0 },
 *   failed: 0,
 *   failures: [],
 *   stays: ["event logs"],
 *   durationMs: 5,
 * });
 * console.assert(line === "removed 2 accounts, 1 organization; 0 removal failures; stays: event logs");
 * ```
 */
export function describeCleanup(summary: CleanupSummary): string {
  const stays = `stays: ${summary.stays.join("; ")}`;
  if (summary.kept) return `kept (--keep-data); ${stays}`;
  const failures = summary.failed === 0
    ? "0 removal failures"
    : `${summary.failed} removal failure${summary.failed === 1 ? "" : "s"} (${
      summary.failures.map((f) => `${f.count}× ${f.reason}`).join("; ")
    })`;
  return `removed ${describeCounts(summary.removed)}; ${failures}; ${stays}`;
}

/**
 * Counts as text: `12 accounts, 1 organization`, or `nothing`.
 *
 * @param counts Counts by kind.
 * @returns The text.
 */
export function describeCounts(counts: Readonly<Record<RemovedKind, number>>): string {
  const parts = KIND_ORDER.filter((k) => counts[k] > 0).map((k) =>
    `${counts[k]} ${counts[k] === 1 ? k.slice(0, -1) : k}`
  );
  return parts.length === 0 ? "nothing" : parts.join(", ");
}
