/**
 * `--accounts FILE`: accounts made beforehand on a target that does not let the suite register
 * (Vaultwarden `SIGNUPS_ALLOWED=false`). One `email password` per line (`#` starts a comment),
 * or JSON: a list of `{ "email": …, "password": … }`, or an object with such a list under
 * `accounts`.
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import type { GivenAccount } from "./types.ts";

function checked(email: unknown, password: unknown, where: string): GivenAccount {
  if (typeof email !== "string" || !/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw new UsageError(
      "--accounts",
      `Invalid --accounts ${where}: not an e-mail address: ${JSON.stringify(email)}`,
    );
  }
  if (typeof password !== "string" || password === "") {
    throw new UsageError("--accounts", `Invalid --accounts ${where}: no master password`);
  }
  return { email: email.toLowerCase(), password };
}

function fromJson(data: unknown, source: string): GivenAccount[] {
  const list = Array.isArray(data) ? data : data !== null && typeof data === "object" &&
      Array.isArray((data as Record<string, unknown>).accounts)
    ? (data as { accounts: unknown[] }).accounts
    : undefined;
  if (list === undefined) {
    throw new UsageError(
      "--accounts",
      `Invalid --accounts ${source}: expected a list of {"email", "password"} objects (or {"accounts": [...]})`,
    );
  }
  return list.map((item, i) => {
    const record = item !== null && typeof item === "object" ? item as Record<string, unknown> : {};
    return checked(record.email, record.password, `${source} entry ${i + 1}`);
  });
}

/**
 * Parses an accounts file.
 *
 * @param text The file's text.
 * @param source The file name, for errors.
 * @returns The accounts, in file order (e-mails lowercased).
 * @throws {UsageError} Naming `--accounts`, the line or entry, on a bad value, a repeated
 * e-mail, or no account at all.
 *
 * @example
 * ```ts
 * import { parseAccounts } from "./accounts.ts";
 * const accounts = parseAccounts("# made in the admin page\nalice@example.com pass word\n", "a.txt");
 * console.assert(accounts[0]!.password === "pass word");
 * ```
 */
export function parseAccounts(text: string, source: string): GivenAccount[] {
  const trimmed = text.trim();
  let accounts: GivenAccount[];
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(
        "--accounts",
        `Invalid --accounts ${source}: ${(error as Error).message}`,
      );
    }
    accounts = fromJson(data, source);
  } else {
    accounts = [];
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const space = line.search(/\s/);
      accounts.push(
        checked(
          space < 0 ? line : line.slice(0, space),
          space < 0 ? "" : line.slice(space).trim(),
          `${source} line ${i + 1}`,
        ),
      );
    }
  }
  if (accounts.length === 0) {
    throw new UsageError("--accounts", `Invalid --accounts ${source}: no account in it`);
  }
  const seen = new Set<string>();
  for (const account of accounts) {
    if (seen.has(account.email)) {
      throw new UsageError(
        "--accounts",
        `Invalid --accounts ${source}: ${account.email} is listed twice`,
      );
    }
    seen.add(account.email);
  }
  return accounts;
}
