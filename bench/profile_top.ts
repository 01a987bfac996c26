/**
 * Prints the functions with the most self time in a V8 `.cpuprofile` (what
 * `deno run --cpu-prof` writes, e.g. from `bench/hub_vs_bare.ts --profile DIR`), so a profile can
 * be read and quoted without a browser.
 *
 * Usage: deno run --allow-read bench/profile_top.ts [--total] <file.cpuprofile> [count=25]
 * (`--total`: inclusive time, the function and everything it called)
 *
 * @module
 */

/** The parts of a V8 CPU profile this tool reads. */
export interface CpuProfile {
  /** Call-tree nodes. */
  readonly nodes: readonly {
    readonly id: number;
    readonly children?: readonly number[];
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
  }[];
  /** Node id of each sample. */
  readonly samples: readonly number[];
  /** Microseconds between consecutive samples. */
  readonly timeDeltas: readonly number[];
}

/** Self time of one function. */
export interface SelfTime {
  /** `name file:line`. */
  readonly frame: string;
  /** Self time in milliseconds. */
  readonly ms: number;
  /** Share of all sampled time, 0..1. */
  readonly share: number;
}

function frameNames(profile: CpuProfile): Map<number, string> {
  const frames = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.slice(url.lastIndexOf("/") + 1);
    frames.set(
      node.id,
      `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`,
    );
  }
  return frames;
}

/**
 * Sums total (inclusive) time per function: the time of every sample with the function anywhere
 * on its stack, each function counted once per sample even when recursive.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { totalTimes } from "./profile_top.ts";
 * const frame = (functionName: string) => ({ functionName, url: "file:///a.ts", lineNumber: 0 });
 * const top = totalTimes({
 *   nodes: [{ id: 1, callFrame: frame("f"), children: [2] }, { id: 2, callFrame: frame("g") }],
 *   samples: [1, 2, 2],
 *   timeDeltas: [0, 1000, 1000],
 * });
 * strictEqual(top[0]!.frame, "f a.ts:1");
 * strictEqual(top[0]!.ms, 2);
 * ```
 * @param profile A parsed `.cpuprofile`.
 * @returns One entry per function, largest first.
 */
export function totalTimes(profile: CpuProfile): SelfTime[] {
  const frames = frameNames(profile);
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    all += micros;
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const frame = frames.get(node) ?? "(unknown)";
      if (seen.has(frame)) continue;
      seen.add(frame);
      totals.set(frame, (totals.get(frame) ?? 0) + micros);
    }
  });
  return [...totals].map(([frame, micros]) => ({
    frame,
    ms: Math.round(micros / 10) / 100,
    share: all === 0 ? 0 : micros / all,
  })).sort((a, b) => b.ms - a.ms);
}

/**
 * Sums self time per function (name, file and line), largest first.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { selfTimes } from "./profile_top.ts";
 * const frame = (functionName: string) => ({ functionName, url: "file:///a.ts", lineNumber: 0 });
 * const top = selfTimes({
 *   nodes: [{ id: 1, callFrame: frame("f") }, { id: 2, callFrame: frame("g") }],
 *   samples: [1, 2, 2],
 *   timeDeltas: [0, 1000, 1000],
 * });
 * strictEqual(top[0]!.frame, "g a.ts:1");
 * strictEqual(top[0]!.ms, 2);
 * ```
 * @param profile A parsed `.cpuprofile`.
 * @returns One entry per function.
 */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const frames = frameNames(profile);
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    // Each delta is the time since the previous sample: it belongs to this one.
    const micros = profile.timeDeltas[i] ?? 0;
    const frame = frames.get(id) ?? "(unknown)";
    totals.set(frame, (totals.get(frame) ?? 0) + micros);
    all += micros;
  });
  return [...totals].map(([frame, micros]) => ({
    frame,
    ms: Math.round(micros / 10) / 100,
    share: all === 0 ? 0 : micros / all,
  })).sort((a, b) => b.ms - a.ms);
}

if (import.meta.main) {
  const inclusive = Deno.args.includes("--total");
  const [path, countText] = Deno.args.filter((arg) => arg !== "--total");
  const count = Number(countText ?? 25);
  if (path === undefined || !Number.isInteger(count) || count < 1) {
    console.error("Usage: profile_top.ts [--total] <file.cpuprofile> [count=25]");
    Deno.exit(2);
  }
  const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
  const top = inclusive ? totalTimes(profile) : selfTimes(profile);
  for (const entry of top.slice(0, count)) {
    const share = (entry.share * 100).toFixed(1).padStart(5);
    console.log(`${share}%  ${entry.ms.toFixed(1).padStart(9)} ms  ${entry.frame}`);
  }
}
