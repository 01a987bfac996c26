/**
 * `deno task bench`: runs every scenario script (each in its own process, with `--json`),
 * collects their results, marks each target met or missed, prints one table, writes
 * `bench/results/<ISO timestamp>.json` (machine, commit, every figure) and the SVG chart beside
 * it, then runs the `Deno.bench` protocol micro-benchmarks (`*_bench.ts`).
 *
 * Usage: deno task bench [--quick] [--vaultwarden URL [--vaultwarden-pid PID]]
 *          [--only NAME[,NAME]] [--update-docs]
 *          [--no-micro]
 *
 * `--quick` is a smoke run of about a minute (short phases, one round, no conformance timing,
 * no micro-benchmarks). `--update-docs` copies the chart to `docs/performance.svg`. A scenario
 * that fails (a wrong delivery count, a refused change) is reported and makes the run exit 1;
 * the other scenarios still run.
 *
 * @module
 */

import { parseFlags, parseOrExit } from "../config/mod.ts";
import {
  formatTable,
  judgeTarget,
  machineInfo,
  parseScenarioOutput,
  type ResultsFile,
  type ScenarioResult,
  writeResults,
} from "./_results.ts";

/** One scenario script and its arguments. */
export interface ScenarioScript {
  /** Short name for `--only` and the log. */
  readonly name: string;
  /** Path below `bench/`. */
  readonly script: string;
  /** Arguments (besides `--json`). */
  readonly args: readonly string[];
}

/** Settings of the orchestrator. */
export interface BenchSettings {
  /** Smoke run. */
  readonly quick: boolean;
  /** A running Vaultwarden for the comparison. */
  readonly vaultwarden: string | undefined;
  /** Its process id (for its CPU per change), passed through to e2e_selfhosted.ts. */
  readonly vaultwardenPid: string | undefined;
  /** Run only these scenario names. */
  readonly only: readonly string[] | undefined;
  /** Copy the chart to docs/performance.svg. */
  readonly updateDocs: boolean;
  /** Run the `Deno.bench` micro-benchmarks after the scenarios. */
  readonly micro: boolean;
}

/** Names accepted by `--only`. */
export const SCENARIO_NAMES = [
  "fanout",
  "connections",
  "hub",
  "e2e-selfhosted",
  "e2e-cloud",
  "conformance",
] as const;

/**
 * Parses the orchestrator's command line.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseBenchArgs } from "./main.ts";
 * deepStrictEqual(parseBenchArgs(["--quick", "--only", "fanout"]).only, ["fanout"]);
 * ```
 * @param args Arguments after the script name.
 * @returns The settings.
 * @throws {TypeError} Naming the flag when a flag is unknown or a value is invalid.
 */
export function parseBenchArgs(args: readonly string[]): BenchSettings {
  const values = parseFlags(args, {
    quick: { type: "boolean" },
    vaultwarden: { type: "string" },
    "vaultwarden-pid": { type: "string" },
    only: { type: "string" },
    "update-docs": { type: "boolean" },
    "no-micro": { type: "boolean" },
  });
  if (values.vaultwarden !== undefined && !URL.canParse(values.vaultwarden)) {
    throw new TypeError(`Invalid --vaultwarden: expected a URL, got ${values.vaultwarden}`);
  }
  const only = values.only?.split(",").map((name) => name.trim());
  for (const name of only ?? []) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new TypeError(
        `Invalid --only: unknown scenario ${name} (expected ${SCENARIO_NAMES.join(", ")})`,
      );
    }
  }
  return {
    quick: values.quick === true,
    vaultwarden: values.vaultwarden,
    vaultwardenPid: values["vaultwarden-pid"],
    only,
    updateDocs: values["update-docs"] === true,
    micro: values["no-micro"] !== true && values.quick !== true,
  };
}

/**
 * The scenario scripts a run executes, with their arguments, and the ones it skips with why.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseBenchArgs, planScenarios } from "./main.ts";
 * const plan = planScenarios(parseBenchArgs(["--quick"]));
 * strictEqual(plan.skipped.some((s) => s.script === "conformance"), true);
 * ```
 * @param settings The orchestrator's settings.
 * @returns Scripts to run and skipped scenarios.
 */
