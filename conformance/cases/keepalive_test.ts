import assert from "node:assert/strict";
import { gradeAgainstScript } from "../testing/scripted_hub.ts";

const run = { sanitizeOps: false, sanitizeResources: false };
const CASES = [
  "keepalive/pinging-client-hears-server",
  "keepalive/server-ping",
  "keepalive/heartbeat",
];

Deno.test({
  ...run,
  name:
    "keep-alive: a hub that echoes but never pings (Vaultwarden) passes the MUST, misses the SHOULD, has no Heartbeat",
  async fn() {
    const { verdicts } = await gradeAgainstScript({ echo: true }, CASES, { timeoutMs: 36_000 });
    const must = verdicts.get("keepalive/pinging-client-hears-server");
    assert.equal(must?.verdict, "PASS", must?.detail);
    assert.match(must!.detail, /^Ping after \d+ ms/);
    const should = verdicts.get("keepalive/server-ping");
    assert.equal(should?.verdict, "NON-STRICT", should?.detail);
    assert.equal(verdicts.get("keepalive/heartbeat")?.verdict, "UNSUPPORTED");
  },
});

Deno.test({
  ...run,
  name:
    "keep-alive: a hub that neither echoes nor pings FAILs the MUST after the 30 s server timeout",
  async fn() {
    const { verdicts } = await gradeAgainstScript({}, CASES.slice(0, 1), { timeoutMs: 36_000 });
    const must = verdicts.get("keepalive/pinging-client-hears-server");
    assert.equal(must?.verdict, "FAIL", must?.detail);
    assert.match(must!.detail, /nothing for 3\d{4} ms/);
  },
});

Deno.test({
  ...run,
  name:
    "keep-alive: a hub pinging on its own and beating passes all three; a short timeout is UNSUPPORTED, not FAIL",
  async fn() {
    const { verdicts } = await gradeAgainstScript(
      { pingEveryMs: 2000, heartbeatEveryMs: 1000 },
      CASES,
    );
    for (const id of CASES) assert.equal(verdicts.get(id)?.verdict, "PASS", id);
    const short = await gradeAgainstScript({}, CASES, { timeoutMs: 6000 });
    for (const id of CASES) {
      const got = short.verdicts.get(id);
      assert.equal(got?.verdict, "UNSUPPORTED", `${id}: ${got?.detail}`);
      assert.match(got!.detail, /--timeout/);
    }
  },
});
