import assert from "node:assert/strict";
import { CaseFailure, CaseUnsupported, type Level, TargetLimitReached } from "./types.ts";
import { failsRun, gradeOutcome } from "./verdict.ts";

Deno.test("gradeOutcome grades failures by level", () => {
  const error = new CaseFailure("one message", "two messages");
  const levels: Level[] = ["MUST", "SHOULD", "MAY"];
  assert.deepEqual(levels.map((level) => gradeOutcome(level, { kind: "threw", error })), [
    {
      verdict: "FAIL",
      expected: "one message",
      actual: "two messages",
      detail: "Expected one message; got two messages",
    },
    {
      verdict: "NON-STRICT",
      expected: "one message",
      actual: "two messages",
      detail: "Expected one message; got two messages",
    },
    {
      verdict: "INFORMATIONAL",
      expected: "one message",
      actual: "two messages",
      detail: "Expected one message; got two messages",
    },
  ]);
});

Deno.test("gradeOutcome: other outcomes", () => {
  assert.deepEqual(gradeOutcome("MUST", { kind: "returned", result: undefined }), {
    verdict: "PASS",
  });
  assert.deepEqual(
    gradeOutcome("MAY", { kind: "returned", result: { verdict: "INFORMATIONAL", detail: "SSE" } }),
    {
      verdict: "INFORMATIONAL",
      detail: "SSE",
    },
  );
  assert.deepEqual(gradeOutcome("MUST", { kind: "threw", error: new CaseUnsupported("No SSE") }), {
    verdict: "UNSUPPORTED",
    detail: "No SSE",
  });
  assert.deepEqual(gradeOutcome("MUST", { kind: "unmet", reason: "Needs scaleout" }), {
    verdict: "UNSUPPORTED",
    detail: "Needs scaleout",
  });
  assert.equal(
    gradeOutcome("MUST", { kind: "threw", error: new TypeError("x") }).detail,
    "TypeError: x",
  );
  assert.equal(gradeOutcome("MUST", { kind: "threw", error: "str" }).detail, "Thrown value: str");
  assert.equal(
    gradeOutcome("MUST", { kind: "threw", error: new Error("a", { cause: new Error("b") }) })
      .detail,
    "Error: a (cause: b)",
  );
  for (const kind of ["timeout", "late"] as const) {
    assert.equal(gradeOutcome("MAY", { kind, timeoutMs: 5 }).verdict, "ERROR");
  }
  assert.equal(gradeOutcome("MUST", { kind: "cancelled" }).verdict, "ERROR");
});

Deno.test("failsRun", () => {
  assert.equal(failsRun("FAIL", "unlisted"), true);
  assert.equal(failsRun("ERROR", "unlisted"), true);
  assert.equal(failsRun("ERROR", "mismatch"), true);
  assert.equal(failsRun("FAIL", "expected"), false);
  assert.equal(failsRun("NON-STRICT", "unlisted"), false);
  assert.equal(failsRun("NON-STRICT", "unlisted", { strict: true }), true);
  assert.equal(failsRun("NON-STRICT", "expected", { strict: true }), false);
  assert.equal(failsRun("PASS", "unexpected-pass"), false);
  assert.equal(failsRun("PASS", "unexpected-pass", { strict: true }), true);
  for (const v of ["PASS", "INFORMATIONAL", "UNSUPPORTED"] as const) {
    assert.equal(failsRun(v, "unlisted", { strict: true }), false);
  }
});

Deno.test("gradeOutcome: a spent target limit is UNSUPPORTED at every level, never ERROR", () => {
  const error = new TargetLimitReached("The target's login rate limit is spent");
  for (const level of ["MUST", "SHOULD", "MAY"] as const) {
    assert.deepEqual(gradeOutcome(level, { kind: "threw", error }), {
      verdict: "UNSUPPORTED",
      detail: "The target's login rate limit is spent",
    });
  }
});

Deno.test("gradeOutcome: a failure's own weaker level wins, a stronger one never does", () => {
  const should = new CaseFailure("exact form", "Date instead of Reason", undefined, {
    level: "SHOULD",
  });
  const must = new CaseFailure("a message", "none", undefined, { level: "MUST" });
  assert.equal(gradeOutcome("MUST", { kind: "threw", error: should }).verdict, "NON-STRICT");
  assert.equal(gradeOutcome("MAY", { kind: "threw", error: should }).verdict, "INFORMATIONAL");
  assert.equal(gradeOutcome("SHOULD", { kind: "threw", error: must }).verdict, "NON-STRICT");
  assert.equal(gradeOutcome("MUST", { kind: "threw", error: must }).verdict, "FAIL");
});
