/**
 * The end-to-end producer cases (`e2e/org-*`, `e2e/policy-save`, `e2e/collection-management`,
 * `e2e/settings-domains`, `e2e/notification-*`) against the full reference deployment with
 * `--inject api`: every one PASSes. Then the same identity and API in front of a Notifications
 * service built with one realistic fault (test tree only, wired through `--notifications-url`):
 * the suite FAILs exactly the cases where clients would act wrongly, and grades NON-STRICT those
 * where clients read the push correctly but its form is not current Bitwarden's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ConformanceReport, runConformance } from "../runner.ts";
import { e2eProducerCases } from "../cases/e2e_producers.ts";
import { e2eCases } from "../cases/e2e.ts";
import { resolveTarget } from "../target.ts";
import type { CaseDefinition, ResolvedTarget } from "../types.ts";
import {
  routeEnvelope,
  toHubJsonArgument,
  toHubMessagePackArgument,
} from "../../protocol/bitwarden/mod.ts";
import type { Envelope, Route } from "../../protocol/bitwarden/mod.ts";
import {
  type Backplane,
  createNotificationsService,
  type NotificationsService,
} from "../../server/notifications/mod.ts";
import { stripPrefix } from "../../server/kernel/mod.ts";
import { everyoneWhen, type RuleFault, withFaults } from "./rule_faults.ts";
import { SELFTEST_INTERNAL_KEY, serveTarget, startReferenceServe } from "./reference_serve.ts";
import { echoBackplane } from "./_backplanes.ts";

const IDS = e2eProducerCases().map((c) => c.id);

async function run(
  target: ResolvedTarget,
  options: {
    concurrency: number;
    timeoutMs: number;
    cases?: CaseDefinition[];
    graceMs?: number;
  },
): Promise<ConformanceReport> {
  const started = performance.now();
  const report = await runConformance({
    target,
    cases: options.cases ?? e2eProducerCases(),
    timeoutMs: options.timeoutMs,
    graceMs: options.graceMs ?? 300,
    concurrency: options.concurrency,
    seed: 1,
    runs: 1,
  });
  const t = report.totals;
  console.log(
    `${target.hubUrl}: PASS ${t.PASS}, FAIL ${t.FAIL}, UNSUPPORTED ${t.UNSUPPORTED}, ERROR ${t.ERROR} in ${
      Math.round(performance.now() - started)
    } ms`,
  );
  return report;
}

function verdicts(report: ConformanceReport): Record<string, string> {
  return Object.fromEntries(report.cases.map((c) => [c.id, c.verdict]));
}

function details(report: ConformanceReport): string {
  return report.cases.filter((c) => c.verdict !== "PASS").map((c) =>
    `${c.id}: ${c.verdict} ${c.detail ?? ""} expected ${c.expected ?? ""} actual ${c.actual ?? ""}`
      .slice(0, 900)
  ).join("\n");
}

/** Declared payload keys the re-sent model drops leak through (as Vaultwarden's `Date`). */
function leakDeclaredFields(project: (e: Envelope) => Record<string, unknown>, camel: boolean) {
  return (envelope: Envelope) => {
    const argument = project(envelope);
    const key = camel ? "payload" : "Payload";
    const payload = { ...(argument[key] as Record<string, unknown>) };
    for (const [name, value] of Object.entries(envelope.payload)) {
      const out = camel ? name[0]!.toLowerCase() + name.slice(1) : name;
      if (!(out in payload)) payload[out] = value;
    }
    return { ...argument, [key]: payload };
  };
}

/** Organization cipher pushes list no collection: clients then skip an organization create. */
function emptyCollections(project: (e: Envelope) => Record<string, unknown>) {
  return (envelope: Envelope) => {
    const organization = [0, 1, 2, 9].includes(envelope.type) &&
      envelope.payload.OrganizationId !== null && envelope.payload.OrganizationId !== undefined;
    return project(
      organization
        ? { ...envelope, payload: { ...envelope.payload, CollectionIds: [] } }
        : envelope,
    );
  };
}

/**
 * The faults, each as Notifications delivery rules, the cases that must FAIL with it (clients act wrongly)
 * and those that must be NON-STRICT (clients read it correctly; the exact form differs).
 */
const FAULTS: Record<
  string,
  { rules: RuleFault; fails: string[]; nonStrict?: string[] }
> = {
  "re-sends the declared payload (keeps Date, Limit* fields)": {
    rules: {
      jsonArgument: leakDeclaredFields(toHubJsonArgument, true),
      messagePackArgument: leakDeclaredFields(toHubMessagePackArgument, false),
    },
    // Type 19's client reads are not modelled: its exact form is the MUST.
    fails: ["e2e/collection-management"],
    nonStrict: [
      "e2e/org-member-confirm",
      "e2e/org-member-remove",
      "e2e/org-member-revoke",
      "e2e/org-member-restore",
      "e2e/settings-domains",
      "e2e/cipher-import",
      "e2e/cipher-move",
    ],
  },
  "organization cipher pushes list an empty CollectionIds": {
    rules: {
      jsonArgument: emptyCollections(toHubJsonArgument),
      messagePackArgument: emptyCollections(toHubMessagePackArgument),
    },
    fails: ["e2e/org-cipher-create"],
    nonStrict: ["e2e/org-cipher-update", "e2e/org-cipher-delete", "e2e/cipher-collections"],
  },
  "delivers organization-group messages to every connection": {
    rules: everyoneWhen((route: Route) =>
      route.targets.some((t) => t.kind === "group" && t.group.startsWith("Organization_"))
    ),
    fails: [
      "e2e/org-cipher-create",
      "e2e/org-cipher-update",
      "e2e/cipher-collections",
      "e2e/org-cipher-delete",
      "e2e/policy-save",
      "e2e/collection-management",
    ],
  },
  "pushes no PolicyChanged (as Vaultwarden)": {
    rules: {
      routeEnvelope: (e) =>
        e.type === 25
          ? { ...routeEnvelope(e), targets: [], reason: "not pushed" }
          : routeEnvelope(e),
    },
    fails: ["e2e/policy-save"],
  },
  "drops ContextId": {
    rules: {
      jsonArgument: (e) => toHubJsonArgument({ ...e, contextId: null }),
      messagePackArgument: (e) => toHubMessagePackArgument({ ...e, contextId: null }),
    },
    // Clients re-apply their own cipher change harmlessly; a LogOut would end the acting session.
    fails: ["e2e/notification-read", "e2e/notification-delete", "e2e/password-change"],
    nonStrict: [
      "e2e/org-cipher-create",
      "e2e/org-cipher-update",
      "e2e/org-cipher-delete",
      "e2e/cipher-collections",
    ],
  },
};

