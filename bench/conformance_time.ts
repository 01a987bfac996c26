/**
 * The conformance suite's wall time against hubproof's reference server (issue 10, target
 * under 60 s): starts `server/main.ts` (pinned to core 0), runs the whole suite with
 * `--inject send` in a child process (pinned to core 1) writing its report to a temporary
 * folder, and reports the wall time, the verdict counts, the summed case durations (how much
 * the suite overlaps cases) and the slowest cases from the report's per-case `durationMs`.
 *
 * Usage: deno run -A bench/conformance_time.ts [--only PATTERN] [--json]
 *
 * @module
 */

import { loadAverage } from "./_measure.ts";
import { parseFlags, parseOrExit } from "../config/mod.ts";
import { LOAD_CORE, startReferenceServe } from "./_reference_serve.ts";
import { pinned } from "./_pinning.ts";
import { formatTable, printResults, type ScenarioResult } from "./_results.ts";

/** One case as the report's `index.json` lists it. */
export interface CaseTiming {
  /** Case id. */
  readonly id: string;
  /** Verdict. */
  readonly verdict: string;
  /** Case duration, ms. */
  readonly durationMs: number;
}

/**
 * Reads the per-case timings of a conformance report's `index.json`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { readCaseTimings } from "./conformance_time.ts";
 * const text = '{"cases":[{"id":"a","verdict":"PASS","durationMs":12}]}';
 * strictEqual(readCaseTimings(text)[0]!.durationMs, 12);
 * ```
 * @param indexJson The text of `index.json`.
 * @returns The cases.
 * @throws {TypeError} When the document has no `cases` array of that shape.
 */
export function readCaseTimings(indexJson: string): CaseTiming[] {
  const cases = (JSON.parse(indexJson) as { cases?: unknown }).cases;
  if (!Array.isArray(cases)) throw new TypeError("Invalid conformance report: no cases array");
  return cases.map((c, i) => {
    const { id, verdict, durationMs } = c as Record<string, unknown>;
    if (typeof id !== "string" || typeof verdict !== "string" || typeof durationMs !== "number") {
      throw new TypeError(`Invalid conformance report: case ${i} lacks id, verdict or durationMs`);
    }
    return { id, verdict, durationMs };
  });
}

/**
 * Runs the suite once and measures it.
 *
 * @param only A `--only` pattern, or undefined for the whole suite.
 * @returns Wall time and the report's timings.
 * @throws {Error} When the server does not start or the suite writes no report.
 */
export async function timeConformance(
  only: string | undefined,
): Promise<{ wallSeconds: number; cases: CaseTiming[]; exitCode: number }> {
  const serve = await startReferenceServe();
  const reportDir = await Deno.makeTempDir({ prefix: "hubproof-bench-conformance-" });
  try {
    const [command, ...args] = pinned(LOAD_CORE, [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      new URL("../conformance/main.ts", import.meta.url).pathname,
      "--target",
      serve.url,
      "--inject",
      "send",
      "--internal-key",
      serve.internalKey,
      "--report-dir",
      reportDir,
      ...(only === undefined ? [] : ["--only", only]),
    ]);
    const started = performance.now();
    const output = await new Deno.Command(command!, {
      args,
      stdout: "null",
      stderr: "piped",
    }).output();
    const wallSeconds = (performance.now() - started) / 1000;
    let index: string;
    try {
      index = await Deno.readTextFile(`${reportDir}/index.json`);
    } catch {
      throw new Error(
        `The suite wrote no report (exit ${output.code}): ${
          new TextDecoder().decode(output.stderr).slice(-500)
        }`,
      );
    }
    return { wallSeconds, cases: readCaseTimings(index), exitCode: output.code };
  } finally {
    await serve.process.stop();
    await Deno.remove(reportDir, { recursive: true }).catch(() => {});
  }
}

/**
 * The measurement as results: the wall time against its target, with the verdict counts, the
 * summed case time and the five slowest cases in `details`.
 *
 * @param run What {@linkcode timeConformance} measured.
 * @param load /proc/loadavg at the start.
 * @returns One result.
 */
export function conformanceResults(
  run: { wallSeconds: number; cases: readonly CaseTiming[]; exitCode: number },
  load: string,
): ScenarioResult[] {
  const verdicts: Record<string, number> = {};
  for (const c of run.cases) verdicts[c.verdict] = (verdicts[c.verdict] ?? 0) + 1;
  const slowest = [...run.cases].sort((a, b) => b.durationMs - a.durationMs).slice(0, 5);
  return [{
    scenario: "conformance-send",
    metric: "suite wall time",
    unit: "s",
    hubproof: Number(run.wallSeconds.toFixed(1)),
    target: { kind: "max", value: 60 },
    details: {
      cases: run.cases.length,
      verdicts: Object.entries(verdicts).map(([v, n]) => `${n} ${v}`).join(", "),
      summedCaseSeconds: Number(
        (run.cases.reduce((s, c) => s + c.durationMs, 0) / 1000).toFixed(1),
      ),
      slowestCases: slowest.map((c) => `${c.id} ${(c.durationMs / 1000).toFixed(1)} s`).join("; "),
      suiteExitCode: run.exitCode,
      loadAverageAtStart: load,
      setup: "reference serve pinned to core 0, suite (--inject send) pinned to core 1",
    },
  }];
}

if (import.meta.main) {
  const values = parseOrExit(() =>
    parseFlags(Deno.args, { only: { type: "string" }, json: { type: "boolean" } })
  );
  try {
    const load = await loadAverage();
    const results = conformanceResults(await timeConformance(values.only), load);
    console.log(formatTable(results));
    console.log(`details: ${JSON.stringify(results[0]!.details)}`);
    if (values.json) printResults(results);
  } catch (error) {
    console.error(`conformance timing failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
