/**
 * The composition root of `deno task serve`: builds the roles a {@linkcode ServeConfig} asks
 * for and serves them on one port laid out like a self-hosted deployment (`/identity/*`,
 * `/api/*`, `/notifications/*`), wiring the data path
 * API -> push engine -> `/send` or Azure queue -> Notifications.
 *
 * @module
 */

import { loadFixtures, readFixtures } from "./api/fixtures.ts";
import { jsonResponse } from "./kernel/http.ts";
import { createApiService } from "./api/service.ts";
import { MemoryStore } from "./kernel/store.ts";
import { stripPrefix } from "./kernel/router.ts";
import { ConfigError, type ServeConfig } from "./config.ts";
import { createIdentityService } from "./identity/service.ts";
import { SigningKeys } from "./identity/signing_keys.ts";
import { createTokenVerifier } from "./auth/mod.ts";
import {
  createNotificationsService,
  type Logger,
  type NotificationsService,
  type NotificationsTimers,
} from "./notifications/mod.ts";
import { RedisBackplane } from "./notifications/redis_backplane.ts";
import { AzureQueuePushEngine } from "./push/azure_queue_engine.ts";
import { InternalTokenSource } from "./push/internal_token_source.ts";
import { MultiPushEngine } from "./push/multi_engine.ts";
import { NotificationsApiPushEngine } from "./push/notifications_api_engine.ts";
import type { PushEngine } from "./push/types.ts";
import { startAzurite } from "./azurite/mod.ts";

/** Options of {@linkcode startServe} beyond the configuration (tests tune these). */
export interface StartServeOptions {
  /** Logger (default stderr). */
  readonly log?: (message: string) => void;
  /** Server-side PBKDF2 iterations for stored secrets. */
  readonly secretIterations?: number;
  /** Notifications timers (over `config.closeTimeoutMs` where both set the close timeout). */
  readonly notificationsTimers?: NotificationsTimers;
  /** `/send` engine retry delays. */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /** Queue consumer idle wait (cloud). */
  readonly queueIdleWait?: { readonly minMs: number; readonly maxMs: number };
}

/** A running deployment. */
export interface RunningServe {
  /** Base URL (`http://127.0.0.1:8080`). */
  readonly url: string;
  /** Role URLs (local roles, or the external URLs configured). */
  readonly urls: {
    readonly identity?: string;
    readonly api?: string;
    readonly notifications?: string;
  };
  /** The configuration. */
  readonly config: ServeConfig;
  /** The in-memory store (identity/api roles). */
  readonly store: MemoryStore | undefined;
  /** The push engine (api role). */
  readonly engine: PushEngine | undefined;
  /** The `/send` engine, self-hosted api role. */
  readonly sendEngine: NotificationsApiPushEngine | undefined;
  /** The Notifications service (notifications role). */
  readonly notifications: NotificationsService | undefined;
  /** The signing keys (identity role). */
  readonly keys: SigningKeys | undefined;
  /** The queue connection string in use (cloud). */
  readonly queueConnectionString: string | undefined;
  /** Stops everything this process started. */
  stop(): Promise<void>;
}

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response> | Response;

async function listen(
  config: ServeConfig,
  handler: Handler,
): Promise<Deno.HttpServer<Deno.NetAddr>> {
  let cert: string | undefined;
  let key: string | undefined;
  if (config.tls) {
    try {
      cert = await Deno.readTextFile(config.tls.certFile);
    } catch (error) {
      throw new ConfigError(
        "--tls-cert",
        `cannot read ${config.tls.certFile}: ${(error as Error).message}`,
      );
    }
    try {
      key = await Deno.readTextFile(config.tls.keyFile);
    } catch (error) {
      throw new ConfigError(
        "--tls-key",
        `cannot read ${config.tls.keyFile}: ${(error as Error).message}`,
      );
    }
  }
  try {
    const base = { hostname: config.hostname, port: config.port, onListen: () => {} };
    return cert !== undefined && key !== undefined
      ? Deno.serve({ ...base, cert, key }, handler)
      : Deno.serve(base, handler);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ConfigError(
        "--port",
        `port ${config.port} is in use on ${config.hostname}: choose another (0 picks a free one)`,
      );
    }
    if (
      error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.PermissionDenied
    ) {
      throw new ConfigError(
        "--hostname",
        `cannot listen on ${config.hostname}:${config.port}: ${(error as Error).message}`,
      );
    }
    if (config.tls) {
      throw new ConfigError("--tls-cert", `TLS setup failed: ${(error as Error).message}`);
    }
    throw error;
  }
}

/**
 * Starts the roles of a configuration.
 *
 * @param config The validated configuration.
 * @param options Logger and test tuning.
 * @returns The running deployment.
 * @throws {ConfigError} For a port in use, unreadable files, an unreachable queue or Redis.
 */
