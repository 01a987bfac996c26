/**
 * The suite grades the Vaultwarden-like stand-in case for case as it graded a real Vaultwarden
 * 1.37.2: the whole suite runs in process (`--inject api`, as the CLI parses it) against the
 * stand-in at Vaultwarden's default limits, and every verdict is compared with
 * `conformance/expectations/vaultwarden-1.37.txt`, which is regenerated from a real run with
 * `deno run --allow-read conformance/verdict_record.ts REPORT_DIR`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCli } from "../cli.ts";
import { runConformance } from "../runner.ts";
import { compareWithRecord, parseVerdictRecord } from "../verdict_record.ts";
import { startVaultwardenLikeTarget } from "./vaultwarden_like_target.ts";

const RECORD = new URL("../expectations/vaultwarden-1.37.txt", import.meta.url);

Deno.test({
  name: "the suite grades the Vaultwarden-like stand-in as it graded Vaultwarden 1.37.2",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const record = parseVerdictRecord(await Deno.readTextFile(RECORD), RECORD.pathname);
    const vw = await startVaultwardenLikeTarget();
    try {
      const command = await parseCli(["--target", vw.url, "--inject", "api"]);
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
