/**
 * What the suite does when the target's identity rate-limits it (HTTP 429): wait for the time
 * `Retry-After` names when that leaves the case most of its budget, otherwise stop the case with
 * one run-wide reason naming the target's settings, graded UNSUPPORTED.
 *
 * Vaultwarden limits password-grant logins to a burst of `LOGIN_RATELIMIT_MAX_BURST` (10) then
 * one per `LOGIN_RATELIMIT_SECONDS` (60) per client IP, and registration
 * (`register/send-verification-email`) to `UNAUTHENTICATED_RATELIMIT_MAX_BURST` (50) then one
 * per `UNAUTHENTICATED_RATELIMIT_SECONDS` (60); refresh-token grants and prelogin are not
 * limited; its 429 carries no `Retry-After` (dani-garcia/vaultwarden src/ratelimit.rs,
 * src/api/identity.rs, src/error.rs @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a)).
 *
 * @module
 */

import { type CaseContext, TargetLimitReached } from "../types.ts";

/** Which limited identity call answered 429. */
export type LimitedCall = "login" | "register";

/** The run-wide reason of a spent limit (one text per kind, so reports group the cases). */
export const LIMIT_REASONS: Readonly<Record<LimitedCall, string>> = {
  login:
    "The target's login rate limit is spent: POST /identity/connect/token answered HTTP 429 (the suite logs in once per account and device type and reuses the session; Vaultwarden allows LOGIN_RATELIMIT_MAX_BURST logins, default 10, then one per LOGIN_RATELIMIT_SECONDS, default 60, per client IP: raise the burst, or give fewer cases with --only, or run with --act-as-authority)",
  register:
    "The target's registration rate limit is spent: POST /identity/accounts/register/send-verification-email answered HTTP 429 (Vaultwarden allows UNAUTHENTICATED_RATELIMIT_MAX_BURST requests, default 50, then one per UNAUTHENTICATED_RATELIMIT_SECONDS, default 60, per client IP: raise the burst, or give accounts made beforehand with --accounts FILE)",
};

/**
 * Parses a `Retry-After` header: delay seconds or an HTTP date.
 *
 * @param value The header value, or null.
 * @param nowMs The current time in milliseconds (for a date).
 * @returns The wait in milliseconds (never negative), or undefined when absent or unreadable.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "./rate_limit.ts";
 * console.assert(parseRetryAfter("7", 0) === 7000);
 * console.assert(parseRetryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 1000) === 4000);
 * console.assert(parseRetryAfter(null, 0) === undefined);
 * ```
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * How long a case has spent so far, read from its trace (events carry the time since the case
 * started, and the 429 answer has just been recorded).
 *
 * @param ctx The case context.
 * @returns Milliseconds.
 */
function elapsedMs(ctx: CaseContext): number {
  return ctx.trace.events.at(-1)?.t ?? 0;
}

/**
 * Decides what to do with a 429: the wait to honour before one retry, or the run-wide
 * {@linkcode TargetLimitReached} to throw. A wait is honoured only when `Retry-After` names
 * one and the case would still have half its budget left afterwards.
 *
 * @param ctx The case context.
 * @param call Which identity call was limited.
 * @param retryAfterMs The parsed `Retry-After`, if any.
 * @returns Milliseconds to wait, or the error to throw.
 *
 * @example
 * ```ts
 * import { limitDecision } from "./rate_limit.ts";
 * const ctx = { timeoutMs: 30000, trace: { events: [{ t: 1000 }] } } as never;
 * console.assert(limitDecision(ctx, "login", 2000) === 2000);
 * console.assert(limitDecision(ctx, "login", 60000) instanceof Error);
 * console.assert(limitDecision(ctx, "login", undefined) instanceof Error);
 * ```
 */
export function limitDecision(
  ctx: CaseContext,
  call: LimitedCall,
  retryAfterMs: number | undefined,
): number | TargetLimitReached {
  if (retryAfterMs !== undefined && elapsedMs(ctx) + retryAfterMs <= ctx.timeoutMs / 2) {
    return retryAfterMs;
  }
  return new TargetLimitReached(LIMIT_REASONS[call]);
}

/**
 * Sleeps for a `Retry-After` wait, ending early (and throwing the abort reason) when the case
 * is aborted.
 *
 * @param ms Milliseconds.
 * @param signal The case's signal.
 */
export async function waitRetryAfter(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
