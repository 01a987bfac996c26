/**
 * A run's per-case verdicts as an expectations file that also records the verdicts that do not
 * fail a run, so a stand-in can be compared with a real target case for case
 * (`conformance/expectations/vaultwarden-1.37.txt`). Failing verdicts (FAIL, NON-STRICT, ERROR)
 * are ordinary expectation lines (`case/id: FAIL  # reason`, see `expectations.ts`); PASS,
 * UNSUPPORTED and INFORMATIONAL are comment lines `#= case/id: PASS  # reason`, which
 * `--expectations` ignores.
 *
 * Regenerate from a report directory (what `--report-dir` wrote), keeping the hand-written
 * header and the reasons of cases whose verdict did not change:
 * `deno run --allow-read conformance/verdict_record.ts REPORT_DIR --keep-reasons FILE > NEW`.
 *
 * @module
 */

import { parseExpectations } from "./expectations.ts";
import type { Verdict } from "./types.ts";

/** What the record needs of a case (a subset of `index.json`'s cases). */
export interface RecordedCase {
  /** Case id. */
  readonly id: string;
  /** Its verdict. */
  readonly verdict: Verdict;
  /** Failure message or unsupported reason. */
  readonly detail?: string;
}

const RECORD_PREFIX = "#= ";
const FAILING: readonly Verdict[] = ["FAIL", "NON-STRICT", "ERROR"];
const VERDICTS: readonly Verdict[] = [
  "PASS",
  "FAIL",
  "NON-STRICT",
  "INFORMATIONAL",
  "UNSUPPORTED",
  "ERROR",
];

