import assert from "node:assert/strict";
import fc from "fast-check";
import { RecordingTrace } from "../trace.ts";
import {
  type CaseContext,
  CaseFailure,
  CaseUnsupported,
  type ResolvedTarget,
  TargetLimitReached,
} from "../types.ts";
import { checkWorlds, propertyTimeout, type WorldProperty } from "./_property.ts";

function context(options: { runs: number; timeoutMs?: number }): CaseContext {
  return {
    target: {} as ResolvedTarget,
    trace: new RecordingTrace(),
    signal: new AbortController().signal,
    timeoutMs: options.timeoutMs ?? 30_000,
    graceMs: 0,
    seed: 7,
    runs: options.runs,
    log: () => {},
  };
}

function property(run: (world: number) => Promise<readonly string[]>): WorldProperty<number> {
  return {
    arbitrary: fc.integer({ min: 0, max: 1000 }),
    run,
    describe: (world) => `world ${world}`,
    requirement: "every world holds",
    checked: "integer worlds",
  };
}

Deno.test("checkWorlds: every world holding is a PASS naming k of N", async () => {
  const result = await checkWorlds(
    context({ runs: 5 }),
    performance.now(),
    property(() => Promise.resolve([])),
  );
  assert.equal(result.verdict, undefined);
  assert.match(result.detail ?? "", /^5 of 5 worlds checked/);
});

Deno.test("checkWorlds: a failing world is a shrunk counterexample", async () => {
  const failing = property((world) =>
    Promise.resolve(world > 10 ? [`u0: missing push #1 in ${world}`] : [])
  );
  const error = await checkWorlds(context({ runs: 50 }), performance.now(), failing).catch((e) =>
    e
  );
  assert.ok(error instanceof CaseFailure);
  assert.match(error.actual, /shrunk counterexample .*world 11 -> u0: missing push #1 in 11/);
  assert.match(error.expected, /replay: --seed 7 --runs 50/);
});

Deno.test("checkWorlds: a world that cannot be built reports the target's reason, not a counterexample", async () => {
  let calls = 0;
  const refused = property((world) => {
    calls++;
    if (world % 2 === 1 || calls > 2) {
      return Promise.reject(
        new CaseUnsupported("Needs organizations, but POST /api/organizations was refused"),
      );
    }
    return Promise.resolve([]);
  });
  const error = await checkWorlds(context({ runs: 20 }), performance.now(), refused).catch((e) =>
    e
  );
  assert.ok(error instanceof CaseUnsupported, String(error));
  assert.match(
    error.message,
    /^World \d+ of 20 could not be built or run .*POST \/api\/organizations was refused/,
  );
  assert.ok(calls <= 3, `worlds after the broken one are not tried (${calls} tried)`);
});

Deno.test("checkWorlds: a spent login budget while building a world is UNSUPPORTED with its reason", async () => {
  const spent = property(() =>
    Promise.reject(new TargetLimitReached("The target's login rate limit is spent"))
  );
  const error = await checkWorlds(context({ runs: 20 }), performance.now(), spent).catch((e) => e);
  assert.ok(error instanceof CaseUnsupported, String(error));
  assert.match(error.message, /^World 1 of 20 could not be built .*login rate limit is spent/);
});

Deno.test("checkWorlds: a 429 while building a world is an error naming it", async () => {
  const limited = property(() =>
    Promise.reject(new Error("POST /identity/connect/token answered HTTP 429: Too many requests"))
  );
  const error = await checkWorlds(context({ runs: 20 }), performance.now(), limited).catch((e) =>
    e
  );
  assert.ok(error instanceof Error && !(error instanceof CaseFailure), String(error));
  assert.match(error.message, /World 1 of 20 could not be built or run.*HTTP 429/);
});

Deno.test("checkWorlds: fewer worlds than --runs within the budget is INFORMATIONAL with k of N", async () => {
  const slow = property(() => new Promise((resolve) => setTimeout(() => resolve([]), 60)));
  const result = await checkWorlds(
    context({ runs: 1000, timeoutMs: 1200 }),
    performance.now(),
    slow,
  );
  assert.equal(result.verdict, "INFORMATIONAL");
  assert.match(result.detail ?? "", /^\d+ of 1000 worlds checked before the case's budget ran out/);
});

Deno.test("propertyTimeout sizes a case from --runs", () => {
  assert.equal(propertyTimeout({ timeoutMs: 30_000, runs: 100 }, 2_000), 230_000);
});
