/**
 * A self-contained `report.html` (inline CSS and JS, no network): run summary, a filterable table
 * of every case, and for each failed case its requirement, expected vs actual, and a sequence
 * diagram of what was exchanged. Every target-provided string is escaped.
 *
 * @module
 */

import type { CaseReport, ConformanceReport } from "../runner.ts";
import { describeCleanup } from "../driver/cleanup_summary.ts";
import { VERDICTS } from "../verdict.ts";
import { escapeMarkup as x } from "./_escape.ts";
import { type FailureCause, failureCauses } from "./causes.ts";
import { caseFileNames } from "./json.ts";
import { renderSequenceDiagram } from "./sequence.ts";

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin-top:1.6em}
.meta{color:#555}.meta code{background:#f3f3f3;padding:0 .3em}
.badge{display:inline-block;padding:.1em .5em;border-radius:3px;font-weight:600;font-size:.85em}
.v-PASS{background:#d8f0dc;color:#145c27}.v-FAIL{background:#f7d4d1;color:#8c1d15}
.v-NON-STRICT{background:#fbe7c6;color:#7a4a00}.v-INFORMATIONAL{background:#dfe8f7;color:#23477f}
.v-UNSUPPORTED{background:#ececec;color:#555}.v-ERROR{background:#f1d1ef;color:#74106d}
.result-pass{color:#145c27}.result-fail{color:#8c1d15}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e3e3e3;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#fafafa;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.filters{margin:.8em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:center}
.filters input[type=search]{width:22em;padding:.25em}
.failure{border:1px solid #e3c0bd;border-radius:4px;padding:.6em 1em;margin:1em 0}
.failure summary{cursor:pointer;font-weight:600}
.cmp{display:flex;gap:1.2em;flex-wrap:wrap;align-items:flex-start}
.cmp dl{min-width:18em;max-width:40em}.cmp dt{font-weight:600;margin-top:.4em}
.cmp dd{margin:0;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.9em;background:#f7f7f7;padding:.3em}
.diagram{overflow-x:auto;border:1px solid #eee;padding:.3em}
svg.sequence .head{fill:#f0f3f8;stroke:#8796b0}svg.sequence .head-text{font:600 12px system-ui,sans-serif}
svg.sequence .lifeline{stroke:#b8c0cc;stroke-dasharray:4 3}
svg.sequence .label{font:11px ui-monospace,monospace}svg.sequence .time{font:10px ui-monospace,monospace;fill:#777}
.expect{font-size:.85em;color:#555}
`;

const JS = `
(function(){
  var q=document.getElementById('q');var boxes=document.querySelectorAll('input[data-verdict]');
  var rows=document.querySelectorAll('tr[data-verdict]');var count=document.getElementById('shown');
  function apply(){
    var text=q.value.toLowerCase();var on={};
    boxes.forEach(function(b){on[b.getAttribute('data-verdict')]=b.checked;});
    var n=0;
    rows.forEach(function(r){
      var ok=on[r.getAttribute('data-verdict')]&&r.getAttribute('data-search').indexOf(text)>=0;
      r.style.display=ok?'':'none';if(ok)n++;
    });
    count.textContent=String(n);
  }
  q.addEventListener('input',apply);boxes.forEach(function(b){b.addEventListener('change',apply);});apply();
})();
`;

function anchor(id: string): string {
  return `case-${id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

function badge(verdict: string): string {
  return `<span class="badge v-${x(verdict)}">${x(verdict)}</span>`;
}

function expectationText(c: CaseReport): string {
  switch (c.expectation.status) {
    case "unlisted":
      return "";
    case "expected":
      return `expected failure${c.expectation.reason ? `: ${c.expectation.reason}` : ""}`;
    case "unexpected-pass":
      return "unexpected pass (remove from expectations)";
    case "mismatch":
      return `listed as ${(c.expectation.expected ?? []).join("/")}, got ${c.verdict}`;
  }
}

/** Cases that get a diagram: every FAIL, NON-STRICT and ERROR, listed or not. */
function isFailure(c: CaseReport): boolean {
  return c.verdict === "FAIL" || c.verdict === "NON-STRICT" || c.verdict === "ERROR";
}

function failureSection(c: CaseReport, file: string | undefined, index: number): string {
  const field = (name: string, value: string | undefined) =>
    value === undefined ? "" : `<dt>${name}</dt><dd>${x(value)}</dd>`;
  return `<details class="failure" id="${anchor(c.id)}" open>
<summary>${badge(c.verdict)} ${x(c.id)} <span class="expect">${
    x(expectationText(c))
  }</span></summary>
<p>[${x(c.level)}] ${x(c.requirement)}${
    c.source ? ` <span class="expect">(${x(c.source)})</span>` : ""
  }</p>
<div class="cmp"><dl>${field("Expected", c.expected)}${field("Actual", c.actual)}${
    // A failure's detail usually restates expected and actual; show it only when it adds something.
    c.detail && !(c.expected && c.actual && c.detail.includes(c.actual))
      ? field("Detail", c.detail)
      : ""}${c.logs.length > 0 ? field("Log", c.logs.join("\n")) : ""}${
    file ? `<dt>Trace</dt><dd>${x(file)}</dd>` : ""
  }</dl>
<div class="diagram">${renderSequenceDiagram(c.trace, { idSuffix: String(index) })}</div></div>
</details>`;
}

/** A table of the causes that fail several cases, each with links to its cases. */
function causesSection(causes: readonly FailureCause[]): string {
  const shared = causes.filter((g) => g.cases.length > 1);
  if (shared.length === 0) return "";
  const rows = shared.map((g) =>
    `<tr><td>${badge(g.verdict)}</td><td class="num">${g.cases.length}</td><td><code>${
      x(g.example)
    }</code><div class="expect">${
      g.cases.map((id) => `<a href="#${anchor(id)}">${x(id)}</a>`).join(", ")
    }</div></td></tr>`
  ).join("\n");
  return `<h2>Failures by cause (${shared.length} shared by several cases)</h2>
<table><thead><tr><th>Verdict</th><th>Cases</th><th>Cause and its cases</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

/**
 * Renders `report.html`.
 *
 * @param report The run's report.
 * @returns A complete HTML document.
 */
export function renderHtml(report: ConformanceReport): string {
  const files = caseFileNames(report.cases.map((c) => c.id));
  const t = report.target;
  const totals = VERDICTS.map((v) => `<td>${badge(v)}</td><td class="num">${report.totals[v]}</td>`)
    .join("");
  const rows = report.cases.map((c) => {
    const search = `${c.id} ${c.requirement} ${c.verdict} ${c.level}`.toLowerCase();
    const link = isFailure(c) ? `<a href="#${anchor(c.id)}">${x(c.id)}</a>` : x(c.id);
    return `<tr data-verdict="${x(c.verdict)}" data-search="${x(search)}"><td>${link}</td><td>${
      x(c.level)
    }</td>` +
      `<td>${badge(c.verdict)}${c.failsRun ? " ✗" : ""}</td><td class="num">${c.durationMs}</td>` +
      `<td>${x(c.requirement)}${
        c.detail && !isFailure(c) ? `<div class="expect">${x(c.detail)}</div>` : ""
      }</td>` +
      `<td class="expect">${x(expectationText(c))}</td></tr>`;
  }).join("\n");
  const failures = report.cases.filter(isFailure);
  const filters = VERDICTS.map((v) =>
    `<label><input type="checkbox" data-verdict="${v}" checked> ${v} (${report.totals[v]})</label>`
  ).join(" ");
  const stale = report.staleExpectations.length === 0
    ? ""
    : `<p class="result-fail">Expectations naming no case: ${
      x(report.staleExpectations.join(", "))
    }</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${x(report.tool.name)}: ${x(t.baseUrl ?? t.hubUrl)}</title><style>${CSS}</style></head>
<body>
<h1>${x(report.tool.name)} ${x(report.tool.version)}: <span class="${
    report.passed ? "result-pass" : "result-fail"
  }">${
    report.passed
      ? "PASSED"
      : `FAILED (${report.failing} case${report.failing === 1 ? " fails" : "s fail"} the run)`
  }</span></h1>
<p class="meta">Target <code>${x(t.baseUrl ?? t.hubUrl)}</code> · hub <code>${
    x(t.hubUrl)
  }</code> · inject <code>${x(t.inject)}</code>
 · protocols <code>${
    x(t.protocols.join(", "))
  }</code> · seed <code>${report.seed}</code> · runs <code>${report.runs}</code>
 · ${report.strict ? "strict" : "not strict"} · ${x(report.startedAt)} → ${x(report.endedAt)} (${
    (report.durationMs / 1000).toFixed(1)
  } s)
 ${
    report.expectationsSource
      ? ` · expectations <code>${x(report.expectationsSource)}</code>`
      : ""
  }</p>
<table style="width:auto"><tr>${totals}</tr></table>
<p class="meta">Expected failures: ${report.expectedFailures} · unexpected passes: ${report.unexpectedPasses}</p>${stale}
<p class="meta" id="cleanup">Cleanup of what the run created on the target: ${
    x(describeCleanup(report.cleanup))
  }</p>
${causesSection(failureCauses(failures))}
<h2>Failures (${failures.length})</h2>
${
    failures.length === 0
      ? "<p>None.</p>"
      : failures.map((c, i) => failureSection(c, files.get(c.id), i)).join("\n")
  }
<h2>All cases (<span id="shown">${report.cases.length}</span> shown)</h2>
<div class="filters"><input type="search" id="q" placeholder="Filter by id or requirement"> ${filters}</div>
<table><thead><tr><th>Case</th><th>Level</th><th>Verdict</th><th>ms</th><th>Requirement</th><th>Expectation</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<script>${JS}</script>
</body></html>
`;
}
