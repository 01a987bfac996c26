/**
 * Command-line parsing for `deno task conformance`: flags (and `--target-file`, `--expectations`)
 * become one validated command. Every problem is a {@linkcode UsageError} naming the flag.
 *
 * @module
 */

import {
  FlagError,
  flagLists,
  type FlagTable,
  parseFlags,
  parseInteger,
  type Range,
} from "../config/mod.ts";
import { UsageError } from "./errors.ts";
import { type Expectations, parseExpectations } from "./expectations.ts";
import { parseAccounts } from "./accounts.ts";
import type { GivenAccount } from "./types.ts";
import type { RunOptions } from "./runner.ts";
import {
  parsePort,
  parseTargetFile,
  resolveTarget,
  TARGET_KEYS,
  type TargetInput,
} from "./target.ts";

/** What the CLI was asked to do. */
export type CliCommand =
  /** Print usage. */
  | { readonly kind: "help" }
  /** Dry run: list the selected cases, no network. */
  | { readonly kind: "list"; readonly only: readonly string[]; readonly skip: readonly string[] }
  /** Run the suite. */
  | {
    readonly kind: "run";
    /** Options for `runConformance` (without cases and callbacks). */
    readonly options: Omit<RunOptions, "cases" | "onEvent" | "signal" | "cleanupSignal">;
    /** `--report-dir`. */
    readonly reportDir?: string;
    /** `--quiet`. */
    readonly quiet: boolean;
    /** `--verbose`. */
    readonly verbose: boolean;
  };

/** Options of {@linkcode parseCli}. */
export interface ParseCliOptions {
  /** Reads `--target-file` and `--expectations` (default `Deno.readTextFile`). */
  readonly readTextFile?: (path: string) => Promise<string>;
}

/** Usage text for `--help`. */
export const HELP = `Usage: deno task conformance --target URL [options]

Checks that a Bitwarden-compatible push-notification deployment delivers every push to exactly
the right connections. Exit 0: no MUST case failed; 1: a case failed (or errored); 2: usage error
or unreachable target.

Target:
  --target URL                 Base URL (hub URL/notifications/hub, API URL/api, identity URL/identity)
  --target-file FILE           JSON object with the target flags as camelCase keys
  --hub-url URL                Override the hub URL
  --anonymous-hub-url URL      Override the anonymous hub URL (URL/notifications/anonymous-hub)
  --send-url URL               Override the /send URL (URL/notifications/send)
  --api-url URL                Override the API URL
  --identity-url URL           Override the identity URL
  --scaleout-hub-url URL       Another hub of the same deployment (repeatable)
  --inject api|send|queue      How updates are injected (default api)
  --internal-client-id ID      client_credentials id for the /send token (default internal.hubproof)
  --internal-key KEY           client_credentials secret (globalSettings__internalIdentityKey)
  --internal-token TOKEN       Use this internal token for /send as is
  --queue-connection-string S  Azure Storage connection string (inject queue)
  --queue-name NAME            Queue name (default notifications)
  --act-as-authority PORT      Serve OIDC discovery + JWKS on PORT and mint tokens (0 = any port)
  --authority-host HOST        Interface for that authority (default 127.0.0.1)
  --authority-issuer URL       Issuer the authority writes into tokens (default its own URL)
  --installation-id ID         The target's installation id
  --protocol messagepack|json  Hub protocol to exercise (repeatable; default both)
  --header NAME:VALUE          Send this header on every HTTP request and WebSocket upgrade to the
                               target (repeatable; e.g. an access proxy's CF-Access-Client-Id)
  --ca-cert FILE               Also trust the PEM certificate(s) in FILE (a private CA)
  --insecure                   Not available in Deno (explains --unsafely-ignore-certificate-errors)
  --create-queue               Create the --queue-name queue when it does not exist (inject queue)

Accounts (identity-backed cases, without --act-as-authority):
  --accounts FILE              Log in with accounts made beforehand and register none: one
                               "email password" per line, or JSON [{"email","password"}]
  --kdf-iterations N           PBKDF2 iterations of accounts the suite registers (default 600000)
  --email-domain DOMAIN        E-mail domain of accounts the suite registers (default example.com;
                               for a sign-up domain allow-list)

Selection and timing:
  --list                       List the selected cases (id, level, requirement) and exit; no network
  --only PATTERN               Run only matching cases (repeatable; glob with * and **, or id prefix)
  --skip PATTERN               Skip matching cases (repeatable)
  --timeout MS                 Per-case timeout (default 30000)
  --grace MS                   Wait for messages that must not arrive (default 1000)
  --concurrency N              Cases run at once (default 4)
  --seed N                     Seed for property-based cases (default random, printed)
  --runs N                     Runs per property-based case (default 100)

Grading and output:
  --strict                     NON-STRICT (SHOULD) cases and unexpected passes fail the run
  --require-all                A MUST or SHOULD case that could not run (UNSUPPORTED) fails the run
  --expectations FILE          Known failures (JSON or "case-id: FAIL  # reason" lines)
  --report-dir DIR             Write index.json, cases/*.json, junit.xml, report.html
  --keep-data                  Keep what the run created on the target (default: remove the
                               accounts it registered, the organizations, ciphers, folders and
                               Sends it created, through the target's API, after the cases)
  --quiet                      Print only the final summary
  --verbose                    Also print case starts and case logs
  --help                       Show this help
`;

