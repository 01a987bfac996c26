import assert from "node:assert/strict";
import { startExampleTarget } from "./testing/example_target.ts";

const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];

async function cli(script: "main.ts" | "testing/cli_fixture.ts", args: string[]) {
  const path = new URL(`./${script}`, import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", ...PERMS, path, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("CLI exits 2 on usage errors with one line naming the flag", async (t) => {
  const cases: [string[], RegExp][] = [
    [
      ["--bogus"],
      /^conformance: Unknown flag --bogus: expected one of --target-file, .*, --help, --target, .*$/,
    ],
    [
      ["--target", "http://127.0.0.1:1", "--timeout", "soon"],
      /^conformance: Invalid --timeout: .*, got soon$/,
    ],
    [[], /^conformance: Missing --target: /],
    [
      ["--target", "http://127.0.0.1:1", "--inject", "send"],
      /^conformance: Missing --internal-key or --internal-token: /,
    ],
    [
      ["--target", "http://127.0.0.1:1", "--inject", "carrier-pigeon"],
      /^conformance: Invalid --inject: /,
    ],
    [
      ["--target-file", "/nonexistent/target.json"],
      /^conformance: Invalid --target-file: cannot read /,
    ],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" ") || "(no flags)", async () => {
      const result = await cli("main.ts", args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr.trimEnd(), message);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1);
      assert.equal(result.stdout, "");
    });
  }
});

Deno.test("CLI exits 2 when the target is unreachable", async () => {
  const port = closedPort();
  const result = await cli("main.ts", [
    "--target",
    `http://127.0.0.1:${port}`,
    "--inject",
    "send",
    "--internal-token",
    "t",
  ]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `^conformance: Target hub unreachable: http://127\\.0\\.0\\.1:${port}/notifications/hub: `,
    ),
  );
  assert.match(result.stderr, /Target \/send unreachable/);
});

Deno.test("CLI --help exits 0", async () => {
  const result = await cli("main.ts", ["--help"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: deno task conformance --target URL/);
  assert.match(result.stdout, /--act-as-authority PORT/);
});

Deno.test("CLI exit codes 0 and 1 with reports", async (t) => {
  const good = await startExampleTarget();
  const broken = await startExampleTarget({ faults: ["open-hub"] });
  const dir = await Deno.makeTempDir();
  const common = [
    "--inject",
    "send",
    "--internal-token",
    "good",
    "--timeout",
    "500",
    "--skip",
    "example/slow",
    "--skip",
    "example/harness",
  ];
  try {
    await t.step("--list is a dry run", async () => {
      const result = await cli("testing/cli_fixture.ts", ["--list", "--only", "example/hub"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^example\/hub\/requires-token +MUST +The hub MUST answer 401/m);
      assert.match(result.stdout, /^example\/hub\/negotiate +MAY +/m);
      assert.match(result.stdout, /^2 of 7 cases$/m);
    });
    await t.step("a conforming target exits 0", async () => {
      const result = await cli("testing/cli_fixture.ts", ["--target", good.url, ...common]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^\[1\/5\] \d\d:\d\d\.\d /m);
      assert.match(result.stdout, /^Result: PASSED \(exit 0; seed \d+\)$/m);
    });
    await t.step("a MUST failure exits 1 and writes reports", async () => {
      const result = await cli("testing/cli_fixture.ts", [
        "--target",
        broken.url,
        ...common,
        "--report-dir",
        dir,
        "--quiet",
      ]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.deepEqual(result.stdout.trimEnd().split("\n"), [
        "PASS 2, FAIL 1, NON-STRICT 0, INFORMATIONAL 1, UNSUPPORTED 1, ERROR 0; expected failures 0, unexpected passes 0",
        "NOT COVERED 1 MUST/SHOULD case: needs --inject queue (1) — not checked; --require-all makes this fail the run",
        "  FAIL example/hub/requires-token: Expected HTTP 401; got HTTP 400",
        result.stdout.trimEnd().split("\n")[3]!,
        `Reports: ${dir}/index.json, junit.xml, report.html`,
      ]);
      assert.match(result.stdout, /Result: FAILED: 1 case fails the run \(exit 1; seed \d+\)/);
      const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
      assert.equal(index.passed, false);
      assert.equal(index.cases.length, 5);
    });
    await t.step("an expectations file turns the known failure into exit 0", async () => {
      const file = `${dir}/expectations.txt`;
      await Deno.writeTextFile(
        file,
        "example/hub/requires-token: FAIL  # open hub, tracked upstream\n",
      );
      const result = await cli("testing/cli_fixture.ts", [
        "--target",
        broken.url,
        ...common,
        "--expectations",
        file,
      ]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(
        result.stdout,
        /FAIL +example\/hub\/requires-token \(\d+ ms\) \(expected failure\)/,
      );
    });
    await t.step("an ERROR exits 1", async () => {
      const result = await cli("testing/cli_fixture.ts", [
        "--target",
        good.url,
        "--inject",
        "send",
        "--internal-token",
        "good",
        "--timeout",
        "200",
        "--only",
        "example/harness",
      ]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stdout, /ERROR example\/harness\/hang \[MUST\]/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await good.close();
    await broken.close();
  }
});
