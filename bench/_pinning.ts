/**
 * Where a benchmark's processes run and what they cost: pinning the server under test and the
 * load generator to different cores with `taskset`, and a process's CPU time from `/proc`.
 *
 * @module
 */

/**
 * The command that runs `args` pinned to `core` with `taskset` when the machine has more than
 * one core and taskset exists, else unpinned (a one-core machine cannot separate load and
 * server anyway).
 *
 * @param core The CPU to pin to.
 * @param command Executable and its arguments.
 * @returns Executable and arguments to spawn.
 */
export function pinned(core: number, command: readonly string[]): string[] {
  if (navigator.hardwareConcurrency < 2 || !hasTaskset()) return [...command];
  return ["taskset", "-c", String(core), ...command];
}

let tasksetPresent: boolean | undefined;
function hasTaskset(): boolean {
  if (tasksetPresent === undefined) {
    try {
      tasksetPresent = Deno.statSync("/usr/bin/taskset").isFile;
    } catch {
      tasksetPresent = false;
    }
  }
  return tasksetPresent;
}

/**
 * Pins every thread of this process to `core` (`taskset -apc`), so a scenario's load generator
 * stays off the server's core; does nothing on a one-core machine or without taskset.
 *
 * @param core The CPU.
 * @returns Whether the process was pinned.
 */
export async function pinSelf(core: number): Promise<boolean> {
  if (navigator.hardwareConcurrency < 2 || !hasTaskset()) return false;
  const out = await new Deno.Command("taskset", {
    args: ["-apc", String(core), String(Deno.pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}
