/**
 * The lower bound the hub benchmark compares hubproof with: a bare Deno WebSocket broadcast
 * server that the same load generator drives the same way. It accepts `/hub?access_token=…`
 * upgrades, answers the client's SignalR handshake with the fixed `{}\x1e` record (as binary, as
 * hubproof answers MessagePack clients), takes the same `POST /send` bodies, encodes each push
 * ONCE into the very MessagePack frame hubproof writes (the protocol layer's
 * `parseSendBody` → `toHubMessagePackArgument` → `messagePackHubProtocol.writeMessage`) and calls
 * `socket.send` with those bytes for every recipient. Recipients come from two maps (user id →
 * sockets, organization id → sockets) built at connect time from the token's `sub` and `orguser`
 * claims, decoded WITHOUT verification.
 *
 * What it skips, and why that makes it the lower bound of any correct hub on the same runtime:
 * no token signature check, policy or expiry (neither on `/hub` nor on `/send`), no negotiate, no
 * handshake validation (any record ending in `0x1E` is accepted), no parsing of what clients send
 * after the handshake (pings are dropped unread), no keep-alive pings, client or handshake
 * timeouts, no connection limits, no slow-consumer check, no routing table (a user id or an
 * organization id is the whole route), no metrics, no logging, no backplane. What remains is
 * exactly what every hub must do per push and per recipient: parse the body once, encode once,
 * write the bytes to each socket.
 *
 * Prints `LISTENING <url>` once ready and exits when its stdin closes, like
 * `_serve_notifications.ts`, so `startServiceProcess` runs either.
 *
 * Usage: deno run --allow-net --allow-read bench/_bare_server.ts [authority-url (ignored)]
 *
 * @module
 */

import { parseSendBody, toHubMessagePackArgument } from "../protocol/bitwarden/mod.ts";
import {
  messagePackHubProtocol,
  MessageType,
  writeHandshakeResponse,
} from "../protocol/signalr/mod.ts";

const HANDSHAKE_OK = new TextEncoder().encode(writeHandshakeResponse());
const RS = 0x1e;

/** Options of {@linkcode serveBareHub}. */
export interface BareHubOptions {
  /**
   * Writes one push's frame to its recipients (default: `socket.send(frame)` to each). Only the
   * bench's self-tests replace it, with a deliberately wrong delivery.
   */
  readonly deliver?: (recipients: ReadonlySet<WebSocket>, frame: Uint8Array) => void;
}

/** A running bare hub. */
export interface BareHub {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Stops listening and closes the server. */
  close(): Promise<void>;
}

function addTo(map: Map<string, Set<WebSocket>>, key: string, socket: WebSocket): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, set = new Set());
  set.add(socket);
}

function removeFrom(map: Map<string, Set<WebSocket>>, key: string, socket: WebSocket): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(socket);
  if (set.size === 0) map.delete(key);
}

/** The token's claims, base64url-decoded and parsed, never verified (see the module doc). */
function unverifiedClaims(token: string): { sub?: unknown; orguser?: unknown } {
  const part = token.split(".")[1] ?? "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")));
}

function claimList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function sendToEach(recipients: ReadonlySet<WebSocket>, frame: Uint8Array): void {
  for (const socket of recipients) socket.send(frame);
}

/**
 * Serves the bare hub on a free loopback port.
 *
 * @param options The delivery function (tests only).
 * @returns Its URL and `close`.
 */
export function serveBareHub(options: BareHubOptions = {}): BareHub {
  const deliver = options.deliver ?? sendToEach;
  /** Sockets by user id and by organization id. */
  const users = new Map<string, Set<WebSocket>>();
  const organizations = new Map<string, Set<WebSocket>>();

  const acceptHub = (request: Request, url: URL): Response => {
    const token = url.searchParams.get("access_token");
    if (token === null) {
      return Response.json({ message: "Missing access_token" }, { status: 401 });
    }
    let claims: ReturnType<typeof unverifiedClaims>;
    try {
      claims = unverifiedClaims(token);
    } catch (error) {
      return Response.json({ message: `Undecodable token: ${(error as Error).message}` }, {
        status: 401,
      });
    }
    const userId = typeof claims.sub === "string" ? claims.sub : null;
    const orgs = claimList(claims.orguser);
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    let joined = false;
    socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      if (joined) return;
      const data = event.data;
      const ended = typeof data === "string"
        ? data.includes("\x1e")
        : new Uint8Array(data).includes(RS);
      if (!ended) return;
      joined = true;
      socket.send(HANDSHAKE_OK);
      if (userId !== null) addTo(users, userId, socket);
      for (const org of orgs) addTo(organizations, org, socket);
    };
    socket.onclose = () => {
      if (!joined) return;
      if (userId !== null) removeFrom(users, userId, socket);
      for (const org of orgs) removeFrom(organizations, org, socket);
    };
    return response;
  };

  const acceptSend = async (request: Request): Promise<Response> => {
    const envelope = parseSendBody(await request.text());
    const userId = envelope.payload.UserId;
    const organizationId = envelope.payload.OrganizationId;
    const recipients = typeof userId === "string"
      ? users.get(userId)
      : typeof organizationId === "string"
      ? organizations.get(organizationId)
      : undefined;
    if (recipients !== undefined) {
      deliver(
        recipients,
        new Uint8Array(
          messagePackHubProtocol.writeMessage({
            type: MessageType.Invocation,
            target: "ReceiveMessage",
            arguments: [toHubMessagePackArgument(envelope)],
          }) as ArrayBuffer,
        ),
      );
    }
    return new Response(null, { status: 200 });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/hub") return acceptHub(request, url);
      if (url.pathname === "/send" && request.method === "POST") {
        return acceptSend(request).catch((error) =>
          Response.json({ message: (error as Error).message }, { status: 400 })
        );
      }
    } catch (error) {
      return Response.json({ message: (error as Error).message }, { status: 400 });
    }
    return Response.json({ message: `Not found: ${url.pathname}` }, { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

if (import.meta.main) {
  const hub = serveBareHub();
  console.log(`LISTENING ${hub.url}`);
  // Reading until EOF: the parent closes stdin to stop us.
  for await (const _ of Deno.stdin.readable) { /* ignore input */ }
  await hub.close();
}
