/**
 * The Notifications service: wires auth, hub endpoints, dispatcher, registry, timers, metrics,
 * the queue consumer and the backplane behind one `fetch` handler.
 *
 * @module
 */

import {
  groupsForConnection,
  parseSendBody,
  routeEnvelope,
  toHubJsonArgument,
  toHubMessagePackArgument,
} from "../../protocol/bitwarden/mod.ts";
import type {
  ConnectionGroups,
  Envelope,
  HubClaims,
  HubName,
} from "../../protocol/bitwarden/mod.ts";
import { ClientType } from "../../protocol/bitwarden/mod.ts";
import {
  AuthError,
  type AuthOptions,
  createTokenVerifier,
  extractAccessToken,
  queryValue,
  requireApplicationPolicy,
  requireInternalPolicy,
  type TokenVerifier,
} from "../auth/mod.ts";
import { authErrorResponse, type CorsOrigins, decorate, preflightResponse } from "./_http.ts";
import { DEFAULT_CODECS } from "./_hub_codec.ts";
import { ConnectionLimits, type ConnectionLimitSettings } from "./connection_limits.ts";
import { ConnectionRegistry } from "./connection_registry.ts";
import { Dispatcher } from "./dispatcher.ts";
import { type CloseReason, HubConnection, type HubTimers } from "./hub_connection.ts";
import { HubEndpoint } from "./hub_endpoint.ts";
import { infoResponse, metricsResponse } from "./info_routes.ts";
import { type MetricFamily, type MetricsProvider, NotificationsMetrics } from "./metrics.ts";
import { QueueConsumer, type QueueConsumerOptions } from "./queue_consumer.ts";
import { createSendRoute } from "./send_route.ts";
import type {
  Backplane,
  DispatchResult,
  Logger,
  MessageSource,
  NotificationsOverrides,
} from "./types.ts";

/** Timer settings in milliseconds; 0 disables a timer. */
export interface NotificationsTimers {
  /** Server Ping after this long without sending (default 15000). */
  readonly keepAliveMs?: number;
  /** Close after this long without a client message, once the client has sent one (default 30000). */
  readonly clientTimeoutMs?: number;
  /** Handshake deadline (default 15000). */
  readonly handshakeTimeoutMs?: number;
  /** `Heartbeat` invocation period on `/hub` (default 120000; first one at start). */
  readonly heartbeatMs?: number;
  /** Negotiated connection without transport / long poller without poll is dropped after (default 15000). */
  readonly negotiateTimeoutMs?: number;
  /** Long poll wait before an empty 200 (default 90000). */
  readonly longPollTimeoutMs?: number;
  /**
   * A server-initiated WebSocket close waits this long for the peer's Close, then the
   * connection is closed under it (default 5000, ASP.NET Core `WebSocketOptions.CloseTimeout`;
   * 0 waits for ever, which lets a peer that never answers keep its socket).
   */
  readonly closeTimeoutMs?: number;
}

