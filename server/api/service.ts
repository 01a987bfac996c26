/**
 * The API role: every Bitwarden-shaped route whose data change raises a push, mounted on
 * paths relative to the role (the server strips `/api`).
 *
 * @module
 */

import { consoleLogger, type Logger } from "../kernel/log.ts";
import type { TokenVerifier } from "../auth/mod.ts";
import type { PushEngine } from "../push/types.ts";
import type { ApiDeps } from "./_deps.ts";
import { addAccountRoutes } from "./accounts.ts";
import { addAuthRequestRoutes } from "./auth_requests.ts";
import { addCipherRoutes } from "./ciphers.ts";
import { createAuthenticator } from "./context.ts";
import { addFolderRoutes } from "./folders.ts";
import { addNotificationCenterRoutes } from "./notification_center.ts";
import { addOrganizationRoutes } from "./organizations.ts";
import { Router } from "../kernel/router.ts";
import { addSendRoutes } from "./sends.ts";
import type { MemoryStore } from "../kernel/store.ts";

/** Options of {@linkcode createApiService}. */
export interface ApiServiceOptions {
  /** Shared store. */
  readonly store: MemoryStore;
  /** Token verifier (trusting the Identity role). */
  readonly verify: TokenVerifier;
  /** Where pushes go. */
  readonly engine: PushEngine;
  /** Installation id. */
  readonly installationId: string;
  /** Self-hosted deployment. */
  readonly selfHosted: boolean;
  /** Clock. */
  readonly now?: () => Date;
  /** Largest request body in bytes (default `DEFAULT_MAX_BODY_BYTES`); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** Logger. */
  readonly log?: Logger;
}

/** A running API role. */
export interface ApiService {
  /** Handles a request whose path is relative to the role (`/folders`). */
  fetch(request: Request, path: string): Promise<Response>;
}

/**
 * Creates the API role.
 *
 * @param options Store, verifier, push engine.
 * @returns The service.
 */
export function createApiService(options: ApiServiceOptions): ApiService {
  const log = options.log ?? consoleLogger("api");
  const deps: ApiDeps = {
    store: options.store,
    auth: createAuthenticator(options.store, options.verify),
    push: (n) => options.engine.push(n),
    now: options.now ?? (() => new Date()),
    installationId: options.installationId,
    selfHosted: options.selfHosted,
    log,
  };
  const router = new Router({
    log,
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  addFolderRoutes(router, deps);
  addCipherRoutes(router, deps);
  addSendRoutes(router, deps);
  addAuthRequestRoutes(router, deps);
  addAccountRoutes(router, deps);
  addOrganizationRoutes(router, deps);
  addNotificationCenterRoutes(router, deps);
  return { fetch: (request, path) => router.handle(request, path) };
}