export function planScenarios(settings: BenchSettings): {
  run: ScenarioScript[];
  skipped: { script: string; reason: string }[];
} {
  const q = settings.quick;
  const all: ScenarioScript[] = [
    {
      name: "fanout",
      script: "fanout.ts",
      args: q ? ["--connections", "200", "--broadcasts", "5", "--samples", "50"] : [],
    },
    { name: "connections", script: "connections.ts", args: ["--connections", q ? "300" : "2000"] },
    { name: "hub", script: "hub_vs_bare.ts", args: q ? ["--quick"] : [] },
    {
      name: "e2e-selfhosted",
      script: "e2e_selfhosted.ts",
      args: [
        ...(q ? ["--quick"] : []),
        ...(settings.vaultwarden === undefined ? [] : ["--vaultwarden", settings.vaultwarden]),
        ...(settings.vaultwardenPid === undefined
          ? []
          : ["--vaultwarden-pid", settings.vaultwardenPid]),
      ],
    },
    { name: "e2e-cloud", script: "e2e_cloud.ts", args: q ? ["--quick"] : [] },
    { name: "conformance", script: "conformance_time.ts", args: [] },
  ];
  const skipped: { script: string; reason: string }[] = [];
  if (settings.vaultwarden === undefined) {
    skipped.push({
      script: "vaultwarden",
      reason: "no --vaultwarden URL: the Vaultwarden comparison of e2e-selfhosted did not run",
    });
  }
  const run = all.filter((s) => {
    if (settings.only !== undefined && !settings.only.includes(s.name)) return false;
    if (q && s.name === "conformance") {
      skipped.push({
        script: "conformance",
        reason: "--quick: the full conformance suite takes over a minute",
      });
      return false;
    }
    return true;
  });
  return { run, skipped };
}

async function runScenario(
  scenario: ScenarioScript,
): Promise<{ results: ScenarioResult[] } | { error: string }> {
  const script = new URL(scenario.script, import.meta.url).pathname;
  console.log(
    `\n== ${scenario.name}: deno run -A bench/${scenario.script} ${scenario.args.join(" ")} --json`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...scenario.args, "--json"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const output = await child.output();
  const stdout = new TextDecoder().decode(output.stdout);
  const lines = stdout.trimEnd().split("\n");
  // Echo what the script printed, except the results line itself.
  console.log(lines.slice(0, -1).join("\n"));
  if (!output.success) return { error: `bench/${scenario.script} exited with code ${output.code}` };
  try {
    return { results: parseScenarioOutput(stdout, `bench/${scenario.script}`) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

if (import.meta.main) {
  const settings: BenchSettings = parseOrExit(() => parseBenchArgs(Deno.args));
  const repo = new URL("../", import.meta.url);
  const startedAt = new Date().toISOString();
  const machine = await machineInfo(repo);
  console.log(
    `bench ${startedAt}: ${machine.cores} × ${machine.cpuModel}, kernel ${machine.kernel}, Deno ${machine.deno}, commit ${machine.commit}, load ${machine.loadAverage}`,
  );
  const { run, skipped } = planScenarios(settings);
  for (const skip of skipped) console.log(`skipped ${skip.script}: ${skip.reason}`);
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  for (const scenario of run) {
    const outcome = await runScenario(scenario);
    if ("error" in outcome) failures.push(`${scenario.name}: ${outcome.error}`);
    else results.push(...outcome.results);
  }
  const file: ResultsFile = {
    startedAt,
    machine,
    args: Deno.args,
    results: results.map((r) => ({ ...r, verdict: judgeTarget(r) })),
    skipped: [
      ...skipped,
      ...failures.map((f) => ({ script: f.split(":")[0]!, reason: `FAILED ${f}` })),
    ],
  };
  console.log(`\n${formatTable(results)}`);
  const written = await writeResults(new URL("bench/results/", repo), file);
  console.log(`\nresults: ${written.json.pathname}\nchart:   ${written.svg.pathname}`);
  if (settings.updateDocs) {
    await Deno.copyFile(written.svg, new URL("docs/performance.svg", repo));
    console.log("chart copied to docs/performance.svg");
  }
  const missed = file.results.filter((r) => r.verdict === "missed");
  console.log(
    `targets: ${
      file.results.filter((r) => r.verdict === "met").length
    } met, ${missed.length} missed`,
  );
  for (const failure of failures) console.error(`FAILED ${failure}`);
  if (settings.micro) {
    console.log("\n== micro-benchmarks: deno bench (every *_bench.ts)");
    const micro = await new Deno.Command(Deno.execPath(), {
      args: ["bench", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "--allow-run"],
      cwd: repo,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!micro.success) failures.push("micro-benchmarks");
  } else {
    console.log("\nmicro-benchmarks skipped (--quick or --no-micro)");
  }
  if (failures.length > 0) Deno.exit(1);
}
