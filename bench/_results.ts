/**
 * The one results contract of `deno task bench`: what every scenario script prints with
 * `--json` ({@linkcode ScenarioResult}), how a target is judged, the machine a run was measured
 * on, the console table, the results file `bench/results/<ISO timestamp>.json` and the SVG chart
 * beside it (hubproof beside the baseline, per scenario).
 *
 * @module
 */

import { loadAverage } from "./_measure.ts";

/** A target from issue 10, judged on the hubproof figure or on hubproof / baseline. */
export interface Target {
  /** `ratio-*` compares hubproof / baseline; `max` / `min` compare the hubproof figure. */
  readonly kind: "ratio-max" | "ratio-min" | "max" | "min";
  /** The bound (a ratio for `ratio-*`, else in the result's unit). */
  readonly value: number;
}

/** One figure of one scenario, hubproof beside its baseline when the scenario has one. */
export interface ScenarioResult {
  /** e.g. `fanout-5000-fast`, `e2e-selfhosted-1000`. */
  readonly scenario: string;
  /** e.g. `cpu µs per delivery`, `deliveries/s`, `p99 ms`. */
  readonly metric: string;
  /** Unit of `hubproof` and `baseline`. */
  readonly unit: string;
  /** hubproof's figure. */
  readonly hubproof: number;
  /** The baseline's figure measured in the same run. */
  readonly baseline?: number;
  /** `bare WebSocket`, `one instance`, `Vaultwarden 1.37.2 (debug build)`. */
  readonly baselineName?: string;
  /** The issue's target, if the figure has one. */
  readonly target?: Target;
  /** Rounds, N, errors counted, load average, settings. */
  readonly details?: Record<string, number | string>;
}

/** A target's verdict: met, missed, or not judged (no target, or a ratio without baseline). */
export type TargetVerdict = "met" | "missed" | "none";

/**
 * Judges a result against its target.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { judgeTarget } from "./_results.ts";
 * strictEqual(
 *   judgeTarget({ scenario: "s", metric: "p99 ms", unit: "ms", hubproof: 12, target: { kind: "max", value: 20 } }),
 *   "met",
 * );
 * ```
 * @param result A scenario result.
 * @returns `met`, `missed`, or `none` when it has no target or its ratio has no baseline.
 */
export function judgeTarget(result: ScenarioResult): TargetVerdict {
  const { target } = result;
  if (target === undefined) return "none";
  let value = result.hubproof;
  if (target.kind === "ratio-max" || target.kind === "ratio-min") {
    if (result.baseline === undefined || result.baseline === 0) return "none";
    value = result.hubproof / result.baseline;
  }
  if (!Number.isFinite(value)) return "missed";
  const upper = target.kind === "max" || target.kind === "ratio-max";
  return (upper ? value <= target.value : value >= target.value) ? "met" : "missed";
}

/**
 * Reads a scenario script's output: its last non-empty stdout line must be
 * `{"results": ScenarioResult[]}`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseScenarioOutput } from "./_results.ts";
 * const out = 'table\n{"results":[{"scenario":"a","metric":"p99 ms","unit":"ms","hubproof":3}]}\n';
 * strictEqual(parseScenarioOutput(out, "a.ts")[0]!.hubproof, 3);
 * ```
 * @param stdout The script's whole stdout.
 * @param script Name used in errors.
 * @returns The results.
 * @throws {TypeError} Naming the script and the field when the last line is not that object.
 */
export function parseScenarioOutput(stdout: string, script: string): ScenarioResult[] {
  const last = stdout.trimEnd().split("\n").at(-1) ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new TypeError(
      `Invalid output of ${script}: the last line is not JSON: ${last.slice(0, 120)}`,
    );
  }
  const results = (parsed as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) {
    throw new TypeError(`Invalid output of ${script}: the last line has no "results" array`);
  }
  results.forEach((value, index) => checkResult(value, `${script} result ${index}`));
  return results as ScenarioResult[];
}

