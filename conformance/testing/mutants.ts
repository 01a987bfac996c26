/**
 * The mutation audit of the conformance suite: runs the suite against each mutant of
 * `mutant_catalogue.ts` (one realistic fault each, built on the reference service in the test
 * tree) and reports which cases killed it. A mutant is KILLED when at least one case FAILs (or,
 * for a SHOULD requirement, is NON-STRICT, which fails a `--strict` run); SURVIVED otherwise.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write --allow-env --allow-sys --allow-run \
 *   conformance/testing/mutants.ts [--full] [--mutant ID]... [--parallel N] [--concurrency N] [--seed N]
 * ```
 *
 * Without `--full` each mutant runs only its fast subset (`only`); with it, every case.
 *
 * @module
 */

import { FlagError, invalid, parseFlags, parseInteger } from "../../config/mod.ts";
import { allCases } from "../cases/mod.ts";
import { runConformance } from "../runner.ts";
import { matchesPattern } from "../select.ts";
import type { ResolvedTarget, Verdict } from "../types.ts";
import type { ActingAuthority } from "../../testing/mod.ts";
import { startAzurite } from "../../server/azurite/mod.ts";
import { type Mutant, MUTANTS } from "./mutant_catalogue.ts";
import { startTarget } from "./reference_target.ts";
import { startProducerFaultTarget } from "./producer_fault_target.ts";

/** Outcome of one mutant. */
export interface MutantResult {
  /** The mutant's id. */
  readonly id: string;
  /** KILLED when a case caught it. */
  readonly verdict: "KILLED" | "SURVIVED";
  /** Whether the verdict is what the catalogue predicts (killers FAIL, or it legitimately survives). */
  readonly asPredicted: boolean;
  /** Cases graded FAIL. */
  readonly failed: readonly string[];
  /** Cases graded NON-STRICT (SHOULD not met). */
  readonly nonStrict: readonly string[];
  /** Cases graded ERROR. */
  readonly errors: readonly string[];
  /** Killer patterns that matched no FAIL or NON-STRICT case. */
  readonly missedKillers: readonly string[];
  /** FAIL/NON-STRICT cases no killer pattern names (collateral or unexpected). */
  readonly unexpected: readonly string[];
  /** Cases run. */
  readonly total: number;
  /** Wall time. */
  readonly ms: number;
}

/** Options of {@linkcode runMutant}. */
export interface MutantRunOptions {
  /** Run every case instead of the mutant's subset. */
  readonly full?: boolean;
  /** Cases at once (default 4). */
  readonly concurrency?: number;
  /** Property seed (default 42). */
  readonly seed?: number;
  /** Property runs (default 6). */
  readonly runs?: number;
  /** Azure queue connection string, for `inject: "queue"` mutants. */
  readonly queueConnectionString?: string;
}

function ids(cases: readonly { id: string; verdict: Verdict }[], verdict: Verdict): string[] {
  return cases.filter((c) => c.verdict === verdict).map((c) => c.id).sort();
}

/**
 * Runs the suite against one mutant.
 *
 * @param mutant The mutant.
 * @param options Full suite or subset, concurrency, seed.
 * @returns What killed it, if anything.
 */
