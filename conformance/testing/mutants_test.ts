/**
 * CI part of the mutation audit: every mutant of the catalogue against its fast subset of cases.
 * Each must be KILLED by exactly its predicted cases (FAIL for MUST, NON-STRICT for SHOULD),
 * without ERRORs, except the mutants documented as legitimately surviving. The full-suite audit
 * is `deno run ... conformance/testing/mutants.ts --full`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { allCases } from "../cases/mod.ts";
import { matchesPattern } from "../select.ts";
import { MUTANTS } from "./mutant_catalogue.ts";
import { formatMutantTable, runMutants } from "./mutants.ts";
import { startAzurite } from "../../server/azurite/mod.ts";

Deno.test("mutant catalogue: ids unique, killers name real cases inside each subset", () => {
  const ids = allCases().map((c) => c.id);
  assert.equal(new Set(MUTANTS.map((m) => m.id)).size, MUTANTS.length);
  assert.ok(MUTANTS.length >= 15, `${MUTANTS.length} mutants`);
  for (const mutant of MUTANTS) {
    const selected = ids.filter((id) => mutant.only.some((p) => matchesPattern(id, p)));
    assert.ok(selected.length > 0, `${mutant.id}: its subset selects no case`);
    for (const killer of mutant.killers) {
      assert.ok(ids.some((id) => matchesPattern(id, killer)), `${mutant.id}: no case ${killer}`);
    }
    assert.ok(
      mutant.survives !== undefined ||
        mutant.killers.some((k) => selected.some((id) => matchesPattern(id, k))),
      `${mutant.id}: no killer inside its subset`,
    );
    assert.equal(mutant.survives !== undefined, mutant.killers.length === 0, mutant.id);
  }
});

Deno.test({
  name: "mutation audit (fast subsets): every mutant is killed by its cases, or survives by design",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const started = performance.now();
    // The queue mutants need a real Azure Storage queue.
    const azurite = MUTANTS.some((m) => m.inject === "queue") ? await startAzurite() : undefined;
    const results = await runMutants(MUTANTS, {
      parallel: 4,
      concurrency: 4,
      ...(azurite ? { queueConnectionString: azurite.connectionString } : {}),
    }).finally(() => azurite?.stop());
    console.log(formatMutantTable(MUTANTS, results));
    console.log(`${results.length} mutants in ${Math.round(performance.now() - started)} ms`);
    const problems = results.flatMap((r) => [
      ...(r.asPredicted ? [] : [`${r.id}: ${r.verdict}, missed ${r.missedKillers.join(", ")}`]),
      ...r.errors.map((id) => `${r.id}: ERROR in ${id}`),
      ...r.unexpected.map((id) => `${r.id}: unpredicted failure of ${id}`),
    ]);
    assert.deepEqual(problems, []);
  },
});
