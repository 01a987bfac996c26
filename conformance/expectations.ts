/**
 * Expectation files for known failures (as web-platform-tests metadata): a listed case that fails
 * as listed does not fail the run; a listed case that passes is reported as an unexpected pass.
 *
 * Two formats, picked by content:
 * - JSON: `{ "case/id": "FAIL" }` or `{ "case/id": { "expected": ["FAIL", "ERROR"], "reason": "…" } }`;
 * - text: one `case/id: FAIL  # reason` per line (several verdicts separated by spaces or commas),
 *   blank lines and `#` comments ignored.
 *
 * @module
 */

import type { Verdict } from "./types.ts";

/** Verdicts an expectation may list: the failing ones. */
export type ExpectedVerdict = "FAIL" | "NON-STRICT" | "ERROR";

const EXPECTABLE: readonly ExpectedVerdict[] = ["FAIL", "NON-STRICT", "ERROR"];

/** One listed case. */
export interface Expectation {
  /** Verdicts the case is known to produce. */
  readonly expected: readonly ExpectedVerdict[];
  /** Why (bug link, missing feature), if given. */
  readonly reason?: string;
}

/** Listed cases by exact id. */
export type Expectations = ReadonlyMap<string, Expectation>;

/** How a case's verdict relates to its expectation. */
export type ExpectationStatus =
  /** Not listed. */
  | "unlisted"
  /** Listed, and the verdict is one of the listed ones: does not fail the run. */
  | "expected"
  /** Listed, but it passed: the entry is stale (fails the run with `--strict`). */
  | "unexpected-pass"
  /** Listed, but it produced another verdict: graded as if unlisted. */
  | "mismatch";

function parseVerdicts(raw: unknown, where: string): ExpectedVerdict[] {
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(/[\s,]+/) : undefined;
  if (list === undefined) {
    throw new SyntaxError(`${where}: expected a verdict or a list of verdicts`);
  }
  const verdicts = list.filter((v) => v !== "");
  if (verdicts.length === 0) throw new SyntaxError(`${where}: no verdict given`);
  for (const v of verdicts) {
    if (typeof v !== "string" || !EXPECTABLE.includes(v as ExpectedVerdict)) {
      throw new SyntaxError(
        `${where}: unknown verdict ${JSON.stringify(v)} (allowed: ${EXPECTABLE.join(", ")})`,
      );
    }
  }
  return [...new Set(verdicts as ExpectedVerdict[])];
}

function parseJsonExpectations(data: unknown, source: string): Map<string, Expectation> {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new SyntaxError(`${source}: expected a JSON object mapping case ids to verdicts`);
  }
  const out = new Map<string, Expectation>();
  for (const [id, value] of Object.entries(data)) {
    const where = `${source}: ${JSON.stringify(id)}`;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const entry = value as Record<string, unknown>;
      const reason = entry.reason;
      if (reason !== undefined && typeof reason !== "string") {
        throw new SyntaxError(`${where}: "reason" must be a string`);
      }
      const expected = parseVerdicts(entry.expected, where);
      out.set(id, reason ? { expected, reason } : { expected });
    } else {
      out.set(id, { expected: parseVerdicts(value, where) });
    }
  }
  return out;
}

function parseTextExpectations(text: string, source: string): Map<string, Expectation> {
  const out = new Map<string, Expectation>();
  text.split(/\r?\n/).forEach((line, index) => {
    const where = `${source}:${index + 1}`;
    const hash = line.indexOf("#");
    const body = (hash >= 0 ? line.slice(0, hash) : line).trim();
    const reason = hash >= 0 ? line.slice(hash + 1).trim() : "";
    if (body === "") return;
    const colon = body.lastIndexOf(":");
    if (colon <= 0) throw new SyntaxError(`${where}: expected "case-id: FAIL  # reason"`);
    const id = body.slice(0, colon).trim();
    if (out.has(id)) throw new SyntaxError(`${where}: ${id} is listed twice`);
    const expected = parseVerdicts(body.slice(colon + 1).trim(), where);
    out.set(id, reason ? { expected, reason } : { expected });
  });
  return out;
}

/**
 * Parses an expectations file (JSON or text, detected by the first non-blank character).
 *
 * @param text File contents.
 * @param options `source` names the file in error messages.
 * @returns Expectations by case id.
 * @throws {SyntaxError} Naming the file (and line) of a malformed entry.
 *
 * @example
 * ```ts
 * import { parseExpectations } from "./expectations.ts";
 * const e = parseExpectations("hub/keepalive/ping: FAIL  # never pings\n");
 * e.get("hub/keepalive/ping")?.reason; // "never pings"
 * ```
 */
export function parseExpectations(
  text: string,
  options: { readonly source?: string } = {},
): Expectations {
  const source = options.source ?? "expectations";
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new SyntaxError(`${source}: invalid JSON: ${(error as Error).message}`);
    }
    return parseJsonExpectations(data, source);
  }
  return parseTextExpectations(text, source);
}

/**
 * Compares a verdict with a case's expectation.
 *
 * @param verdict The case's verdict.
 * @param expectation Its expectation, if listed.
 * @returns The expectation status.
 */
export function expectationStatus(
  verdict: Verdict,
  expectation: Expectation | undefined,
): ExpectationStatus {
  if (expectation === undefined) return "unlisted";
  if ((expectation.expected as readonly string[]).includes(verdict)) return "expected";
  return verdict === "PASS" ? "unexpected-pass" : "mismatch";
}
