/**
 * JSON reports: `index.json` (run metadata and every case without its trace, as Autobahn's
 * index) and one file per case with its trace under `cases/`.
 *
 * @module
 */

import type { CaseReport, ConformanceReport } from "../runner.ts";
import { failureCauses } from "./causes.ts";
import { toJsonSafe } from "./_json_safe.ts";

/**
 * Maps case ids to unique, portable file names under `cases/` (`/` becomes `.`, other unsafe
 * characters `_`; a clash gets a numeric suffix).
 *
 * @param ids Case ids in report order.
 * @returns File name (relative to the report dir) by id.
 *
 * @example
 * ```ts
 * import { caseFileNames } from "./json.ts";
 * caseFileNames(["route/SyncOrgKeys/json"]).get("route/SyncOrgKeys/json"); // "cases/route.SyncOrgKeys.json.json"
 * ```
 */
export function caseFileNames(ids: readonly string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const id of ids) {
    const stem = id.replace(/\//g, ".").replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") ||
      "_";
    let name = stem;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${stem}-${n}`;
    used.add(name.toLowerCase());
    out.set(id, `cases/${name}.json`);
  }
  return out;
}

function caseSummary(c: CaseReport, reportFile: string | undefined) {
  const { trace: _trace, logs: _logs, ...rest } = c;
  return reportFile === undefined ? rest : { ...rest, reportFile };
}

/**
 * Builds the `index.json` document.
 *
 * @param report The run's report.
 * @returns JSON data: run metadata, totals, the failures grouped by cause (`failureCauses`), and
 * every case without trace.
 */
export function renderIndex(report: ConformanceReport): unknown {
  const files = caseFileNames(report.cases.map((c) => c.id));
  return toJsonSafe({
    ...report,
    failureCauses: failureCauses(report.cases),
    cases: report.cases.map((c) => caseSummary(c, files.get(c.id))),
  });
}

/**
 * Builds one case's JSON document (everything in its index entry plus trace and logs).
 *
 * @param c The case.
 * @returns JSON data.
 */
export function renderCaseJson(c: CaseReport): unknown {
  return toJsonSafe(c);
}
