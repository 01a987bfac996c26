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

Deno.test("recipients of one target can lose members while being iterated", () => {
  const registry = new ConnectionRegistry();
  const members = ["a", "b", "c"].map((id) => ({
    id,
    hub: "main" as const,
    userId: id,
    groups: ["Organization_o"],
  }));
  for (const member of members) registry.add(member);
  const visited: string[] = [];
  // A write that drops a slow consumer removes it from the registry mid-fan-out.
  for (
    const connection of registry.recipients("main", [{ kind: "group", group: "Organization_o" }])
  ) {
    visited.push(connection.id);
    registry.remove(connection);
  }
  assert.deepEqual(visited, ["a", "b", "c"]);
  assert.equal(registry.byGroup("main", "Organization_o").size, 0);
});
