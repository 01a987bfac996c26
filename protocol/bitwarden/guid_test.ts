import { strictEqual } from "node:assert/strict";
import { EMPTY_GUID, parseDotnetGuid, parseJsonGuid } from "./guid.ts";

const LOWER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";

Deno.test("parseJsonGuid accepts only the 36-character D format", async (t) => {
  await t.step("D format in any case is lowercased", () => {
    strictEqual(parseJsonGuid(LOWER), LOWER);
    strictEqual(parseJsonGuid(LOWER.toUpperCase()), LOWER);
    strictEqual(parseJsonGuid(EMPTY_GUID), EMPTY_GUID);
  });
  await t.step("other formats and junk are refused", () => {
    for (
      const text of [
        "abc",
        "",
        LOWER.replaceAll("-", ""),
        `{${LOWER}}`,
        `(${LOWER})`,
        ` ${LOWER}`,
        `${LOWER} `,
        LOWER.replace("d", "g"),
        LOWER.slice(0, 35),
      ]
    ) strictEqual(parseJsonGuid(text), undefined, text);
  });
});

Deno.test("parseDotnetGuid accepts the Guid.TryParse formats tokens use", () => {
  strictEqual(parseDotnetGuid(LOWER.toUpperCase()), LOWER);
  strictEqual(parseDotnetGuid(LOWER.replaceAll("-", "")), LOWER);
  strictEqual(parseDotnetGuid(`{${LOWER}}`), LOWER);
  strictEqual(parseDotnetGuid(`(${LOWER})`), LOWER);
  strictEqual(parseDotnetGuid(`  ${LOWER}\n`), LOWER);
  strictEqual(parseDotnetGuid(`{${LOWER})`), undefined);
  strictEqual(parseDotnetGuid("not-a-guid"), undefined);
  strictEqual(parseDotnetGuid(""), undefined);
});
