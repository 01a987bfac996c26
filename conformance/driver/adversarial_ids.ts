/**
 * Adversarial GUID families for worlds where the harness is the authority: ids that differ only
 * in letter case or in one hex digit, or share long prefixes or suffixes. A hub that keys its
 * connections on a truncated, hashed-to-few-bits or case-folded id mixes them up; one that keys
 * on the whole id (Bitwarden: the raw `sub` for users, the GUID for organizations) does not.
 *
 * @module
 */

import { newGuid } from "./identity.ts";

/** The members of one family, all derived from `base`. */
export interface AdversarialIds {
  /** A fresh lowercase GUID. */
  readonly base: string;
  /** `base` upper-cased: the same GUID, another `sub` text (OIDC `sub` is case sensitive). */
  readonly upperCase: string;
  /** `base` with its last hex digit changed. */
  readonly oneDigit: string;
  /** `base`'s first 24 characters (four groups) with a fresh last group. */
  readonly samePrefix: string;
  /** A fresh first group with `base`'s last 28 characters. */
  readonly sameSuffix: string;
}

const HEX = "0123456789abcdef";

/** A hex digit other than `digit`. */
function otherDigit(digit: string): string {
  return HEX[(HEX.indexOf(digit.toLowerCase()) + 1) % 16]!;
}

/**
 * Builds a family of look-alike GUIDs around `base`.
 *
 * @param base A lowercase D-form GUID (default: a fresh one).
 * @returns The family.
 *
 * @example
 * ```ts
 * import { adversarialIds } from "./adversarial_ids.ts";
 *
 * const ids = adversarialIds("d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c");
 * if (ids.oneDigit !== "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7d") throw new Error(ids.oneDigit);
 * if (!ids.samePrefix.startsWith("d2ea5b72-6d47-4d20-b5a3-")) throw new Error(ids.samePrefix);
 * if (!ids.sameSuffix.endsWith("-6d47-4d20-b5a3-b7a6e89d8e7c")) throw new Error(ids.sameSuffix);
 * ```
 */
export function adversarialIds(base: string = newGuid()): AdversarialIds {
  const fresh = newGuid();
  const last = base.at(-1)!;
  return {
    base,
    upperCase: base.toUpperCase(),
    oneDigit: base.slice(0, -1) + otherDigit(last),
    // A fresh part equal to base's by chance would make the ids identical: shift one digit.
    samePrefix: base.slice(0, 24) +
      (fresh.slice(24) === base.slice(24)
        ? fresh.slice(24, -1) + otherDigit(fresh.at(-1)!)
        : fresh.slice(24)),
    sameSuffix:
      (fresh.slice(0, 8) === base.slice(0, 8)
        ? fresh.slice(0, 7) + otherDigit(fresh[7]!)
        : fresh.slice(0, 8)) + base.slice(8),
  };
}

/**
 * `count` look-alike ids of one fresh family, in this order: base, same prefix, upper case (the
 * base's case twin: a `sub` that Bitwarden's ordinal user match keeps apart), one digit off, same
 * suffix. Worlds of two users get a prefix collision, of three or more a case twin too.
 *
 * @param count How many ids (1..5, or 1..4 without case twins).
 * @param options `caseTwin: false` leaves the upper-case twin out (organization ids: Bitwarden
 *   parses them as GUIDs, so a case twin is the same organization).
 * @returns The ids.
 * @throws {RangeError} When `count` is out of range.
 *
 * @example
 * ```ts
 * import { adversarialIdList } from "./adversarial_ids.ts";
 *
 * const [a, b] = adversarialIdList(2);
 * if (a!.slice(0, 24) !== b!.slice(0, 24) || a === b) throw new Error("not look-alikes");
 * ```
 */
export function adversarialIdList(
  count: number,
  options: { readonly caseTwin?: boolean } = {},
): string[] {
  const ids = adversarialIds();
  const all = [ids.base, ids.samePrefix, ids.upperCase, ids.oneDigit, ids.sameSuffix]
    .filter((id) => options.caseTwin !== false || id !== ids.upperCase);
  if (!Number.isInteger(count) || count < 1 || count > all.length) {
    throw new RangeError(`Invalid adversarial id count: expected 1..${all.length}, got ${count}`);
  }
  return all.slice(0, count);
}
