/**
 * Loads the case library lazily, so the runner, its reports and `--help` work (and type-check)
 * independently of it.
 *
 * @module
 */

import type { CaseDefinition } from "./types.ts";

/**
 * Imports `conformance/cases/mod.ts` and returns `allCases()`.
 *
 * @returns Every case definition, in catalogue order.
 * @throws {Error} When the case library is missing or malformed.
 */
export async function loadAllCases(): Promise<CaseDefinition[]> {
  const specifier = new URL("./cases/mod.ts", import.meta.url).href;
  let mod: { allCases?: () => CaseDefinition[] };
  try {
    mod = await import(specifier);
  } catch (error) {
    throw new Error(`Case library failed to load: ${specifier}: ${(error as Error).message}`);
  }
  if (typeof mod.allCases !== "function") {
    throw new Error(`Case library is malformed: ${specifier} does not export allCases()`);
  }
  return mod.allCases();
}