type Kind = "bool" | "string" | "list";

const RUN_FLAGS: Readonly<Record<string, Kind>> = {
  "--target-file": "string",
  "--list": "bool",
  "--only": "list",
  "--skip": "list",
  "--timeout": "string",
  "--grace": "string",
  "--concurrency": "string",
  "--seed": "string",
  "--runs": "string",
  "--strict": "bool",
  "--require-all": "bool",
  "--expectations": "string",
  "--report-dir": "string",
  "--keep-data": "bool",
  "--quiet": "bool",
  "--verbose": "bool",
  "--help": "bool",
};

const TARGET_FLAGS = new Map(
  Object.entries(TARGET_KEYS).map(([key, spec]) => [spec.flag, {
    key,
    kind: spec.kind === "strings"
      ? "list" as const
      : spec.kind === "bool"
      ? "bool" as const
      : "string" as const,
  }]),
);

/** Every flag of the command line, in the shared parser's terms (`-h` is `--help`). */
const FLAG_TABLE: FlagTable = Object.fromEntries(
  [
    ...Object.entries(RUN_FLAGS),
    ...[...TARGET_FLAGS].map(([flag, { kind }]): [string, Kind] => [flag, kind]),
  ]
    .map(([flag, kind]) => [flag.slice(2), {
      type: kind === "bool" ? "boolean" : "string",
      ...(kind === "list" ? { multiple: true } : {}),
      ...(flag === "--help" ? { short: "h" } : {}),
    }]),
);

function integer(flag: string, raw: string | undefined, range: Range): number | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseInteger(flag, raw, range);
  } catch (error) {
    throw new UsageError(flag, (error as Error).message);
  }
}

/**
 * Splits raw arguments into flag values (`--flag value` or `--flag=value`) with the shared
 * parser (`config/flags.ts`).
 *
 * @param args Raw arguments.
 * @returns Values by flag name (`--only` -> its values; a switch -> `["true"]`).
 * @throws {UsageError} On an unknown flag, a missing value, a value given to a switch, a repeated
 * single-valued flag, or a positional argument.
 */
export function splitFlags(args: readonly string[]): Map<string, string[]> {
  try {
    return flagLists(parseFlags(args, FLAG_TABLE));
  } catch (error) {
    if (error instanceof FlagError) throw new UsageError(error.flag, error.message);
    throw error;
  }
}

async function readFile(
  flag: string,
  path: string,
  read: (p: string) => Promise<string>,
): Promise<string> {
  try {
    return await read(path);
  } catch (error) {
    throw new UsageError(
      flag,
      `Invalid ${flag}: cannot read ${path}: ${(error as Error).message.split("\n")[0]}`,
    );
  }
}

/**
 * Parses the command line into a validated command (reading `--target-file` and `--expectations`).
 *
 * @param args `Deno.args`.
 * @param options File reader.
 * @returns The command.
 * @throws {UsageError} Naming the flag of an unknown, bad or missing value.
 *
 * @example
 * ```ts
 * import { parseCli } from "./cli.ts";
 * const command = await parseCli(["--target", "http://127.0.0.1:8080", "--timeout", "5000"]);
 * command.kind; // "run"
 * ```
 */
