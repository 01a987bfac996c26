/**
 * Prints the functions with the most self time in a V8 `.cpuprofile` (what
 * `deno run --cpu-prof` writes, e.g. from `bench/hub_vs_bare.ts --profile DIR`), so a profile can
 * be read and quoted without a browser.
 *
 * Usage: deno run --allow-read bench/profile_top.ts <file.cpuprofile> [count=25]
 *
 * @module
 */

/** The parts of a V8 CPU profile this tool reads. */
export interface CpuProfile {
  /** Call-tree nodes. */
  readonly nodes: readonly {
    readonly id: number;
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
  const frames = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.slice(url.lastIndexOf("/") + 1);
    frames.set(
      node.id,
      `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`,
    );
  }
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
  const [path, countText] = Deno.args;
  const count = Number(countText ?? 25);
  if (path === undefined || !Number.isInteger(count) || count < 1) {
    console.error("Usage: profile_top.ts <file.cpuprofile> [count=25]");
    Deno.exit(2);
  }
  const top = selfTimes(JSON.parse(await Deno.readTextFile(path)) as CpuProfile);
  for (const entry of top.slice(0, count)) {
    console.log(
      `${(entry.share * 100).toFixed(1).padStart(5)}%  ${
        entry.ms.toFixed(1).padStart(9)
      } ms  ${entry.frame}`,
    );
  }
}
