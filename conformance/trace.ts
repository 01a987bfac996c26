/**
 * The runner's {@linkcode Trace}: records a case's steps and frames with times relative to the
 * case start, stops recording once the case is graded (an abandoned case may keep running), and
 * caps the number of events so a chatty target cannot exhaust memory.
 *
 * @module
 */

import type { Trace, TraceEvent } from "./types.ts";

/** Options of {@linkcode RecordingTrace}. */
export interface RecordingTraceOptions {
  /** Millisecond clock (default `performance.now`). */
  readonly now?: () => number;
  /** Most events kept (default 5000); one note marks the cut. */
  readonly maxEvents?: number;
}

/**
 * A trace that records into memory.
 *
 * @example
 * ```ts
 * import { RecordingTrace } from "./trace.ts";
 * const trace = new RecordingTrace();
 * trace.record({ from: "harness", to: "send", kind: "inject", summary: "POST /send type 5" });
 * trace.events.length; // 1
 * ```
 */
export class RecordingTrace implements Trace {
  #events: TraceEvent[] = [];
  #now: () => number;
  #start: number;
  #max: number;
  #sealed = false;
  #dropped = 0;

  /**
   * Starts a trace; times are measured from now.
   *
   * @param options Clock and event cap.
   */
  constructor(options: RecordingTraceOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#max = options.maxEvents ?? 5000;
  }

  /**
   * Appends an event stamped with the time since the start; ignored once sealed.
   *
   * @param event The event without its time.
   */
  record(event: Omit<TraceEvent, "t">): void {
    if (this.#sealed) return;
    if (this.#events.length >= this.#max) {
      this.#dropped++;
      return;
    }
    const t = Math.round((this.#now() - this.#start) * 10) / 10;
    this.#events.push({ ...event, t });
  }

  /** Events recorded so far (plus a note counting dropped events, once sealed). */
  get events(): readonly TraceEvent[] {
    return this.#events;
  }

  /** Stops recording; later `record` calls from an abandoned case are ignored. */
  seal(): void {
    if (this.#sealed) return;
    this.#sealed = true;
    if (this.#dropped > 0) {
      this.#events.push({
        t: Math.round((this.#now() - this.#start) * 10) / 10,
        from: "harness",
        to: "harness",
        kind: "note",
        summary: `Trace truncated: ${this.#dropped} more events dropped`,
      });
    }
  }
}
