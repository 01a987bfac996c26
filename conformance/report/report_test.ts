import assert from "node:assert/strict";
import { type ConformanceReport, runConformance } from "../runner.ts";
import { resolveTarget } from "../target.ts";
import { exampleCases } from "../testing/example_cases.ts";
import { startExampleTarget } from "../testing/example_target.ts";
import { parseExpectations } from "../expectations.ts";
import {
  ConsoleReporter,
  lifelines,
  renderHtml,
  renderJUnit,
  renderSequenceDiagram,
  writeReports,
} from "./mod.ts";
import { escapeMarkup } from "./_escape.ts";
import { toJsonSafe } from "./_json_safe.ts";
import type { TraceEvent } from "../types.ts";

/** Checks XML well-formedness: balanced tags, quoted attributes, known entities, one root. */
function assertWellFormedXml(xml: string): { root: string; elements: string[] } {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  const elements: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
  let m: RegExpExecArray | null;
  let root = "";
  while ((m = token.exec(body)) !== null) {
    const [, close, name, , selfClose, text, stray] = m;
    if (stray) throw new Error(`Stray < at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (text !== undefined) {
      if (stack.length === 0 && text.trim() !== "") {
        throw new Error(`Text outside the root: ${text}`);
      }
      for (const entity of text.match(/&[^;\s]*;?/g) ?? []) {
        assert.match(entity, /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);$/i, `bad entity ${entity}`);
      }
      continue;
    }
    if (close) {
      assert.equal(stack.pop(), name, `mismatched </${name}>`);
      continue;
    }
    if (stack.length === 0) {
      roots++;
      root = name!;
    }
    elements.push(name!);
    if (!selfClose) stack.push(name!);
  }
  assert.equal(token.lastIndex === 0 || token.lastIndex === body.length, true, "unparsed tail");
  assert.deepEqual(stack, [], "unclosed elements");
  assert.equal(roots, 1);
  return { root, elements };
}

async function sampleReport(): Promise<ConformanceReport> {
  const target = await startExampleTarget({ faults: ["open-hub", "open-send", "html-alive"] });
  try {
    return await runConformance({
      target: resolveTarget({ target: target.url, inject: "send", internalKey: "secret-key" }),
      cases: exampleCases(),
      timeoutMs: 200,
      settleMs: 50,
      expectations: parseExpectations("example/harness/hang: ERROR  # <b>driver bug</b>\n"),
    });
  } finally {
    await target.close();
  }
}

Deno.test("writeReports writes index.json, per-case JSON, JUnit and HTML", async () => {
  const report = await sampleReport();
  const dir = await Deno.makeTempDir();
  try {
    const written = await writeReports(report, dir);
    assert.equal(written.length, 3 + report.cases.length);

    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    assert.equal(index.tool.name, "hubproof conformance");
    assert.equal(index.target.internalKey, "<redacted>");
    assert.equal(index.seed, report.seed);
    assert.equal(typeof index.startedAt, "string");
    assert.deepEqual(index.totals, report.totals);
    assert.equal(index.cases.length, 7);
    const hub = index.cases.find((c: { id: string }) => c.id === "example/hub/requires-token");
    assert.deepEqual(
      [hub.level, hub.verdict, hub.expected, hub.actual, hub.expectation.status, hub.reportFile],
      ["MUST", "FAIL", "HTTP 401", "HTTP 400", "unlisted", "cases/example.hub.requires-token.json"],
    );
    assert.equal(hub.trace, undefined);
    assert.equal(typeof hub.durationMs, "number");
    assert.equal(typeof hub.requirement, "string");
    const hang = index.cases.find((c: { id: string }) => c.id === "example/harness/hang");
    assert.equal(hang.expectation.status, "expected");

    const perCase = JSON.parse(await Deno.readTextFile(`${dir}/${hub.reportFile}`));
    assert.equal(perCase.id, "example/hub/requires-token");
    assert.ok(
      perCase.trace.some((e: { summary: string }) => e.summary === "GET /notifications/hub"),
    );
    for (const c of index.cases) await Deno.stat(`${dir}/${c.reportFile}`);

    const junit = await Deno.readTextFile(`${dir}/junit.xml`);
    const { root, elements } = assertWellFormedXml(junit);
    assert.equal(root, "testsuites");
    assert.equal(elements.filter((e) => e === "testsuite").length, 1);
    assert.equal(elements.filter((e) => e === "testcase").length, 7);
    assert.match(junit, /<testsuite name="example" tests="7" failures="2" errors="1" skipped="2"/);
    assert.match(
      junit,
      /name="example\/hub\/requires-token"[^>]*><failure message="Expected HTTP 401; got HTTP 400" type="FAIL">/,
    );
    assert.match(junit, /name="example\/api\/alive-json"[^>]*><error message="SyntaxError: /);
    assert.match(
      junit,
      /name="example\/harness\/hang"[^>]*><skipped message="Expected ERROR: &lt;b&gt;driver bug&lt;\/b&gt;"/,
    );
    assert.match(junit, /name="example\/send\/requires-internal-token"[^>]*><system-out>/);

    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.ok(!html.includes("<script>alert"), "target text must be escaped");
    assert.ok(html.includes("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert.ok(!html.includes("<b>driver bug</b>"));
    assert.equal(html.match(/<script>/g)?.length, 1, "only the report's own script");
    assert.ok(!/\b(src|href)="https?:/.test(html), "no network resources");
    const section = html.slice(html.indexOf('id="case-example_hub_requires-token"'));
    assert.match(
      section.slice(0, section.indexOf("</details>")),
      /<svg[^>]*class="sequence"[\s\S]*GET \/notifications\/hub[\s\S]*<\/svg>/,
    );
    assert.match(html, /<dt>Expected<\/dt><dd>HTTP 401<\/dd><dt>Actual<\/dt><dd>HTTP 400<\/dd>/);
    assert.match(html, /FAILED \(3 cases fail the run\)/);
    assert.equal((html.match(/<details class="failure"/g) ?? []).length, 5);
    for (const svg of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) assertWellFormedXml(svg);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("renderJUnit: NON-STRICT and unexpected passes are failures only with --strict", async () => {
  const target = await startExampleTarget({ faults: ["open-send"] });
  try {
    const base = {
      target: resolveTarget({ target: target.url, inject: "send" as const, internalToken: "good" }),
      cases: exampleCases(),
      only: ["example/send", "example/hub/requires-token"],
      expectations: parseExpectations("example/hub/requires-token: FAIL"),
    };
    const lax = renderJUnit(await runConformance(base));
    assert.match(lax, /failures="0" errors="0"/);
    const strict = renderJUnit(await runConformance({ ...base, strict: true }));
    assert.match(strict, /failures="2" errors="0"/);
    assert.match(strict, /message="Unexpected pass: remove this case from the expectations file"/);
  } finally {
    await target.close();
  }
});

Deno.test("ConsoleReporter prints progress, summary and failures; quiet prints the summary only", async () => {
  const report = await sampleReport();
  const lines: string[] = [];
  const reporter = new ConsoleReporter({ write: (l) => lines.push(l) });
  reporter.onEvent({ type: "start", total: 7, seed: 1 });
  reporter.onEvent({
    type: "case-end",
    result: report.cases[0]!,
    completed: 1,
    total: 7,
    elapsedMs: 1234,
    running: [],
  });
  reporter.summary(report);
  assert.equal(lines[0], "Running 7 cases (seed 1)");
  assert.match(lines[1]!, /^\[1\/7\] 00:01\.2 FAIL {10}example\/hub\/requires-token \(\d+ ms\)$/);
  const text = lines.join("\n");
  assert.match(text, / {2}FAIL {14}2\n/);
  assert.match(
    text,
    /FAIL example\/hub\/requires-token \[MUST\]\n.*The hub MUST.*\n {6}expected: HTTP 401\n {6}actual: {3}HTTP 400/,
  );
  assert.match(text, /ERROR example\/harness\/hang \[MUST\] \(expected failure\)/);
  assert.match(text, /Result: FAILED: 3 cases fail the run \(exit 1; seed \d+\)$/);

  const quiet: string[] = [];
  const q = new ConsoleReporter({ write: (l) => quiet.push(l), quiet: true });
  q.onEvent({ type: "start", total: 7, seed: 1 });
  q.summary(report);
  assert.equal(quiet.length, 6);
  // The example target has no API: the run created nothing, so it removed nothing; only the
  // full summary says so.
  assert.ok(!quiet.some((l) => l.startsWith("Cleanup:")));
  assert.match(text, /\nCleanup: removed nothing; 0 removal failures; stays: event logs\n/);
  assert.match(
    quiet[0]!,
    /^PASS 0, FAIL 2, NON-STRICT 1, INFORMATIONAL 1, UNSUPPORTED 1, ERROR 2;/,
  );
  // What did not run is printed even in quiet mode, grouped by reason.
  assert.match(quiet[1]!, /^NOT COVERED 1 MUST\/SHOULD case: needs --inject queue \(1\)/);
  assert.match(quiet[2]!, /^ {2}FAIL example\/hub\/requires-token: /);
});

Deno.test("renderSequenceDiagram orders lifelines and escapes labels", () => {
  const events = [
    {
      t: 0,
      from: "harness",
      to: "api",
      kind: "register" as const,
      summary: "POST /identity/accounts/register",
    },
    {
      t: 5,
      from: "hub",
      to: "client:bob",
      kind: "receive" as const,
      summary: 'ReceiveMessage {"x":"</svg><script>"}',
    },
    { t: 3, from: "api", to: "queue", kind: "inject" as const, summary: "enqueue SyncVault" },
    {
      t: 7,
      from: "client:alice",
      to: "client:alice",
      kind: "note" as const,
      summary: "nothing within 100 ms",
    },
  ];
  assert.deepEqual(lifelines(events), [
    "harness",
    "api",
    "queue",
    "hub",
    "client:bob",
    "client:alice",
  ]);
  const svg = renderSequenceDiagram(events, { idSuffix: "x" });
  assertWellFormedXml(svg);
  assert.ok(!svg.includes("<script>"));
  const order = ["register:", "inject: enqueue", "receive:", "note:"].map((s) => svg.indexOf(s));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
  assert.match(renderSequenceDiagram([]), /No trace events/);
  const many = Array.from({ length: 5 }, (_, i) => ({ ...events[0]!, t: i }));
  assert.match(
    renderSequenceDiagram(many, { maxEvents: 2 }),
    /3 more events: see the case JSON file/,
  );
});

Deno.test("escapeMarkup and toJsonSafe", () => {
  assert.equal(
    escapeMarkup(`<a href="x">'&'</a>\u0001`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\uFFFD",
  );
  const cyclic: Record<string, unknown> = {
    n: 1n,
    d: new Date(0),
    b: new Uint8Array([255]),
    m: new Map([[1, NaN]]),
  };
  cyclic.self = cyclic;
  assert.deepEqual(toJsonSafe(cyclic), {
    n: "1",
    d: "1970-01-01T00:00:00.000Z",
    b: { $bytes: "/w==" },
    m: { 1: "NaN" },
    self: "[Circular]",
  });
  const html = renderHtml({
    tool: { name: "t", version: "1" },
    target: resolveTarget({ target: "http://127.0.0.1:1" }),
    seed: 1,
    runs: 1,
    strict: false,
    requireAll: false,
    notCovered: { total: 0, byReason: [] },
    timeoutMs: 1,
    graceMs: 1,
    concurrency: 1,
    only: [],
    skip: [],
    startedAt: "x",
    endedAt: "y",
    durationMs: 0,
    totals: { PASS: 0, FAIL: 0, "NON-STRICT": 0, INFORMATIONAL: 0, UNSUPPORTED: 0, ERROR: 0 },
    expectedFailures: 0,
    unexpectedPasses: 0,
    failing: 0,
    passed: true,
    staleExpectations: ["<gone>"],
    cleanup: {
      kept: true,
      removed: { accounts: 0, organizations: 0, ciphers: 0, folders: 0, sends: 0 },
      failed: 0,
      failures: [],
      stays: ["everything the run created (--keep-data): 2 accounts", "event logs"],
      durationMs: 0,
    },
    cases: [],
  });
  assert.match(html, /kept \(--keep-data\); stays: everything the run created/);
  assert.match(html, /Expectations naming no case: &lt;gone&gt;/);
  assert.match(html, /PASSED/);
});

Deno.test("renderSequenceDiagram hides protocol frames when the trace tells a story", () => {
  const story: TraceEvent[] = [
    { t: 1, from: "client:alice", to: "hub", kind: "frame", summary: "handshake" },
    { t: 2, from: "hub", to: "client:alice", kind: "frame", summary: "handshake answer" },
    { t: 3, from: "harness", to: "send", kind: "inject", summary: "POST /send" },
    { t: 4, from: "hub", to: "client:alice", kind: "receive", summary: "ReceiveMessage" },
  ];
  const svg = renderSequenceDiagram(story);
  assert.ok(!svg.includes("handshake answer"));
  assert.ok(svg.includes("2 protocol frames (handshakes, pings) not drawn"));
  const framesOnly = renderSequenceDiagram(story.slice(0, 2));
  assert.ok(framesOnly.includes("handshake answer"), "a frames-only trace is drawn in full");
});
