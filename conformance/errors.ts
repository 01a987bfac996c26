/**
 * Errors the runner and CLI raise before any case runs. The CLI maps both to exit code 2.
 *
 * @module
 */

/** A bad, unknown or missing flag or configuration value. */
export class UsageError extends Error {
  /** The flag (or file key) at fault, e.g. `--timeout`. */
  readonly flag: string;

  /**
   * Creates a usage error.
   *
   * @param flag The flag or key at fault.
   * @param message One line naming the flag and the problem.
   */
  constructor(flag: string, message: string) {
    super(message);
    this.name = "UsageError";
    this.flag = flag;
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
