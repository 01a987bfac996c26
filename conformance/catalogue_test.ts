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

/** `owner/name path @ commit (detail)`, or with a tag: `owner/name path @ 1.37.2 (commit) (detail)`. */
const CITATION =
  /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+ [^\s@]+ @ (?:[0-9a-f]{40}|[^\s()]+ \([0-9a-f]{40}\))(?: \(.+\))?$/;
/** The research notes kept outside the repository, which a report must never cite. */
const NOTE =
  /\.md\s*§|\b(?:bitwarden-server|bitwarden-api|signalr-protocol|clients-[a-z]+|queue-scaleout-anchors)(?:\.md)?\b/;

function sourceProblems(cases: readonly CaseDefinition[]): string[] {
  const problems: string[] = [];
  for (const c of cases) {
    if (NOTE.test(c.requirement)) {
      problems.push(`${c.id}: requirement cites a note: ${c.requirement}`);
    }
    if (c.source === undefined) {
      problems.push(`${c.id}: no source`);
      continue;
    }
    if (NOTE.test(c.source)) problems.push(`${c.id}: source cites a note: ${c.source}`);
    for (const citation of c.source.split("; ")) {
      if (!CITATION.test(citation)) problems.push(`${c.id}: not "repo path @ commit": ${citation}`);
    }
  }
  return problems;
}

Deno.test("sourceProblems: a note section or a citation without a commit is named", () => {
  const base = { level: "MUST" as const, needs: [], run: () => Promise.resolve() };
  assert.deepEqual(
    sourceProblems([
      { ...base, id: "a", requirement: "R", source: "bitwarden-server.md §2.4" },
      { ...base, id: "b", requirement: "R", source: "bitwarden/server src/X.cs" },
      {
        ...base,
        id: "c",
        requirement: "R",
        source: `bitwarden/server src/X.cs @ ${
          "a".repeat(40)
        } (Y); dani-garcia/vaultwarden src/a.rs @ 1.37.2 (${"b".repeat(40)})`,
      },
      { ...base, id: "d", requirement: "R" },
    ]),
    [
      "a: source cites a note: bitwarden-server.md §2.4",
      'a: not "repo path @ commit": bitwarden-server.md §2.4',
      'b: not "repo path @ commit": bitwarden/server src/X.cs',
      "d: no source",
    ],
  );
});

Deno.test({
  name: "every case cites the upstream files its requirement comes from (repo path @ commit)",
  ignore: !exists(CASE_LIBRARY),
  async fn() {
    const { loadAllCases } = await import("./_load_cases.ts");
    // The self-test fixtures need no source, but one they carry must be upstream too.
    const examples = exampleCases().filter((c) => c.source !== undefined);
    assert.deepEqual(sourceProblems([...await loadAllCases(), ...examples]), []);
  },
});
