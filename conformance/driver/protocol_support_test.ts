import assert from "node:assert/strict";
import { gradeAgainstScript } from "../testing/scripted_hub.ts";

const JSON_CASES = [
  "hub/handshake/json-protocol",
  "route/LogOut/user/json",
  "route/LogOut/null-context/json",
  "route/SyncFolderCreate/user/json",
];

Deno.test({
  name:
    "protocol probe: a MessagePack-only hub silent on JSON makes every JSON case UNSUPPORTED, probed once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { verdicts, handshakes } = await gradeAgainstScript(
      { protocols: ["messagepack"], otherHandshake: "silent" },
      [...JSON_CASES, "hub/handshake/websocket-messagepack"],
    );
    for (const id of JSON_CASES) {
      const got = verdicts.get(id);
      assert.equal(got?.verdict, "UNSUPPORTED", `${id}: ${got?.detail}`);
      assert.match(got!.detail, /JSON/);
    }
    assert.equal(verdicts.get("hub/handshake/websocket-messagepack")?.verdict, "PASS");
    assert.equal(handshakes.filter((p) => p === "json").length, 1, handshakes.join(","));
  },
});

Deno.test({
  name:
    "protocol probe: a hub answering no handshake is not graded UNSUPPORTED: MessagePack and the JSON routes FAIL",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { verdicts } = await gradeAgainstScript(
      { protocols: [], otherHandshake: "silent" },
      ["hub/handshake/websocket-messagepack", "route/LogOut/user/json"],
    );
    assert.equal(verdicts.get("hub/handshake/websocket-messagepack")?.verdict, "FAIL");
    const route = verdicts.get("route/LogOut/user/json");
    assert.equal(route?.verdict, "FAIL", route?.detail);
  },
});
