import assert from "node:assert/strict";
import type { CaseReport, ConformanceReport } from "../runner.ts";
import { failureCauses, maskCause } from "./causes.ts";
import { ConsoleReporter, renderHtml, renderIndex } from "./mod.ts";

function caseReport(id: string, verdict: CaseReport["verdict"], fields: Partial<CaseReport>) {
  return {
    id,
    level: "MUST",
    requirement: `requirement of ${id}`,
    needs: [],
    verdict,
    startMs: 0,
    durationMs: 1,
    expectation: { status: "unlisted" },
    failsRun: verdict === "FAIL" || verdict === "ERROR",
    trace: [],
    logs: [],
    ...fields,
  } as CaseReport;
}

const RATE_LIMITED = (seconds: number) =>
  `ApiError: POST /identity/connect/token answered HTTP 429 (retry after ${seconds} s) for ${crypto.randomUUID()}`;

const CASES: CaseReport[] = [
  caseReport("e2e/folder-create", "ERROR", { detail: RATE_LIMITED(12) }),
  caseReport("hub/handshake/json", "FAIL", { expected: "a handshake answer", actual: "silence" }),
  caseReport("e2e/cipher-create", "ERROR", { detail: RATE_LIMITED(59) }),
  caseReport("e2e/send-create", "ERROR", { detail: RATE_LIMITED(3) }),
  caseReport("route/x", "PASS", {}),
  caseReport("hub/handshake/text", "NON-STRICT", { actual: "silence", failsRun: false }),
];

Deno.test("causes: masking removes ids, times, numbers and hex, and nothing else", () => {
  assert.equal(
    maskCause("at 2026-12-03T19:27:15.743Z device 9f86d081884c7d659a2feaa0c55ad015a got 3"),
    "at <time> device <hex> got <n>",
  );
  assert.equal(maskCause("closed\n  without   an answer"), "closed without an answer");
  assert.equal(maskCause("x".repeat(500)).length, 401);
});

Deno.test("causes: failures sharing one masked text and verdict form one cause, largest first", () => {
  const causes = failureCauses(CASES);
  assert.deepEqual(causes.map((g) => [g.verdict, g.cases]), [
    ["ERROR", ["e2e/folder-create", "e2e/cipher-create", "e2e/send-create"]],
    ["FAIL", ["hub/handshake/json"]],
    // Same text, other verdict: a SHOULD that does not fail the run is its own cause.
    ["NON-STRICT", ["hub/handshake/text"]],
  ]);
  assert.equal(causes[0]!.failingRun, 3);
  assert.match(causes[0]!.example, /retry after 12 s/);
  assert.equal(causes[2]!.failingRun, 0);
});

Deno.test("causes: console, index.json and report.html name a shared cause once with its cases", () => {
  const report = {
    tool: { name: "hubproof-conformance", version: "0" },
    target: { hubUrl: "http://127.0.0.1:1/hub", inject: "api", protocols: ["messagepack"] },
    cases: CASES,
    totals: { PASS: 1, FAIL: 1, "NON-STRICT": 1, INFORMATIONAL: 0, UNSUPPORTED: 0, ERROR: 3 },
    notCovered: { total: 0, byReason: [] },
    staleExpectations: [],
    expectedFailures: 0,
    unexpectedPasses: 0,
    failing: 4,
    passed: false,
    strict: false,
    requireAll: false,
    seed: 1,
    runs: 1,
    startedAt: "2026-12-03T00:00:00.000Z",
    endedAt: "2026-12-03T00:00:01.000Z",
    durationMs: 1000,
    cleanup: {
      kept: false,
      removed: { accounts: 3, organizations: 0, ciphers: 1, folders: 1, sends: 1 },
      failed: 1,
      failures: [{ reason: "account: DELETE /api/accounts answered HTTP 400", count: 1 }],
      stays: ["event logs"],
      durationMs: 10,
    },
  } as unknown as ConformanceReport;
  const lines: string[] = [];
  new ConsoleReporter({ write: (line) => lines.push(line) }).summary(report);
  const text = lines.join("\n");
  assert.equal(text.match(/identity\/connect\/token/g)?.length, 1, text);
  assert.match(text, /ERROR 3 cases, one cause \(all fail the run\)/);
  assert.match(text, /cases: {4}e2e\/folder-create, e2e\/cipher-create, e2e\/send-create/);
  assert.match(text, /FAIL hub\/handshake\/json \[MUST\]/);
  assert.match(
    text,
    /Cleanup: removed 3 accounts, 1 cipher, 1 folder, 1 send; 1 removal failure \(1× account: DELETE \/api\/accounts answered HTTP 400\); stays: event logs/,
  );

  const index = renderIndex(report) as { failureCauses: { cases: string[] }[] };
  assert.deepEqual(index.failureCauses[0]!.cases, [
    "e2e/folder-create",
    "e2e/cipher-create",
    "e2e/send-create",
  ]);

  const html = renderHtml(report);
  assert.match(html, /Failures by cause \(1 shared by several cases\)/);
  assert.match(html, /href="#case-e2e_send-create"/);
  assert.match(html, /Cleanup of what the run created on the target: removed 3 accounts/);
  const cleanup =
    (index as unknown as { cleanup: { removed: { accounts: number }; failed: number } })
      .cleanup;
  assert.deepEqual([cleanup.removed.accounts, cleanup.failed], [3, 1]);
});
