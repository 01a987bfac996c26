/**
 * In-memory scale-out backplanes for the suite's self-tests: a faulty one that hands every
 * publication back to the instance that published it (each message delivered a second time,
 * `delayMs` later), and a linked set that joins several in-process instances without Redis.
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
 * import { echoBackplane } from "./_backplanes.ts";
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

/**
 * Backplanes that join `count` in-process instances: each publication reaches every other
 * instance's subscriber (never its own), asynchronously and in publication order.
 *
 * @param count How many instances.
 * @returns One backplane per instance.
 *
 * @example
 * ```ts
 * import { linkedBackplanes } from "./_backplanes.ts";
 *
 * const [a, b] = linkedBackplanes(2);
 * const seen: string[] = [];
 * await a!.subscribe(() => seen.push("a"));
 * await b!.subscribe(() => seen.push("b"));
 * await a!.publish({ type: 7, payload: {}, contextId: null });
 * await new Promise((r) => setTimeout(r, 10));
 * if (seen.join() !== "b") throw new Error(seen.join());
 * ```
 */
export function linkedBackplanes(count: number): Backplane[] {
  const handlers: (((envelope: Envelope) => void) | undefined)[] = new Array(count);
  return Array.from({ length: count }, (_, self): Backplane => ({
    publish(envelope) {
      queueMicrotask(() => {
        handlers.forEach((handler, i) => {
          if (i !== self) handler?.(envelope);
        });
      });
      return Promise.resolve();
    },
    subscribe(handler) {
      handlers[self] = handler;
      return Promise.resolve();
    },
    close() {
      handlers[self] = undefined;
      return Promise.resolve();
    },
  }));
}
