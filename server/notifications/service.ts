/**
 * The Notifications service's composition root: builds the connection lifecycle, the
 * dispatcher, the routes, the queue consumer and the backplane subscription from validated
 * options (`options.ts`), and runs the shared timers. Mounted like the Identity and API roles:
 * the caller strips its prefix and passes the rest of the path.
 *
 * @module
 */

import type { Envelope, HubName } from "../../protocol/bitwarden/mod.ts";
import { createTokenVerifier, type TokenVerifier } from "../auth/mod.ts";
import { type CorsOrigins, decorate, preflightResponse } from "./_http.ts";
import { ConnectionLifecycle } from "./connection_lifecycle.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { HubEndpoint } from "./hub_endpoint.ts";
import { type MetricFamily, type MetricsProvider, NotificationsMetrics } from "./metrics.ts";
import {
  type NotificationsOptions,
  type ResolvedNotificationsOptions,
  type ResolvedTimers,
  resolveNotificationsOptions,
} from "./options.ts";
import { QueueConsumer } from "./queue_consumer.ts";
import { createNotificationsRoutes } from "./routes.ts";
import { type Router, stripPrefix } from "../kernel/mod.ts";
import type { DispatchResult, Logger, MessageSource } from "./types.ts";

export type { NotificationsOptions, NotificationsTimers } from "./options.ts";

/** A running Notifications service. */
export interface NotificationsService {
  /**
   * Handles a request; `path` is relative to where the service is mounted (`/hub`,
   * `/anonymous-hub`, `/send`, `/alive`, `/now`, `/metrics`): the caller strips its prefix.
   */
  fetch(request: Request, path: string, info?: Deno.ServeHandlerInfo): Promise<Response>;
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

/** Shared tick period: a quarter of the shortest timer, between 5 ms and 1 s. */
function tickPeriod(t: ResolvedTimers): number {
  const active = [t.keepAliveMs, t.clientTimeoutMs, t.handshakeTimeoutMs, t.negotiateTimeoutMs]
    .filter((v) => v > 0);
  if (active.length === 0) return 1000;
  return Math.min(1000, Math.max(5, Math.floor(Math.min(...active) / 4)));
}

class Service implements NotificationsService {
  readonly metrics = new NotificationsMetrics();
  #settings: ResolvedNotificationsOptions;
  #backplane: NotificationsOptions["backplane"];
  #log: Logger;
  #lifecycle: ConnectionLifecycle;
  #dispatcher: Dispatcher;
  #endpoints: Readonly<Record<HubName, HubEndpoint>>;
  #router: Router;
  #queue: QueueConsumer | undefined;
  #providers: MetricsProvider[] = [];
  #tick: ReturnType<typeof setInterval> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #state: "new" | "running" | "stopping" | "stopped" = "new";
  #cors: CorsOrigins;

  constructor(options: NotificationsOptions, verify: TokenVerifier) {
    const settings = resolveNotificationsOptions(options);
    this.#settings = settings;
    this.#backplane = options.backplane;
    this.#log = settings.log;
    this.#cors = settings.corsOrigins;
    this.#lifecycle = new ConnectionLifecycle({
      timers: settings.timers,
      maxMessageSize: settings.maxMessageSize,
      detailedErrors: settings.detailedErrors,
      limits: settings.limits,
      metrics: this.metrics,
      log: settings.log,
      now: settings.now,
      onClosed: (connection) => this.#endpoints[connection.hub].connectionClosed(connection),
    });
    this.#providers.push(this.#lifecycle.limits);
    this.#dispatcher = new Dispatcher({
      registry: this.#lifecycle.registry,
      rules: settings.rules,
      metrics: this.metrics,
      ...(options.backplane ? { backplane: options.backplane } : {}),
      log: this.#log,
    });
    const routes = createNotificationsRoutes({
      settings,
      verify,
      metrics: this.metrics,
      lifecycle: this.#lifecycle,
      dispatch: (envelope, source) => this.dispatch(envelope, source),
      metricFamilies: () => this.metricFamilies(),
      accepting: () => this.#state !== "stopping" && this.#state !== "stopped",
    });
    this.#endpoints = routes.endpoints;
    this.#router = routes.router;
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

  connectionCount(hub: HubName): number {
    return this.#lifecycle.registry.count(hub);
  }

  metricFamilies(): readonly MetricFamily[] {
    return [
      ...this.#lifecycle.metricFamilies(),
      ...this.metrics.counterFamilies(),
      ...this.#providers.flatMap((p) => p.metricFamilies()),
    ];
  }

  async fetch(request: Request, path: string, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const response = request.method === "OPTIONS"
      ? preflightResponse(request, this.#cors)
      : await this.#router.handle(request, path, info);
    return decorate(request, response, this.#cors);
  }

  dispatch(envelope: Envelope, source: MessageSource): Promise<DispatchResult> {
    return this.#dispatcher.dispatch(envelope, source);
  }

  async start(): Promise<void> {
    if (this.#state !== "new") return;
    this.#state = "running";
    const timers = this.#settings.timers;
    this.#tick = setInterval(() => this.#onTick(), tickPeriod(timers));
    if (timers.heartbeatMs > 0) {
      this.#dispatcher.broadcast("main", "Heartbeat");
      this.#heartbeat = setInterval(
        () => this.#dispatcher.broadcast("main", "Heartbeat"),
        timers.heartbeatMs,
      );
    }
    if (this.#backplane) {
      await this.#backplane.subscribe((envelope) => {
        this.dispatch(envelope, "backplane").catch((error) =>
          this.#log("error", "Backplane delivery failed", { error: (error as Error).message })
        );
      });
    }
    this.#queue?.start();
  }

  #onTick(): void {
    const now = this.#settings.now();
    this.#lifecycle.tick(now);
    this.#endpoints.main.sweep(now);
    this.#endpoints.anonymous.sweep(now);
  }

  async shutdown(): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") return;
    this.#state = "stopping";
    this.#lifecycle.stopAccepting();
    // Stop receiving first: in-flight queue messages finish (and reach sockets) or go back.
    await this.#queue?.stop();
    await this.#backplane?.close().catch((error) =>
      this.#log("warn", "Backplane close failed", { error: (error as Error).message })
    );
    clearInterval(this.#tick);
    clearInterval(this.#heartbeat);
    this.#lifecycle.closeAll();
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
  const verify: TokenVerifier = options.verifier ?? await createTokenVerifier(options.auth);
  return new Service(options, verify);
}

/** Options of {@linkcode serveNotifications}. */
export interface ServeNotificationsOptions extends NotificationsOptions {
  /** Interface (default `127.0.0.1`). */
  readonly hostname?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
  /**
   * Serve under this path prefix, e.g. `/notifications` (lower case, no trailing slash;
   * default none): the server strips it before the service routes, and answers 404 elsewhere.
   */
  readonly prefix?: string;
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
  const prefix = (options.prefix ?? "").replace(/\/+$/, "").toLowerCase();
  const service = await createNotificationsService(options);
  await service.start();
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => {},
  }, (request, info) => {
    const pathname = new URL(request.url).pathname;
    const path = prefix === "" ? pathname : stripPrefix(pathname, prefix);
    return path === null
      ? Promise.resolve(Response.json({ message: `Not found: ${pathname}` }, { status: 404 }))
      : service.fetch(request, path, info);
  });
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