/** Configuration of the Notifications service. */
export interface NotificationsOptions {
  /** Cloud mode refuses `/send` with 400 `Only allowed when self hosted.`. */
  readonly selfHosted: boolean;
  /** The service's installation id: connections join `Installation_` groups when set. */
  readonly installationId: string | null;
  /** Token verification (authority discovery, static JWKS or JWKS file). */
  readonly auth: AuthOptions;
  /** Timers. */
  readonly timers?: NotificationsTimers;
  /** Largest incoming hub message in bytes (default 32768). */
  readonly maxMessageSize?: number;
  /** Bytes queued per connection before it is dropped as a slow consumer (default 1 MiB). */
  readonly sendBufferLimit?: number;
  /** Connection bounds checked before a transport starts (defaults in `connection_limits.ts`). */
  readonly limits?: ConnectionLimitSettings;
  /** Azure queue consumer settings (cloud flow); the service supplies `dispatch`. */
  readonly queue?: Omit<QueueConsumerOptions, "dispatch">;
  /** Scale-out backplane. */
  readonly backplane?: Backplane;
  /** Log sink (default: warnings and errors to stderr). */
  readonly log?: Logger;
  /** Collaborator hooks for deliberately broken test targets. */
  readonly overrides?: NotificationsOverrides;
  /** Path prefix the service is mounted under, e.g. `/notifications` (default none). */
  readonly basePath?: string;
  /**
   * Allowed CORS origins (default `file://` and `bw-desktop-file://bundle`, plus
   * `https://bitwarden.com` in cloud mode; `"*"` reflects any).
   */
  readonly corsOrigins?: CorsOrigins;
  /** Append exception details to hub error texts (ASP.NET `EnableDetailedErrors`; default false). */
  readonly detailedErrors?: boolean;
  /** Largest `/send` body in bytes (default 1 MiB). */
  readonly maxSendBodyBytes?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

/** A running Notifications service. */
export interface NotificationsService {
  /** Handles a request at the service root (`/hub`, `/anonymous-hub`, `/send`, `/alive`, `/now`, `/metrics`). */
  fetch(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response>;
  /** Delivers locally and publishes to the backplane (backplane-sourced envelopes: local only). */
  dispatch(envelope: Envelope, source: MessageSource): Promise<DispatchResult>;
  /** Starts timers, the backplane subscription and the queue consumer. */
  start(): Promise<void>;
  /** Stops receiving, finishes in-flight work, closes sockets with `allowReconnect: true`. */
  shutdown(): Promise<void>;
  /** Counters. */
  readonly metrics: NotificationsMetrics;
  /** Every metric family exposed on `/metrics`. */
  metricFamilies(): readonly MetricFamily[];
  /** Open connections per hub (handshake completed). */
  connectionCount(hub: HubName): number;
}

const DEFAULT_CORS: CorsOrigins = ["file://", "bw-desktop-file://bundle"];

interface ResolvedTimers extends HubTimers {
  readonly heartbeatMs: number;
  readonly negotiateTimeoutMs: number;
  readonly longPollTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) {
    throw new RangeError(`Invalid option ${name}: expected a non-negative number, got ${v}`);
  }
  return v;
}

function resolveTimers(t: NotificationsTimers = {}): ResolvedTimers {
  return {
    keepAliveMs: nonNegative("timers.keepAliveMs", t.keepAliveMs, 15_000),
    clientTimeoutMs: nonNegative("timers.clientTimeoutMs", t.clientTimeoutMs, 30_000),
    handshakeTimeoutMs: nonNegative("timers.handshakeTimeoutMs", t.handshakeTimeoutMs, 15_000),
    heartbeatMs: nonNegative("timers.heartbeatMs", t.heartbeatMs, 120_000),
    negotiateTimeoutMs: nonNegative("timers.negotiateTimeoutMs", t.negotiateTimeoutMs, 15_000),
    longPollTimeoutMs: nonNegative("timers.longPollTimeoutMs", t.longPollTimeoutMs, 90_000),
    closeTimeoutMs: nonNegative("timers.closeTimeoutMs", t.closeTimeoutMs, 5_000),
  };
}

/** Shared tick period: a quarter of the shortest timer, between 5 ms and 1 s. */
function tickPeriod(t: ResolvedTimers): number {
  const active = [t.keepAliveMs, t.clientTimeoutMs, t.handshakeTimeoutMs, t.negotiateTimeoutMs]
    .filter((v) => v > 0);
  if (active.length === 0) return 1000;
  return Math.min(1000, Math.max(5, Math.floor(Math.min(...active) / 4)));
}

function defaultLog(level: string, message: string, fields?: Record<string, unknown>): void {
  if (level === "warn" || level === "error") {
    console.error(
      `[notifications] ${level}: ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`,
    );
  }
}

/**
 * A log sink that never throws: logging runs inside socket event handlers, where an exception
 * would terminate the process.
 */
function safeLogger(log: Logger): Logger {
  return (level, message, fields) => {
    try {
      log(level, message, fields);
    } catch {
      // A broken sink loses the line, not the service.
    }
  };
}

function normalizePath(pathname: string, basePath: string): string | null {
  let path = pathname;
  if (basePath !== "") {
    const lower = path.toLowerCase();
    if (lower !== basePath && !lower.startsWith(`${basePath}/`)) return null;
    path = path.slice(basePath.length);
  }
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path.toLowerCase() || "/";
}

class Service implements NotificationsService {
  readonly metrics = new NotificationsMetrics();
  #options: NotificationsOptions;
  #log: Logger;
  #timers: ResolvedTimers;
  #registry = new ConnectionRegistry<HubConnection>();
  #limits: ConnectionLimits<HubConnection>;
  #live = new Set<HubConnection>();
  #dispatcher: Dispatcher;
  #endpoints: Record<HubName, HubEndpoint>;
  #verify: TokenVerifier;
  #send: (request: Request) => Promise<Response>;
  #queue: QueueConsumer | undefined;
  #providers: MetricsProvider[] = [];
  #tick: ReturnType<typeof setInterval> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #state: "new" | "running" | "stopping" | "stopped" = "new";
  #now: () => number;
  #basePath: string;
  #cors: CorsOrigins;

