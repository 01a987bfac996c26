import assert from "node:assert/strict";
import { RecordingTrace } from "./trace.ts";

Deno.test("RecordingTrace stamps, caps and seals", () => {
  let now = 100;
  const trace = new RecordingTrace({ now: () => now, maxEvents: 2 });
  now = 112.34;
  trace.record({ from: "harness", to: "send", kind: "inject", summary: "POST /send" });
  now = 120;
  trace.record({ from: "hub", to: "client:a", kind: "receive", summary: "type 5" });
  trace.record({ from: "hub", to: "client:b", kind: "receive", summary: "type 5" });
  assert.deepEqual(trace.events.map((e) => e.t), [12.3, 20]);
  trace.seal();
  trace.record({ from: "hub", to: "client:c", kind: "receive", summary: "late" });
  assert.equal(trace.events.length, 3);
  assert.equal(trace.events[2]!.summary, "Trace truncated: 1 more events dropped");
});