function reasonOf(detail: string | undefined): string {
  const line = (detail ?? "").replace(/\s+/g, " ").trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/**
 * Writes the record of a run: one line per case, failing verdicts as expectations.
 *
 * @param cases The cases of the run, in catalogue order.
 * @param header Comment lines to put first (without `#`).
 * @returns The file text.
 *
 * @example
 * ```ts
 * import { formatVerdictRecord } from "./verdict_record.ts";
 * const text = formatVerdictRecord([
 *   { id: "a/b", verdict: "FAIL", detail: "no answer" },
 *   { id: "a/c", verdict: "PASS" },
 * ], []);
 * console.assert(text === "a/b: FAIL  # no answer\n#= a/c: PASS\n");
 * ```
 */
export function formatVerdictRecord(
  cases: readonly RecordedCase[],
  header: readonly string[],
  options: { readonly keep?: ReadonlyMap<string, RecordedReason> } = {},
): string {
  const lines = header.map((h) => `# ${h}`.trimEnd());
  for (const c of cases) {
    const kept = options.keep?.get(c.id);
    const reason = kept?.verdict === c.verdict && kept.reason ? kept.reason : reasonOf(c.detail);
    const entry = `${c.id}: ${c.verdict}${reason ? `  # ${reason}` : ""}`;
    lines.push(FAILING.includes(c.verdict) ? entry : `${RECORD_PREFIX}${entry}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A recorded verdict with its reason (what regeneration keeps when the verdict is unchanged). */
export interface RecordedReason {
  /** The recorded verdict (the first, when an expectation lists several). */
  readonly verdict: Verdict;
  /** Its reason, if any. */
  readonly reason?: string;
}

/**
 * Reads the reason of each recorded case, to keep hand-written reasons across a regeneration.
 *
 * @param text A record.
 * @returns Verdict and reason by case id.
 */
export function recordedReasons(text: string): Map<string, RecordedReason> {
  const out = new Map<string, RecordedReason>();
  for (const line of text.split(/\r?\n/)) {
    const body = line.startsWith(RECORD_PREFIX) ? line.slice(RECORD_PREFIX.length) : line;
    if (body.startsWith("#")) continue;
    const hash = body.indexOf("#");
    const match = /^(\S+):\s+(\S+)/.exec((hash >= 0 ? body.slice(0, hash) : body).trim());
    if (!match) continue;
    const reason = hash >= 0 ? body.slice(hash + 1).trim() : "";
    out.set(match[1]!, { verdict: match[2] as Verdict, ...(reason ? { reason } : {}) });
  }
  return out;
}

const GENERATED_HEADER = [
  "Verdicts of a run against",
  "Regenerate:",
  "Failing verdicts are expectations",
];

/**
 * The hand-written header of a record: its leading comment lines, without those
 * {@linkcode formatVerdictRecord}'s command writes itself.
 *
 * @param text A record.
 * @returns The header lines without their `# `.
 */
export function recordedHeader(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith("#") || line.startsWith(RECORD_PREFIX)) break;
    const body = line.replace(/^#\s?/, "");
    if (!GENERATED_HEADER.some((g) => body.startsWith(g))) out.push(body);
  }
  return out;
}

/**
 * Reads a record: every case id with the verdicts it may have (an expectation line may list
 * several).
 *
 * @param text The file text.
 * @param source File name for errors.
 * @returns Verdicts by case id.
 * @throws {SyntaxError} For a malformed line, naming the file and line.
 */
export function parseVerdictRecord(
  text: string,
  source = "verdict record",
): Map<string, readonly Verdict[]> {
  const out = new Map<string, readonly Verdict[]>();
  for (const [id, e] of parseExpectations(text, { source })) out.set(id, e.expected);
  text.split(/\r?\n/).forEach((line, index) => {
    if (!line.startsWith(RECORD_PREFIX)) return;
    const body = line.slice(RECORD_PREFIX.length).split("#")[0]!.trim();
    const match = /^(\S+):\s+(\S+)$/.exec(body);
    const verdict = match?.[2] as Verdict | undefined;
    if (!match || !VERDICTS.includes(verdict!)) {
      throw new SyntaxError(`${source}:${index + 1}: expected "#= case-id: VERDICT  # reason"`);
    }
    if (out.has(match[1]!)) throw new SyntaxError(`${source}:${index + 1}: ${match[1]} twice`);
    out.set(match[1]!, [verdict!]);
  });
  return out;
}

/**
 * Compares a run with a record, case for case.
 *
 * @param record Verdicts by case id (from {@linkcode parseVerdictRecord}).
 * @param cases The run's cases.
 * @returns One line per difference (empty when every verdict is as recorded).
 *
 * @example
 * ```ts
 * import { compareWithRecord } from "./verdict_record.ts";
 * const diff = compareWithRecord(new Map([["a", ["PASS"]]]), [{ id: "a", verdict: "FAIL" }]);
 * console.assert(diff[0] === "a: FAIL, recorded PASS");
 * ```
 */
export function compareWithRecord(
  record: ReadonlyMap<string, readonly Verdict[]>,
  cases: readonly RecordedCase[],
): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const expected = record.get(c.id);
    if (expected === undefined) out.push(`${c.id}: ${c.verdict}, not in the record`);
    else if (!expected.includes(c.verdict)) {
      out.push(`${c.id}: ${c.verdict}, recorded ${expected.join(" or ")}`);
    }
  }
  const seen = new Set(cases.map((c) => c.id));
  for (const id of record.keys()) if (!seen.has(id)) out.push(`${id}: recorded, but no such case`);
  return out;
}

const USAGE =
  "Usage: deno run --allow-read conformance/verdict_record.ts REPORT_DIR [--keep-reasons FILE]";

if (import.meta.main) {
  const [dir, flag, keepFile, ...rest] = Deno.args;
  if (dir === undefined || dir.startsWith("--") || rest.length > 0) {
    console.error(USAGE);
    Deno.exit(2);
  }
  if (flag !== undefined && (flag !== "--keep-reasons" || keepFile === undefined)) {
    console.error(`${USAGE}\n--keep-reasons needs the record whose reasons to keep`);
    Deno.exit(2);
  }
  let keep: Map<string, RecordedReason> | undefined;
  let kept: string[] = [];
  if (keepFile !== undefined) {
    try {
      const old = await Deno.readTextFile(keepFile);
      keep = recordedReasons(old);
      kept = recordedHeader(old);
    } catch (error) {
      console.error(`Cannot read --keep-reasons ${keepFile}: ${(error as Error).message}`);
      Deno.exit(2);
    }
  }
  let index: {
    target?: { baseUrl?: string };
    seed?: number;
    startedAt?: string;
    tool?: { version?: string };
    cases?: RecordedCase[];
  };
  try {
    index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  } catch (error) {
    console.error(`Cannot read ${dir}/index.json: ${(error as Error).message}`);
    Deno.exit(2);
  }
  if (!Array.isArray(index.cases)) {
    console.error(`${dir}/index.json has no cases: is it a report of deno task conformance?`);
    Deno.exit(2);
  }
  console.log(
    formatVerdictRecord(index.cases, [
      `Verdicts of a run against ${index.target?.baseUrl ?? "?"} (hubproof ${
        index.tool?.version ?? "?"
      }, seed ${index.seed ?? "?"}, ${index.startedAt ?? "?"}).`,
      "Regenerate: deno run --allow-read conformance/verdict_record.ts REPORT_DIR --keep-reasons THIS_FILE",
      "Failing verdicts are expectations (--expectations); '#=' lines record the other verdicts.",
      ...kept,
    ], keep ? { keep } : {}).trimEnd(),
  );
}
