import assert from "node:assert/strict";
import { PreflightError, UsageError } from "./errors.ts";
import { parseExpectations } from "./expectations.ts";
import {
  type ConformanceReport,
  exitCodeFor,
  runConformance,
  type RunEvent,
  type RunOptions,
} from "./runner.ts";
import { resolveTarget } from "./target.ts";
import { exampleCases } from "./testing/example_cases.ts";
import { type ExampleFault, startExampleTarget } from "./testing/example_target.ts";
import { type CaseDefinition, CaseFailure, type Verdict } from "./types.ts";

const FAST = { timeoutMs: 300, settleMs: 150, graceMs: 10, preflightTimeoutMs: 2000 } as const;

async function runAgainst(
  faults: readonly ExampleFault[],
  options: Partial<RunOptions> = {},
): Promise<ConformanceReport> {
  const target = await startExampleTarget({ faults });
  try {
    return await runConformance({
      target: resolveTarget({ target: target.url, inject: "send", internalToken: "good" }),
      cases: exampleCases(),
      ...FAST,
      ...options,
    });
  } finally {
    await target.close();
  }
}

function verdicts(report: ConformanceReport): Record<string, Verdict> {
  return Object.fromEntries(report.cases.map((c) => [c.id, c.verdict]));
}

function inlineCase(
  id: string,
  run: CaseDefinition["run"],
  level: CaseDefinition["level"] = "MUST",
): CaseDefinition {
  return { id, level, requirement: `${id} MUST work`, needs: [], run };
}

Deno.test("runConformance grades every verdict against a real target", async (t) => {
  await t.step("healthy target", async () => {
    const report = await runAgainst([]);
    assert.deepEqual(verdicts(report), {
      "example/hub/requires-token": "PASS",
      "example/send/requires-internal-token": "PASS",
      "example/hub/negotiate": "INFORMATIONAL",
      "example/api/alive-json": "PASS",
      "example/queue/accepts-raw": "UNSUPPORTED",
      "example/slow/answers": "FAIL",
      "example/harness/hang": "ERROR",
    });
    const byId = new Map(report.cases.map((c) => [c.id, c]));
    assert.match(
      byId.get("example/queue/accepts-raw")!.detail!,
      /Needs inject:queue \(run with --inject queue\)/,
    );
    const slow = byId.get("example/slow/answers")!;
    assert.equal(slow.expected, "an answer to GET /slow");
    assert.equal(slow.actual, "no answer within 300 ms");
    assert.match(
      byId.get("example/harness/hang")!.detail!,
      /did not finish within 300 ms and was abandoned/,
    );
    assert.match(byId.get("example/hub/negotiate")!.detail!, /WebSockets/);
    assert.equal(report.failing, 2);
    assert.equal(report.passed, false);
    assert.equal(exitCodeFor(report), 1);
    assert.deepEqual(report.totals, {
      PASS: 3,
      FAIL: 1,
      "NON-STRICT": 0,
      INFORMATIONAL: 1,
      UNSUPPORTED: 1,
      ERROR: 1,
    });
  });

  await t.step("broken target", async () => {
    const report = await runAgainst(["open-hub", "open-send", "html-alive", "no-negotiate"], {
      skip: ["example/slow", "example/harness"],
    });
    assert.deepEqual(verdicts(report), {
      "example/hub/requires-token": "FAIL",
      "example/send/requires-internal-token": "NON-STRICT",
      "example/hub/negotiate": "UNSUPPORTED",
      "example/api/alive-json": "ERROR",
      "example/queue/accepts-raw": "UNSUPPORTED",
    });
    const hub = report.cases[0]!;
    assert.equal(hub.expected, "HTTP 401");
    assert.equal(hub.actual, "HTTP 400");
    assert.ok(hub.trace.some((e) => e.summary === "GET /notifications/hub"));
    assert.match(report.cases.find((c) => c.verdict === "ERROR")!.detail!, /^SyntaxError: /);
    assert.deepEqual(report.cases.find((c) => c.verdict === "NON-STRICT")!.logs, [
      "POST /send answered 200",
    ]);
  });
});

Deno.test("runConformance: --strict turns NON-STRICT into a failing run", async () => {
  const options = { only: ["example/send"] };
  const lax = await runAgainst(["open-send"], options);
  assert.equal(lax.cases[0]!.verdict, "NON-STRICT");
  assert.equal(lax.passed, true);
  assert.equal(exitCodeFor(lax), 0);
  const strict = await runAgainst(["open-send"], { ...options, strict: true });
  assert.equal(strict.cases[0]!.verdict, "NON-STRICT");
  assert.equal(strict.passed, false);
  assert.equal(exitCodeFor(strict), 1);
});

