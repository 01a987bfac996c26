/**
 * Measurement helpers of the cross-module benchmarks: percentiles, a process's resident memory,
 * deadlines, and the Notifications service as a child process.
 *
 * @module
 */

/**
 * The nearest-rank percentile of `values`.
 *
 * @param values Samples (not modified).
 * @param p Percentile, 0..100.
 * @returns The sample at that rank, or NaN when there are none.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * Resident set size of a process in KiB, read with `ps` (reading `/proc` of another process
 * needs more permissions than the bench task grants).
 *
 * @param pid Process id.
 * @returns RSS in KiB.
 * @throws {Error} When `ps` fails or prints no number.
 */
export async function rssKiB(pid: number): Promise<number> {
  const output = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] })
    .output();
  const value = Number(new TextDecoder().decode(output.stdout).trim());
  if (!output.success || !Number.isFinite(value) || value <= 0) {
    throw new Error(`Cannot read the memory of process ${pid}: ps exited with ${output.code}`);
  }
  return value;
}

/**
 * CPU time a process has used so far (user + system), read from `/proc/<pid>/stat`.
 *
 * @param pid Process id.
 * @returns Microseconds of CPU (the kernel counts in clock ticks of 10 ms).
 * @throws {Error} When the file cannot be read or parsed.
 */
export async function cpuMicros(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`Cannot parse /proc/${pid}/stat`);
  return ticks * 10_000;
}

/**
 * Resident set size of a process in KiB, read from `/proc/<pid>/status` (`VmRSS`).
 *
 * @param pid Process id.
 * @returns RSS in KiB.
 * @throws {Error} When the file cannot be read or has no `VmRSS` line.
 */
export async function procRssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const value = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  if (!Number.isFinite(value)) throw new Error(`Cannot read VmRSS of process ${pid}`);
  return value;
}

/**
 * The 1, 5 and 15 minute load averages from `/proc/loadavg`, as printed there.
 *
 * @returns E.g. `"3.12 2.80 2.41"`, or `unknown` where it cannot be read.
 */
export async function loadAverage(): Promise<string> {
  // Recorded beside every figure because the machine may be shared; never fails a run.
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "unknown");
  return text.split(" ").slice(0, 3).join(" ").trim();
}

/**
 * Waits for `promise`, failing after `ms` milliseconds.
 *
 * @param promise What to wait for.
 * @param ms Time limit.
 * @param what Description used in the timeout error.
 * @returns The promise's value.
 * @throws {Error} `Timed out: <what>` when the limit passes first.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a child's stdout until `pattern` matches and returns its first group, then keeps draining
 * the pipe in the background so the child never blocks on a full one. On failure the pipe is
 * cancelled and the caller stops the child.
 *
 * @param stdout The child's stdout.
 * @param pattern A pattern whose first group is the URL.
 * @param timeoutMs How long to wait.
 * @param what What is awaited, for the errors.
 * @returns The URL.
 * @throws {Error} With the output so far when the child exits first or the time runs out.
 */
async function readBannerUrl(
  stdout: ReadableStream<Uint8Array>,
  pattern: RegExp,
  timeoutMs: number,
  what: string,
): Promise<string> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const readUrl = async () => {
    while (true) {
      const url = pattern.exec(text)?.[1];
      if (url !== undefined) return url;
      const { value, done } = await reader.read();
      if (done) {
        throw new Error(
          `The process exited before listening (${what} not printed): ${text.trim()}`,
        );
      }
      text += value;
    }
  };
  try {
    const url = await within(readUrl(), timeoutMs, `${what} to be printed`);
    void (async () => {
      while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
    })();
    return url;
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
}

/** The Notifications service running in a child process. */
export interface ServiceProcess {
  /** Base URL of the service. */
  readonly url: string;
  /** Process id (for memory readings). */
  readonly pid: number;
  /** Stops the service and waits for the process to exit (kills it after 5 s). */
  stop(): Promise<void>;
}

/** Options of {@linkcode startServiceProcess}. */
export interface ServiceProcessOptions {
  /** The server script, relative to `bench/` (default `./_serve_notifications.ts`). */
  readonly script?: string;
  /** Pin the process to these CPUs with `taskset -c` (e.g. `"0"`); default: not pinned. */
  readonly cpus?: string;
  /** Extra `deno run` flags placed before the script (e.g. `--cpu-prof`). */
  readonly denoFlags?: readonly string[];
}

