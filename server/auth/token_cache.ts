/**
 * A bounded cache of verified access tokens in front of a {@linkcode TokenVerifier}. Checking an
 * RS256 signature costs about 300 µs of CPU here (measured by `bench/hub_vs_bare.ts --profile`:
 * `verify` was a fifth of the hub's busy time), and the same token string arrives again and
 * again: every `/send` of the API carries the same internal token, and a client's negotiate,
 * reconnects and second hub reuse its access token. A token that verified is accepted again,
 * without a second signature check, until the moment the verifier itself would start refusing it
 * (`exp` plus the clock skew), and for at most `maxAgeMs` (so a key removed from the authority's
 * key set stops being honoured within that bound, as a re-fetched key set would). Refusals are
 * never cached: a bad token is checked, and refused, every time.
 *
 * @module
 */

import type { HubClaims } from "../../protocol/bitwarden/mod.ts";
import type { TokenVerifier } from "./access_token.ts";

/** Options of {@linkcode cacheVerifiedTokens}. */
export interface TokenCacheOptions {
  /** Clock skew the verifier allows past `exp`, in seconds (default 0). */
  readonly clockSkewSeconds?: number;
  /** Tokens remembered at most; the oldest is forgotten first (default 10,000). */
  readonly maxEntries?: number;
  /** Longest time a verification is reused, in milliseconds (default 600,000). */
  readonly maxAgeMs?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

interface Entry {
  readonly claims: Promise<HubClaims>;
  /** Reuse until this time; `Infinity` while the verification is still running. */
  until: number;
}

/**
 * Wraps a verifier so that each token string is verified once while it stays valid. Concurrent
 * requests with the same token share one verification.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { cacheVerifiedTokens } from "./token_cache.ts";
 * let calls = 0;
 * const verify = cacheVerifiedTokens((_token) => {
 *   calls++;
 *   return Promise.resolve({ sub: "u1", exp: Math.floor(Date.now() / 1000) + 3600 });
 * });
 * await verify("a.b.c");
 * await verify("a.b.c");
 * strictEqual(calls, 1);
 * ```
 * @param verify The verifier doing the real checks.
 * @param options Skew, bounds and clock.
 * @returns A verifier with the same answers, cheaper for tokens seen before.
 */
export function cacheVerifiedTokens(
  verify: TokenVerifier,
  options: TokenCacheOptions = {},
): TokenVerifier {
  const skewMs = (options.clockSkewSeconds ?? 0) * 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const now = options.now ?? (() => Date.now());
  const entries = new Map<string, Entry>();
  return (token: string): Promise<HubClaims> => {
    const cached = entries.get(token);
    if (cached !== undefined) {
      if (now() < cached.until) return cached.claims;
      entries.delete(token);
    }
    const claims = verify(token);
    const entry: Entry = { claims, until: Infinity };
    entries.set(token, entry);
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    claims.then(
      (verified) => {
        const exp = typeof verified.exp === "number" ? verified.exp * 1000 + skewMs : -Infinity;
        entry.until = Math.min(exp, now() + maxAgeMs);
        if (now() >= entry.until && entries.get(token) === entry) entries.delete(token);
      },
      () => {
        if (entries.get(token) === entry) entries.delete(token);
      },
    );
    return claims;
  };
}
