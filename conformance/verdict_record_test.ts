import assert from "node:assert/strict";
import { parseExpectations } from "./expectations.ts";
import {
  compareWithRecord,
  formatVerdictRecord,
  parseVerdictRecord,
  type RecordedCase,
  recordedHeader,
  recordedReasons,
} from "./verdict_record.ts";

const RUN: RecordedCase[] = [
  { id: "hub/a", verdict: "PASS", detail: "answer {} in a binary frame" },
  { id: "hub/b", verdict: "NON-STRICT", detail: "Expected x;\ngot y" },
  { id: "e2e/c", verdict: "ERROR", detail: "HTTP 429" },
  {
    id: "queue/d",
    verdict: "UNSUPPORTED",
    detail: "Needs inject:queue # (run with --inject queue)",
  },
];

Deno.test("a record lists every case, failing ones as expectations the CLI accepts", () => {
  const text = formatVerdictRecord(RUN, ["header"]);
  assert.equal(
    text,
    [
      "# header",
      "#= hub/a: PASS  # answer {} in a binary frame",
      "hub/b: NON-STRICT  # Expected x; got y",
      "e2e/c: ERROR  # HTTP 429",
      "#= queue/d: UNSUPPORTED  # Needs inject:queue # (run with --inject queue)",
      "",
    ].join("\n"),
  );
  assert.deepEqual([...parseExpectations(text).keys()], ["hub/b", "e2e/c"]);
  const record = parseVerdictRecord(text);
  assert.deepEqual(record.get("queue/d"), ["UNSUPPORTED"]);
  assert.deepEqual(compareWithRecord(record, RUN), []);
});

Deno.test("comparing names each case whose verdict differs, is missing or is extra", () => {
  const record = parseVerdictRecord(formatVerdictRecord(RUN, []));
  const run: RecordedCase[] = [
    { id: "hub/a", verdict: "UNSUPPORTED" },
    { id: "hub/b", verdict: "NON-STRICT" },
    { id: "e2e/c", verdict: "PASS" },
    { id: "new/e", verdict: "PASS" },
  ];
  assert.deepEqual(compareWithRecord(record, run), [
    "hub/a: UNSUPPORTED, recorded PASS",
    "e2e/c: PASS, recorded ERROR",
    "new/e: PASS, not in the record",
    "queue/d: recorded, but no such case",
  ]);
});

Deno.test("regeneration keeps a hand-written reason while the verdict stays", () => {
  const old = "hub/b: NON-STRICT  # src/api/notifications.rs:171\n#= hub/a: PASS  # kept\n";
  const keep = recordedReasons(old);
  const text = formatVerdictRecord(
    [
      { id: "hub/a", verdict: "FAIL", detail: "new failure" },
      { id: "hub/b", verdict: "NON-STRICT", detail: "generated" },
    ],
    [],
    { keep },
  );
  assert.equal(
    text,
    "hub/a: FAIL  # new failure\nhub/b: NON-STRICT  # src/api/notifications.rs:171\n",
  );
});

Deno.test("a malformed record line is named", () => {
  assert.throws(() => parseVerdictRecord("#= hub/a PASS\n", "f.txt"), /f\.txt:1: expected/);
  assert.throws(() => parseVerdictRecord("#= hub/a: MAYBE\n", "f.txt"), /f\.txt:1/);
});

Deno.test("regeneration keeps the hand-written header, not the generated one", () => {
  const old = "# Verdicts of a run against x\n# Regenerate: y\n# Run: defaults\n#= a: PASS\n";
  assert.deepEqual(recordedHeader(old), ["Run: defaults"]);
});
