/**
 * A faulty scale-out backplane for the suite's self-tests: it hands every publication back to the
 * instance that published it, so each message is delivered a second time, `delayMs` later.
 *
 * @module
 */

import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import type { Backplane } from "../../server/notifications/mod.ts";

/**
 * A backplane that echoes each publication to its own subscriber after `delayMs`: a backplane
 * that does not filter out its own instance id, or a retry that re-sends what was delivered.
 *
 * @param delayMs Delay of the second delivery.
 * @returns The backplane; `close()` drops the echoes still pending.
 *
 * @example
 * ```ts
 * import { echoBackplane } from "./_echo_backplane.ts";
 *
 * const seen: number[] = [];
 * const backplane = echoBackplane(1);
 * await backplane.subscribe((envelope) => seen.push(envelope.type));
 * await backplane.publish({ type: 7, payload: {}, contextId: null });
 * await new Promise((r) => setTimeout(r, 20));
 * await backplane.close();
 * if (seen.length !== 1) throw new Error("no echo");
 * ```
 */
export function echoBackplane(delayMs: number): Backplane {
  let handler: ((envelope: Envelope) => void) | undefined;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  return {
    publish(envelope) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        handler?.(envelope);
      }, delayMs);
      timers.add(timer);
      return Promise.resolve();
    },
    subscribe(h) {
      handler = h;
      return Promise.resolve();
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      handler = undefined;
      return Promise.resolve();
    },
  };
}
