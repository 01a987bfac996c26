import assert from "node:assert/strict";
import { parseCli } from "../cli.ts";
import { runConformance } from "../runner.ts";
import { allCases } from "./mod.ts";
import { startTarget } from "../testing/reference_target.ts";
import { startVaultwardenLikeTarget } from "../testing/vaultwarden_like_target.ts";

const IDS = [
  "hub/handshake/negotiate-versions",
  "hub/handshake/version-2",
  "hub/protocol/message-too-large",
  "hub/protocol/json-parse-error",
  "hub/protocol/close-allow-reconnect",
];

const run = { sanitizeOps: false, sanitizeResources: false };

function verdicts(cases: readonly { id: string; verdict: string; detail?: string }[]) {
  return Object.fromEntries(
    cases.map((c) => [c.id, `${c.verdict}${c.detail ? ` ${c.detail}` : ""}`]),
  );
}

Deno.test({
  ...run,
  name: "negotiate versions, version-2 handshake and protocol-error closes pass the reference",
  async fn() {
    const target = await startTarget({});
    try {
      const report = await runConformance({
        target: target.target,
        cases: allCases(),
        authority: target.authority,
        timeoutMs: 12_000,
        graceMs: 300,
        concurrency: 5,
        seed: 42,
        runs: 1,
        only: IDS,
      });
      const got = verdicts(report.cases);
      assert.deepEqual(Object.keys(got).sort(), [...IDS].sort());
      for (const id of IDS) assert.match(got[id]!, /^PASS/, `${id}: ${got[id]}`);
    } finally {
      await target.close();
    }
  },
});

Deno.test({
  ...run,
  name:
    "the Vaultwarden-like stand-in: no negotiate, no JSON, silence for version 2, echo for 36 KB",
  async fn() {
    const vw = await startVaultwardenLikeTarget({});
    try {
      const command = await parseCli([
        "--target",
        vw.url,
        "--inject",
        "api",
        "--timeout",
        "12000",
        ...IDS.flatMap((id) => ["--only", id]),
      ]);
      assert.equal(command.kind, "run");
      const got = verdicts((await runConformance(command.options)).cases);
      assert.match(got["hub/handshake/negotiate-versions"]!, /^UNSUPPORTED/);
      assert.match(got["hub/handshake/version-2"]!, /^NON-STRICT/);
      assert.match(got["hub/protocol/message-too-large"]!, /^NON-STRICT .*stayed open/);
      assert.match(got["hub/protocol/json-parse-error"]!, /^UNSUPPORTED/);
      assert.match(got["hub/protocol/close-allow-reconnect"]!, /^UNSUPPORTED/);
    } finally {
      await vw.close();
    }
  },
});
