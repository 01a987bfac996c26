/**
 * The one command-line parser of hubproof's programs (`serve`, `conformance`, `watch`, the
 * mutation audit, the bench scripts): a flag table in, typed values out, on `node:util`
 * `parseArgs`. `--flag value` and `--flag=value` both work; every problem is a
 * {@linkcode FlagError} naming the flag, in one style:
 *
 * - `Unknown flag --bogus: expected one of --a, --b, --c`
 * - `Invalid --port: expected a value, got nothing` (also `got ""`)
 * - `Invalid --quiet: expected no value, got yes`
 * - `Invalid --target: expected one value, got 2`
 * - `Unexpected argument "x": flags start with --`
 *
 * Values are strings; check them with `values.ts` (`parseInteger`, ...) in the same format.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { shown } from "./values.ts";

/** One flag of a table. */
export interface FlagSpec {
  /** `string` takes a value; `boolean` is a switch and takes none. */
  readonly type: "string" | "boolean";
  /** The flag may be repeated; its values are collected in order. */
  readonly multiple?: boolean;
  /** A one-letter alias, e.g. `h` for `-h`. */
  readonly short?: string;
}

/** Flags by name, without the leading `--` (`"report-dir"`). */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** What {@linkcode parseFlags} returns for a table: only the flags given are present. */
export type FlagValues<T extends FlagTable> = {
  -readonly [K in keyof T]?: T[K]["type"] extends "boolean" ? true
    : T[K]["multiple"] extends true ? string[]
    : string;
};

/** A bad command line; `flag` names the flag (or the stray argument) at fault. */
export class FlagError extends TypeError {
  /** The flag as written, e.g. `--port`. */
  readonly flag: string;

  /**
   * Creates the error.
   *
   * @param flag The flag at fault.
   * @param message The whole message, naming the flag.
   */
  constructor(flag: string, message: string) {
    super(message);
    this.name = "FlagError";
    this.flag = flag;
  }
}

/**
 * Parses a command line against a flag table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./flags.ts";
 * const table = {
 *   port: { type: "string" },
 *   only: { type: "string", multiple: true },
 *   quiet: { type: "boolean" },
 * } as const;
 * const values = parseFlags(["--port=8080", "--only", "a", "--only=b", "--quiet"], table);
 * assert.deepEqual(values, { port: "8080", only: ["a", "b"], quiet: true });
 * assert.throws(() => parseFlags(["--prot", "1"], table), /Unknown flag --prot: expected one of --port, --only, --quiet/);
 * assert.throws(() => parseFlags(["--port"], table), /Invalid --port: expected a value, got nothing/);
 * ```
 * @param args The arguments (`Deno.args`).
 * @param table The flags.
 * @returns The values of the flags given.
 * @throws {FlagError} On an unknown flag, a missing or empty value, a value given to a switch, a
 * repeated single flag, or a positional argument.
 */
export function parseFlags<const T extends FlagTable>(
  args: readonly string[],
  table: T,
): FlagValues<T> {
  const { tokens } = parseArgs({
    args: [...args],
    options: table as Record<string, FlagSpec>,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | string[] | true> = {};
  for (const token of tokens) {
    if (token.kind === "positional" || token.kind === "option-terminator") {
      const arg = token.kind === "positional" ? token.value : "--";
      throw new FlagError(arg, `Unexpected argument ${shown(arg)}: flags start with --`);
    }
    const spec = Object.hasOwn(table, token.name) ? table[token.name] : undefined;
    const flag = spec ? `--${token.name}` : token.rawName;
    if (!spec) {
      const valid = Object.keys(table).map((name) => `--${name}`).join(", ");
      throw new FlagError(flag, `Unknown flag ${flag}: expected one of ${valid}`);
    }
    if (spec.type === "boolean") {
      if (token.value !== undefined) {
        throw new FlagError(flag, `Invalid ${flag}: expected no value, got ${shown(token.value)}`);
      }
      values[token.name] = true;
      continue;
    }
    // Without strict parsing, `--port --quiet` hands `--quiet` to --port: a forgotten value.
    const value = token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))
      ? undefined
      : token.value;
    if (value === undefined || value === "") {
      throw new FlagError(flag, `Invalid ${flag}: expected a value, got ${shown(value)}`);
    }
    const previous = values[token.name];
    if (spec.multiple) {
      values[token.name] = [...(previous as string[] | undefined ?? []), value];
    } else if (previous !== undefined) {
      const count = args.filter((a) => a === flag || a.startsWith(`${flag}=`)).length;
      throw new FlagError(flag, `Invalid ${flag}: expected one value, got ${count}`);
    } else {
      values[token.name] = value;
    }
  }
  return values as FlagValues<T>;
}

/**
 * The values of {@linkcode parseFlags} keyed by the flag as written, each as a list (a switch:
 * `["true"]`), for programs that look flags up by their spelling and merge them with other
 * sources (environment variables, a target file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flagLists, parseFlags } from "./flags.ts";
 * const table = { only: { type: "string", multiple: true }, quiet: { type: "boolean" } } as const;
 * const lists = flagLists(parseFlags(["--only=a", "--quiet"], table));
 * assert.deepEqual([...lists], [["--only", ["a"]], ["--quiet", ["true"]]]);
 * ```
 * @param values What `parseFlags` returned.
 * @returns Lists by `--name`.
 */
export function flagLists(
  values: Readonly<Record<string, string | readonly string[] | true | undefined>>,
): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    lists.set(
      `--${name}`,
      value === true ? ["true"] : typeof value === "string" ? [value] : [...value],
    );
  }
  return lists;
}

/**
 * Runs a program's command-line parser and, when it throws (an unknown flag, a bad value), prints
 * the message and exits with status 2: the one way every script here refuses a bad command line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags, parseOrExit } from "./flags.ts";
 * const values = parseOrExit(() => parseFlags(["--quiet"], { quiet: { type: "boolean" } }));
 * assert.equal(values.quiet, true);
 * ```
 * @param parse Parses `Deno.args` into the program's settings; throws with a message naming the
 * flag.
 * @returns The settings.
 */
export function parseOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(2);
  }
}
