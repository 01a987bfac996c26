/**
 * Errors the runner and CLI raise before any case runs. The CLI maps both to exit code 2.
 *
 * @module
 */

import { FlagError } from "../config/mod.ts";

/**
 * A bad, unknown or missing flag or configuration value: a {@linkcode FlagError}, like every
 * program's bad command line.
 */
export class UsageError extends FlagError {
  /**
   * Creates a usage error.
   *
   * @param flag The flag or key at fault (`flag`).
   * @param message One line naming the flag and the problem.
   */
  constructor(flag: string, message: string) {
    super(flag, message);
    this.name = "UsageError";
  }
}

/** The target (or a part the inject mode needs) cannot be reached, or the harness cannot start. */
export class PreflightError extends Error {
  /**
   * Creates a preflight error.
   *
   * @param message One line naming the URL or port and the problem.
   */
  constructor(message: string) {
    super(message);
    this.name = "PreflightError";
  }
}
