/**
 * Report writers: console progress and summary, `index.json` + per-case JSON, JUnit XML and a
 * self-contained HTML report with sequence diagrams.
 *
 * @module
 */

import type { ConformanceReport } from "../runner.ts";
import { renderHtml } from "./html.ts";
import { caseFileNames, renderCaseJson, renderIndex } from "./json.ts";
import { renderJUnit } from "./junit.ts";

export { type FailureCause, failureCauses, maskCause } from "./causes.ts";
export { type ConsoleOptions, ConsoleReporter } from "./console.ts";
export { renderHtml } from "./html.ts";
export { caseFileNames, renderCaseJson, renderIndex } from "./json.ts";
export { renderJUnit } from "./junit.ts";
export { lifelines, renderSequenceDiagram, type SequenceOptions } from "./sequence.ts";

/**
 * Writes `index.json`, `cases/*.json`, `junit.xml` and `report.html` into a directory (created if
 * missing; files from an earlier run are overwritten).
 *
 * @param report The run's report.
 * @param dir Output directory.
 * @returns Paths of the files written.
 */
export async function writeReports(report: ConformanceReport, dir: string): Promise<string[]> {
  const root = dir.replace(/\/+$/, "") || ".";
  await Deno.mkdir(`${root}/cases`, { recursive: true });
  const files = caseFileNames(report.cases.map((c) => c.id));
  const written: string[] = [];
  const put = async (name: string, text: string) => {
    await Deno.writeTextFile(`${root}/${name}`, text);
    written.push(`${root}/${name}`);
  };
  await put("index.json", JSON.stringify(renderIndex(report), null, 2) + "\n");
  for (const c of report.cases) {
    await put(files.get(c.id)!, JSON.stringify(renderCaseJson(c), null, 2) + "\n");
  }
  await put("junit.xml", renderJUnit(report));
  await put("report.html", renderHtml(report));
  return written;
}
