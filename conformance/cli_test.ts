import assert from "node:assert/strict";
import { type CliCommand, parseCli, splitFlags } from "./cli.ts";
import { UsageError } from "./errors.ts";

const files: Record<string, string> = {
  "target.json": JSON.stringify({
    target: "http://127.0.0.1:8080",
    inject: "send",
    internalToken: "tok",
  }),
  "bad.json": "{",
  "exp.txt": "hub/a: FAIL # why\n",
  "bad-exp.txt": "hub/a: MAYBE\n",
};
const readTextFile = (path: string) =>
  path in files
    ? Promise.resolve(files[path]!)
    : Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));

function parse(args: string[]): Promise<CliCommand> {
  return parseCli(args, { readTextFile });
}

async function rejectsFlag(args: string[], flag: string, message: RegExp) {
  await assert.rejects(parse(args), (e) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.flag, flag);
    assert.match(e.message, message);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
}

Deno.test("parseCli: a full run command", async () => {
  const command = await parse([
    "--target=http://127.0.0.1:8080",
    "--inject",
    "queue",
    "--queue-connection-string",
    "UseDevelopmentStorage=true",
    "--protocol",
    "json",
    "--only",
    "hub",
    "--only=route/*",
    "--skip",
    "**/json",
    "--timeout",
    "5000",
    "--grace",
    "0",
    "--concurrency",
    "2",
    "--seed",
    "-42",
    "--runs",
    "7",
    "--strict",
    "--expectations",
    "exp.txt",
    "--report-dir",
    "out",
    "--quiet",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  const o = command.options;
  assert.equal(o.target.inject, "queue");
  assert.deepEqual(o.target.protocols, ["json"]);
  assert.deepEqual(o.only, ["hub", "route/*"]);
  assert.deepEqual(o.skip, ["**/json"]);
  assert.deepEqual([o.timeoutMs, o.graceMs, o.concurrency, o.seed, o.runs, o.strict], [
    5000,
    0,
    2,
    -42,
    7,
    true,
  ]);
  assert.deepEqual(o.expectations?.get("hub/a"), { expected: ["FAIL"], reason: "why" });
  assert.equal(o.expectationsSource, "exp.txt");
  assert.equal(command.reportDir, "out");
  assert.deepEqual([command.quiet, command.verbose], [true, false]);
});

Deno.test("parseCli: target file, flags win", async () => {
  const command = await parse([
    "--target-file",
    "target.json",
    "--send-url",
    "http://127.0.0.1:9/send",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  assert.equal(command.options.target.inject, "send");
  assert.equal(command.options.target.internalToken, "tok");
  assert.equal(command.options.target.sendUrl, "http://127.0.0.1:9/send");
});

Deno.test("parseCli: help and list need no target", async () => {
  assert.deepEqual(await parse(["--target", "nope", "--help"]), { kind: "help" });
  assert.deepEqual(await parse(["-h"]), { kind: "help" });
  assert.deepEqual(await parse(["--list", "--only", "hub"]), {
    kind: "list",
    only: ["hub"],
    skip: [],
  });
});

Deno.test("parseCli: usage errors name the flag", async () => {
  await rejectsFlag(["--bogus"], "--bogus", /^Unknown flag --bogus/);
  await rejectsFlag(["--bogus=1"], "--bogus", /^Unknown flag --bogus/);
  await rejectsFlag(["http://x"], "http://x", /Unexpected argument/);
  await rejectsFlag(["--target"], "--target", /^Missing value for --target$/);
  await rejectsFlag(["--target", "--strict"], "--target", /^Missing value for --target$/);
  await rejectsFlag(["--target="], "--target", /empty value/);
  await rejectsFlag(
    ["--target", "http://x", "--target", "http://y"],
    "--target",
    /given more than once/,
  );
  await rejectsFlag(["--strict=yes"], "--strict", /takes no value/);
  await rejectsFlag(
    ["--target", "http://x", "--timeout", "abc"],
    "--timeout",
    /^Invalid --timeout: expected a timeout.*got "abc"$/,
  );
  await rejectsFlag(["--target", "http://x", "--timeout", "0"], "--timeout", /Invalid --timeout/);
  await rejectsFlag(["--target", "http://x", "--grace", "-1"], "--grace", /Invalid --grace/);
  await rejectsFlag(
    ["--target", "http://x", "--concurrency", "1.5"],
    "--concurrency",
    /Invalid --concurrency/,
  );
  await rejectsFlag(
    ["--target", "http://x", "--seed", "99999999999"],
    "--seed",
    /a 32-bit integer/,
  );
  await rejectsFlag(["--target", "http://x", "--runs", "0"], "--runs", /Invalid --runs/);
  await rejectsFlag(
    ["--target", "http://x", "--act-as-authority", "http"],
    "--act-as-authority",
    /a port 0\.\.65535/,
  );
  await rejectsFlag(
    ["--target", "http://x", "--quiet", "--verbose"],
    "--quiet",
    /cannot be combined with --verbose/,
  );
  await rejectsFlag([], "--target", /^Missing --target/);
  await rejectsFlag(
    ["--target-file", "missing.json"],
    "--target-file",
    /cannot read missing\.json: No such file/,
  );
  await rejectsFlag(
    ["--target-file", "bad.json"],
    "--target-file",
    /Invalid --target-file bad\.json:/,
  );
  await rejectsFlag(
    ["--target", "http://x", "--expectations", "bad-exp.txt"],
    "--expectations",
    /bad-exp\.txt:1: unknown verdict "MAYBE"/,
  );
});

Deno.test("splitFlags collects repeatable flags", () => {
  const values = splitFlags([
    "--scaleout-hub-url",
    "http://a",
    "--scaleout-hub-url=http://b",
    "--strict",
    "--strict",
  ]);
  assert.deepEqual(values.get("--scaleout-hub-url"), ["http://a", "http://b"]);
  assert.deepEqual(values.get("--strict"), ["true"]);
});