  constructor(options: NotificationsOptions, verify: TokenVerifier) {
    this.#options = options;
    this.#log = safeLogger(options.log ?? defaultLog);
    this.#timers = resolveTimers(options.timers);
    this.#now = options.now ?? (() => Date.now());
    this.#verify = verify;
    this.#basePath = (options.basePath ?? "").replace(/\/+$/, "").toLowerCase();
    // Bitwarden's IsCorsOriginAllowed adds https://bitwarden.com in the cloud only.
    this.#cors = options.corsOrigins ??
      (options.selfHosted ? DEFAULT_CORS : [...DEFAULT_CORS, "https://bitwarden.com"]);
    this.#limits = new ConnectionLimits(options.limits);
    this.#providers.push(this.#limits);
    const maxMessageSize = nonNegative("maxMessageSize", options.maxMessageSize, 32_768);
    const sendBufferLimit = nonNegative("sendBufferLimit", options.sendBufferLimit, 1_048_576);
    const overrides = options.overrides ?? {};
    this.#dispatcher = new Dispatcher({
      registry: this.#registry,
      routeEnvelope: overrides.routeEnvelope ?? routeEnvelope,
      hubArgument: {
        json: overrides.hubArgument?.json ?? toHubJsonArgument,
        messagepack: overrides.hubArgument?.messagepack ?? toHubMessagePackArgument,
      },
      ...(overrides.deliverToAll ? { deliverToAll: overrides.deliverToAll } : {}),
      metrics: this.metrics,
      ...(options.backplane ? { backplane: options.backplane } : {}),
      log: this.#log,
    });
    const endpoint = (hub: HubName) =>
      new HubEndpoint({
        hub,
        authenticate: (request) =>
          hub === "main"
            ? this.#authenticate(request, "hub", requireApplicationPolicy)
            : Promise.resolve(null),
        identityFor: (claims, url, negotiateUrl) =>
          hub === "main" ? this.#mainIdentity(claims!) : this.#anonymousIdentity(url, negotiateUrl),
        createConnection: (init) => this.#createConnection(init, maxMessageSize),
        admit: (identity, remoteIp) => {
          const refusal = this.#limits.admit(remoteIp, identity.userId);
          return refusal
            ? Response.json({ message: refusal.message, reason: refusal.reason }, {
              status: refusal.status,
            })
            : null;
        },
        sendBufferLimit,
        closeTimeoutMs: this.#timers.closeTimeoutMs,
        onForcedClose: (result) => this.metrics.forcedCloses.inc({ hub, result }),
        longPollTimeoutMs: this.#timers.longPollTimeoutMs,
        disconnectTimeoutMs: this.#timers.negotiateTimeoutMs,
        maxPendingBytes: maxMessageSize,
        now: this.#now,
      });
    this.#endpoints = { main: endpoint("main"), anonymous: endpoint("anonymous") };
    this.#send = createSendRoute({
      selfHosted: options.selfHosted,
      authenticate: (request) => this.#authenticate(request, "send", requireInternalPolicy),
      parseBody: parseSendBody,
      dispatch: (envelope, source) => this.dispatch(envelope, source),
      maxBodyBytes: nonNegative("maxSendBodyBytes", options.maxSendBodyBytes, 1_048_576),
      metrics: this.metrics,
      log: this.#log,
    });
    const backplane = options.backplane as Partial<MetricsProvider> | undefined;
    if (typeof backplane?.metricFamilies === "function") {
      this.#providers.push(backplane as MetricsProvider);
    }
    if (options.queue) {
      const queueLog = options.queue.log ??
        ((level: "debug" | "info" | "warn" | "error", message: string) =>
          this.#log(level, message, { component: "queue" }));
      this.#queue = new QueueConsumer({
        ...options.queue,
        log: queueLog,
        dispatch: async (envelope) => {
          await this.dispatch(envelope, "queue");
        },
      });
      this.#providers.push(this.#queue);
    }
  }

  #mainIdentity(claims: HubClaims): ConnectionGroups {
    const rule = this.#options.overrides?.groupsForConnection ?? groupsForConnection;
    return rule(claims, this.#options.installationId);
  }

  #anonymousIdentity(url: URL, negotiateUrl: URL | null): ConnectionGroups {
    const token = queryValue(url, "Token") ??
      (negotiateUrl ? queryValue(negotiateUrl, "Token") : null);
    const rule = this.#options.overrides?.anonymousGroup;
    const group = rule ? rule(token) : token !== null && token.trim() !== "" ? token : null;
    return {
      userId: null,
      deviceId: null,
      clientType: ClientType.All,
      groups: group ? [group] : [],
    };
  }

  async #authenticate(
    request: Request,
    endpoint: "hub" | "send",
    policy: (claims: HubClaims) => void,
  ): Promise<HubClaims> {
    try {
      const token = extractAccessToken(request);
      if (token === null) {
        throw new AuthError(
          401,
          "Missing access token: send Authorization: Bearer <token> or the access_token query parameter",
        );
      }
      let claims: HubClaims;
      try {
        claims = await this.#verify(token);
      } catch (error) {
        if (error instanceof AuthError) throw error;
        throw new AuthError(401, `Token is invalid: ${(error as Error).message}`);
      }
      policy(claims);
      return claims;
    } catch (error) {
      if (error instanceof AuthError) {
        this.metrics.authFailures.inc({ endpoint, status: String(error.status) });
      }
      throw error;
    }
  }

  #createConnection(
    init: {
      id: string;
      hub: HubName;
      identity: ConnectionGroups;
      sink: HubConnection["transport"];
      remoteIp: string | null;
    },
    maxMessageSize: number,
  ): HubConnection {
    const connection = new HubConnection({
      id: init.id,
      hub: init.hub,
      identity: init.identity,
      transport: init.sink,
      codecs: DEFAULT_CODECS,
      maxMessageSize,
      timers: this.#timers,
      detailedErrors: this.#options.detailedErrors ?? false,
      now: this.#now,
      onConnected: (c) => {
        this.#limits.connected(c);
        this.#registry.add(c);
        this.metrics.connectionsOpened.inc({
          hub: c.hub,
          transport: c.transport.kind,
          protocol: c.protocol ?? "unknown",
        });
      },
      onClosed: (c, reason, detail) => this.#closed(c, reason, detail),
    });
    this.#live.add(connection);
    this.#limits.opened(connection, init.remoteIp, init.identity.userId);
    if (this.#state === "stopping" || this.#state === "stopped") {
      connection.close({
        reason: "shutdown",
        detail: "Service is shutting down",
        sendClose: false,
      });
    }
    return connection;
  }

  #closed(connection: HubConnection, reason: CloseReason, detail: string): void {
    this.#live.delete(connection);
    this.#limits.closed(connection);
    this.#registry.remove(connection);
    this.#endpoints[connection.hub].connectionClosed(connection);
    this.metrics.connectionsClosed.inc({ hub: connection.hub, reason });
    if (reason === "slow-consumer") this.metrics.slowConsumersDropped.inc({ hub: connection.hub });
    const level =
      reason === "transport-closed" || reason === "client-close" || reason === "shutdown"
        ? "debug"
        : "info";
    this.#log(level, "Connection closed", {
      id: connection.id,
      hub: connection.hub,
      reason,
      detail,
    });
  }

  connectionCount(hub: HubName): number {
    return this.#registry.count(hub);
  }

  metricFamilies(): readonly MetricFamily[] {
    const connections: MetricFamily = {
      name: "hubproof_notifications_connections",
      help: "Open hub connections (handshake completed), by hub",
      type: "gauge",
      samples: (["main", "anonymous"] as const).map((hub) => ({
        labels: { hub },
        value: this.#registry.count(hub),
      })),
    };
    const pending: MetricFamily = {
      name: "hubproof_notifications_connections_pending",
      help: "Transport connections not yet past the handshake",
      type: "gauge",
      samples: [{
        value: this.#live.size - this.#registry.count("main") - this.#registry.count("anonymous"),
      }],
    };
    return [
      connections,
      pending,
      ...this.metrics.counterFamilies(),
      ...this.#providers.flatMap((p) => p.metricFamilies()),
    ];
  }

  async fetch(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    let response: Response;
    try {
      const addr = info?.remoteAddr as Partial<Deno.NetAddr> | undefined;
      response = await this.#route(
        request,
        typeof addr?.hostname === "string" ? addr.hostname : null,
      );
    } catch (error) {
      await request.body?.cancel().catch(() => {});
      if (error instanceof AuthError) {
        response = authErrorResponse(error);
      } else {
        const message = (error as Error).message ?? String(error);
        this.#log("error", "Request failed", { url: request.url, error: message });
        response = Response.json({ message: `Internal error: ${message}` }, { status: 500 });
      }
    }
    return decorate(request, response, this.#cors);
  }

  async #route(request: Request, remoteIp: string | null): Promise<Response> {
    const url = new URL(request.url);
    const path = normalizePath(url.pathname, this.#basePath);
    if (path === null) {
      return Response.json({ message: `Not found: ${url.pathname}` }, { status: 404 });
    }
    if (request.method === "OPTIONS") return preflightResponse(request, this.#cors);
    const hubPaths: Record<string, [HubName, boolean]> = {
      "/hub": ["main", false],
      "/hub/negotiate": ["main", true],
      "/anonymous-hub": ["anonymous", false],
      "/anonymous-hub/negotiate": ["anonymous", true],
    };
    const hub = hubPaths[path];
    if (hub) {
      if (this.#state === "stopping" || this.#state === "stopped") {
        await request.body?.cancel();
        return Response.json({ message: "Service is shutting down" }, { status: 503 });
      }
      return await this.#endpoints[hub[0]].handle(request, hub[1], { remoteIp });
    }
    switch (path) {
      case "/send":
        return await this.#send(request);
      case "/alive":
      case "/now":
        if (request.method !== "GET" && request.method !== "HEAD") break;
        return infoResponse(new Date(this.#now()));
      case "/metrics":
        if (request.method !== "GET" && request.method !== "HEAD") break;
        return metricsResponse(this.metricFamilies());
      default:
        await request.body?.cancel();
        return Response.json({ message: `Not found: ${url.pathname}` }, { status: 404 });
    }
    await request.body?.cancel();
    return Response.json({ message: `Method not allowed: ${request.method} ${url.pathname}` }, {
      status: 405,
    });
  }

  dispatch(envelope: Envelope, source: MessageSource): Promise<DispatchResult> {
    return this.#dispatcher.dispatch(envelope, source);
  }

  async start(): Promise<void> {
    if (this.#state !== "new") return;
    this.#state = "running";
    const period = tickPeriod(this.#timers);
    this.#tick = setInterval(() => this.#onTick(), period);
    if (this.#timers.heartbeatMs > 0) {
      this.#dispatcher.broadcast("main", "Heartbeat");
      this.#heartbeat = setInterval(
        () => this.#dispatcher.broadcast("main", "Heartbeat"),
        this.#timers.heartbeatMs,
      );
    }
    if (this.#options.backplane) {
      await this.#options.backplane.subscribe((envelope) => {
        this.dispatch(envelope, "backplane").catch((error) =>
          this.#log("error", "Backplane delivery failed", { error: (error as Error).message })
        );
      });
    }
    this.#queue?.start();
  }

  #onTick(): void {
    const now = this.#now();
    for (const connection of [...this.#live]) connection.tick(now);
    this.#endpoints.main.sweep(now);
    this.#endpoints.anonymous.sweep(now);
  }

  async shutdown(): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") return;
    this.#state = "stopping";
    // Stop receiving first: in-flight queue messages finish (and reach sockets) or go back.
    await this.#queue?.stop();
    await this.#options.backplane?.close().catch((error) =>
      this.#log("warn", "Backplane close failed", { error: (error as Error).message })
    );
    clearInterval(this.#tick);
    clearInterval(this.#heartbeat);
    for (const connection of [...this.#live]) {
      connection.close({
        reason: "shutdown",
        detail: "Service is shutting down",
        allowReconnect: true,
      });
    }
    this.#endpoints.main.clear();
    this.#endpoints.anonymous.clear();
    this.#state = "stopped";
  }
}

/**
 * Creates the Notifications service (not yet started: call `start`).
 *
 * @example
 * ```ts ignore
 * const service = await createNotificationsService({
 *   selfHosted: true,
 *   installationId: null,
 *   auth: { authority: "http://127.0.0.1:33656" },
 * });
 * await service.start();
 * Deno.serve({ port: 61840 }, (request, info) => service.fetch(request, info));
 * ```
 * @param options Configuration.
 * @returns The service.
 * @throws {TypeError} or {RangeError} naming the invalid option.
 */
export async function createNotificationsService(
  options: NotificationsOptions,
): Promise<NotificationsService> {
  const override = options.overrides?.verifyAccessToken;
  const verify: TokenVerifier = override ?? await createTokenVerifier(options.auth);
  return new Service(options, verify);
}

/** Options of {@linkcode serveNotifications}. */
export interface ServeNotificationsOptions extends NotificationsOptions {
  /** Interface (default `127.0.0.1`). */
  readonly hostname?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
  /** Aborting shuts the service and the server down. */
  readonly signal?: AbortSignal;
}

/** A served Notifications service. */
export interface ServedNotifications {
  /** The service. */
  readonly service: NotificationsService;
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Shuts the service down, then the HTTP server. */
  close(): Promise<void>;
}

/**
 * Creates, starts and serves the service over HTTP.
 *
 * @param options Configuration plus host, port and abort signal.
 * @returns The service, its URL and a `close` function.
 */
export async function serveNotifications(
  options: ServeNotificationsOptions,
): Promise<ServedNotifications> {
  const service = await createNotificationsService(options);
  await service.start();
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => {},
  }, (request, info) => service.fetch(request, info));
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await service.shutdown();
      await server.shutdown();
    })();
  options.signal?.addEventListener("abort", () => void close(), { once: true });
  return { service, url: `http://${host}:${addr.port}`, close };
}
