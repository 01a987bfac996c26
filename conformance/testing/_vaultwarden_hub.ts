/**
 * A hub that behaves as Vaultwarden 1.37.2's on the wire (`dani-garcia/vaultwarden
 * src/api/notifications.rs` @ 1.37.2, `websockets_hub` and `anonymous_websockets_hub`; confirmed
 * with raw probes of a real 1.37.2): WebSocket only, token in `access_token` else after the last
 * `Bearer ` of Authorization, 401 JSON before the upgrade without or with a bad token; the
 * MessagePack v1 handshake answered `{}` 0x1E in a binary frame whenever it arrives (again on a
 * repeat); every other text ignored without closing (a JSON handshake too); every binary frame
 * echoed unchanged (so a client's SignalR Ping comes back); no SignalR Ping or Heartbeat of its
 * own, only WebSocket-level pings; sockets grouped by user id only; the anonymous hub keyed by the
 * first query value, 422 without a query, at most 25 sockets per client IP (429). Test tree only.
 *
 * @module
 */

import { AuthError, type TokenVerifier } from "../../server/auth/mod.ts";
import {
  HANDSHAKE_ANSWER,
  isMessagePackHandshake,
  rocketHtmlError,
  vaultwardenError,
} from "./_vaultwarden_wire.ts";

/** `MAX_ANONYMOUS_CONNECTIONS_PER_IP` of `src/api/notifications.rs`. */
const MAX_ANONYMOUS_PER_IP = 25;

/** Vaultwarden pings every 15 s at the WebSocket level (`tokio::time::interval(15 s)`). */
const WEBSOCKET_PING_SECONDS = 15;

function isUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** The token of a main-hub request: the `access_token` query wins over the header. */
function hubToken(url: URL, request: Request): string | null {
  const query = url.searchParams.get("access_token");
  if (query !== null) return query;
  const header = request.headers.get("authorization");
  if (header === null) return null;
  const parts = header.split("Bearer ");
  return parts[parts.length - 1] ?? null;
}

/** The sockets of the Vaultwarden-like hub, by user and by anonymous token. */
export class VaultwardenLikeHub {
  readonly #verify: TokenVerifier;
  readonly #users = new Map<string, Set<WebSocket>>();
  readonly #anonymous = new Map<string, Set<WebSocket>>();
  readonly #anonymousPerIp = new Map<string, number>();

  /**
   * Creates the hub.
   *
   * @param verify Checks an access token (Vaultwarden checks signature, issuer and expiry only).
   */
  constructor(verify: TokenVerifier) {
    this.#verify = verify;
  }

  /**
   * Answers a request under `/notifications`.
   *
   * @param request The request.
   * @param path The path below `/notifications` (`/hub`, `/anonymous-hub`).
   * @param clientIp The client address (for the anonymous cap).
   * @returns The upgrade or a refusal.
   */
  async fetch(request: Request, path: string, clientIp: string): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" || (path !== "/hub" && path !== "/anonymous-hub")) {
      return rocketHtmlError(404);
    }
    // Rocket's WebSocket guard runs first: a plain GET fails it with 400.
    if (!isUpgrade(request)) return rocketHtmlError(400);
    if (path === "/hub") {
      const token = hubToken(url, request);
      if (token === null) return vaultwardenError(401, "Invalid claim");
      let userId: string;
      try {
        userId = String((await this.#verify(token)).sub);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        return vaultwardenError(401, "Invalid token");
      }
      return this.#accept(request, this.#users, userId, () => {});
    }
    const first = [...url.searchParams.values()][0];
    if (first === undefined) return rocketHtmlError(422);
    const held = this.#anonymousPerIp.get(clientIp) ?? 0;
    if (held >= MAX_ANONYMOUS_PER_IP) return vaultwardenError(429, "Too many connections");
    this.#anonymousPerIp.set(clientIp, held + 1);
    return this.#accept(request, this.#anonymous, first, () => {
      const left = (this.#anonymousPerIp.get(clientIp) ?? 1) - 1;
      if (left <= 0) this.#anonymousPerIp.delete(clientIp);
      else this.#anonymousPerIp.set(clientIp, left);
    });
  }

  #accept(
    request: Request,
    map: Map<string, Set<WebSocket>>,
    key: string,
    onClose: () => void,
  ): Response {
    const { socket, response } = Deno.upgradeWebSocket(request, {
      idleTimeout: WEBSOCKET_PING_SECONDS,
    });
    socket.binaryType = "arraybuffer";
    const sockets = map.get(key) ?? new Set<WebSocket>();
    map.set(key, sockets);
    sockets.add(socket);
    let closed = false;
    const forget = () => {
      if (closed) return;
      closed = true;
      sockets.delete(socket);
      if (sockets.size === 0 && map.get(key) === sockets) map.delete(key);
      onClose();
    };
    socket.onmessage = (event) => {
      const data = event.data as string | ArrayBuffer;
      if (typeof data === "string") {
        if (isMessagePackHandshake(data)) send(socket, HANDSHAKE_ANSWER);
        return;
      }
      send(socket, new Uint8Array(data));
    };
    socket.onclose = forget;
    socket.onerror = forget;
    return response;
  }

  /**
   * Sends a frame to every socket of a user (Vaultwarden's `send_update`).
   *
   * @param userId The user.
   * @param frame The binary frame.
   */
  sendToUser(userId: string, frame: Uint8Array<ArrayBuffer>): void {
    for (const socket of this.#users.get(userId) ?? []) send(socket, frame);
  }

  /**
   * Sends a frame to every anonymous socket subscribed with a token.
   *
   * @param token The auth request id.
   * @param frame The binary frame.
   */
  sendToAnonymous(token: string, frame: Uint8Array<ArrayBuffer>): void {
    for (const socket of this.#anonymous.get(token) ?? []) send(socket, frame);
  }

  /** Closes every socket. */
  close(): void {
    for (const map of [this.#users, this.#anonymous]) {
      for (const sockets of map.values()) {
        for (const socket of sockets) {
          try {
            socket.close();
          } catch {
            // Already closing.
          }
        }
      }
    }
  }
}

function send(socket: WebSocket, frame: Uint8Array<ArrayBuffer>): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(frame);
}
