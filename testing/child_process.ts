/**
 * A child process for infrastructure hubproof starts itself (the embedded Azurite of
 * `serve --mode cloud`, and test servers): output captured (for readiness checks and error
 * messages), stopped by PID and awaited, so tests never leak processes or pipes.
 *
 * @module
 */

const OUTPUT_LIMIT = 64 * 1024;
const STOP_GRACE_MS = 5_000;

/** What to run. */
export interface SpawnOptions {
  /** Name used in error messages, for example `Azurite`. */
  readonly name: string;
  /** Arguments. */
  readonly args: readonly string[];
  /** Working directory. */
  readonly cwd?: string;
}

/** A running child process with captured output. */
export interface ManagedProcess {
  /** OS process id. */
  readonly pid: number;
  /** Resolves when the process has exited and its pipes are drained. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Combined stdout and stderr so far (the first 64 KiB). */
  output(): string;
  /**
   * Resolves with the first match of `pattern` in the output; rejects when the process exits
   * first or `timeoutMs` passes (the caller then stops the process).
   */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends SIGTERM (SIGKILL after 5 s), awaits exit. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `command` with piped output.
 *
 * @param command Executable path or name looked up on PATH.
 * @param options Arguments, working directory and a display name.
 * @returns The managed process.
 * @throws {Deno.errors.NotFound} When the executable does not exist.
 */
export function spawnManaged(command: string, options: SpawnOptions): ManagedProcess {
  const child = new Deno.Command(command, {
    args: [...options.args],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let text = "";
  const listeners = new Set<() => void>();
  const append = (chunk: string) => {
    if (text.length < OUTPUT_LIMIT) text = (text + chunk).slice(0, OUTPUT_LIMIT);
    for (const listener of listeners) listener();
  };
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) append(chunk);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let status: Deno.CommandStatus | undefined;
  const exited = (async () => {
    const [result] = await Promise.all([child.status, drained]);
    status = result;
    for (const listener of listeners) listener();
    return result;
  })();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (status === undefined) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already exited between the check and the kill.
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const forced = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), STOP_GRACE_MS);
        });
        const outcome = await Promise.race([exited, forced]);
        clearTimeout(timer);
        if (outcome === "timeout") {
          try {
            child.kill("SIGKILL");
          } catch {
            // Exited meanwhile.
          }
        }
      }
      await exited;
    })();
    return stopping;
  };

  const waitFor = (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        listeners.delete(check);
        clearTimeout(timer);
        settle();
      };
      const check = () => {
        const match = text.match(pattern);
        if (match) return finish(() => resolve(match));
        if (status === undefined) return;
        const message = `${options.name} exited with code ${status.code} before it was ready`;
        finish(() => reject(new Error(`${message}: ${tail(text)}`)));
      };
      const timer = setTimeout(() => {
        finish(() => {
          reject(
            new Error(`${options.name} was not ready after ${timeoutMs} ms: ${tail(text)}`),
          );
        });
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  return { pid: child.pid, exited, output: () => text, waitFor, stop };
}

function tail(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return "(no output)";
  return trimmed.length > 2000 ? "..." + trimmed.slice(-2000) : trimmed;
}
