/**
 * One builder per role of `deno task serve`: each takes the validated configuration and what
 * the deployment shares (store, keys, URLs, queue, backplane) and returns the role's request
 * handler (mounted: the path below its prefix), its cleanup, and the handles the deployment
 * exposes. `serve.ts` composes them behind one listener.
 *
 * @module
 */

import { createApiService } from "./api/service.ts";
import { createTokenVerifier } from "./auth/mod.ts";
import { ConfigError, type ServeConfig } from "./config.ts";
import { createIdentityService } from "./identity/service.ts";
import type { SigningKeys } from "./identity/signing_keys.ts";
import type { Logger } from "./kernel/log.ts";
import type { MemoryStore } from "./kernel/store.ts";
import {
  type Backplane,
  createNotificationsService,
  type NotificationsService,
  type NotificationsTimers,
} from "./notifications/mod.ts";
import { AzureQueuePushEngine } from "./push/azure_queue_engine.ts";
import { InternalTokenSource } from "./push/internal_token_source.ts";
import { MultiPushEngine } from "./push/multi_engine.ts";
import { NotificationsApiPushEngine } from "./push/notifications_api_engine.ts";
import type { PushEngine } from "./push/types.ts";

/** Handles a request whose path is relative to the role's prefix (`/identity`, `/api`, ...). */
export type RoleHandler = (
  request: Request,
  path: string,
  info?: Deno.ServeHandlerInfo,
) => Promise<Response>;

/** A started role: its handler and what stops it. */
export interface StartedRole {
  /** Serves the role below its prefix. */
  readonly fetch: RoleHandler;
  /** Stops what the role started (nothing for a stateless role). */
  cleanup(): Promise<void>;
}

/** What the Identity role needs besides the configuration. */
export interface IdentityRoleContext {
  /** The deployment's data. */
  readonly store: MemoryStore;
  /** Token signing keys. */
  readonly keys: SigningKeys;
  /** Base URL this instance answers discovery with (`.../identity`). */
  readonly baseUrl: string;
  /** Issuer written to tokens (the public Identity URL, whichever listener issued them). */
  readonly issuer: string;
  /** Server-side PBKDF2 iterations (tests lower them). */
  readonly secretIterations?: number;
  /** Log sink. */
  readonly log: Logger;
}

/**
 * Builds the Identity role (stateless beyond the store: nothing to clean up).
 *
 * @param config The configuration.
 * @param context Store, keys, URLs and log.
 * @returns The role.
 */
export function createIdentityRole(config: ServeConfig, context: IdentityRoleContext): StartedRole {
  const identity = createIdentityService({
    store: context.store,
    keys: context.keys,
    baseUrl: context.baseUrl,
    issuer: context.issuer,
    internalKey: config.internalKey,
    maxBodyBytes: config.maxBodyBytes,
    ...(context.secretIterations !== undefined
      ? { secretIterations: context.secretIterations }
      : {}),
    log: context.log,
  });
  return { fetch: (request, path) => identity.fetch(request, path), cleanup: async () => {} };
}

/** What the Notifications role needs besides the configuration. */
export interface NotificationsRoleContext {
  /** Authority whose tokens the hub and `/send` accept. */
  readonly authority: string;
  /** Azure Storage connection string (cloud mode). */
  readonly queueConnectionString?: string;
  /** Queue consumer idle wait (tests shorten it). */
  readonly queueIdleWait?: { readonly minMs: number; readonly maxMs: number };
  /** Scale-out backplane. */
  readonly backplane?: Backplane;
  /** Timers over the configuration's close timeout (tests shorten them). */
  readonly timers?: NotificationsTimers;
  /** Log sink. */
  readonly log: Logger;
}

/** The started Notifications role. */
export interface NotificationsRole extends StartedRole {
  /** The running service. */
  readonly service: NotificationsService;
}

/**
 * Builds and starts the Notifications role: timers, queue consumer (cloud) and backplane
 * subscription run until `cleanup`.
 *
 * @param config The configuration.
 * @param context Authority, queue, backplane, timers and log.
 * @returns The role and its service.
 */
