/**
 * Free loopback TCP ports for test servers that cannot listen on port 0 themselves.
 *
 * @module
 */

/** Options of {@linkcode freePort}. */
export interface FreePortOptions {
  /** Interface to probe (default `127.0.0.1`). */
  readonly hostname?: string;
}

/**
 * Returns a TCP port that is free on the loopback interface right now: the OS picks it for a
 * throwaway listener that is closed before returning. Another process may still take the port
 * before the caller binds it, so callers that can listen on port 0 directly should do that.
 *
 * @param options Interface to probe.
 * @returns A port number in the ephemeral range.
 *
 * @example
 * ```ts
 * import { freePort } from "./free_port.ts";
 *
 * const port = freePort();
 * if (!(port > 0 && port < 65536)) throw new Error("Not a port: " + port);
 * ```
 */
export function freePort(options: FreePortOptions = {}): number {
  const listener = Deno.listen({ hostname: options.hostname ?? "127.0.0.1", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}