Deno.test("runConformance applies expectations", async (t) => {
  const expectations = parseExpectations(
    "example/hub/requires-token: FAIL  # known bug\nexample/api/alive-json: ERROR\nexample/gone: FAIL\n",
  );
  const only = ["example/hub/requires-token", "example/api/alive-json"];
  await t.step("expected failures do not fail the run", async () => {
    const report = await runAgainst(["open-hub", "html-alive"], { only, expectations });
    assert.deepEqual(report.cases.map((c) => [c.verdict, c.expectation.status, c.failsRun]), [
      ["FAIL", "expected", false],
      ["ERROR", "expected", false],
    ]);
    assert.equal(report.cases[0]!.expectation.reason, "known bug");
    assert.equal(report.expectedFailures, 2);
    assert.equal(report.passed, true);
    assert.deepEqual(report.staleExpectations, ["example/gone"]);
  });
  await t.step("an unexpected pass is reported, and fails with --strict", async () => {
    const lax = await runAgainst([], { only, expectations });
    assert.deepEqual(lax.cases.map((c) => c.expectation.status), [
      "unexpected-pass",
      "unexpected-pass",
    ]);
    assert.equal(lax.unexpectedPasses, 2);
    assert.equal(lax.passed, true);
    const strict = await runAgainst([], { only, expectations, strict: true });
    assert.equal(strict.passed, false);
  });
  await t.step("a different failure than listed still fails the run", async () => {
    const report = await runAgainst(["html-alive"], {
      only: ["example/api/alive-json"],
      expectations: parseExpectations("example/api/alive-json: FAIL"),
    });
    assert.equal(report.cases[0]!.expectation.status, "mismatch");
    assert.equal(report.passed, false);
  });
});

Deno.test("runConformance: timeouts", async (t) => {
  const base = {
    target: resolveTarget({ hubUrl: "http://127.0.0.1:1/notifications/hub" }),
    preflight: false,
    ...FAST,
  };
  await t.step("CaseFailure in the settle window is graded by level", async () => {
    const waitsForAbort = (ctx: Parameters<CaseDefinition["run"]>[0]) =>
      new Promise<void>((_, reject) =>
        ctx.signal.addEventListener(
          "abort",
          () => reject(new CaseFailure("a ReceiveMessage", "no event within 300 ms")),
        )
      );
    const report = await runConformance({
      ...base,
      cases: [inlineCase("t/must", waitsForAbort), inlineCase("t/should", waitsForAbort, "SHOULD")],
    });
    assert.deepEqual(report.cases.map((c) => [c.verdict, c.actual]), [
      ["FAIL", "no event within 300 ms"],
      ["NON-STRICT", "no event within 300 ms"],
    ]);
  });
  await t.step("an AbortError after the timeout is ERROR", async () => {
    const report = await runConformance({
      ...base,
      cases: [
        inlineCase(
          "t/abort",
          (ctx) =>
            new Promise((_, reject) =>
              ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
            ),
        ),
      ],
    });
    assert.equal(report.cases[0]!.verdict, "ERROR");
    assert.match(report.cases[0]!.detail!, /timed out after 300 ms, then threw TimeoutError/);
  });
  await t.step("returning after the timeout is ERROR, not PASS", async () => {
    const report = await runConformance({
      ...base,
      cases: [
        inlineCase(
          "t/late",
          (ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve())),
        ),
      ],
    });
    assert.equal(report.cases[0]!.verdict, "ERROR");
    assert.match(report.cases[0]!.detail!, /only after its 300 ms timeout/);
  });
  await t.step("a case sizing its own timeout from --runs gets it", async () => {
    const sleeps = (ctx: Parameters<CaseDefinition["run"]>[0]) =>
      new Promise<void>((resolve) => setTimeout(resolve, 500)).then(() => {
        if (ctx.timeoutMs !== 300 + 4 * 100) throw new Error(`timeoutMs ${ctx.timeoutMs}`);
      });
    const report = await runConformance({
      ...base,
      runs: 4,
      cases: [
        { ...inlineCase("t/sized", sleeps), timeout: (run) => run.timeoutMs + run.runs * 100 },
        inlineCase("t/unsized", sleeps),
      ],
    });
    assert.deepEqual(report.cases.map((c) => c.verdict), ["PASS", "ERROR"]);
  });
});

Deno.test("runConformance: the pool never runs more than --concurrency cases", async () => {
  for (const concurrency of [1, 3]) {
    let running = 0;
    let peak = 0;
    const cases = Array.from({ length: 7 }, (_, i) =>
      inlineCase(`pool/${i}`, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 15));
        running--;
      }));
    const report = await runConformance({
      target: resolveTarget({ target: "http://127.0.0.1:1" }),
      cases,
      preflight: false,
      concurrency,
    });
    assert.equal(peak, concurrency);
    assert.equal(report.totals.PASS, 7);
    assert.deepEqual(report.cases.map((c) => c.id), cases.map((c) => c.id));
  }
});

Deno.test("runConformance starts startFirst cases first and reports in catalogue order", async () => {
  const started: string[] = [];
  const track = (id: string) =>
    inlineCase(id, () => {
      started.push(id);
      return Promise.resolve();
    });
  const cases = [track("order/a"), { ...track("order/long"), startFirst: true }, track("order/b")];
  const report = await runConformance({
    target: resolveTarget({ target: "http://127.0.0.1:1" }),
    cases,
    preflight: false,
    concurrency: 1,
  });
  assert.deepEqual(started, ["order/long", "order/a", "order/b"]);
  assert.deepEqual(report.cases.map((c) => c.id), ["order/a", "order/long", "order/b"]);
});

