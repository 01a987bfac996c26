/**
 * The import rules that keep hubproof's layers pointing one way, as a pure check over source
 * texts (the `check_layers.ts` script feeds it the repository):
 *
 * - `protocol/` and `config/` (the flag parser and value checks) import nothing of ours, and
 *   every layer may import `config/`;
 * - `testing/` imports `protocol/` only, so the suite that re-exports it never loads the server;
 * - `server/` imports `protocol/`; its tests also `testing/`; nothing in `server/` imports
 *   `conformance/`; `server/identity` and `server/api` never import each other (they share
 *   `server/kernel`); the embedded Azurite launcher uses the one child-process helper in `testing/`;
 * - `conformance/` imports `protocol/` and `testing/`; only its self-test tree
 *   (`conformance/testing/`) may start the reference server;
 * - `bench/` may import everything but `conformance/`;
 * - an import that leaves its top-level folder goes through that folder's front door (`mod.ts`).
 *
 * In the spirit of the standard library's `_tools/check_circular_package_dependencies.ts`
 * (denoland/std, `_tools/check_circular_package_dependencies.ts`).
 *
 * @example
 * ```ts
 * import { checkLayers } from "./layers.ts";
 * const violations = checkLayers([
 *   { path: "protocol/a.ts", text: 'import { x } from "../server/mod.ts";' },
 * ]);
 * console.assert(violations.length === 1);
 * console.assert(violations[0]!.rule === "protocol imports nothing of ours");
 * ```
 *
 * @module
 */

/** One source file, its path relative to the repository root with `/` separators. */
export interface SourceFile {
  /** Path from the repository root, e.g. `server/api/folders.ts`. */
  readonly path: string;
  /** The file's text. */
  readonly text: string;
}

/** One import that breaks a rule. */
export interface LayerViolation {
  /** The importing file. */
  readonly from: string;
  /** The imported file, resolved from the repository root. */
  readonly to: string;
  /** The specifier as written. */
  readonly specifier: string;
  /** The rule it breaks, in words. */
  readonly rule: string;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

/**
 * Lists the relative import specifiers of a source text (static, dynamic and side-effect
 * imports and re-exports), skipping those inside JSDoc example blocks.
 *
 * @param text A TypeScript source text.
 * @returns The specifiers that start with `.`.
 */
export function relativeSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const match of code.matchAll(SPECIFIER)) {
    const specifier = match[1]!;
    if (specifier.startsWith(".")) found.push(specifier);
  }
  return found;
}

/**
 * Resolves a relative specifier against the importing file's path.
 *
 * @param from The importing file, from the repository root.
 * @param specifier A specifier starting with `./` or `../`.
 * @returns The imported path from the repository root (`..` above the root is kept).
 */
export function resolveFrom(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const segment of specifier.split("/")) {
    if (segment === "." || segment === "") continue;
    if (segment === "..") {
      if (parts.length === 0 || parts[parts.length - 1] === "..") parts.push("..");
      else parts.pop();
    } else parts.push(segment);
  }
  return parts.join("/");
}

function isTestFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.endsWith("_test.ts") || name.endsWith("_bench.ts") || name === "_testing.ts" ||
    name === "testing.ts" || name === "_test_helpers.ts" || name === "_e2e_scenario.ts";
}

function top(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function startsWithFolder(path: string, folder: string): boolean {
  return path.startsWith(folder + "/");
}

/** The folders a file may import from, or why none of the listed rules applies. */
function allowedTops(from: string): { readonly tops: readonly string[]; readonly rule: string } {
  const { tops, rule } = ownTops(from);
  // config/ is a leaf every layer shares (flags and value checks), like protocol/ for wire forms.
  return { tops: top(from) === "protocol" ? tops : [...tops, "config"], rule };
}

/** The folders a file may import from besides `config/`, or why none of the listed rules applies. */
function ownTops(from: string): { readonly tops: readonly string[]; readonly rule: string } {
  const test = isTestFile(from);
  switch (top(from)) {
    case "config":
      return { tops: ["config"], rule: "config imports nothing of ours" };
    case "protocol":
      return { tops: ["protocol"], rule: "protocol imports nothing of ours" };
    case "testing":
      return { tops: ["protocol", "testing"], rule: "testing imports protocol only" };
    case "server":
      if (test) {
        return {
          tops: ["protocol", "server", "testing"],
          rule: "server tests import no conformance",
        };
      }
      if (startsWithFolder(from, "server/azurite")) {
        return {
          tops: ["protocol", "server", "testing"],
          rule: "the Azurite launcher imports protocol, server and the child-process helper",
        };
      }
      return { tops: ["protocol", "server"], rule: "server imports protocol only" };
    case "conformance":
      if (startsWithFolder(from, "conformance/testing")) {
        return {
          tops: ["protocol", "testing", "conformance", "server"],
          rule: "the suite's self-tests import protocol, testing, conformance and server",
        };
      }
      return {
        tops: ["protocol", "testing", "conformance"],
        rule: "conformance imports protocol and testing, never server",
      };
    case "bench":
      return {
        tops: ["protocol", "server", "testing", "bench"],
        rule: "bench imports no conformance",
      };
    default:
      return { tops: ["protocol", "server", "testing", "conformance", "bench"], rule: "" };
  }
}

/**
 * Checks every relative import of the given files against hubproof's layer rules.
 *
 * @param files The sources to check.
 * @returns Every import that breaks a rule, in file order.
 */
export function checkLayers(files: Iterable<SourceFile>): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const file of files) {
    const { tops, rule } = allowedTops(file.path);
    for (const specifier of relativeSpecifiers(file.text)) {
      const to = resolveFrom(file.path, specifier);
      const add = (broken: string) =>
        violations.push({ from: file.path, to, specifier, rule: broken });
      const target = top(to);
      if (!tops.includes(target)) {
        add(rule);
        continue;
      }
      if (!isTestFile(file.path)) {
        if (startsWithFolder(file.path, "server/identity") && startsWithFolder(to, "server/api")) {
          add("identity does not import api (both use server/kernel)");
          continue;
        }
        if (startsWithFolder(file.path, "server/api") && startsWithFolder(to, "server/identity")) {
          add("api does not import identity (both use server/kernel)");
          continue;
        }
      }
      if (target !== top(file.path) && !to.endsWith("/mod.ts") && top(file.path) !== "") {
        add(`imports from another top-level folder go through its mod.ts`);
      }
    }
  }
  return violations;
}

/**
 * Formats violations one per line, `from: imports "specifier" (to): rule`.
 *
 * @param violations What {@linkcode checkLayers} found.
 * @returns The lines joined with newlines.
 */
export function formatViolations(violations: readonly LayerViolation[]): string {
  return violations.map((v) => `${v.from}: imports "${v.specifier}" (${v.to}): ${v.rule}`).join(
    "\n",
  );
}
