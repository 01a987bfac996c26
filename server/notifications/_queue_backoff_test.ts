import assert from "node:assert/strict";
import { errorBackoffWait, nextIdleWait } from "./_queue_backoff.ts";

Deno.test("nextIdleWait doubles from min to max and restarts at min", () => {
  const range = { minMs: 100, maxMs: 2_000 };
  const waits: number[] = [];
  let wait: number | undefined;
  for (let i = 0; i < 7; i++) waits.push(wait = nextIdleWait(wait, range));
  assert.deepEqual(waits, [100, 200, 400, 800, 1_600, 2_000, 2_000]);
  assert.equal(nextIdleWait(undefined, range), 100);
});

Deno.test("errorBackoffWait grows exponentially with bounded jitter", async (t) => {
  const range = { minMs: 250, maxMs: 30_000 };
  await t.step("jitter stays within [base / 2, base]", () => {
    for (let failures = 1; failures <= 12; failures++) {
      const base = Math.min(30_000, 250 * 2 ** (failures - 1));
      assert.equal(errorBackoffWait(failures, range, () => 0), base / 2);
      assert.equal(errorBackoffWait(failures, range, () => 0.999999), Math.round(base * 0.9999995));
    }
  });
  await t.step("consecutive waits never shrink before the cap, whatever the jitter", () => {
    for (let failures = 1; 250 * 2 ** failures <= 30_000; failures++) {
      const longest = errorBackoffWait(failures, range, () => 0.999999);
      const shortestNext = errorBackoffWait(failures + 1, range, () => 0);
      assert.ok(shortestNext >= longest, `${failures}: ${shortestNext} < ${longest}`);
    }
  });
  await t.step("huge failure counts stay at the cap", () => {
    assert.equal(errorBackoffWait(10_000, range, () => 1), 30_000);
  });
});
