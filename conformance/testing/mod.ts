/**
 * Test helpers for the conformance runner's self-tests: a breakable example target and example
 * cases that reach every verdict.
 *
 * @module
 */

export * from "./example_cases.ts";
export * from "./example_target.ts";
