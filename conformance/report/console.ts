/**
 * Console output: one progress line per finished case (count/total, elapsed, verdict, id), then a
 * summary table by verdict and the failed cases with expected vs actual. `quiet` keeps only the
 * final summary lines; `verbose` adds case starts and case log lines.
 *
 * @module
 */

import type { CaseReport, ConformanceReport, RunEvent } from "../runner.ts";
import { describeCleanup } from "../driver/cleanup_summary.ts";
import { VERDICTS } from "../verdict.ts";
import { failureCauses } from "./causes.ts";

/** Options of {@linkcode ConsoleReporter}. */
export interface ConsoleOptions {
  /** Receives each output line (no trailing newline). */
  readonly write: (line: string) => void;
  /** Print only the final summary lines. */
  readonly quiet?: boolean;
  /** Also print case starts and case logs. */
  readonly verbose?: boolean;
  /** ANSI colours. */
  readonly color?: boolean;
}

const COLOR: Readonly<Record<string, string>> = {
  PASS: "32",
  FAIL: "31",
  "NON-STRICT": "33",
  INFORMATIONAL: "36",
  UNSUPPORTED: "90",
  ERROR: "35",
};

function clock(ms: number): string {
  const s = ms / 1000;
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, "0")}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

/** Collapses control characters so target text cannot redraw the terminal. */
function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001F\u007F-\u009F]+/g, " ").trim();
}

/**
 * Prints progress and the summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConsoleReporter } from "./console.ts";
 * import { resolveTarget, runConformance } from "../mod.ts";
 * // Any deployment will do; here the reference server, started on a free port.
 * import { parseServeConfig, startServe } from "../../server/mod.ts";
 * const running = await startServe(parseServeConfig(["--port", "0"]), { log: () => {} });
 * try {
 *   const lines: string[] = [];
 *   const reporter = new ConsoleReporter({ write: (line) => lines.push(line) });
 *   const report = await runConformance({
 *     target: resolveTarget({ target: running.url }),
 *     only: ["hub/auth/missing"],
 *     onEvent: (e) => reporter.onEvent(e),
 *   });
 *   reporter.summary(report);
 *   assert.ok(lines.some((line) => line.includes("hub/auth/missing")));
 * } finally {
 *   await running.stop();
 * }
 * ```
 */
export class ConsoleReporter {
  #options: ConsoleOptions;

  /**
   * Creates a reporter.
   *
   * @param options Sink and verbosity.
   */
  constructor(options: ConsoleOptions) {
    this.#options = options;
  }