export async function startNotificationsRole(
  config: ServeConfig,
  context: NotificationsRoleContext,
): Promise<NotificationsRole> {
  const service = await createNotificationsService({
    selfHosted: config.mode === "selfhosted",
    installationId: config.installationId,
    auth: { authority: context.authority },
    ...(config.mode === "cloud"
      ? {
        queue: {
          connectionString: context.queueConnectionString!,
          queueName: config.queueName,
          ...(context.queueIdleWait ? { idleWait: context.queueIdleWait } : {}),
        },
      }
      : {}),
    ...(context.backplane ? { backplane: context.backplane } : {}),
    // The flag gives the close timeout; a test's own timers may still override it.
    timers: { closeTimeoutMs: config.closeTimeoutMs, ...context.timers },
    limits: config.limits,
    log: context.log,
  });
  await service.start();
  return {
    service,
    fetch: (request, path, info) => service.fetch(request, path, info),
    cleanup: () => service.shutdown(),
  };
}

/** What the API role needs besides the configuration. */
export interface ApiRoleContext {
  /** The deployment's data. */
  readonly store: MemoryStore;
  /** Identity base URL reachable from this process (token verification, internal tokens). */
  readonly identityUrl: string;
  /** Notifications base URL the `/send` engine posts to (self-hosted). */
  readonly notificationsUrl?: string;
  /** Azure Storage connection string (cloud mode). */
  readonly queueConnectionString?: string;
  /** `/send` engine retry delays (tests shorten them). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /** Log sink. */
  readonly log: Logger;
}

/** The started API role. */
export interface ApiRole extends StartedRole {
  /** The push engine every API change goes through. */
  readonly engine: PushEngine;
  /** The `/send` engine (self-hosted mode). */
  readonly sendEngine: NotificationsApiPushEngine | undefined;
}

/**
 * Builds the API role and its push engine: `/send` with an outbox (self-hosted) or the Azure
 * queue (cloud, checked reachable now).
 *
 * @param config The configuration.
 * @param context Store, URLs, queue, retry delays and log.
 * @returns The role and its engines.
 * @throws {ConfigError} naming `--queue-connection-string` when the queue is unreachable.
 */
export async function startApiRole(config: ServeConfig, context: ApiRoleContext): Promise<ApiRole> {
  const { log } = context;
  let engine: PushEngine;
  let sendEngine: NotificationsApiPushEngine | undefined;
  if (config.mode === "selfhosted") {
    sendEngine = new NotificationsApiPushEngine({
      notificationsUrl: context.notificationsUrl!,
      tokens: new InternalTokenSource({
        identityUrl: context.identityUrl,
        clientId: "internal.Api",
        clientSecret: config.internalKey,
      }),
      capacity: config.outboxCapacity,
      ...(context.backoff
        ? { minBackoffMs: context.backoff.minMs, maxBackoffMs: context.backoff.maxMs }
        : {}),
      log,
    });
    engine = new MultiPushEngine([sendEngine], { log });
  } else {
    const queueEngine = new AzureQueuePushEngine({
      connectionString: context.queueConnectionString!,
      queueName: config.queueName,
      log,
    });
    await queueEngine.ensureQueue().catch((error: Error) => {
      throw new ConfigError("--queue-connection-string", `queue unreachable: ${error.message}`);
    });
    engine = new MultiPushEngine([queueEngine], { log });
  }
  const send = sendEngine;
  const cleanup = async () => {
    // Give the outbox a moment to flush before the Notifications role goes away.
    if (send) await Promise.race([send.drain(), new Promise((r) => setTimeout(r, 2000))]);
    await engine.close?.();
  };
  let api: ReturnType<typeof createApiService>;
  try {
    api = createApiService({
      store: context.store,
      verify: await createTokenVerifier({ authority: context.identityUrl }),
      engine,
      installationId: config.installationId,
      selfHosted: config.mode === "selfhosted",
      maxBodyBytes: config.maxBodyBytes,
      log,
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { engine, sendEngine, fetch: (request, path) => api.fetch(request, path), cleanup };
}
