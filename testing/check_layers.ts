/**
 * `deno task check` runs this after type checking: it reads every `.ts` file of the repository
 * and exits 1 naming each import that breaks a layer rule (see `layers.ts`).
 *
 * @module
 */

import { checkLayers, formatViolations, type SourceFile } from "./layers.ts";

const SKIPPED = new Set([".git", ".tools", "reports", "node_modules"]);

async function* sources(root: URL, prefix = ""): AsyncGenerator<SourceFile> {
  for await (const entry of Deno.readDir(new URL(prefix || ".", root))) {
    if (SKIPPED.has(entry.name)) continue;
    const path = prefix + entry.name;
    if (entry.isDirectory) yield* sources(root, path + "/");
    else if (entry.isFile && entry.name.endsWith(".ts")) {
      yield { path, text: await Deno.readTextFile(new URL(path, root)) };
    }
  }
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const files: SourceFile[] = [];
  for await (const file of sources(root)) files.push(file);
  const violations = checkLayers(files);
  if (violations.length > 0) {
    console.error(`Layer check failed: ${violations.length} import(s) break a rule\n`);
    console.error(formatViolations(violations));
    Deno.exit(1);
  }
  console.log(`Layer check: ${files.length} files, every import follows the layer rules`);
}
