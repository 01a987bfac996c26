/**
 * The suite against the full reference deployment (`deno task serve`: identity, API and
 * Notifications), the way most users run it: no harness authority, so every token comes from
 * the target's identity. (a) `--inject api`: every MUST case that runs passes, and the e2e and
 * API isolation cases really ran; (b) `--inject send` with the internal key: the route and
 * isolation cases run on identity-backed worlds; (c) scale-out: two Notifications instances
 * sharing a real Redis pass `scaleout/*`, and the same pair without the backplane FAILs them.
 *
 * @module
 */

import { storeCounts } from "./_store_counts.ts";
import assert from "node:assert/strict";
import { type ConformanceReport, runConformance, type RunOptions } from "../runner.ts";
import { allCases } from "../cases/mod.ts";
import { routeCaseInfo } from "../cases/route.ts";
import type { ResolvedTarget, Verdict } from "../types.ts";
import { redisSkipReason, startRedis } from "../../testing/mod.ts";
import { SELFTEST_INTERNAL_KEY, serveTarget, startReferenceServe } from "./reference_serve.ts";
import { describeCleanup } from "../driver/cleanup_summary.ts";

const RUN: Omit<RunOptions, "target"> = {
  cases: allCases(),
  timeoutMs: 15_000,
  graceMs: 300,
  concurrency: 4,
  seed: 42,
  runs: 4,
};

async function run(
  target: ResolvedTarget,
  options: Partial<RunOptions> = {},
): Promise<{ report: ConformanceReport; ms: number }> {
  const started = performance.now();
  const report = await runConformance({ ...RUN, ...options, target });
  return { report, ms: Math.round(performance.now() - started) };
}

function ids(report: ConformanceReport, verdict: Verdict, prefix = ""): string[] {
  return report.cases.filter((c) => c.verdict === verdict && c.id.startsWith(prefix)).map((c) =>
    c.id
  );
}

/** MUST cases that ran and did not pass, with why. */
function mustNotPassed(report: ConformanceReport): string[] {
  return report.cases
    .filter((c) => c.level === "MUST" && c.verdict !== "PASS" && c.verdict !== "UNSUPPORTED")
    .map((c) => `${c.id}: ${c.verdict} ${c.detail ?? ""} ${c.actual ?? ""}`.slice(0, 400));
}

function summary(name: string, report: ConformanceReport, ms: number): void {
  const t = report.totals;
  console.log(
    `${name}: PASS ${t.PASS}, FAIL ${t.FAIL}, UNSUPPORTED ${t.UNSUPPORTED}, ERROR ${t.ERROR} in ${ms} ms; not covered: ${
      report.notCovered.byReason.map((g) => `${g.reason} (${g.count})`).join(", ") || "none"
    }`,
  );
}

Deno.test({
  name: "conformance suite against the full reference deployment, without the harness authority",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const serve = await startReferenceServe();
    try {
      await t.step(
        "inject api: every MUST case that runs passes; e2e and isolation ran",
        async () => {
          // With the internal key, the notification-center cases can create notifications too.
          const { report, ms } = await run(
            serveTarget(serve, { inject: "api", internalKey: SELFTEST_INTERNAL_KEY }),
          );
          summary("reference serve, inject api", report, ms);
          assert.deepEqual(mustNotPassed(report), []);
          const e2e = report.cases.filter((c) => c.id.startsWith("e2e/"));
          assert.ok(e2e.length >= 21, `${e2e.length} e2e cases`);
          assert.deepEqual(ids(report, "PASS", "e2e/"), e2e.map((c) => c.id));
          assert.deepEqual(ids(report, "PASS", "isolation/api-"), [
            "isolation/api-changes-equal-oracle",
          ]);
          // Handshake, keep-alive and token cases ran with tokens from the target's identity.
          assert.ok(ids(report, "PASS", "keepalive/").length >= 1);
          assert.ok(report.totals.PASS >= 28, `PASS ${report.totals.PASS}`);
          // What did not run is named: raw envelopes and forged tokens need other flags.
          const reasons = report.notCovered.byReason.map((g) => g.reason);
          assert.ok(reasons.includes("needs --inject send or queue"), reasons.join("; "));
          assert.ok(reasons.includes("needs --act-as-authority"), reasons.join("; "));
          // --require-all turns those gaps into a failing run.
          const strictGate = await runConformance({
            ...RUN,
            target: serveTarget(serve, { inject: "api" }),
            only: ["route/LogOut", "hub/auth/missing"],
            requireAll: true,
          });
          assert.equal(strictGate.passed, false);
          assert.deepEqual(
            strictGate.cases.filter((c) => c.failsRun).map((c) => c.id).sort(),
            routeCaseInfo().filter((r) => r.id.startsWith("route/LogOut/")).map((r) => r.id).sort(),
          );
        },
      );

      await t.step(
        "inject send, no authority: route and isolation run on identity-backed worlds",
        async () => {
          const { report, ms } = await run(
            serveTarget(serve, { inject: "send", internalKey: SELFTEST_INTERNAL_KEY }),
          );
          summary("reference serve, inject send", report, ms);
          assert.deepEqual(mustNotPassed(report), []);
          const routes = routeCaseInfo().map((r) => r.id);
          assert.deepEqual(ids(report, "PASS", "route/"), routes);
          assert.ok(ids(report, "PASS").includes("isolation/deliveries-equal-oracle"));
          assert.ok(ids(report, "PASS").includes("anon/only-requester"));
          // Only forged-token, queue, api and scale-out cases are left, each with its reason.
          assert.deepEqual(
            report.notCovered.byReason.map((g) => g.reason).sort(),
            [
              "needs --act-as-authority",
              "needs --inject api",
              "needs --inject queue",
              "needs two hub URLs (--scaleout-hub-url)",
            ],
          );
        },
      );
    } finally {
      await serve.stop();
    }
  },
});