/**
 * Starts a server script (default `bench/_serve_notifications.ts`) in a child Deno process and
 * waits for the `LISTENING <url>` line it prints.
 *
 * @param authorityUrl URL of the token authority the service trusts.
 * @param options Which script, CPU pinning and extra Deno flags.
 * @returns The running service.
 * @throws {Error} When the child exits or does not report its URL within 20 s.
 */
export async function startServiceProcess(
  authorityUrl: string,
  options: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const denoArgs = [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    "--allow-sys",
    ...(options.denoFlags ?? []),
    new URL(options.script ?? "./_serve_notifications.ts", import.meta.url).pathname,
    `--authority=${authorityUrl}`,
  ];
  // taskset execs the command, so the child's pid stays the server's own.
  const child = new Deno.Command(options.cpus === undefined ? Deno.execPath() : "taskset", {
    args: options.cpus === undefined
      ? denoArgs
      : ["-c", options.cpus, Deno.execPath(), ...denoArgs],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await stdin.close().catch(() => {});
      try {
        await within(child.status, 5_000, "the service process to exit");
      } catch {
        child.kill("SIGKILL");
        await child.status;
      }
    })();
  try {
    const url = await readBannerUrl(child.stdout, /^LISTENING (\S+)/m, 20_000, "the service");
    return { url, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A function that POSTs one `/send` body to a Notifications service with an internal token and
 * throws unless it answers 200, so a refused push fails the run instead of counting as sent.
 *
 * @param url The service's base URL.
 * @param internalToken A token with the `internal` scope.
 * @returns `send(body)`.
 */
export function sendPoster(url: string, internalToken: string): (body: string) => Promise<void> {
  return async (body) => {
    const response = await fetch(`${url}/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${internalToken}`, "content-type": "application/json" },
      body,
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(`POST /send refused: ${response.status} ${text}`);
    }
  };
}

/**
 * Open file descriptors of a process: the entries of `/proc/<pid>/fd`, listed with `ls` (Deno
 * wants `--allow-all` to read another process's `/proc` directory itself).
 *
 * @param pid Process id.
 * @returns The count.
 * @throws {Error} When `ls` fails (no such process).
 */
export async function openFileCount(pid: number): Promise<number> {
  const output = await new Deno.Command("ls", { args: ["-1", `/proc/${pid}/fd`] }).output();
  if (!output.success) {
    throw new Error(`Cannot list the open files of process ${pid}: ls exited with ${output.code}`);
  }
  return new TextDecoder().decode(output.stdout).split("\n").filter((l) => l !== "").length;
}

/** Options of {@linkcode startServeProcess}. */
export interface ServeProcessOptions {
  /** CPU list for `taskset -c` (e.g. `"0"`); the server runs unpinned when left out. */
  readonly cpus?: string;
}

/**
 * Starts `deno task serve` (`server/main.ts`, the task's permissions) in a child process with
 * `flags`, waits for its banner and returns the Notifications base URL. Stopped with SIGTERM
 * (the server's graceful shutdown), killed after 10 s.
 *
 * @param flags Serve flags, e.g. `["--role", "notifications", "--port", "0", ...]`.
 * @param options CPU pinning.
 * @returns The running server; `url` is its Notifications base (`…/notifications`).
 * @throws {Error} When the child exits or prints no notifications URL within 30 s.
 */
export async function startServeProcess(
  flags: readonly string[],
  options: ServeProcessOptions = {},
): Promise<ServiceProcess> {
  const deno = [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--allow-run",
    new URL("../server/main.ts", import.meta.url).pathname,
    ...flags,
  ];
  const [command, ...args] = options.cpus === undefined
    ? deno
    : ["taskset", "-c", options.cpus, ...deno];
  const child = new Deno.Command(command!, { args, stdout: "piped", stderr: "inherit" }).spawn();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      try {
        child.kill("SIGTERM");
        await within(child.status, 10_000, "the server to shut down");
      } catch {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
        await child.status;
      }
    })();
  try {
    const url = await readBannerUrl(
      child.stdout,
      /^\s+notifications\s+(\S+)/m,
      30_000,
      "the server's notifications URL",
    );
    return { url, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
