/**
 * Proof that the suite passes the reference Notifications service and can fail: every MUST case
 * passes against the reference (inject send and inject queue with a real Azurite), and each
 * broken target (one fault each) FAILs exactly the cases that cover its fault.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runConformance } from "../runner.ts";
import { allCases, routeCaseInfo } from "../cases/mod.ts";
import { startAzurite } from "../../server/azurite/mod.ts";
import { type Fault, startTarget, type TargetOptions } from "./reference_target.ts";

interface Run {
  readonly failed: string[];
  readonly mustNotPassed: string[];
  readonly total: number;
  readonly ms: number;
}

async function run(
  options: TargetOptions,
  only: string[] | undefined,
  concurrency: number,
  timeoutMs = 12_000,
): Promise<Run> {
  const started = performance.now();
  const target = await startTarget(options);
  try {
    const report = await runConformance({
      target: target.target,
      cases: allCases(),
      authority: target.authority,
      timeoutMs,
      graceMs: 300,
      concurrency,
      seed: 42,
      runs: 6,
      ...(only ? { only } : {}),
    });
    return {
      failed: report.cases.filter((c) => c.verdict === "FAIL").map((c) => c.id).sort(),
      mustNotPassed: report.cases
        .filter((c) => c.level === "MUST" && c.verdict !== "PASS" && c.verdict !== "UNSUPPORTED")
        .map((c) => `${c.id}: ${c.verdict} ${c.detail ?? ""} ${c.actual ?? ""}`.slice(0, 400)),
      total: report.cases.length,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await target.close();
  }
}

const routes = routeCaseInfo();
const ids = (filter: (info: (typeof routes)[number]) => boolean) =>
  routes.filter(filter).map((r) => r.id);
const sorted = (list: string[]) => [...list].sort();

/** Broken targets in send mode: subset to run, and the cases that must FAIL. */
type Broken = { fault: Fault; only: string[]; expected: string[]; timeoutMs?: number };
const BROKEN: readonly Broken[] = [
  {
    fault: "org-to-everyone",
    only: [
      "route/SyncCipherCreate/*",
      "route/SyncOrganizationStatusChanged/*",
      "route/Notification/*",
      "route/LogOut/*",
      "isolation/*",
      "hub/auth/forged-organization",
    ],
    expected: [
      ...ids((r) =>
        r.scenario.organizationRouted &&
        (r.scenario.type === 1 || r.scenario.type === 18 || r.scenario.type === 20)
      ),
      "isolation/deliveries-equal-oracle",
    ],
  },
  {
    fault: "ignores-signature",
    only: ["hub/auth/*", "route/LogOut/*"],
    expected: [
      "hub/auth/alg-none",
      "hub/auth/bad-signature",
      "hub/auth/forged-organization",
      "hub/auth/unknown-kid",
    ],
  },
  {
    fault: "drops-context-id",
    only: ["route/LogOut/*", "route/SyncFolderCreate/*", "route/AuthRequestResponse/*", "anon/*"],
    expected: [
      ...ids((r) =>
        [11, 7, 16].includes(r.scenario.type) && r.protocol === "messagepack" &&
        r.scenario.name !== "null-context"
      ),
      "anon/only-requester",
    ],
  },
  {
    fault: "pascal-case-json",
    only: [
      "route/LogOut/*",
      "route/SyncFolderCreate/*",
      "route/AuthRequestResponse/*",
      "hub/handshake/json-protocol",
    ],
    expected: ids((r) => [11, 7, 16].includes(r.scenario.type) && r.protocol === "json"),
  },
  {
    fault: "anonymous-ignores-token",
    only: ["route/AuthRequestResponse/*", "route/LogOut/*", "anon/*"],
    expected: [...ids((r) => r.scenario.type === 16), "anon/only-requester", "anon/missing-token"],
  },
  {
    fault: "never-pings",
    only: ["keepalive/*", "route/LogOut/*"],
    // The clients' server timeout is 30 s: a shorter watch proves nothing (UNSUPPORTED).
    expected: ["keepalive/pinging-client-hears-server"],
    timeoutMs: 36_000,
  },
];

Deno.test({
  name: "conformance suite against the reference and broken targets",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await t.step("reference, inject send: every MUST case passes", async () => {
      const result = await run({ inject: "send" }, undefined, 6);
      console.log(`reference send: ${result.total} cases in ${result.ms} ms`);
      assert.deepEqual(result.mustNotPassed, []);
      assert.deepEqual(result.failed, []);
    });
    await t.step(
      "reference, two instances on an in-memory backplane: scaleout/* pass",
      async () => {
        const result = await run(
          { inject: "send", mutation: () => ({ secondInstance: {} }) },
          ["scaleout"],
          2,
        );
        console.log(`reference scale-out: ${result.total} cases in ${result.ms} ms`);
        assert.equal(result.total, 2);
        assert.deepEqual(result.mustNotPassed, []);
      },
    );
    await Promise.all(BROKEN.map((broken) =>
      t.step({
        name: `broken target ${broken.fault}: FAILs exactly its cases`,
        sanitizeOps: false,
        sanitizeResources: false,
        sanitizeExit: false,
        fn: async () => {
          const result = await run(
            { inject: "send", fault: broken.fault },
            broken.only,
            1,
            broken.timeoutMs,
          );
          console.log(
            `broken ${broken.fault}: ${result.failed.length} FAIL of ${result.total} in ${result.ms} ms`,
          );
          assert.deepEqual(result.failed, sorted(broken.expected));
        },
      })
    ));
    const azurite = await startAzurite();
    try {
      await t.step("reference, inject queue (Azurite): every MUST case passes", async () => {
        const result = await run(
          { inject: "queue", queueConnectionString: azurite.connectionString },
          [
            "queue/*",
            "route/SyncFolderCreate/*",
            "route/AuthRequestResponse/*",
            "route/Notification/organization/*",
            "anon/*",
            "isolation/*",
          ],
          4,
        );
        console.log(`reference queue: ${result.total} cases in ${result.ms} ms`);
        assert.deepEqual(result.mustNotPassed, []);
      });
      await t.step("broken target deletes-before-dispatch: FAILs exactly its cases", async () => {
        const result = await run(
          {
            inject: "queue",
            queueConnectionString: azurite.connectionString,
            fault: "deletes-before-dispatch",
          },
          // Not queue/slow: with the canary deleted at once, its lease watch falls back to 30 s.
          ["queue/raw", "queue/base64", "queue/*-*", "route/SyncFolderCreate/*"],
          1,
        );
        console.log(
          `broken deletes-before-dispatch: ${result.failed.join(", ")} in ${result.ms} ms`,
        );
        assert.deepEqual(result.failed, ["queue/failed-dispatch-retried"]);
      });
    } finally {
      await azurite.stop();
    }
  },
});