Deno.test({
  name: "scale-out: two Notifications instances sharing Redis pass scaleout/*, without it FAIL",
  sanitizeResources: false,
  sanitizeOps: false,
  ignore: (await redisSkipReason()) !== null,
  async fn(t) {
    const redis = await startRedis();
    if (redis.status !== "started") throw new Error(redis.reason);
    try {
      for (const backplane of [true, false]) {
        await t.step(
          backplane ? "shared Redis backplane: scaleout/* PASS" : "no backplane: scaleout/* FAIL",
          async () => {
            const installation = crypto.randomUUID();
            const shared = ["--installation-id", installation];
            const redisArgs = backplane ? ["--redis", redis.url] : [];
            const first = await startReferenceServe([...shared, ...redisArgs]);
            try {
              const second = await startReferenceServe([
                ...shared,
                ...redisArgs,
                "--role",
                "notifications",
                "--identity-url",
                `${first.url}/identity`,
              ]);
              try {
                const { report, ms } = await run(
                  serveTarget(first, {
                    inject: "send",
                    internalKey: SELFTEST_INTERNAL_KEY,
                    scaleoutHubUrl: [`${second.url}/notifications/hub`],
                  }),
                  // A missing delivery is reported once its wait runs out: keep the wait short.
                  { only: ["scaleout"], timeoutMs: 6000 },
                );
                summary(`scale-out, backplane ${backplane}`, report, ms);
                const expected = backplane ? "PASS" : "FAIL";
                assert.deepEqual(
                  report.cases.map((c) => `${c.id}: ${c.verdict}`),
                  [
                    `scaleout/user-every-instance: ${expected}`,
                    `scaleout/anonymous-every-instance: ${expected}`,
                  ],
                  report.cases.map((c) => c.detail ?? "").join("\n"),
                );
              } finally {
                await second.stop();
              }
            } finally {
              await first.stop();
            }
          },
        );
      }
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name: "a run against the reference deployment removes every account and object it created",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const serve = await startReferenceServe();
    try {
      const store = serve.store!;
      const counts = () => ({ ...storeCounts(store), devices: store.devices.size });
      const before = counts();
      const { report } = await run(serveTarget(serve, { inject: "api" }), {
        only: ["e2e/", "isolation/api-changes-equal-oracle"],
      });
      assert.deepEqual(mustNotPassed(report), []);
      console.log(
        `reference serve cleanup: before ${JSON.stringify(before)}, ${
          describeCleanup(report.cleanup)
        }, after ${JSON.stringify(counts())}`,
      );
      assert.ok(report.cleanup.removed.accounts >= 10, JSON.stringify(report.cleanup));
      assert.ok(report.cleanup.removed.organizations >= 1, JSON.stringify(report.cleanup));
      assert.equal(report.cleanup.failed, 0, JSON.stringify(report.cleanup.failures));
      // The fixture users (alice, bob) and their devices are all that is left.
      assert.deepEqual(counts(), before);
    } finally {
      await serve.stop();
    }
  },
});
