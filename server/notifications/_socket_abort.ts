/**
 * Releases the TCP connection under a server-side WebSocket whose close handshake never
 * finishes (private to the notifications folder).
 *
 * Why this exists: after `socket.close()`, Deno 2's server WebSocket (`ext:deno_websocket/
 * 01_websocket.js`, Deno 2.9.6) sends the Close frame and then waits in its read loop for the
 * peer's next frame or end of stream; only then does it close the socket's resource. A peer that
 * never answers the Close (and never closes its end) therefore keeps the file descriptor and its
 * buffers ESTABLISHED for ever. Deno's own idle-timeout path in the same file shows the cure — it
 * closes the resource by its id without waiting for the peer — but runs only while the socket is
 * still OPEN, and there is no public API to do the same for a socket that is CLOSING
 * (`Deno.upgradeWebSocket` offers `protocol` and `idleTimeout`, `Deno.serve` gives no handle on
 * the connection, and the request's `AbortSignal` is done once the 101 was sent). So, like
 * ASP.NET Core's `WebSocketOptions.CloseTimeout` (dotnet/aspnetcore
 * src/SignalR/common/Http.Connections/src/WebSocketOptions.cs @
 * 825366ae8de904a4324b90b96306654f2befbb11: "wait for a graceful close before starting an
 * ungraceful close", 5 s), the transport waits a bounded time and then closes that resource the
 * way the idle timeout does. The internals used are looked up, never assumed: if a future Deno
 * moves them, {@linkcode abortWebSocket} returns false and the caller counts it, and the socket
 * release test fails loudly instead of the leak coming back silently.
 *
 * @module
 */

interface DenoCore {
  tryClose(rid: number): void;
}

function denoCore(): DenoCore | undefined {
  const deno = Deno as unknown as Record<symbol, unknown>;
  const internalKey = Object.getOwnPropertySymbols(deno).find((s) =>
    s.description === "Deno.internal"
  );
  const internal = internalKey ? deno[internalKey] as { core?: Partial<DenoCore> } : undefined;
  const core = internal?.core;
  return typeof core?.tryClose === "function" ? core as DenoCore : undefined;
}

const CORE = denoCore();

function resourceId(socket: WebSocket): number | undefined {
  const holder = socket as unknown as Record<symbol, unknown>;
  const key = Object.getOwnPropertySymbols(holder).find((s) => s.description === "[[rid]]");
  const rid = key ? holder[key] : undefined;
  return typeof rid === "number" ? rid : undefined;
}

/**
 * Whether {@linkcode abortWebSocket} can work on this runtime.
 *
 * @returns true when Deno's resource close and the socket's resource id can be reached.
 */
export function canAbortWebSockets(): boolean {
  return CORE !== undefined;
}

/**
 * Closes the connection under a server WebSocket now, without waiting for the peer's Close.
 * Deno then fires the socket's `close` event. Call it only after `socket.close()` had its
 * chance: the Close frame has been queued and the peer has had time to answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { abortWebSocket } from "./_socket_abort.ts";
 * const closed = Promise.withResolvers<void>();
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   socket.onopen = () => {
 *     socket.close(1000, "Bye");
 *     // A peer that never answers the Close: drop the connection under it.
 *     assert.ok(abortWebSocket(socket));
 *   };
 *   socket.onclose = () => closed.resolve();
 *   return response;
 * });
 * const peer = new WebSocket(`ws://127.0.0.1:${server.addr.port}`);
 * peer.onclose = () => {};
 * await closed.promise;
 * await server.shutdown();
 * ```
 * @param socket A server-side WebSocket from `Deno.upgradeWebSocket`.
 * @returns true when the connection was closed (or already was), false when this runtime
 *   offers no way to do it.
 */
export function abortWebSocket(socket: WebSocket): boolean {
  // Deno closes the resource itself on its way to CLOSED: that id is not ours to close again.
  if (socket.readyState === WebSocket.CLOSED) return true;
  const rid = resourceId(socket);
  if (CORE === undefined || rid === undefined) return false;
  try {
    CORE.tryClose(rid);
    return true;
  } catch {
    return false;
  }
}