function checkResult(value: unknown, where: string): void {
  const r = value as Record<string, unknown> | null;
  if (r === null || typeof r !== "object") throw new TypeError(`Invalid ${where}: not an object`);
  for (const key of ["scenario", "metric", "unit"]) {
    if (typeof r[key] !== "string") throw new TypeError(`Invalid ${where}: "${key}" is not text`);
  }
  if (typeof r.hubproof !== "number") {
    throw new TypeError(`Invalid ${where}: "hubproof" is not a number`);
  }
  if (r.baseline !== undefined && typeof r.baseline !== "number") {
    throw new TypeError(`Invalid ${where}: "baseline" is not a number`);
  }
  const target = r.target as Record<string, unknown> | undefined;
  if (
    target !== undefined &&
    (!["ratio-max", "ratio-min", "max", "min"].includes(target.kind as string) ||
      typeof target.value !== "number")
  ) {
    throw new TypeError(`Invalid ${where}: "target" needs a kind and a numeric value`);
  }
}

/** The machine and code a run measured. */
export interface MachineInfo {
  /** `model name` of /proc/cpuinfo. */
  readonly cpuModel: string;
  /** Logical cores. */
  readonly cores: number;
  /** Kernel release. */
  readonly kernel: string;
  /** Deno version. */
  readonly deno: string;
  /** `git rev-parse HEAD`, with `-dirty` when the tree has changes. */
  readonly commit: string;
  /** /proc/loadavg when the run started. */
  readonly loadAverage: string;
}

/**
 * Reads the machine description and the commit (Deno lets only a process with all permissions
 * read /proc/cpuinfo and /proc/loadavg: `deno task bench` runs with `-A`, as the scenario
 * processes it starts do).
 *
 * @param repo The repository root (for git).
 * @returns The machine information; unknown fields read `unknown`.
 */
export async function machineInfo(repo: URL): Promise<MachineInfo> {
  const read = (path: string) => Deno.readTextFile(path).catch(() => "");
  const cpuinfo = await read("/proc/cpuinfo");
  const git = async (...args: string[]) => {
    try {
      const out = await new Deno.Command("git", { args, cwd: repo, stderr: "null" }).output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
    } catch {
      return "";
    }
  };
  const head = await git("rev-parse", "HEAD");
  const dirty = (await git("status", "--porcelain", "--untracked-files=no")) !== "";
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    cores: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    commit: head === "" ? "unknown" : `${head}${dirty ? "-dirty" : ""}`,
    loadAverage: await loadAverage(),
  };
}

/** A whole run as written to `bench/results/<timestamp>.json`. */
export interface ResultsFile {
  /** ISO time the run started. */
  readonly startedAt: string;
  /** The machine and code. */
  readonly machine: MachineInfo;
  /** The orchestrator's command line. */
  readonly args: readonly string[];
  /** Every figure, each with its target verdict. */
  readonly results: readonly (ScenarioResult & { readonly verdict: TargetVerdict })[];
  /** Scenarios that did not run, with why. */
  readonly skipped: readonly { readonly script: string; readonly reason: string }[];
}

