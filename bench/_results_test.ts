import * as assert from "node:assert/strict";
import {
  formatTable,
  judgeTarget,
  parseScenarioOutput,
  renderChart,
  type ResultsFile,
  type ScenarioResult,
  writeResults,
} from "./_results.ts";

const base = { scenario: "s", metric: "m", unit: "u" };

Deno.test("judgeTarget judges the figure or the ratio, and nothing without a baseline", () => {
  const max = { kind: "max", value: 20 } as const;
  assert.equal(judgeTarget({ ...base, hubproof: 20, target: max }), "met");
  assert.equal(judgeTarget({ ...base, hubproof: 21, target: max }), "missed");
  assert.equal(judgeTarget({ ...base, hubproof: 4, target: { kind: "min", value: 5 } }), "missed");
  const ratio = { kind: "ratio-max", value: 1.2 } as const;
  assert.equal(judgeTarget({ ...base, hubproof: 12, baseline: 10, target: ratio }), "met");
  assert.equal(judgeTarget({ ...base, hubproof: 13, baseline: 10, target: ratio }), "missed");
  assert.equal(judgeTarget({ ...base, hubproof: 13, target: ratio }), "none");
  assert.equal(
    judgeTarget({ ...base, hubproof: 7, baseline: 10, target: { kind: "ratio-min", value: 0.7 } }),
    "met",
  );
  assert.equal(judgeTarget({ ...base, hubproof: NaN, target: max }), "missed");
  assert.equal(judgeTarget({ ...base, hubproof: 1 }), "none");
});

Deno.test("parseScenarioOutput names the script and the broken field", () => {
  assert.throws(
    () => parseScenarioOutput("table\nnot json", "x.ts"),
    /x\.ts: the last line is not JSON/,
  );
  assert.throws(
    () => parseScenarioOutput('{"other":1}', "x.ts"),
    /x\.ts: the last line has no "results"/,
  );
  assert.throws(
    () => parseScenarioOutput('{"results":[{"scenario":"a","metric":"m","unit":"u"}]}', "x.ts"),
    /x\.ts result 0: "hubproof" is not a number/,
  );
  assert.throws(
    () =>
      parseScenarioOutput(
        '{"results":[{"scenario":"a","metric":"m","unit":"u","hubproof":1,"target":{"kind":"below","value":1}}]}',
        "x.ts",
      ),
    /"target" needs a kind and a numeric value/,
  );
});

Deno.test("writeResults writes the JSON and a chart with both bars and the verdict", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const results: ScenarioResult[] = [
      {
        scenario: "e2e-selfhosted-1000",
        metric: "p99 ms",
        unit: "ms",
        hubproof: 30,
        baseline: 60,
        baselineName: "Vaultwarden <1.37.2>",
        target: { kind: "max", value: 20 },
      },
    ];
    const file: ResultsFile = {
      startedAt: "2026-12-04T02:00:00.000Z",
      machine: {
        cpuModel: "cpu",
        cores: 2,
        kernel: "k",
        deno: "2.9.6",
        commit: "abc",
        loadAverage: "0 0 0",
      },
      args: [],
      results: results.map((r) => ({ ...r, verdict: judgeTarget(r) })),
      skipped: [],
    };
    const written = await writeResults(new URL(`file://${dir}/`), file);
    assert.match(written.json.pathname, /2026-12-04T02-00-00\.000Z\.json$/);
    const back = JSON.parse(await Deno.readTextFile(written.json)) as ResultsFile;
    assert.equal(back.results[0]!.verdict, "missed");
    const svg = await Deno.readTextFile(written.svg);
    assert.equal(svg.match(/<rect x="330"/g)?.length, 2, "hubproof's bar and the baseline's");
    assert.match(svg, /Vaultwarden &lt;1\.37\.2&gt;/);
    assert.match(svg, /missed \(≤ 20\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatTable shows the ratio to the baseline", () => {
  const table = formatTable([{ ...base, hubproof: 3, baseline: 2, baselineName: "bare" }]);
  assert.match(table, /3 u +2 u \(bare\) +1\.5×/);
  assert.ok(renderChart([], "empty").includes("</svg>"));
});