export async function runMutant(
  mutant: Mutant,
  options: MutantRunOptions = {},
): Promise<MutantResult> {
  const started = performance.now();
  const inject = mutant.inject ?? "send";
  const graceMs = mutant.graceMs ?? 300;
  const target: { target: ResolvedTarget; authority?: ActingAuthority; close(): Promise<void> } =
    mutant.producer ? await startProducerFaultTarget(mutant.producer) : await startTarget({
      inject,
      ...(mutant.mutation ? { mutation: mutant.mutation } : {}),
      graceMs,
      ...(options.queueConnectionString
        ? { queueConnectionString: options.queueConnectionString }
        : {}),
    });
  try {
    const report = await runConformance({
      target: target.target,
      cases: allCases(),
      ...(target.authority ? { authority: target.authority } : {}),
      timeoutMs: mutant.timeoutMs ?? 10_000,
      graceMs,
      concurrency: options.concurrency ?? 4,
      seed: options.seed ?? 42,
      runs: options.runs ?? 6,
      ...(options.full ? {} : { only: mutant.only }),
    });
    const failed = ids(report.cases, "FAIL");
    const nonStrict = ids(report.cases, "NON-STRICT");
    const caught = [...failed, ...nonStrict];
    const ran = report.cases.map((c) => c.id);
    // A subset run judges only the killers it selected; a killer matching no case is a typo.
    const missedKillers = mutant.killers.filter((k) =>
      (options.full || ran.some((id) => matchesPattern(id, k))) &&
      !caught.some((id) => matchesPattern(id, k))
    );
    const unexpected = caught.filter((id) => !mutant.killers.some((k) => matchesPattern(id, k)));
    const verdict = caught.length > 0 ? "KILLED" : "SURVIVED";
    return {
      id: mutant.id,
      verdict,
      asPredicted: mutant.survives !== undefined
        ? verdict === "SURVIVED"
        : verdict === "KILLED" && missedKillers.length === 0,
      failed,
      nonStrict,
      errors: ids(report.cases, "ERROR"),
      missedKillers,
      unexpected,
      total: report.cases.length,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await target.close();
  }
}

/**
 * Runs several mutants, `parallel` at a time, in catalogue order of results.
 *
 * @param mutants The mutants.
 * @param options Run options plus how many mutants run at once (default 2).
 * @returns One result per mutant.
 */
export async function runMutants(
  mutants: readonly Mutant[],
  options: MutantRunOptions & { parallel?: number; onResult?: (r: MutantResult) => void } = {},
): Promise<MutantResult[]> {
  const results: MutantResult[] = new Array(mutants.length);
  let next = 0;
  const worker = async () => {
    while (next < mutants.length) {
      const index = next++;
      results[index] = await runMutant(mutants[index]!, options);
      options.onResult?.(results[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 2) }, worker));
  return results;
}

function cell(values: readonly string[], max = 4): string {
  if (values.length === 0) return "-";
  const shown = values.slice(0, max).join(", ");
  return values.length > max ? `${shown} (+${values.length - max})` : shown;
}

/**
 * Formats results as a Markdown table: mutant, expected killing cases, FAILed cases, verdict.
 *
 * @param mutants The catalogue entries (for the expected killers).
 * @param results Their results.
 * @returns The table.
 */
export function formatMutantTable(
  mutants: readonly Mutant[],
  results: readonly MutantResult[],
): string {
  const lines = [
    "| Mutant | Expected killing cases | FAILed (NON-STRICT) cases | Verdict |",
    "|---|---|---|---|",
  ];
  for (const result of results) {
    const mutant = mutants.find((m) => m.id === result.id)!;
    const caught = [...result.failed, ...result.nonStrict.map((id) => `${id} (NON-STRICT)`)];
    const note = result.asPredicted
      ? ""
      : result.verdict === "SURVIVED"
      ? " (unexpected)"
      : ` (missed: ${result.missedKillers.join(", ")})`;
    const legit = mutant.survives ? " (legitimate)" : "";
    lines.push(
      `| \`${result.id}\` | ${cell(mutant.killers, 3)} | ${
        cell(caught)
      } | ${result.verdict}${legit}${note} |`,
    );
  }
  return lines.join("\n");
}

const AUDIT_FLAGS = {
  full: { type: "boolean" },
  mutant: { type: "string", multiple: true },
  parallel: { type: "string" },
  concurrency: { type: "string" },
  seed: { type: "string" },
  runs: { type: "string" },
} as const;

/**
 * Parses the audit's flags (`--flag value` or `--flag=value`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAuditArgs } from "./mutants.ts";
 * assert.equal(parseAuditArgs(["--parallel=3"]).parallel, 3);
 * assert.throws(() => parseAuditArgs(["--runs", "0"]), /Invalid --runs: expected a positive integer, got 0/);
 * ```
 * @param args Command-line arguments.
 * @returns The settings, defaults filled in.
 * @throws {FlagError} Naming the flag.
 */
export function parseAuditArgs(args: readonly string[]): {
  full: boolean;
  mutants: string[];
  parallel: number;
  concurrency: number;
  seed: number;
  runs: number;
} {
  const flags = parseFlags(args, AUDIT_FLAGS);
  const number = (flag: "parallel" | "concurrency" | "seed" | "runs", fallback: number) => {
    const text = flags[flag];
    if (text === undefined) return fallback;
    try {
      return parseInteger(`--${flag}`, text, { min: 1 });
    } catch (error) {
      throw new FlagError(`--${flag}`, (error as Error).message);
    }
  };
  const mutants = flags.mutant ?? [];
  for (const id of mutants) {
    if (!MUTANTS.some((m) => m.id === id)) {
      throw new FlagError(
        "--mutant",
        invalid("--mutant", `one of ${MUTANTS.map((m) => m.id).join(", ")}`, id),
      );
    }
  }
  return {
    full: flags.full === true,
    mutants,
    parallel: number("parallel", 2),
    concurrency: number("concurrency", 4),
    seed: number("seed", 42),
    runs: number("runs", 6),
  };
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseAuditArgs(Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const selected = options.mutants.length
    ? MUTANTS.filter((m) => options.mutants.includes(m.id))
    : MUTANTS;
  const needsQueue = selected.some((m) => m.inject === "queue");
  const azurite = needsQueue ? await startAzurite() : undefined;
  const started = performance.now();
  try {
    const results = await runMutants(selected, {
      ...options,
      ...(azurite ? { queueConnectionString: azurite.connectionString } : {}),
      onResult: (r) =>
        console.error(
          `${r.verdict.padEnd(8)} ${r.id} (${r.total} cases, ${r.ms} ms)${
            r.errors.length ? ` ERROR: ${r.errors.join(", ")}` : ""
          }${r.unexpected.length ? ` also: ${r.unexpected.join(", ")}` : ""}`,
        ),
    });
    console.log(formatMutantTable(selected, results));
    const killed = results.filter((r) => r.verdict === "KILLED").length;
    const surprises = results.filter((r) => !r.asPredicted).map((r) => r.id);
    console.log(
      `\n${killed}/${results.length} killed, ${results.length - killed} survived; ${
        surprises.length ? `not as predicted: ${surprises.join(", ")}` : "all as predicted"
      }; ${options.full ? "full suite" : "fast subsets"} in ${
        Math.round((performance.now() - started) / 1000)
      } s`,
    );
    return surprises.length === 0 ? 0 : 1;
  } finally {
    await azurite?.stop();
  }
}

if (import.meta.main) Deno.exit(await main());