  #paint(verdict: string, text = verdict): string {
    return this.#options.color ? `\x1b[${COLOR[verdict] ?? "0"}m${text}\x1b[0m` : text;
  }

  /**
   * Handles one progress event.
   *
   * @param event The event from `runConformance`.
   */
  onEvent(event: RunEvent): void {
    const { write, quiet, verbose } = this.#options;
    if (quiet) return;
    switch (event.type) {
      case "start":
        write(`Running ${event.total} case${event.total === 1 ? "" : "s"} (seed ${event.seed})`);
        return;
      case "case-start":
        if (verbose) write(`          ${clock(event.elapsedMs)} start ${event.id}`);
        return;
      case "case-log":
        if (verbose) write(`          ${event.id}: ${oneLine(event.message)}`);
        return;
      case "case-end": {
        const r = event.result;
        const width = String(event.total).length;
        const count = `[${String(event.completed).padStart(width)}/${event.total}]`;
        const extra = r.expectation.status === "expected"
          ? " (expected failure)"
          : r.expectation.status === "unexpected-pass"
          ? " (unexpected pass)"
          : "";
        write(
          `${count} ${clock(event.elapsedMs)} ${
            this.#paint(r.verdict, r.verdict.padEnd(13))
          } ${r.id} ` +
            `(${r.durationMs} ms)${extra}`,
        );
        return;
      }
    }
  }

  /**
   * Prints the summary: totals by verdict, failed cases with expected vs actual, the result.
   *
   * @param report The finished run's report.
   */
  summary(report: ConformanceReport): void {
    const { write, quiet } = this.#options;
    const failed = report.cases.filter((c) =>
      c.failsRun || c.verdict === "FAIL" || c.verdict === "ERROR" || c.verdict === "NON-STRICT"
    );
    if (!quiet) {
      write("");
      write(`Summary (${report.cases.length} cases in ${(report.durationMs / 1000).toFixed(1)} s)`);
      for (const v of VERDICTS) {
        write(`  ${this.#paint(v, v.padEnd(14))}${String(report.totals[v]).padStart(5)}`);
      }
      write(
        `  expected failures ${report.expectedFailures}, unexpected passes ${report.unexpectedPasses}`,
      );
      this.#writeNotCovered(report);
      if (failed.length > 0) {
        write("");
        write("Failed cases:");
        this.#writeFailures(failed);
      }
    } else {
      write(
        VERDICTS.map((v) => `${v} ${report.totals[v]}`).join(", ") +
          `; expected failures ${report.expectedFailures}, unexpected passes ${report.unexpectedPasses}`,
      );
      this.#writeNotCovered(report);
      for (const c of report.cases.filter((c) => c.failsRun)) {
        write(`  ${c.verdict} ${c.id}: ${oneLine(c.detail ?? c.expectation.status)}`);
      }
    }
    if (report.staleExpectations.length > 0) {
      write(`Expectations naming no case: ${report.staleExpectations.join(", ")}`);
    }
    // Quiet runs name the cleanup only when the run left or removed something.
    const cleanup = report.cleanup;
    if (
      !quiet || cleanup.kept || cleanup.failed > 0 || Object.values(cleanup.removed).some(Boolean)
    ) {
      write(`Cleanup: ${describeCleanup(cleanup)}`);
    }
    const result = report.passed ? this.#paint("PASS", "PASSED") : this.#paint(
      "FAIL",
      `FAILED: ${report.failing} case${report.failing === 1 ? " fails" : "s fail"} the run`,
    );
    write(
      `Result: ${result} (exit ${report.passed ? 0 : 1}; seed ${report.seed}${
        report.strict ? ", strict" : ""
      })`,
    );
  }

  /** One loud line on what did not run and why (MUST/SHOULD cases graded UNSUPPORTED). */
  #writeNotCovered(report: ConformanceReport): void {
    const { total, byReason } = report.notCovered;
    if (total === 0) return;
    const { write } = this.#options;
    const reasons = byReason.map((g) => `${oneLine(g.reason)} (${g.count})`).join(", ");
    const tail = report.requireAll
      ? " — fails the run (--require-all)"
      : " — not checked; --require-all makes this fail the run";
    write(
      `${this.#paint("UNSUPPORTED", "NOT COVERED")} ${total} MUST/SHOULD case${
        total === 1 ? "" : "s"
      }: ${reasons}${tail}`,
    );
  }

  /** Failures one by one, except that a cause shared by several cases is printed once. */
  #writeFailures(failed: readonly CaseReport[]): void {
    const { write } = this.#options;
    const byId = new Map(failed.map((c) => [c.id, c]));
    for (const group of failureCauses(failed)) {
      if (group.cases.length === 1) {
        this.#writeFailure(byId.get(group.cases[0]!)!);
        continue;
      }
      const failing = group.failingRun === group.cases.length
        ? "all fail the run"
        : `${group.failingRun} fail the run`;
      write(
        `  ${
          this.#paint(group.verdict, group.verdict)
        } ${group.cases.length} cases, one cause (${failing}):`,
      );
      write(`      cause:    ${oneLine(group.example)}`);
      write(`      cases:    ${group.cases.join(", ")}`);
    }
  }

  #writeFailure(c: CaseReport): void {
    const { write } = this.#options;
    const note = c.failsRun
      ? ""
      : c.expectation.status === "expected"
      ? " (expected failure)"
      : " (does not fail the run)";
    write(`  ${this.#paint(c.verdict, c.verdict)} ${c.id} [${c.level}]${note}`);
    write(`      ${oneLine(c.requirement)}`);
    if (c.expected !== undefined) write(`      expected: ${oneLine(c.expected)}`);
    if (c.actual !== undefined) write(`      actual:   ${oneLine(c.actual)}`);
    if (c.expected === undefined && c.detail !== undefined) {
      write(`      detail:   ${oneLine(c.detail)}`);
    }
  }
}
