/**
 * The HTTP side of one hub path, as ASP.NET Core's `HttpConnectionDispatcher` serves it:
 * `POST {path}/negotiate` (versions 0 and 1), `GET {path}` as WebSocket (with or without a
 * negotiated id), Server-Sent Events or long poll, `POST {path}?id=` for the half-duplex
 * transports' client data and `DELETE {path}?id=` to end a long-polling connection. Status codes
 * and texts follow the real dispatcher (`No Connection with that ID`, 409, 405, ...).
 *
 * @module
 */

import type { ConnectionGroups, HubClaims, HubName } from "../../protocol/bitwarden/mod.ts";
import { ProtocolError } from "../../protocol/mod.ts";
import {
  buildNegotiateResponse,
  connectionIdFromBytes,
  negotiateErrorBody,
  parseNegotiateVersion,
  type TransportName,
} from "../../protocol/signalr/mod.ts";
import { queryValue } from "../auth/mod.ts";
import type { HubConnection, TransportKind, TransportSink } from "./hub_connection.ts";
import { LongPollingSink, NO_CACHE_HEADERS } from "./long_polling_transport.ts";
import { SseSink } from "./sse_transport.ts";
import { acceptWebSocket, type ForcedCloseResult } from "./websocket_transport.ts";

/** Construction options of {@linkcode HubEndpoint}. */
export interface HubEndpointOptions {
  /** The hub served. */
  readonly hub: HubName;
  /**
   * Authenticates a request; returns claims, or null on the anonymous hub. Throws (an
   * `AuthError`) to refuse; the caller turns that into the response.
   */
  readonly authenticate: (request: Request) => Promise<HubClaims | null>;
  /**
   * Identity and groups for a connection.
   *
   * @param claims Claims of the request that started the transport (null: anonymous).
   * @param url URL of that request (the anonymous hub reads `Token` from it).
   * @param negotiateUrl URL of the negotiate request, if there was one.
   */
  readonly identityFor: (
    claims: HubClaims | null,
    url: URL,
    negotiateUrl: URL | null,
  ) => ConnectionGroups;
  /** Builds a hub connection over a transport. */
  readonly createConnection: (init: {
    readonly id: string;
    readonly hub: HubName;
    readonly identity: ConnectionGroups;
    readonly sink: TransportSink;
    readonly remoteIp: string | null;
  }) => HubConnection;
  /**
   * Decides, before a transport starts (before the WebSocket upgrade), whether a connection
   * may start; returns the refusal response, or null to admit (default: always admit).
   */
  readonly admit?: (identity: ConnectionGroups, remoteIp: string | null) => Response | null;
  /** Send buffer limit per connection in bytes. */
  readonly sendBufferLimit: number;
  /** How long a server-initiated WebSocket close waits for the peer before it is forced (ms). */
  readonly closeTimeoutMs: number;
  /** Told when a WebSocket close had to be forced. */
  readonly onForcedClose?: (result: ForcedCloseResult) => void;
  /** Long poll wait before an empty answer (ms). */
  readonly longPollTimeoutMs: number;
  /** Time a negotiated connection may stay without transport, or a long poller between polls (ms). */
  readonly disconnectTimeoutMs: number;
  /**
   * Most bytes a client may POST before its transport started (default unlimited). More is
   * refused with 413 and the negotiated id is dropped, so an idle id cannot hoard memory.
   */
  readonly maxPendingBytes?: number;
  /** Clock. */
  readonly now: () => number;
}

interface Entry {
  readonly id: string;
  readonly token: string;
  readonly createdAt: number;
  readonly negotiateUrl: URL;
  transport?: TransportKind;
  connection?: HubConnection;
  lp?: LongPollingSink;
  /** Client data POSTed before the transport started. */
  pending: Uint8Array[];
  /** Total size of `pending`. */
  pendingBytes: number;
  closed: boolean;
}

const TRANSPORTS: readonly TransportName[] = ["WebSockets", "ServerSentEvents", "LongPolling"];

function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

function newId(): string {
  return connectionIdFromBytes(crypto.getRandomValues(new Uint8Array(16)));
}

/** The transport endpoints of one hub path. */
export class HubEndpoint {
  #options: HubEndpointOptions;
  #entries = new Map<string, Entry>();
  #tokens = new Map<HubConnection, string>();

  /**
   * Creates the endpoint.
   *
   * @param options Hub, auth, identity, connection factory and limits.
   */
  constructor(options: HubEndpointOptions) {
    this.#options = options;
  }

  /** Negotiated connections currently tracked (for tests and metrics). */
  get negotiatedCount(): number {
    return this.#entries.size;
  }

