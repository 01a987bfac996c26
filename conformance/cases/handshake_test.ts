import assert from "node:assert/strict";
import { gradeAgainstScript } from "../testing/scripted_hub.ts";

const REFUSALS = [
  "hub/handshake/unknown-protocol",
  "hub/handshake/unsupported-version",
  "hub/handshake/malformed",
  "hub/handshake/message-before-handshake",
];

const run = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...run,
  name: "handshake refusals: 15 s of silence with the socket left open FAILs every refusal case",
  async fn() {
    const { verdicts } = await gradeAgainstScript({ otherHandshake: "silent" }, REFUSALS, {
      timeoutMs: 20_000,
    });
    for (const id of REFUSALS) {
      const got = verdicts.get(id);
      assert.equal(got?.verdict, "FAIL", `${id}: ${got?.detail}`);
      assert.match(got!.detail, /silence is not a refusal/);
    }
    // A watch shorter than the handshake timeout proves nothing either way.
    const short = await gradeAgainstScript({ otherHandshake: "silent" }, REFUSALS.slice(0, 1));
    assert.equal(short.verdicts.get(REFUSALS[0]!)?.verdict, "UNSUPPORTED");
  },
});

Deno.test({
  ...run,
  name: "handshake refusals: an error answer then a close PASSes, and so does a close",
  async fn() {
    for (const otherHandshake of ["error", "close"] as const) {
      const { verdicts } = await gradeAgainstScript({ otherHandshake }, REFUSALS);
      for (const id of REFUSALS) {
        const got = verdicts.get(id);
        assert.equal(got?.verdict, "PASS", `${otherHandshake} ${id}: ${got?.detail}`);
      }
    }
  },
});

Deno.test({
  ...run,
  name: "handshake refusals: a hub that answers no handshake at all fails the positive control",
  async fn() {
    const { verdicts } = await gradeAgainstScript({ protocols: [], otherHandshake: "close" }, [
      "hub/handshake/unknown-protocol",
    ]);
    const got = verdicts.get("hub/handshake/unknown-protocol");
    assert.equal(got?.verdict, "FAIL", got?.detail);
    assert.match(got!.detail, /positive control/);
  },
});

Deno.test({
  ...run,
  name:
    "handshake timeout: a hub that never closes a silent socket misses the SHOULD; one that closes meets it",
  async fn() {
    const { verdicts } = await gradeAgainstScript({}, ["hub/handshake/timeout"], {
      timeoutMs: 25_000,
    });
    assert.equal(verdicts.get("hub/handshake/timeout")?.verdict, "NON-STRICT");
    const closing = await gradeAgainstScript({ handshakeTimeoutMs: 500 }, [
      "hub/handshake/timeout",
    ]);
    assert.equal(closing.verdicts.get("hub/handshake/timeout")?.verdict, "PASS");
  },
});