export async function startServe(
  config: ServeConfig,
  options: StartServeOptions = {},
): Promise<RunningServe> {
  const log = options.log ?? ((m: string) => console.error(m));
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        log(`Shutdown step failed: ${(error as Error).message}`);
      }
    }
  };
  try {
    const needsStore = config.roles.has("identity") || config.roles.has("api");
    const store = needsStore ? new MemoryStore() : undefined;
    if (store) {
      const fixtures = await readFixtures(config.fixturesFile).catch((error: Error) => {
        throw new ConfigError("--fixtures", error.message);
      });
      await loadFixtures(store, fixtures, {
        ...(options.secretIterations !== undefined
          ? { secretIterations: options.secretIterations }
          : {}),
      }).catch((error: Error) => {
        throw new ConfigError("--fixtures", error.message);
      });
    }
    let keys: SigningKeys | undefined;
    if (config.roles.has("identity")) {
      keys = config.signingKeyFile !== undefined
        ? await SigningKeys.fromFile(config.signingKeyFile).catch((error: Error) => {
          throw new ConfigError("--signing-key", error.message);
        })
        : await SigningKeys.generate();
    }

    let route: Handler = () => jsonResponse({ message: "Starting" }, 503);
    const server = await listen(config, (request, info) => route(request, info));
    cleanups.push(() => server.shutdown());
    const scheme = config.tls ? "https" : "http";
    const host = server.addr.hostname.includes(":")
      ? `[${server.addr.hostname}]`
      : server.addr.hostname;
    const url = config.publicUrl ?? `${scheme}://${host}:${server.addr.port}`;
    // Local calls (API -> /send, token discovery) go to the loopback address actually bound.
    // With TLS they cannot: the certificate names the public host (or is self-signed), not
    // 127.0.0.1, and this runtime does not trust it. They use a loopback-only plain listener.
    let internalRoute: Handler = () => jsonResponse({ message: "Starting" }, 503);
    let localUrl = `${scheme}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${server.addr.port}`;
    const internalListener = config.tls !== undefined && config.roles.size > 1;
    if (internalListener) {
      const internal = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        (request, info) => internalRoute(request, info),
      );
      cleanups.push(() => internal.shutdown());
      localUrl = `http://127.0.0.1:${internal.addr.port}`;
    }

    const identityUrl = config.roles.has("identity") ? `${url}/identity` : config.identityUrl;
    const localIdentityUrl = config.roles.has("identity")
      ? `${localUrl}/identity`
      : config.identityUrl;
    const makeIdentity = (baseUrl: string) =>
      createIdentityService({
        store: store!,
        keys: keys!,
        baseUrl,
        // Tokens carry the public issuer whichever listener issued them.
        issuer: config.issuer ?? identityUrl!,
        internalKey: config.internalKey,
        maxBodyBytes: config.maxBodyBytes,
        ...(options.secretIterations !== undefined
          ? { secretIterations: options.secretIterations }
          : {}),
        log,
      });
    const identity = config.roles.has("identity") ? makeIdentity(identityUrl!) : undefined;
    // Discovery on the loopback listener must point at loopback JWKS, hence its own instance.
    const localIdentity = identity && internalListener ? makeIdentity(localIdentityUrl!) : identity;

    let queueConnectionString = config.queueConnectionString;
    if (
      config.mode === "cloud" && queueConnectionString === undefined &&
      (config.roles.has("api") || config.roles.has("notifications"))
    ) {
      log("Starting an in-memory Azurite queue service (no --queue-connection-string given)");
      const azurite = await startAzurite();
      cleanups.push(() => azurite.stop());
      queueConnectionString = azurite.connectionString;
    }

    let backplane: RedisBackplane | undefined;
    if (config.redisUrl !== undefined) {
      backplane = await RedisBackplane.connect({ url: config.redisUrl, log: toLogger(log) }).catch(
        (error: Error) => {
          throw new ConfigError(
            "--redis",
            `cannot connect to ${config.redisUrl}: ${error.message}`,
          );
        },
      );
      const bp = backplane;
      cleanups.push(() => bp.close());
    }

    let notifications: NotificationsService | undefined;
    const makeNotifications = async () => {
      const service = await createNotificationsService({
        selfHosted: config.mode === "selfhosted",
        installationId: config.installationId,
        auth: { authority: config.identityAuthority ?? localIdentityUrl! },
        ...(config.mode === "cloud"
          ? {
            queue: {
              connectionString: queueConnectionString!,
              queueName: config.queueName,
              ...(options.queueIdleWait ? { idleWait: options.queueIdleWait } : {}),
            },
          }
          : {}),
        ...(backplane ? { backplane } : {}),
        // The flag gives the close timeout; a test's own timers may still override it.
        timers: { closeTimeoutMs: config.closeTimeoutMs, ...options.notificationsTimers },
        limits: config.limits,
        log: toLogger(log),
      });
      await service.start();
      return service;
    };
    if (config.roles.has("notifications")) {
      notifications = await makeNotifications();
      cleanups.push(async () => {
        await notifications?.shutdown();
      });
    }

    let engine: PushEngine | undefined;
    let sendEngine: NotificationsApiPushEngine | undefined;
    let api: ReturnType<typeof createApiService> | undefined;
    const notificationsUrl = config.roles.has("notifications")
      ? `${url}/notifications`
      : config.notificationsUrl;
    if (config.roles.has("api")) {
      if (config.mode === "selfhosted") {
        sendEngine = new NotificationsApiPushEngine({
          notificationsUrl: config.roles.has("notifications")
            ? `${localUrl}/notifications`
            : config.notificationsUrl!,
          tokens: new InternalTokenSource({
            identityUrl: localIdentityUrl!,
            clientId: "internal.Api",
            clientSecret: config.internalKey,
          }),
          capacity: config.outboxCapacity,
          ...(options.backoff
            ? { minBackoffMs: options.backoff.minMs, maxBackoffMs: options.backoff.maxMs }
            : {}),
          log,
        });
        engine = new MultiPushEngine([sendEngine], { log });
      } else {
        const queueEngine = new AzureQueuePushEngine({
          connectionString: queueConnectionString!,
          queueName: config.queueName,
          log,
        });
        await queueEngine.ensureQueue().catch((error: Error) => {
          throw new ConfigError("--queue-connection-string", `queue unreachable: ${error.message}`);
        });
        engine = new MultiPushEngine([queueEngine], { log });
      }
      const e = engine;
      const s = sendEngine;
      cleanups.push(async () => {
        // Give the outbox a moment to flush before the Notifications role goes away.
        if (s) await Promise.race([s.drain(), new Promise((r) => setTimeout(r, 2000))]);
        await e.close?.();
      });
      api = createApiService({
        store: store!,
        verify: await createTokenVerifier({ authority: localIdentityUrl! }),
        engine,
        installationId: config.installationId,
        selfHosted: config.mode === "selfhosted",
        maxBodyBytes: config.maxBodyBytes,
        log,
      });
    }

    route = (request, info) => {
      const path = new URL(request.url).pathname;
      const idPath = stripPrefix(path, "/identity");
      if (idPath !== null) {
        return identity ? identity.fetch(request, idPath) : notServed("identity");
      }
      const apiPath = stripPrefix(path, "/api");
      if (apiPath !== null) return api ? api.fetch(request, apiPath) : notServed("api");
      const notificationsPath = stripPrefix(path, "/notifications");
      if (notificationsPath !== null) {
        return notifications
          ? notifications.fetch(request, notificationsPath, info)
          : notServed("notifications");
      }
      if (path === "/" || path === "") {
        return jsonResponse({
          object: "hubproof",
          mode: config.mode,
          roles: [...config.roles],
          identity: identityUrl ?? null,
          api: config.roles.has("api") ? `${url}/api` : null,
          notifications: notificationsUrl ?? null,
          installationId: config.installationId,
        });
      }
      return jsonResponse({
        message: `Not found: ${path} (roles are under /identity, /api, /notifications)`,
      }, 404);
    };

    internalRoute = (request, info) => {
      const path = new URL(request.url).pathname;
      const idPath = stripPrefix(path, "/identity");
      if (idPath !== null && localIdentity) return localIdentity.fetch(request, idPath);
      if (path.toLowerCase() === "/notifications/send" && notifications) {
        return notifications.fetch(request, "/send", info);
      }
      return jsonResponse({ message: `Not found: ${path} (internal listener)` }, 404);
    };

    const stop = cleanup;
    return {
      url,
      urls: {
        ...(identityUrl !== undefined ? { identity: identityUrl } : {}),
        ...(config.roles.has("api") ? { api: `${url}/api` } : {}),
        ...(notificationsUrl !== undefined ? { notifications: notificationsUrl } : {}),
      },
      config,
      store,
      engine,
      sendEngine,
      notifications,
      keys,
      queueConnectionString,
      stop,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function notServed(role: string): Response {
  return jsonResponse({ message: `Role not served by this process: ${role}` }, 404);
}

function toLogger(log: (message: string) => void): Logger {
  return (level, message, fields) => {
    if (level === "debug") return;
    const detail = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    log(`[notifications] ${level}: ${message}${detail}`);
  };
}
