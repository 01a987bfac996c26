/**
 * The suite grades the Vaultwarden-like stand-in case for case as it graded a real Vaultwarden
 * 1.37.2: the whole suite runs in process (`--inject api`, as the CLI parses it) against the
 * stand-in, and every verdict is compared with `conformance/expectations/vaultwarden-1.37.txt`,
 * which is regenerated from a real run with
 * `deno run --allow-read conformance/verdict_record.ts REPORT_DIR`.
 *
 * Both runs raise the login and registration rate limits to a burst of 1000
 * (`LOGIN_RATELIMIT_MAX_BURST`, `UNAUTHENTICATED_RATELIMIT_MAX_BURST`): at Vaultwarden's default
 * burst of 10 logins, which cases get a login before the budget is spent depends on how fast the
 * server answers, so the two runs could not be compared case for case; with the budget out of the
 * way every API-driven case runs and is graded on what the server did. That a spent budget is
 * UNSUPPORTED, never ERROR, is the second test: the API-driven cases at the default limits.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCli } from "../cli.ts";
import { runConformance } from "../runner.ts";
import { compareWithRecord, parseVerdictRecord } from "../verdict_record.ts";
import { startVaultwardenLikeTarget } from "./vaultwarden_like_target.ts";

const RECORD = new URL("../expectations/vaultwarden-1.37.txt", import.meta.url);
/**
 * The record's real run used `--runs 5 --timeout 90000`: five worlds for the API property (each
 * world registers and logs in real accounts) and 90 s for a debug Vaultwarden build's slow
 * organization set-up. The stand-in answers in milliseconds, so 40 s gives every case the same
 * verdict (the keep-alive watch still sees its full 30 s, the Heartbeat watch is still cut short)
 * while the two Heartbeat watches end after ~33 s instead of ~83 s.
 */
const RECORD_FLAGS = ["--runs", "5", "--timeout", "40000"];

Deno.test({
  name: "the suite grades the Vaultwarden-like stand-in as it graded Vaultwarden 1.37.2",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const record = parseVerdictRecord(await Deno.readTextFile(RECORD), RECORD.pathname);
    const raised = { burst: 1000, seconds: 1 };
    const vw = await startVaultwardenLikeTarget({
      loginRateLimit: raised,
      unauthenticatedRateLimit: raised,
    });
    try {
      const command = await parseCli(["--target", vw.url, "--inject", "api", ...RECORD_FLAGS]);
      assert.equal(command.kind, "run");
      const report = await runConformance(command.options);
      const differences = compareWithRecord(record, report.cases);
      assert.deepEqual(
        differences,
        [],
        `${differences.length} verdicts differ from ${RECORD.pathname}:\n${differences.join("\n")}`,
      );
    } finally {
      await vw.close();
    }
  },
});

Deno.test({
  name:
    "at Vaultwarden's default login limit, a spent budget is UNSUPPORTED and the rest as recorded",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const record = parseVerdictRecord(await Deno.readTextFile(RECORD), RECORD.pathname);
    const vw = await startVaultwardenLikeTarget();
    try {
      const command = await parseCli([
        "--target",
        vw.url,
        "--inject",
        "api",
        ...RECORD_FLAGS,
        "--only",
        "e2e/*",
        "--only",
        "isolation/api-*",
      ]);
      assert.equal(command.kind, "run");
      const report = await runConformance(command.options);
      const spent = report.cases.filter((c) =>
        c.verdict === "UNSUPPORTED" && /login rate limit is spent/.test(c.detail ?? "")
      );
      assert.ok(spent.length > 0, "10 logins cannot cover every API-driven case");
      assert.deepEqual(report.cases.filter((c) => c.verdict === "ERROR").map((c) => c.id), []);
      const graded = report.cases.filter((c) => !spent.includes(c));
      assert.ok(graded.length > 0, "the budget let no API-driven case run");
      const ran = new Map([...record].filter(([id]) => graded.some((c) => c.id === id)));
      assert.deepEqual(compareWithRecord(ran, graded), []);
    } finally {
      await vw.close();
    }
  },
});
