import assert from "node:assert/strict";
import { ConnectionRegistry } from "./connection_registry.ts";

Deno.test("ConnectionRegistry indexes by user and group", () => {
  const registry = new ConnectionRegistry();
  const a = { id: "a", hub: "main" as const, userId: "U", groups: ["g1", "g2"] };
  const b = { id: "b", hub: "main" as const, userId: "u", groups: ["g2"] };
  const c = { id: "c", hub: "anonymous" as const, userId: null, groups: ["g2"] };
  for (const x of [a, b, c]) registry.add(x);
  assert.deepEqual([...registry.byUser("main", "U")], [a], "user ids are case-sensitive");
  assert.deepEqual([...registry.byGroup("main", "g2")], [a, b]);
  assert.deepEqual([...registry.byGroup("anonymous", "g2")], [c]);
  assert.deepEqual(
    [...registry.recipients("main", [{ kind: "user", userId: "U" }, {
      kind: "group",
      group: "g1",
    }])],
    [a],
    "a connection matched twice is delivered once",
  );
  assert.equal(registry.remove(a), true);
  assert.equal(registry.remove(a), false);
  assert.deepEqual([...registry.byGroup("main", "g1")], []);
  assert.equal(registry.count("main"), 1);
});
