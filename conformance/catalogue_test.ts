import assert from "node:assert/strict";
import { CATALOGUE_END, CATALOGUE_START, renderCatalogue, updateCatalogue } from "./catalogue.ts";
import { exampleCases } from "./testing/example_cases.ts";
import type { CaseDefinition } from "./types.ts";

const DOC_URL = new URL("../docs/conformance.md", import.meta.url);
const CASE_LIBRARY = new URL("./cases/mod.ts", import.meta.url);

function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch {
    return false;
  }
}

Deno.test("renderCatalogue groups by top-level segment and escapes cells", () => {
  const cases: CaseDefinition[] = [
    ...exampleCases(),
    {
      id: "route/SyncVault/json",
      level: "SHOULD",
      requirement: "A | pipe\nand a newline",
      needs: ["inject:envelope"],
      run: () => Promise.resolve(),
    },
  ];
  const md = renderCatalogue(cases);
  assert.match(md, /^8 cases\.\n/);
  assert.match(md, /\| \[`example`\]\(#example\) \| 7 \| 5 \| 1 \| 1 \|/);
  assert.match(md, /\| \[`route`\]\(#route\) \| 1 \| 0 \| 1 \| 0 \|/);
  assert.match(md, /### example\n\n\| Case \| Level \| Needs \| Requirement \| Source \|/);
  assert.match(
    md,
    /\| `example\/queue\/accepts-raw` \| MUST \| `inject:queue` \| The consumer MUST/,
  );
  assert.match(
    md,
    /\| `route\/SyncVault\/json` \| SHOULD \| `inject:envelope` \| A \\\| pipe and a newline \| {2}\|/,
  );
});

Deno.test("updateCatalogue rewrites only the marked section", () => {
  const doc = `# T\n\nintro\n\n${CATALOGUE_START}\n\nold\n\n${CATALOGUE_END}\n\nafter\n`;
  const updated = updateCatalogue(doc, exampleCases());
  assert.ok(
    updated.startsWith(
      `# T\n\nintro\n\n${CATALOGUE_START}\n<!-- deno-fmt-ignore-start -->\n\n7 cases.`,
    ),
  );
  assert.ok(updated.endsWith(`|\n\n<!-- deno-fmt-ignore-end -->\n${CATALOGUE_END}\n\nafter\n`));
  assert.ok(!updated.includes("old"));
  assert.equal(updateCatalogue(updated, exampleCases()), updated);
  assert.throws(() => updateCatalogue("# no markers", []), /Catalogue markers not found/);
});

Deno.test({
  name: "docs/conformance.md holds the current case catalogue",
  // Until the case library exists there is nothing to compare with; this test is then reported as ignored.
  ignore: !exists(CASE_LIBRARY),
  async fn() {
    const { loadAllCases } = await import("./_load_cases.ts");
    const doc = await Deno.readTextFile(DOC_URL);
    assert.equal(
      updateCatalogue(doc, await loadAllCases()),
      doc,
      "docs/conformance.md is stale: run deno task conformance:catalogue",
    );
  },
});

Deno.test("docs/conformance.md has the catalogue markers", async () => {
  const doc = await Deno.readTextFile(DOC_URL);
  assert.ok(
    doc.indexOf(CATALOGUE_START) >= 0 && doc.indexOf(CATALOGUE_END) > doc.indexOf(CATALOGUE_START),
  );
});
