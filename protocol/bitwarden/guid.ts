/**
 * GUID text handling as the real server does it: System.Text.Json only reads the 36-character
 * `D` format; `Guid.TryParse` / `new Guid(string)` (used for JWT claims) also accept `N`, `B`
 * and `P`; `Guid.ToString()` writes lowercase `D`.
 *
 * @module
 */

/** `Guid.Empty` as `Guid.ToString()` writes it. */
export const EMPTY_GUID = "00000000-0000-0000-0000-000000000000";

const D_FORMAT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const N_FORMAT = /^[0-9a-fA-F]{32}$/;

/**
 * Reads a GUID the way System.Text.Json does (`D` format only, hex digits in either case).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseJsonGuid } from "./guid.ts";
 * strictEqual(parseJsonGuid("D2EA5B72-6D47-4D20-B5A3-B7A6E89D8E7C"), "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c");
 * strictEqual(parseJsonGuid("d2ea5b726d474d20b5a3b7a6e89d8e7c"), undefined);
 * ```
 * @param text Candidate GUID text.
 * @returns The lowercase `D` form, or undefined when STJ would reject it.
 */
export function parseJsonGuid(text: string): string | undefined {
  return D_FORMAT.test(text) ? text.toLowerCase() : undefined;
}

/**
 * Reads a GUID the way .NET `Guid.TryParse` does for the formats tokens carry: surrounding
 * whitespace trimmed, then `D` (`xxxxxxxx-xxxx-...`), `N` (32 hex digits), `B` (`{D}`) or
 * `P` (`(D)`). The rarely used `X` format (`{0x...,...}`) is not accepted.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseDotnetGuid } from "./guid.ts";
 * strictEqual(parseDotnetGuid("{D2EA5B72-6D47-4D20-B5A3-B7A6E89D8E7C}"), "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c");
 * ```
 * @param text Candidate GUID text.
 * @returns The lowercase `D` form (`Guid.ToString()`), or undefined.
 */
export function parseDotnetGuid(text: string): string | undefined {
  const trimmed = text.trim();
  if (N_FORMAT.test(trimmed)) {
    const h = trimmed.toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
      h.slice(20)
    }`;
  }
  const first = trimmed[0];
  const last = trimmed[trimmed.length - 1];
  if ((first === "{" && last === "}") || (first === "(" && last === ")")) {
    return parseJsonGuid(trimmed.slice(1, -1));
  }
  return parseJsonGuid(trimmed);
}
