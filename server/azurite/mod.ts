/**
 * An in-memory Azurite queue service run as a child process: what `deno task serve --mode cloud`
 * starts when no `--queue-connection-string` is given, and what the tests use as a real Azure
 * Storage queue.
 *
 * @module
 */

export * from "./azurite.ts";