Deno.test({
  name: "e2e producer cases PASS against the full reference deployment (inject api)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const serve = await startReferenceServe();
    try {
      const report = await run(
        serveTarget(serve, { inject: "api", internalKey: SELFTEST_INTERNAL_KEY }),
        { concurrency: 4, timeoutMs: 15_000 },
      );
      assert.deepEqual(
        verdicts(report),
        Object.fromEntries(IDS.map((id) => [id, "PASS"])),
        details(report),
      );
      // Without internal credentials there is no way to create a notification: UNSUPPORTED.
      const bare = await runConformance({
        target: serveTarget(serve, { inject: "api" }),
        cases: e2eProducerCases(),
        only: ["e2e/notification-read"],
        timeoutMs: 15_000,
        graceMs: 300,
      });
      assert.deepEqual(verdicts(bare), { "e2e/notification-read": "UNSUPPORTED" });
      assert.match(bare.cases[0]!.detail ?? "", /internal/);
    } finally {
      await serve.stop();
    }
  },
});

/** Identity and API of the reference server posting to a Notifications service with a fault. */
async function startFaultyDeployment(rules: RuleFault, backplane?: Backplane) {
  let service: NotificationsService | undefined;
  const notifications = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request, info) =>
      service
        ? service.fetch(
          request,
          stripPrefix(new URL(request.url).pathname, "/notifications") ?? "/",
          info,
        )
        : new Response("starting", { status: 503 }),
  );
  const notificationsUrl = `http://127.0.0.1:${notifications.addr.port}/notifications`;
  const serve = await startReferenceServe([
    "--role",
    "identity",
    "--role",
    "api",
    "--notifications-url",
    notificationsUrl,
  ]).catch(async (error) => {
    await notifications.shutdown();
    throw error;
  });
  try {
    service = await createNotificationsService({
      selfHosted: true,
      installationId: serve.config.installationId,
      auth: { authority: `${serve.url}/identity` },
      timers: { keepAliveMs: 1000, heartbeatMs: 3000, handshakeTimeoutMs: 5000 },
      log: () => {},
      rules: withFaults(rules),
      ...(backplane ? { backplane } : {}),
    });
    await service.start();
  } catch (error) {
    await serve.stop();
    await notifications.shutdown();
    throw error;
  }
  const target = resolveTarget({
    target: serve.url,
    hubUrl: `${notificationsUrl}/hub`,
    anonymousHubUrl: `${notificationsUrl}/anonymous-hub`,
    sendUrl: `${notificationsUrl}/send`,
    installationId: serve.config.installationId,
    inject: "api",
    internalKey: SELFTEST_INTERNAL_KEY,
  });
  return {
    target,
    async stop() {
      await serve.stop();
      await service?.shutdown();
      await notifications.shutdown();
    },
  };
}

Deno.test({
  name: "e2e producer cases FAIL exactly where a Notifications fault breaks the push",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    for (const [fault, { rules, fails, nonStrict = [] }] of Object.entries(FAULTS)) {
      await t.step(fault, async () => {
        const deployment = await startFaultyDeployment(rules);
        try {
          // One case at a time: a fault that leaks organization messages must not reach the
          // connections of a concurrently running case. A missing push is reported once its
          // wait (half the timeout) runs out: keep it short.
          const report = await run(deployment.target, { concurrency: 1, timeoutMs: 8000 });
          console.log(details(report).split("\n").map((l) => `  ${l.slice(0, 400)}`).join("\n"));
          assert.deepEqual(
            verdicts(report),
            Object.fromEntries(
              IDS.map((id) => [
                id,
                fails.includes(id) ? "FAIL" : nonStrict.includes(id) ? "NON-STRICT" : "PASS",
              ]),
            ),
            details(report),
          );
        } finally {
          await deployment.stop();
        }
      });
    }
  },
});

Deno.test({
  name: "e2e cases FAIL a late duplicate: every exactly-once check waits at least --grace",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The duplicate comes after two clients' fixed 500 ms windows, inside the grace asked for.
    const graceMs = 2000;
    const deployment = await startFaultyDeployment({}, echoBackplane(0.8 * graceMs));
    try {
      const cases = [...e2eCases(), ...e2eProducerCases()];
      const report = await run(deployment.target, {
        concurrency: 4,
        timeoutMs: 20_000,
        cases,
        graceMs,
      });
      console.log(details(report).split("\n").map((l) => `  ${l.slice(0, 300)}`).join("\n"));
      const notFailed = report.cases.filter((c) => c.verdict !== "FAIL").map((c) => c.id);
      assert.deepEqual(notFailed, [], details(report));
    } finally {
      await deployment.stop();
    }
  },
});