function number(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function targetText(target: Target | undefined): string {
  if (target === undefined) return "";
  const sign = target.kind.endsWith("max") ? "≤" : "≥";
  return `${sign} ${target.value}${target.kind.startsWith("ratio") ? "×" : ""}`;
}

/**
 * Formats results as a plain-text table: scenario, metric, hubproof, baseline, ratio, target and
 * its verdict.
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { formatTable } from "./_results.ts";
 * const table = formatTable([{
 *   scenario: "e2e-selfhosted-1000", metric: "p99 ms", unit: "ms", hubproof: 9.5,
 *   target: { kind: "max", value: 20 },
 * }]);
 * match(table, /e2e-selfhosted-1000 +p99 ms +9\.5 .*≤ 20 +met/);
 * ```
 * @param results The figures.
 * @returns The table, a header line and one line per figure.
 */
export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = [["scenario", "metric", "hubproof", "baseline", "ratio", "target", "verdict"]];
  for (const r of results) {
    const ratio = r.baseline === undefined || r.baseline === 0
      ? ""
      : number(r.hubproof / r.baseline);
    rows.push([
      r.scenario,
      r.metric,
      `${number(r.hubproof)} ${r.unit}`,
      r.baseline === undefined ? "" : `${number(r.baseline)} ${r.unit} (${r.baselineName ?? "?"})`,
      ratio === "" ? "" : `${ratio}×`,
      targetText(r.target),
      judgeTarget(r) === "none" ? "" : judgeTarget(r),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd())
    .join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Draws the results as an SVG bar chart: one row per figure, hubproof's bar beside the
 * baseline's, each row scaled to its own larger value (figures have different units), the
 * values and the verdict written beside the bars.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { renderChart } from "./_results.ts";
 * const svg = renderChart([{ scenario: "a", metric: "p99 ms", unit: "ms", hubproof: 2, baseline: 4, baselineName: "bare" }], "title");
 * ok(svg.startsWith("<svg") && svg.includes("bare"));
 * ```
 * @param results The figures.
 * @param title The chart's heading (machine, commit, date).
 * @returns The SVG document.
 */
export function renderChart(results: readonly ScenarioResult[], title: string): string {
  const rowHeight = 34;
  const labelWidth = 330;
  const barWidth = 360;
  const width = labelWidth + barWidth + 260;
  const top = 48;
  const height = top + rowHeight * results.length + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="10" y="30" width="10" height="10" fill="#2b6cb0"/><text x="24" y="39">hubproof</text>`,
    `<rect x="100" y="30" width="10" height="10" fill="#a0aec0"/><text x="114" y="39">baseline (named per row)</text>`,
  ];
  results.forEach((r, index) => {
    const y = top + index * rowHeight;
    const scale = Math.max(r.hubproof, r.baseline ?? 0) || 1;
    const bar = (value: number) => Math.max(1, Math.round((value / scale) * barWidth));
    const verdict = judgeTarget(r);
    const colour = verdict === "missed" ? "#c53030" : verdict === "met" ? "#2f855a" : "#4a5568";
    parts.push(
      `<text x="10" y="${y + 12}">${escapeXml(r.scenario)}</text>`,
      `<text x="10" y="${y + 26}" fill="#4a5568">${escapeXml(r.metric)}</text>`,
      `<rect x="${labelWidth}" y="${y + 2}" width="${
        bar(r.hubproof)
      }" height="12" fill="#2b6cb0"/>`,
      `<text x="${labelWidth + bar(r.hubproof) + 6}" y="${y + 12}">${
        escapeXml(`${number(r.hubproof)} ${r.unit}`)
      }</text>`,
    );
    if (r.baseline !== undefined) {
      parts.push(
        `<rect x="${labelWidth}" y="${y + 16}" width="${
          bar(r.baseline)
        }" height="12" fill="#a0aec0"/>`,
        `<text x="${labelWidth + bar(r.baseline) + 6}" y="${y + 26}" fill="#4a5568">${
          escapeXml(`${number(r.baseline)} ${r.unit} ${r.baselineName ?? ""}`)
        }</text>`,
      );
    }
    if (verdict !== "none") {
      parts.push(
        `<text x="${width - 10}" y="${y + 12}" text-anchor="end" fill="${colour}">${
          escapeXml(`${verdict} (${targetText(r.target)})`)
        }</text>`,
      );
    }
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/**
 * Writes `<dir>/<timestamp>.json` and `<dir>/<timestamp>.svg`.
 *
 * @param dir The results folder (created if missing).
 * @param file The run.
 * @returns The paths written.
 */
export async function writeResults(
  dir: URL,
  file: ResultsFile,
): Promise<{ json: URL; svg: URL }> {
  await Deno.mkdir(dir, { recursive: true });
  const stamp = file.startedAt.replace(/:/g, "-");
  const json = new URL(`${stamp}.json`, dir);
  const svg = new URL(`${stamp}.svg`, dir);
  await Deno.writeTextFile(json, JSON.stringify(file, null, 2) + "\n");
  const title = `hubproof bench ${
    file.startedAt.slice(0, 16)
  }Z, ${file.machine.cores} × ${file.machine.cpuModel}, commit ${file.machine.commit.slice(0, 12)}`;
  await Deno.writeTextFile(svg, renderChart(file.results, title));
  return { json, svg };
}

/**
 * Prints `{"results": [...]}` as the last stdout line, the form the orchestrator reads.
 *
 * @param results The scenario's figures.
 */
export function printResults(results: readonly ScenarioResult[]): void {
  console.log(JSON.stringify({ results }));
}
