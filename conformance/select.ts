/**
 * Case selection by `--only` / `--skip` patterns over `/`-separated case ids.
 *
 * A pattern matches an id when it matches the whole id or any leading run of its segments, so
 * `route/SyncOrgKeys` selects `route/SyncOrgKeys/json` too (a segment-aligned prefix, as h2spec
 * selects `http2/6.3`). Inside a pattern `*` matches any characters of one segment and `**`
 * matches any number of whole segments (zero included).
 *
 * @module
 */

/** Options of {@linkcode selectCases}. */
export interface SelectOptions {
  /** Patterns a case must match one of (none = every case). */
  readonly only?: readonly string[];
  /** Patterns that drop a case. */
  readonly skip?: readonly string[];
}

function segmentMatches(pattern: string, segment: string): boolean {
  if (!pattern.includes("*")) return pattern === segment;
  const parts = pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`).test(segment);
}

function segmentsMatch(pattern: readonly string[], id: readonly string[]): boolean {
  if (pattern.length === 0) return id.length === 0;
  const [head, ...rest] = pattern;
  if (head === "**") {
    for (let skip = 0; skip <= id.length; skip++) {
      if (segmentsMatch(rest, id.slice(skip))) return true;
    }
    return false;
  }
  if (id.length === 0) return false;
  return segmentMatches(head!, id[0]!) && segmentsMatch(rest, id.slice(1));
}

/**
 * Tells whether a pattern selects a case id.
 *
 * @param id Case id, e.g. `route/SyncOrgKeys/json`.
 * @param pattern Glob or segment prefix, e.g. `route/*`, `**\/json`, `route/SyncOrgKeys`.
 * @returns True when the pattern matches the id or one of its segment prefixes.
 *
 * @example
 * ```ts
 * import { matchesPattern } from "./select.ts";
 * matchesPattern("route/SyncOrgKeys/json", "route"); // true
 * matchesPattern("route/SyncOrgKeys/json", "**\/json"); // true
 * matchesPattern("route/SyncOrgKeysX", "route/SyncOrgKeys"); // false
 * ```
 */
export function matchesPattern(id: string, pattern: string): boolean {
  const wanted = pattern.replace(/\/+$/, "").split("/");
  const segments = id.split("/");
  for (let length = segments.length; length >= 1; length--) {
    if (segmentsMatch(wanted, segments.slice(0, length))) return true;
  }
  return false;
}

/**
 * Keeps the items whose id matches one `only` pattern (if any are given) and no `skip` pattern.
 *
 * @param items Cases (or anything with an `id`), in run order.
 * @param options `only` and `skip` patterns.
 * @returns The selected items, order kept.
 */
export function selectCases<T extends { readonly id: string }>(
  items: readonly T[],
  options: SelectOptions = {},
): T[] {
  const only = options.only ?? [];
  const skip = options.skip ?? [];
  return items.filter((item) =>
    (only.length === 0 || only.some((p) => matchesPattern(item.id, p))) &&
    !skip.some((p) => matchesPattern(item.id, p))
  );
}
