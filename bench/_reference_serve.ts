/**
 * hubproof's reference server (`server/main.ts`, all roles in one process) started by a
 * benchmark in a child process on a free loopback port, pinned to the server core, and stopped
 * by its PID.
 *
 * @module
 */

import { type ManagedProcess, spawnManaged } from "../testing/mod.ts";
import { pinned } from "./_pinning.ts";

/** A running reference server. */
export interface ReferenceServe {
  /** Base URL (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** The internal key given to it. */
  readonly internalKey: string;
  /** The child process. */
  readonly process: ManagedProcess;
}

/** The server core; load generators take the other one. */
export const SERVER_CORE = 0;
/** The load generator core. */
export const LOAD_CORE = 1;

/**
 * Starts `server/main.ts --port 0` with `args` and waits for its banner.
 *
 * With `HUBPROOF_BENCH_CPU_PROF=<dir>` in the environment the server runs with
 * `--cpu-prof --cpu-prof-dir=<dir>` and writes a V8 CPU profile when it stops.
 *
 * @param args Extra serve flags (`--mode cloud`, `--queue-connection-string …`).
 * @returns The running server; `process.stop()` it in a `finally`.
 * @throws {Error} With the server's output when it exits or does not listen within 60 s.
 */
export async function startReferenceServe(args: readonly string[] = []): Promise<ReferenceServe> {
  const internalKey = `bench-${crypto.randomUUID()}`;
  const [command, ...rest] = pinned(SERVER_CORE, [
    Deno.execPath(),
    "run",
    ...profileFlags(),
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--allow-run",
    new URL("../server/main.ts", import.meta.url).pathname,
    "--port",
    "0",
    "--internal-key",
    internalKey,
    ...args,
  ]);
  const process = spawnManaged(command!, { name: "reference server", args: rest });
  try {
    const match = await process.waitFor(/^\s*base\s+(http:\/\/\S+)/m, 60_000);
    return { url: match[1]!, internalKey, process };
  } catch (error) {
    await process.stop();
    throw new Error(`The reference server did not start: ${error}\n${process.output()}`);
  }
}

function profileFlags(): string[] {
  const dir = Deno.env.get("HUBPROOF_BENCH_CPU_PROF");
  return dir === undefined || dir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}
