import assert from "node:assert/strict";
import { expectationStatus, parseExpectations } from "./expectations.ts";

Deno.test("parseExpectations: text format", () => {
  const e = parseExpectations(
    "# known failures\n\nhub/keepalive/ping: FAIL  # never pings\nroute/a/json: FAIL, ERROR\nqueue/x:NON-STRICT\n",
    { source: "x.txt" },
  );
  assert.deepEqual([...e.keys()], ["hub/keepalive/ping", "route/a/json", "queue/x"]);
  assert.deepEqual(e.get("hub/keepalive/ping"), { expected: ["FAIL"], reason: "never pings" });
  assert.deepEqual(e.get("route/a/json"), { expected: ["FAIL", "ERROR"] });
  assert.deepEqual(e.get("queue/x"), { expected: ["NON-STRICT"] });
});

Deno.test("parseExpectations: JSON format", () => {
  const e = parseExpectations(JSON.stringify({
    "a/b": "FAIL",
    "a/c": ["FAIL", "ERROR"],
    "a/d": { expected: "ERROR", reason: "flaky" },
  }));
  assert.deepEqual(e.get("a/b"), { expected: ["FAIL"] });
  assert.deepEqual(e.get("a/c"), { expected: ["FAIL", "ERROR"] });
  assert.deepEqual(e.get("a/d"), { expected: ["ERROR"], reason: "flaky" });
});

Deno.test("parseExpectations rejects malformed entries with the location", () => {
  assert.throws(
    () => parseExpectations("a/b FAIL", { source: "f" }),
    /^SyntaxError: f:1: expected "case-id: FAIL/,
  );
  assert.throws(
    () => parseExpectations("a/b: PASS", { source: "f" }),
    /f:1: unknown verdict "PASS"/,
  );
  assert.throws(
    () => parseExpectations("a/b: FAIL\na/b: ERROR", { source: "f" }),
    /f:2: a\/b is listed twice/,
  );
  assert.throws(() => parseExpectations("a/b:", { source: "f" }), /f:1: no verdict given/);
  assert.throws(() => parseExpectations("{ nope", { source: "f.json" }), /f\.json: invalid JSON/);
  assert.throws(
    () => parseExpectations('{"a": 3}', { source: "f.json" }),
    /f\.json: "a": expected a verdict/,
  );
  assert.throws(
    () => parseExpectations('{"a": {"expected": "FAIL", "reason": 1}}'),
    /"reason" must be a string/,
  );
});

Deno.test("expectationStatus", () => {
  const listed = { expected: ["FAIL" as const] };
  assert.equal(expectationStatus("FAIL", undefined), "unlisted");
  assert.equal(expectationStatus("FAIL", listed), "expected");
  assert.equal(expectationStatus("PASS", listed), "unexpected-pass");
  assert.equal(expectationStatus("ERROR", listed), "mismatch");
});
