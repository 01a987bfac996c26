/**
 * Wait-time arithmetic of the queue consumer: the adaptive idle wait and the receive-error
 * backoff. Pure, so the schedules are tested without timers.
 *
 * @module
 */

/** A range of waits in milliseconds. */
export interface WaitRange {
  /** First and smallest wait. */
  readonly minMs: number;
  /** Largest wait. */
  readonly maxMs: number;
}

/**
 * The idle wait after an empty receive: twice the previous one, between `minMs` and `maxMs`.
 * A non-empty batch resets the wait to `minMs` (the caller passes `undefined`).
 *
 * @param previousMs The previous idle wait, or undefined after a non-empty batch.
 * @param range Bounds.
 * @returns The next idle wait.
 */
export function nextIdleWait(previousMs: number | undefined, range: WaitRange): number {
  if (previousMs === undefined) return range.minMs;
  return Math.min(range.maxMs, Math.max(range.minMs, previousMs * 2));
}

/**
 * The wait after the `failures`-th consecutive receive error: exponential from `minMs`, capped
 * at `maxMs`, with "equal jitter" (half fixed, half random), so consecutive waits never shrink
 * before the cap and many instances do not retry in lockstep.
 *
 * @param failures Consecutive failures so far, 1 for the first.
 * @param range Bounds.
 * @param random A source of numbers in [0, 1).
 * @returns The wait in milliseconds, within [base / 2, base] where base = min(maxMs, minMs * 2^(failures - 1)).
 */
export function errorBackoffWait(
  failures: number,
  range: WaitRange,
  random: () => number,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(range.maxMs, range.minMs * 2 ** exponent);
  return Math.round(base / 2 + random() * (base / 2));
}
