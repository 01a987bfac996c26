import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gradeAgainstScript, type UpgradeAnswer } from "../testing/scripted_hub.ts";

const run = { sanitizeOps: false, sanitizeResources: false };

function expired(token: string): boolean {
  const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
  return typeof claims.exp === "number" && claims.exp * 1000 < Date.now();
}

/** A hub that refuses the missing and the expired token with `refusal`, accepts the rest. */
function refusing(refusal: UpgradeAnswer) {
  return (token: string | undefined): UpgradeAnswer =>
    token === undefined || expired(token) ? refusal : 101;
}

const CASES = ["hub/auth/missing", "hub/auth/expired"];

Deno.test({
  ...run,
  name: "auth refusals: 401 and 403 on the upgrade PASS",
  async fn() {
    for (const status of [401, 403]) {
      const { verdicts } = await gradeAgainstScript({ mainUpgrade: refusing(status) }, CASES);
      for (const id of CASES) assert.equal(verdicts.get(id)?.verdict, "PASS", `${status} ${id}`);
    }
  },
});

Deno.test({
  ...run,
  name: "auth refusals: a 502, a 404 or an upgrade never answered is not a refusal",
  async fn() {
    for (const answer of [502, 404, "hang"] as const) {
      const { verdicts } = await gradeAgainstScript({ mainUpgrade: refusing(answer) }, CASES, {
        timeoutMs: 9000,
      });
      for (const id of CASES) {
        const got = verdicts.get(id);
        assert.equal(got?.verdict, "FAIL", `${answer} ${id}: ${got?.detail}`);
      }
    }
  },
});

Deno.test({
  ...run,
  name: "auth refusals: a hub that refuses every token fails the positive control",
  async fn() {
    const { verdicts } = await gradeAgainstScript({ mainUpgrade: () => 401 }, CASES);
    for (const id of CASES) {
      const got = verdicts.get(id);
      assert.equal(got?.verdict, "FAIL", `${id}: ${got?.detail}`);
      assert.match(got!.detail, /positive control/);
    }
  },
});

Deno.test({
  ...run,
  name: "auth refusals: a hub that accepts every token FAILs",
  async fn() {
    const { verdicts } = await gradeAgainstScript({ mainUpgrade: () => 101 }, CASES);
    for (const id of CASES) assert.equal(verdicts.get(id)?.verdict, "FAIL", id);
  },
});
