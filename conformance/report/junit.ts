/**
 * JUnit XML: one `testsuite` per top-level id segment. A case that fails the run is a `failure`
 * (an `error` for ERROR); UNSUPPORTED and expected failures are `skipped`; NON-STRICT and
 * unexpected passes become failures only with `--strict` and otherwise a `system-out` note, so CI
 * dashboards agree with the exit code.
 *
 * @module
 */

import type { CaseReport, ConformanceReport } from "../runner.ts";
import { escapeMarkup as x } from "./_escape.ts";

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function explain(c: CaseReport): string {
  const lines = [`[${c.level}] ${c.requirement}`, `verdict: ${c.verdict}`];
  if (c.expected !== undefined) lines.push(`expected: ${c.expected}`);
  if (c.actual !== undefined) lines.push(`actual: ${c.actual}`);
  if (c.detail !== undefined) lines.push(`detail: ${c.detail}`);
  if (c.expectation.status !== "unlisted") {
    lines.push(
      `expectation: ${c.expectation.status}${
        c.expectation.reason ? ` (${c.expectation.reason})` : ""
      }`,
    );
  }
  return lines.join("\n");
}

function caseBody(
  c: CaseReport,
): { element: string; kind: "failure" | "error" | "skipped" | "pass" } {
  const message = c.expectation.status === "unexpected-pass"
    ? "Unexpected pass: remove this case from the expectations file"
    : c.detail ?? c.verdict;
  if (c.failsRun) {
    const tag = c.verdict === "ERROR" ? "error" : "failure";
    return {
      element: `<${tag} message="${x(message)}" type="${x(c.verdict)}">${x(explain(c))}</${tag}>`,
      kind: tag,
    };
  }
  if (c.verdict === "UNSUPPORTED" || c.expectation.status === "expected") {
    const why = c.expectation.status === "expected"
      ? `Expected ${c.verdict}${c.expectation.reason ? `: ${c.expectation.reason}` : ""}`
      : message;
    return {
      element: `<skipped message="${x(why)}"/><system-out>${x(explain(c))}</system-out>`,
      kind: "skipped",
    };
  }
  const note = c.verdict === "PASS" && c.expectation.status === "unlisted"
    ? ""
    : `<system-out>${x(explain(c))}</system-out>`;
  return { element: note, kind: "pass" };
}

/**
 * Renders the JUnit XML report.
 *
 * @param report The run's report.
 * @returns An XML document.
 */
export function renderJUnit(report: ConformanceReport): string {
  const groups = new Map<string, CaseReport[]>();
  for (const c of report.cases) {
    const suite = c.id.split("/")[0]!;
    groups.set(suite, [...(groups.get(suite) ?? []), c]);
  }
  const counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const suites: string[] = [];
  for (const [name, cases] of groups) {
    const local = { failures: 0, errors: 0, skipped: 0 };
    const rows = cases.map((c) => {
      const body = caseBody(c);
      if (body.kind === "failure") local.failures++;
      if (body.kind === "error") local.errors++;
      if (body.kind === "skipped") local.skipped++;
      return `    <testcase classname="${x(name)}" name="${x(c.id)}" time="${
        seconds(c.durationMs)
      }">${body.element}</testcase>`;
    });
    const time = cases.reduce((sum, c) => sum + c.durationMs, 0);
    counts.tests += cases.length;
    counts.failures += local.failures;
    counts.errors += local.errors;
    counts.skipped += local.skipped;
    suites.push(
      `  <testsuite name="${
        x(name)
      }" tests="${cases.length}" failures="${local.failures}" errors="${local.errors}" ` +
        `skipped="${local.skipped}" time="${seconds(time)}" timestamp="${x(report.startedAt)}">\n${
          rows.join("\n")
        }\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${
      x(report.tool.name)
    }" tests="${counts.tests}" failures="${counts.failures}" ` +
    `errors="${counts.errors}" skipped="${counts.skipped}" time="${
      seconds(report.durationMs)
    }">\n` +
    `${suites.join("\n")}\n</testsuites>\n`;
}