export async function parseCli(
  args: readonly string[],
  options: ParseCliOptions = {},
): Promise<CliCommand> {
  const read = options.readTextFile ?? ((path: string) => Deno.readTextFile(path));
  const values = splitFlags(args);
  const one = (flag: string) => values.get(flag)?.[0];
  const has = (flag: string) => values.has(flag);
  if (has("--help")) return { kind: "help" };
  const only = values.get("--only") ?? [];
  const skip = values.get("--skip") ?? [];
  if (has("--quiet") && has("--verbose")) {
    throw new UsageError("--quiet", "Invalid --quiet: it cannot be combined with --verbose");
  }
  const timeoutMs = integer("--timeout", one("--timeout"), {
    min: 1,
    max: 3_600_000,
    expected: "a timeout in milliseconds (1..3600000)",
  });
  const graceMs = integer("--grace", one("--grace"), {
    min: 0,
    max: 600_000,
    expected: "a grace period in milliseconds (0..600000)",
  });
  const concurrency = integer("--concurrency", one("--concurrency"), { min: 1, max: 256 });
  const seed = integer("--seed", one("--seed"), {
    min: -(2 ** 31),
    max: 2 ** 31 - 1,
    expected: "a 32-bit integer",
  });
  const runs = integer("--runs", one("--runs"), { min: 1, max: 1_000_000 });
  if (has("--list")) return { kind: "list", only, skip };

  const flags: Record<string, unknown> = {};
  for (const [flag, spec] of TARGET_FLAGS) {
    const given = values.get(flag);
    if (given === undefined) continue;
    flags[spec.key] = spec.key === "actAsAuthority"
      ? parsePort(flag, given[0])
      : spec.kind === "bool"
      ? true
      : spec.kind === "list"
      ? given
      : given[0];
  }
  const targetFile = one("--target-file");
  let file: TargetInput = {};
  if (targetFile !== undefined) {
    const text = await readFile("--target-file", targetFile, read);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new UsageError(
        "--target-file",
        `Invalid --target-file ${targetFile}: ${(error as Error).message}`,
      );
    }
    file = parseTargetFile(data, targetFile);
  }
  const named = { ...file, ...flags } as TargetInput;
  const loaded: { accounts?: GivenAccount[]; caCertificates?: string[] } = {};
  if (named.accounts !== undefined) {
    loaded.accounts = parseAccounts(
      await readFile("--accounts", named.accounts, read),
      named.accounts,
    );
  }
  if (named.caCert !== undefined) {
    const pem = await readFile("--ca-cert", named.caCert, read);
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
      throw new UsageError(
        "--ca-cert",
        `Invalid --ca-cert ${named.caCert}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it`,
      );
    }
    loaded.caCertificates = [pem];
  }
  const target = resolveTarget(flags as TargetInput, file, loaded);

  const expectationsPath = one("--expectations");
  let expectations: Expectations | undefined;
  if (expectationsPath !== undefined) {
    const text = await readFile("--expectations", expectationsPath, read);
    try {
      expectations = parseExpectations(text, { source: expectationsPath });
    } catch (error) {
      throw new UsageError("--expectations", `Invalid --expectations ${(error as Error).message}`);
    }
  }
  const reportDir = one("--report-dir");
  const runOptions: Omit<RunOptions, "cases" | "onEvent" | "signal" | "cleanupSignal"> = {
    target,
    only,
    skip,
    strict: has("--strict"),
    ...(has("--require-all") ? { requireAll: true } : {}),
    ...(has("--keep-data") ? { keepData: true } : {}),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(graceMs === undefined ? {} : { graceMs }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(seed === undefined ? {} : { seed }),
    ...(runs === undefined ? {} : { runs }),
    ...(expectations === undefined ? {} : { expectations, expectationsSource: expectationsPath! }),
  };
  return {
    kind: "run",
    options: runOptions,
    ...(reportDir === undefined ? {} : { reportDir }),
    quiet: has("--quiet"),
    verbose: has("--verbose"),
  };
}
