import assert from "node:assert/strict";
import { LabelledCounter, renderPrometheus } from "./metrics.ts";

Deno.test("renderPrometheus escapes label values", () => {
  const text = renderPrometheus([{
    name: "x_total",
    help: "Help",
    type: "counter",
    samples: [{ labels: { a: 'q"\\\n' }, value: 1 }, { value: Infinity }],
  }]);
  assert.equal(
    text,
    '# HELP x_total Help\n# TYPE x_total counter\nx_total{a="q\\"\\\\\\n"} 1\nx_total +Inf\n',
  );
});

Deno.test("LabelledCounter keys label sets independently of order", () => {
  const counter = new LabelledCounter("c_total", "C");
  counter.inc({ a: "1", b: "2" });
  counter.inc({ b: "2", a: "1" }, 2);
  counter.inc({ a: "x" });
  assert.equal(counter.get({ a: "1", b: "2" }), 3);
  assert.equal(counter.get({ a: "x" }), 1);
  assert.equal(counter.get({ a: "none" }), 0);
  assert.equal(counter.family().samples.length, 2);
});
