/**
 * A keyed rate limiter with the semantics Vaultwarden gets from the `governor` crate
 * (`Quota::with_period(period).allow_burst(burst)`, `dani-garcia/vaultwarden src/ratelimit.rs`
 * @ 1.37.2): a burst of `burst` requests, then one more per `period`, per key (client IP). It is
 * the generic cell rate algorithm: one theoretical arrival time per key. Test tree only.
 *
 * @module
 */

/** Options of {@linkcode KeyedRateLimiter}. */
export interface RateLimitOptions {
  /** Requests allowed at once (Vaultwarden's `*_RATELIMIT_MAX_BURST`). */
  readonly burst: number;
  /** Milliseconds per replenished request (Vaultwarden's `*_RATELIMIT_SECONDS` × 1000). */
  readonly periodMs: number;
  /** Clock in epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * Allows a burst per key, then one request per period.
 *
 * @example
 * ```ts
 * import { KeyedRateLimiter } from "./_rate_limit.ts";
 * let t = 0;
 * const limiter = new KeyedRateLimiter({ burst: 2, periodMs: 1000, now: () => t });
 * console.assert(limiter.check("ip") && limiter.check("ip") && !limiter.check("ip"));
 * t = 1000;
 * console.assert(limiter.check("ip") && !limiter.check("ip"));
 * ```
 */
export class KeyedRateLimiter {
  readonly #burst: number;
  readonly #periodMs: number;
  readonly #now: () => number;
  readonly #arrivals = new Map<string, number>();

  /**
   * Creates a limiter.
   *
   * @param options Burst, period and clock.
   * @throws {RangeError} For a burst or period below 1 (Vaultwarden refuses zero as well).
   */
  constructor(options: RateLimitOptions) {
    if (!(options.burst >= 1) || !(options.periodMs >= 1)) {
      throw new RangeError(
        `Rate limit needs burst >= 1 and period >= 1 ms: got ${options.burst}, ${options.periodMs}`,
      );
    }
    this.#burst = Math.floor(options.burst);
    this.#periodMs = options.periodMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts one request of a key.
   *
   * @param key The key (client IP).
   * @returns Whether the request is allowed (a refused one is not counted).
   */
  check(key: string): boolean {
    const now = this.#now();
    const arrival = Math.max(this.#arrivals.get(key) ?? now, now);
    if (arrival - now > this.#periodMs * (this.#burst - 1)) return false;
    this.#arrivals.set(key, arrival + this.#periodMs);
    return true;
  }
}
