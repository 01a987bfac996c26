import assert from "node:assert/strict";
import { FlagError, parseFlags } from "./flags.ts";

const TABLE = {
  target: { type: "string" },
  only: { type: "string", multiple: true },
  seed: { type: "string" },
  strict: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function rejects(args: string[], flag: string, message: RegExp): void {
  assert.throws(() => parseFlags(args, TABLE), (error: unknown) => {
    assert.ok(error instanceof FlagError, String(error));
    assert.equal(error.flag, flag);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseFlags reads --flag value and --flag=value alike", () => {
  assert.deepEqual(
    parseFlags(["--target", "http://x", "--only=a", "--only", "b", "--strict", "-h"], TABLE),
    { target: "http://x", only: ["a", "b"], strict: true, help: true },
  );
  assert.deepEqual(parseFlags(["--target=--odd"], TABLE), { target: "--odd" });
  assert.deepEqual(parseFlags(["--seed", "-5"], TABLE), { seed: "-5" });
  assert.deepEqual(parseFlags(["--strict", "--strict"], TABLE), { strict: true });
  assert.deepEqual(parseFlags([], TABLE), {});
});

Deno.test("parseFlags names the flag in one style", () => {
  rejects(
    ["--bogus"],
    "--bogus",
    /^Unknown flag --bogus: expected one of --target, --only, --seed, --strict, --help$/,
  );
  rejects(["--bogus=1"], "--bogus", /^Unknown flag --bogus: /);
  rejects(["-x"], "-x", /^Unknown flag -x: /);
  rejects(["http://x"], "http://x", /^Unexpected argument http:\/\/x: flags start with --$/);
  rejects(["--", "x"], "--", /^Unexpected argument --/);
  rejects(["--target"], "--target", /^Invalid --target: expected a value, got nothing$/);
  rejects(
    ["--target", "--strict"],
    "--target",
    /^Invalid --target: expected a value, got nothing$/,
  );
  rejects(["--target="], "--target", /^Invalid --target: expected a value, got ""$/);
  rejects(["--strict=yes"], "--strict", /^Invalid --strict: expected no value, got yes$/);
  rejects(
    ["--target", "a", "--target=b"],
    "--target",
    /^Invalid --target: expected one value, got 2$/,
  );
});

Deno.test("parseFlags ignores inherited names", () => {
  rejects(["--constructor"], "--constructor", /^Unknown flag --constructor/);
  rejects(["--toString=1"], "--toString", /^Unknown flag --toString/);
});
