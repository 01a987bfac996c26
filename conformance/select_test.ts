import assert from "node:assert/strict";
import { matchesPattern, selectCases } from "./select.ts";

Deno.test("matchesPattern", async (t) => {
  const id = "route/SyncOrgKeys/json";
  await t.step("segment-aligned prefixes", () => {
    assert.ok(matchesPattern(id, "route"));
    assert.ok(matchesPattern(id, "route/SyncOrgKeys"));
    assert.ok(matchesPattern(id, "route/SyncOrgKeys/"));
    assert.ok(matchesPattern(id, id));
    assert.ok(!matchesPattern(id, "route/SyncOrg"));
    assert.ok(!matchesPattern(id, "rout"));
    assert.ok(!matchesPattern(id, `${id}/more`));
  });
  await t.step("* stays inside one segment", () => {
    assert.ok(matchesPattern(id, "route/*/json"));
    assert.ok(matchesPattern(id, "route/Sync*"));
    assert.ok(matchesPattern(id, "*/*/js*"));
    assert.ok(!matchesPattern(id, "*/json"));
    assert.ok(!matchesPattern(id, "route/*Cipher*"));
  });
  await t.step("** spans segments", () => {
    assert.ok(matchesPattern(id, "**/json"));
    assert.ok(matchesPattern(id, "route/**/json"));
    assert.ok(matchesPattern(id, "route/**"));
    assert.ok(matchesPattern(id, "**"));
    assert.ok(!matchesPattern(id, "**/messagepack"));
  });
  await t.step("regex characters are literal", () => {
    assert.ok(matchesPattern("a/b.c", "a/b.c"));
    assert.ok(!matchesPattern("a/bxc", "a/b.c"));
    assert.ok(matchesPattern("a/(x)", "a/(*)"));
  });
});

Deno.test("selectCases keeps order and applies only then skip", () => {
  const items = ["hub/a", "hub/b", "route/x/json", "route/x/messagepack"].map((id) => ({ id }));
  assert.deepEqual(selectCases(items).map((i) => i.id), items.map((i) => i.id));
  assert.deepEqual(selectCases(items, { only: ["route", "hub/b"] }).map((i) => i.id), [
    "hub/b",
    "route/x/json",
    "route/x/messagepack",
  ]);
  assert.deepEqual(selectCases(items, { skip: ["**/json", "hub"] }).map((i) => i.id), [
    "route/x/messagepack",
  ]);
});
