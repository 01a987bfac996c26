/**
 * The hubproof conformance suite as a library: run it against a deployment and get the graded
 * report back (the CLI in `main.ts` maps it to an exit code).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exitCodeFor, resolveTarget, runConformance } from "./mod.ts";
 * // Any deployment will do; here the reference server, started on a free port.
 * import { parseServeConfig, startServe } from "../server/mod.ts";
 * const running = await startServe(parseServeConfig(["--port", "0"]), { log: () => {} });
 * try {
 *   const report = await runConformance({
 *     target: resolveTarget({
 *       target: running.url,
 *       inject: "send",
 *       internalKey: running.config.internalKey,
 *     }),
 *     only: ["send/no-token", "send/ok"],
 *   });
 *   assert.deepEqual(report.cases.map((c) => [c.id, c.verdict]), [
 *     ["send/no-token", "PASS"],
 *     ["send/ok", "PASS"],
 *   ]);
 *   assert.equal(exitCodeFor(report), 0);
 * } finally {
 *   await running.stop();
 * }
 * ```
 *
 * @module
 */

export {
  type CaseReport,
  type ConformanceReport,
  exitCodeFor,
  runConformance,
  type RunEvent,
  type RunOptions,
  TOOL,
} from "./runner.ts";
export { type CliCommand, HELP, parseCli } from "./cli.ts";
export { PreflightError, UsageError } from "./errors.ts";
export {
  type Expectation,
  type Expectations,
  type ExpectationStatus,
  expectationStatus,
  type ExpectedVerdict,
  parseExpectations,
} from "./expectations.ts";
export { preflight, type PreflightOptions, queueEndpoint } from "./preflight.ts";
export { matchesPattern, selectCases, type SelectOptions } from "./select.ts";
export {
  parseTargetFile,
  redactTarget,
  resolveTarget,
  targetCapabilities,
  type TargetInput,
  unmetNeeds,
} from "./target.ts";
export { RecordingTrace, type RecordingTraceOptions } from "./trace.ts";
export { type CaseOutcome, failsRun, type Grade, gradeOutcome, VERDICTS } from "./verdict.ts";
export { CATALOGUE_END, CATALOGUE_START, renderCatalogue, updateCatalogue } from "./catalogue.ts";
export {
  type ConsoleOptions,
  ConsoleReporter,
  renderHtml,
  renderJUnit,
  renderSequenceDiagram,
  writeReports,
} from "./report/mod.ts";
export { ActingAuthority } from "../testing/mod.ts";
export * from "./types.ts";
