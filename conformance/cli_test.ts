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
  "accounts.txt": "# made in the admin page\nAlice@Example.com  s3cret pass\nbob@example.com b\n",
  "accounts.json": JSON.stringify([{ email: "carol@example.com", password: "c" }]),
  "bad-accounts.txt": "alice@example.com\n",
  "twice.txt": "a@x.org p\nA@x.org q\n",
  "ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  "not-pem.txt": "hello",
  "reach.json": JSON.stringify({
    target: "https://vw.example.org",
    header: ["CF-Access-Client-Id: id"],
    caCert: "ca.pem",
    accounts: "accounts.json",
    kdfIterations: 100000,
    emailDomain: "corp.example",
  }),
  "queue.json": JSON.stringify({
    target: "http://127.0.0.1:1",
    inject: "queue",
    queueConnectionString: "UseDevelopmentStorage=true",
    createQueue: true,
  }),
  "bad-bool.json": JSON.stringify({ target: "http://127.0.0.1:1", createQueue: "yes" }),
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
  await rejectsFlag(
    ["--bogus"],
    "--bogus",
    /^Unknown flag --bogus: expected one of --target-file, /,
  );
  await rejectsFlag(["--bogus=1"], "--bogus", /^Unknown flag --bogus/);
  await rejectsFlag(["http://x"], "http://x", /Unexpected argument/);
  await rejectsFlag(["--target"], "--target", /^Invalid --target: expected a value, got nothing$/);
  await rejectsFlag(
    ["--target", "--strict"],
    "--target",
    /^Invalid --target: expected a value, got nothing$/,
  );
  await rejectsFlag(["--target="], "--target", /^Invalid --target: expected a value, got ""$/);
  await rejectsFlag(
    ["--target", "http://x", "--target", "http://y"],
    "--target",
    /^Invalid --target: expected one value, got 2$/,
  );
  await rejectsFlag(["--strict=yes"], "--strict", /^Invalid --strict: expected no value, got yes$/);
  await rejectsFlag(
    ["--target", "http://x", "--timeout", "abc"],
    "--timeout",
    /^Invalid --timeout: expected a timeout.*got abc$/,
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

Deno.test("parseCli: --accounts, --kdf-iterations, --email-domain, --header, --ca-cert", async () => {
  const command = await parse([
    "--target",
    "https://vw.example.org",
    "--accounts",
    "accounts.txt",
    "--kdf-iterations",
    "100000",
    "--email-domain",
    "@Corp.Example",
    "--header",
    "CF-Access-Client-Id: id",
    "--header=CF-Access-Client-Secret:se:cret",
    "--ca-cert",
    "ca.pem",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  const target = command.options.target;
  assert.deepEqual(target.accounts, [
    { email: "alice@example.com", password: "s3cret pass" },
    { email: "bob@example.com", password: "b" },
  ]);
  assert.equal(target.kdfIterations, 100000);
  assert.equal(target.emailDomain, "corp.example");
  assert.deepEqual(target.headers, {
    "cf-access-client-id": "id",
    "cf-access-client-secret": "se:cret",
  });
  assert.deepEqual(target.caCertificates, [files["ca.pem"]]);
});

Deno.test("parseCli: the reach and account flags as --target-file keys", async () => {
  const command = await parse(["--target-file", "reach.json"]);
  if (command.kind !== "run") throw new Error("expected a run");
  const target = command.options.target;
  assert.deepEqual(target.accounts, [{ email: "carol@example.com", password: "c" }]);
  assert.deepEqual(target.headers, { "cf-access-client-id": "id" });
  assert.equal(target.caCertificates?.length, 1);
  assert.deepEqual([target.kdfIterations, target.emailDomain], [100000, "corp.example"]);
  const queue = await parse(["--target-file", "queue.json"]);
  if (queue.kind !== "run") throw new Error("expected a run");
  assert.equal(queue.options.target.createQueue, true);
});

Deno.test("parseCli: bad reach and account flags name the flag", async () => {
  const base = ["--target", "http://127.0.0.1:1"];
  await rejectsFlag([...base, "--accounts", "missing.txt"], "--accounts", /cannot read missing/);
  await rejectsFlag([...base, "--accounts", "bad-accounts.txt"], "--accounts", /line 1: no master/);
  await rejectsFlag([...base, "--accounts", "twice.txt"], "--accounts", /a@x.org is listed twice/);
  await rejectsFlag([...base, "--kdf-iterations", "many"], "--kdf-iterations", /an integer/);
  await rejectsFlag([...base, "--kdf-iterations", "0"], "--kdf-iterations", /an integer 1\.\./);
  await rejectsFlag([...base, "--email-domain", "not a domain"], "--email-domain", /a domain/);
  await rejectsFlag([...base, "--header", "no-colon"], "--header", /NAME:VALUE/);
  await rejectsFlag([...base, "--header", "Authorization: x"], "--header", /set by the suite/);
  await rejectsFlag([...base, "--ca-cert", "not-pem.txt"], "--ca-cert", /no PEM certificate/);
  await rejectsFlag([...base, "--create-queue"], "--create-queue", /needs --inject queue/);
  await rejectsFlag(
    [...base, "--create-queue=yes"],
    "--create-queue",
    /expected no value, got yes/,
  );
  await rejectsFlag([...base, "--insecure"], "--insecure", /--unsafely-ignore-certificate-errors/);
  await rejectsFlag(["--target-file", "bad-bool.json"], "--target-file", /expected true or false/);
});

Deno.test("HELP lists every target flag", async () => {
  const { HELP } = await import("./cli.ts");
  const { TARGET_KEYS } = await import("./target.ts");
  for (const { flag } of Object.values(TARGET_KEYS)) assert.match(HELP, new RegExp(`${flag} `));
});