Deno.test("runConformance: selection, events, errors", async (t) => {
  const target = resolveTarget({ target: "http://127.0.0.1:1" });
  const cases = [
    inlineCase("a/x/1", () => Promise.resolve()),
    inlineCase("a/y/1", () => Promise.resolve()),
    inlineCase("b/x/1", () => Promise.reject(new TypeError("Boom <b>"))),
  ];
  await t.step("--only and --skip", async () => {
    const report = await runConformance({
      target,
      cases,
      preflight: false,
      only: ["a", "**/1"],
      skip: ["*/y"],
    });
    assert.deepEqual(report.cases.map((c) => c.id), ["a/x/1", "b/x/1"]);
    assert.equal(report.cases[1]!.verdict, "ERROR");
    assert.equal(report.cases[1]!.detail, "TypeError: Boom <b>");
  });
  await t.step("an empty selection is a usage error", async () => {
    await assert.rejects(
      runConformance({ target, cases, preflight: false, only: ["c"] }),
      (e) => e instanceof UsageError && e.flag === "--only",
    );
  });
  await t.step("duplicate ids are rejected", async () => {
    await assert.rejects(
      runConformance({ target, cases: [cases[0]!, cases[0]!], preflight: false }),
      /Duplicate case id: a\/x\/1/,
    );
  });
  await t.step("progress events", async () => {
    const events: RunEvent[] = [];
    await runConformance({
      target,
      cases,
      preflight: false,
      seed: 7,
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(events[0], { type: "start", total: 3, seed: 7 });
    const ends = events.filter((e) => e.type === "case-end");
    assert.deepEqual(ends.map((e) => e.type === "case-end" && e.completed), [1, 2, 3]);
  });
  await t.step("cancelling the run grades cases not started as ERROR", async () => {
    const cancel = new AbortController();
    const report = await runConformance({
      target,
      cases: [
        inlineCase("c/1", () => {
          cancel.abort();
          return Promise.resolve();
        }),
        inlineCase("c/2", () => Promise.resolve()),
      ],
      preflight: false,
      concurrency: 1,
      signal: cancel.signal,
    });
    assert.deepEqual(report.cases.map((c) => c.verdict), ["PASS", "ERROR"]);
    assert.equal(report.cases[1]!.detail, "Run cancelled before the case started");
  });
  await t.step("secrets are redacted from the report", async () => {
    const report = await runConformance({
      target: resolveTarget({
        target: "http://127.0.0.1:1",
        inject: "queue",
        queueConnectionString: "AccountName=a;AccountKey=s3cret;QueueEndpoint=http://127.0.0.1:1/a",
        internalKey: "k3y",
      }),
      cases,
      preflight: false,
    });
    const json = JSON.stringify(report);
    assert.ok(!json.includes("s3cret") && !json.includes("k3y"));
  });
});

Deno.test("runConformance: preflight", async (t) => {
  await t.step("unreachable hub", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await assert.rejects(
      runConformance({
        target: resolveTarget({ target: `http://127.0.0.1:${port}` }),
        cases: exampleCases(),
      }),
      (e) =>
        e instanceof PreflightError &&
        /Target hub unreachable: http:\/\/127\.0\.0\.1:\d+\/notifications\/hub/.test(e.message),
    );
  });
  await t.step("hub answering 404, /send missing", async () => {
    const target = await startExampleTarget();
    try {
      await assert.rejects(
        runConformance({
          target: resolveTarget({
            target: `${target.url}/wrong`,
            inject: "send",
            internalToken: "t",
          }),
          cases: exampleCases(),
        }),
        (e) =>
          e instanceof PreflightError && e.message.includes("Target hub not found") &&
          e.message.includes("Target /send not found"),
      );
    } finally {
      await target.close();
    }
  });
});

Deno.test("runConformance starts the acting authority and hands it to cases", async () => {
  let discovery: unknown;
  let token = "";
  const report = await runConformance({
    target: resolveTarget({ target: "http://127.0.0.1:1", actAsAuthority: 0 }),
    preflight: false,
    cases: [{
      id: "auth/mint",
      level: "MUST",
      requirement: "The authority MUST be available",
      needs: ["authority"],
      async run(ctx) {
        assert.ok(ctx.authority);
        const response = await fetch(`${ctx.authority.url}/.well-known/openid-configuration`);
        discovery = await response.json();
        token = await ctx.authority.mint({ claims: { sub: "u1" } });
      },
    }, { ...inlineCase("auth/unmet", () => Promise.resolve()), needs: ["scaleout"] }],
  });
  assert.deepEqual(report.cases.map((c) => c.verdict), ["PASS", "UNSUPPORTED"]);
  assert.match((discovery as { issuer: string }).issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(token.split(".").length, 3);
});
