/**
 * The one logging contract of every role (identity, API, push engines, Notifications): a
 * function of a level, a message and optional structured fields. Callers pass their own sink;
 * {@linkcode consoleLogger} is the default, {@linkcode safeLogger} guards socket handlers.
 *
 * @module
 */

/** Severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A log sink; `fields` carries structured context (ids, reasons, errors). */
export type Logger = (
  level: LogLevel,
  message: string,
  fields?: Record<string, unknown>,
) => void;

/**
 * The default sink: info, warnings and errors to stderr as `[name] level: message {fields}`;
 * debug lines are dropped.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "./log.ts";
 * const log = consoleLogger("example");
 * log("debug", "dropped");
 * ```
 * @param name Shown in brackets before each line.
 * @returns The logger.
 */
export function consoleLogger(name: string): Logger {
  return (level, message, fields) => {
    if (level === "debug") return;
    const detail = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    console.error(`[${name}] ${level}: ${message}${detail}`);
  };
}

/**
 * A logger that never throws: logging runs inside socket event handlers and timers, where an
 * exception would end the process; a broken sink loses the line instead.
 *
 * @example
 * ```ts
 * import { safeLogger } from "./log.ts";
 * const log = safeLogger(() => {
 *   throw new Error("sink down");
 * });
 * log("error", "still fine");
 * ```
 * @param log The sink.
 * @returns The guarded sink.
 */
export function safeLogger(log: Logger): Logger {
  return (level, message, fields) => {
    try {
      log(level, message, fields);
    } catch {
      // A broken sink loses the line, not the service.
    }
  };
}

/**
 * A logger adding fixed fields to every line (a component or role name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withFields } from "./log.ts";
 * const lines: unknown[] = [];
 * withFields((...line) => lines.push(line), { component: "queue" })("warn", "slow", { ms: 5 });
 * assert.deepEqual(lines, [["warn", "slow", { component: "queue", ms: 5 }]]);
 * ```
 * @param log The sink.
 * @param fields Fields for every line (a line's own fields win).
 * @returns The logger.
 */
export function withFields(log: Logger, fields: Record<string, unknown>): Logger {
  return (level, message, own) => log(level, message, { ...fields, ...own });
}
