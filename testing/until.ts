/**
 * Polling for a condition in tests that wait on real services.
 *
 * @module
 */

/** Options of {@linkcode until}. */
export interface UntilOptions {
  /** Give up after this many ms (default 5,000). */
  readonly timeoutMs?: number;
  /** Poll interval in ms (default 5). */
  readonly intervalMs?: number;
}

/**
 * Resolves once `predicate` returns true, checking every `intervalMs`.
 *
 * @param predicate The condition (may be async).
 * @param what What is awaited, for the timeout message.
 * @param options Timeout and poll interval.
 * @throws {Error} `Timed out after <ms> ms waiting for <what>`.
 *
 * @example
 * ```ts
 * import { until } from "./until.ts";
 *
 * let ticks = 0;
 * await until(() => ++ticks === 3, "three polls");
 * ```
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  options: UntilOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 5;
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