  /**
   * Handles a request for `{path}` or `{path}/negotiate`; auth is checked first.
   *
   * @param request The request.
   * @param negotiate True for `{path}/negotiate`.
   * @param options The client's remote IP, when the HTTP server told it.
   * @returns The response.
   */
  async handle(
    request: Request,
    negotiate: boolean,
    options: { readonly remoteIp?: string | null } = {},
  ): Promise<Response> {
    if (negotiate && request.method !== "POST") {
      return text(405, "Method Not Allowed", { allow: "POST" });
    }
    if (!negotiate && !["GET", "POST", "DELETE", "CONNECT"].includes(request.method)) {
      return text(405, "Method Not Allowed", { allow: "GET, POST, DELETE" });
    }
    const claims = await this.#options.authenticate(request);
    const url = new URL(request.url);
    if (negotiate) return this.#negotiate(url, request);
    switch (request.method) {
      case "POST":
        return await this.#send(url, request);
      case "DELETE":
        return this.#delete(url);
      default:
        return this.#get(url, request, claims, options.remoteIp ?? null);
    }
  }

  async #negotiate(url: URL, request: Request): Promise<Response> {
    await request.body?.cancel();
    let version: number;
    try {
      version = parseNegotiateVersion(queryValue(url, "negotiateVersion"));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return new Response(negotiateErrorBody(error.message), {
        headers: { "content-type": "application/json" },
      });
    }
    const id = newId();
    const token = version > 0 ? newId() : id;
    this.#entries.set(token, {
      id,
      token,
      createdAt: this.#options.now(),
      negotiateUrl: url,
      pending: [],
      pendingBytes: 0,
      closed: false,
    });
    const body = buildNegotiateResponse({
      negotiateVersion: version,
      connectionId: id,
      connectionToken: token,
      transports: TRANSPORTS,
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  #lookup(url: URL): Entry | Response {
    const id = queryValue(url, "id");
    if (id === null || id === "") return text(400, "Connection ID required");
    const entry = this.#entries.get(id);
    if (!entry) return text(404, "No Connection with that ID");
    return entry;
  }

  #claimTransport(entry: Entry, kind: TransportKind): Response | undefined {
    if (entry.transport !== undefined && entry.transport !== kind) {
      return text(400, "Cannot change transports mid-connection");
    }
    if (kind !== "LongPolling" && entry.connection !== undefined) {
      return text(409, "Connection already active: another request is using this connection ID");
    }
    entry.transport = kind;
    return undefined;
  }

  #start(
    entry: Entry | null,
    identity: ConnectionGroups,
    sink: TransportSink,
    remoteIp: string | null,
  ): HubConnection {
    const connection = this.#options.createConnection({
      id: entry?.id ?? newId(),
      hub: this.#options.hub,
      identity,
      sink,
      remoteIp,
    });
    if (entry) {
      entry.connection = connection;
      this.#tokens.set(connection, entry.token);
      entry.pendingBytes = 0;
      for (const chunk of entry.pending.splice(0)) connection.receive(chunk);
    }
    return connection;
  }

  /**
   * Called by the service when a connection ends; forgets its negotiated entry (a closed long
   * poller is kept until its last poll collected the Close message).
   *
   * @param connection The closed connection.
   */
  connectionClosed(connection: HubConnection): void {
    const token = this.#tokens.get(connection);
    if (token === undefined) return;
    this.#tokens.delete(connection);
    const entry = this.#entries.get(token);
    if (!entry) return;
    entry.closed = true;
    if (entry.transport !== "LongPolling") this.#entries.delete(token);
  }

  #identity(claims: HubClaims | null, url: URL, entry: Entry | null): ConnectionGroups | Response {
    try {
      return this.#options.identityFor(claims, url, entry?.negotiateUrl ?? null);
    } catch (error) {
      return Response.json({
        message: `Token claims cannot be used for hub groups: ${(error as Error).message}`,
      }, { status: 400 });
    }
  }

  /** The identity, or the response refusing it (bad claims, or over a connection bound). */
  #admitted(
    claims: HubClaims | null,
    url: URL,
    entry: Entry | null,
    remoteIp: string | null,
  ): ConnectionGroups | Response {
    const identity = this.#identity(claims, url, entry);
    if (identity instanceof Response) return identity;
    return this.#options.admit?.(identity, remoteIp) ?? identity;
  }

  #get(
    url: URL,
    request: Request,
    claims: HubClaims | null,
    remoteIp: string | null,
  ): Response | Promise<Response> {
    const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (upgrade) {
      let entry: Entry | null = null;
      if (queryValue(url, "id") !== null) {
        const found = this.#lookup(url);
        if (found instanceof Response) return found;
        entry = found;
        const refusal = this.#claimTransport(entry, "WebSockets");
        if (refusal) return refusal;
      }
      const identity = this.#admitted(claims, url, entry, remoteIp);
      const response = identity instanceof Response ? identity : acceptWebSocket(request, {
        sendBufferLimit: this.#options.sendBufferLimit,
        closeTimeoutMs: this.#options.closeTimeoutMs,
        createConnection: (sink) => this.#start(entry, identity, sink, remoteIp),
        ...(this.#options.onForcedClose ? { onForcedClose: this.#options.onForcedClose } : {}),
      });
      // Refused before a connection existed: the id stays free for a correct attempt.
      if (entry && entry.connection === undefined) delete entry.transport;
      return response;
    }
    const found = this.#lookup(url);
    if (found instanceof Response) return found;
    const entry = found;
    const accept = request.headers.get("accept") ?? "";
    if (accept.toLowerCase().includes("text/event-stream")) {
      const refusal = this.#claimTransport(entry, "ServerSentEvents");
      if (refusal) return refusal;
      const identity = this.#admitted(claims, url, entry, remoteIp);
      if (identity instanceof Response) {
        delete entry.transport;
        return identity;
      }
      const sink = new SseSink(this.#options.sendBufferLimit);
      const connection = this.#start(entry, identity, sink, remoteIp);
      sink.onCancel(() =>
        connection.transportClosed("Server-Sent Events stream closed by the client")
      );
      return sink.response;
    }
    const refusal = this.#claimTransport(entry, "LongPolling");
    if (refusal) return refusal;
    if (!entry.lp) {
      const identity = this.#admitted(claims, url, entry, remoteIp);
      if (identity instanceof Response) {
        delete entry.transport;
        return identity;
      }
      const sink = new LongPollingSink({
        sendBufferLimit: this.#options.sendBufferLimit,
        pollTimeoutMs: this.#options.longPollTimeoutMs,
      }, this.#options.now());
      entry.lp = sink;
      this.#start(entry, identity, sink, remoteIp);
    }
    const lp = entry.lp;
    return lp.poll().then((response) => {
      if (entry.closed && response.status === 204) this.#entries.delete(entry.token);
      return response;
    });
  }

  async #send(url: URL, request: Request): Promise<Response> {
    const found = this.#lookup(url);
    if (found instanceof Response) {
      await request.body?.cancel();
      return found;
    }
    const entry = found;
    if (entry.transport === "WebSockets") {
      await request.body?.cancel();
      return text(405, "POST requests are not allowed for WebSocket connections.");
    }
    if (entry.closed) {
      await request.body?.cancel();
      return text(404, "No Connection with that ID");
    }
    if (!request.body) return new Response(null, { status: 200, headers: NO_CACHE_HEADERS });
    const reader = request.body.getReader();
    const limit = this.#options.maxPendingBytes ?? Infinity;
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        if (entry.closed) break;
        if (entry.connection) {
          entry.connection.receive(value);
          continue;
        }
        entry.pendingBytes += value.length;
        if (entry.pendingBytes > limit) {
          // Nothing reads this data until a transport starts; past the limit the stream can
          // only fail its handshake, so the id goes instead of the memory.
          this.#entries.delete(entry.token);
          return Response.json({
            message:
              `Request body too large: more than ${limit} bytes sent before the transport started`,
          }, { status: 413 });
        }
        entry.pending.push(value);
      }
    } catch (error) {
      return text(400, `Cannot read request body: ${(error as Error).message}`);
    } finally {
      await reader.cancel().catch(() => {});
    }
    return new Response(null, { status: 200 });
  }

  #delete(url: URL): Response {
    const found = this.#lookup(url);
    if (found instanceof Response) return found;
    if (found.transport !== "LongPolling") {
      return text(400, "Cannot terminate this connection using the DELETE endpoint.");
    }
    found.connection?.close({
      reason: "client-close",
      detail: "Long polling connection terminated by DELETE",
      sendClose: false,
    });
    found.lp?.close({ code: 1000, reason: "DELETE" });
    this.#entries.delete(found.token);
    return new Response(null, { status: 202 });
  }

  /**
   * Disposes negotiated connections that never started a transport and long pollers that
   * stopped polling, after the disconnect timeout (ASP.NET `DisconnectTimeout`, 15 s).
   *
   * @param now Current time in milliseconds.
   */
  sweep(now: number): void {
    const timeout = this.#options.disconnectTimeoutMs;
    if (timeout <= 0) return;
    for (const [token, entry] of this.#entries) {
      if (entry.connection === undefined) {
        // Never started (or every start was refused).
        if (now - entry.createdAt >= timeout) this.#entries.delete(token);
        continue;
      }
      if (entry.transport !== "LongPolling" || !entry.lp) continue;
      if (now - entry.lp.lastActivity(now) < timeout) continue;
      this.#entries.delete(token);
      entry.connection?.close({
        reason: "disconnect-timeout",
        detail: `No poll within ${timeout} ms`,
        sendClose: false,
      });
    }
  }

  /** Forgets every negotiated connection (service shutdown; connections are closed separately). */
  clear(): void {
    this.#entries.clear();
    this.#tokens.clear();
  }
}
