/**
 * A Bitwarden client session against the target's identity and API (research bitwarden-api.md
 * §0-§4, §6): register (two-step flow, legacy fallback), prelogin, password-grant login with
 * device fields and client headers, then the data changes that push.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { masterPasswordHash } from "../../protocol/bitwarden/mod.ts";
import {
  type CaseContext,
  CaseUnsupported,
  type TargetLimitReached,
  type Trace,
} from "../types.ts";
import { newGuid } from "./identity.ts";
import { limitDecision, type LimitedCall, parseRetryAfter, waitRetryAfter } from "./rate_limit.ts";
import { type Credential, sessionCache } from "./session_cache.ts";
import { createdData } from "./created_data.ts";
import { reachFetch } from "./reach.ts";
import {
  isMissingRoute,
  knownMissingRoute,
  recordMissingRoute,
  routeTemplate,
} from "./missing_route.ts";

/** A syntactically valid EncString (research §4). */
export const ENC_STRING = "2.AA==|AA==|AA==";

const CLIENT_VERSION = "2026.8.0";

/** An API error answer. */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The wait a 429 or 503 named in `Retry-After`, in milliseconds. */
  readonly retryAfterMs?: number;
  /** The answer's body (first 2000 characters). */
  readonly body: string;

  /**
   * Creates the error.
   *
   * @param status HTTP status.
   * @param message What failed.
   * @param retryAfterMs The parsed `Retry-After`, if the answer had one.
   * @param body The answer's body.
   */
  constructor(status: number, message: string, retryAfterMs?: number, body = "") {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body.slice(0, 2000);
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

function decodeClaims(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

interface RequestOptions {
  readonly method: string;
  readonly body?: unknown;
  readonly form?: URLSearchParams;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  readonly lifeline: "api" | "identity";
  readonly kind: "register" | "login" | "update" | "note";
}

async function call(
  url: string,
  trace: Trace,
  name: string,
  options: RequestOptions,
): Promise<unknown> {
  const headers: Record<string, string> = {
    accept: "application/json",
    "bitwarden-client-name": "web",
    "bitwarden-client-version": CLIENT_VERSION,
    ...options.headers,
  };
  let body: string | undefined;
  if (options.form) {
    headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8";
    body = options.form.toString();
  } else if (options.body !== undefined) {
    headers["content-type"] = "application/json; charset=utf-8";
    body = JSON.stringify(options.body);
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const path = new URL(url).pathname;
  trace.record({
    from: `client:${name}`,
    to: options.lifeline,
    kind: options.kind,
    summary: `${options.method} ${path}`,
    ...(options.body !== undefined ? { data: options.body } : {}),
  });
  const response = await reachFetch(url, {
    method: options.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  trace.record({
    from: options.lifeline,
    to: `client:${name}`,
    kind: "note",
    summary: `${response.status} ${options.method} ${path}`,
    ...(text ? { data: text.slice(0, 1500) } : {}),
  });
  if (response.status < 200 || response.status > 299) {
    throw new ApiError(
      response.status,
      `${options.method} ${path} answered HTTP ${response.status}: ${text.slice(0, 300)}`,
      parseRetryAfter(response.headers.get("retry-after"), Date.now()),
      text,
    );
  }
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Calls the target's API with an internal token (scope `internal`), as the real server's own
 * services do; hubproof exposes what Billing and Admin do this way (`/api/hubproof/*`).
 *
 * @param ctx The case context.
 * @param token The internal access token.
 * @param request Method, path under the API base, and JSON body.
 * @returns The parsed answer.
 * @throws {ApiError} For an answer outside 2xx.
 */
export async function callInternalApi(
  ctx: CaseContext,
  token: string,
  request: { readonly method: string; readonly path: string; readonly body?: unknown },
): Promise<unknown> {
  return await call(`${trimSlash(ctx.target.apiUrl)}${request.path}`, ctx.trace, "harness", {
    lifeline: "api",
    kind: "update",
    method: request.method,
    token,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
}

/**
 * Runs an identity call, honouring a 429: one wait for `Retry-After` when it fits the case's
 * budget, else the run-wide limit reason.
 */
async function limited<T>(ctx: CaseContext, kind: LimitedCall, run: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 429) throw error;
      const decision = attempt === 0 ? limitDecision(ctx, kind, error.retryAfterMs) : undefined;
      if (typeof decision !== "number") {
        const spent = decision ?? limitDecision(ctx, kind, undefined) as TargetLimitReached;
        if (kind === "login") sessionCache(ctx.target).loginLimitReached(spent, error.retryAfterMs);
        throw spent;
      }
      ctx.log(`${kind} rate-limited: waiting ${decision} ms (Retry-After)`);
      await waitRetryAfter(decision, ctx.signal);
    }
  }
}

interface TokenAnswer {
  readonly access_token?: unknown;
  readonly refresh_token?: unknown;
  readonly expires_in?: unknown;
}

function credentialOf(
  answer: TokenAnswer | undefined,
  device: { email: string; deviceId: string; deviceType: DeviceType; epoch: number },
): Credential {
  if (typeof answer?.access_token !== "string") {
    throw new Error("Token answer has no access_token");
  }
  const claims = decodeClaims(answer.access_token);
  if (typeof claims.sub !== "string") throw new Error("Access token has no sub claim");
  const expiresAtMs = typeof answer.expires_in === "number"
    ? Date.now() + answer.expires_in * 1000
    : typeof claims.exp === "number"
    ? claims.exp * 1000
    : Date.now() + 3_600_000;
  return {
    ...device,
    userId: claims.sub,
    accessToken: answer.access_token,
    ...(typeof answer.refresh_token === "string" ? { refreshToken: answer.refresh_token } : {}),
    expiresAtMs,
  };
}

async function passwordGrant(
  ctx: CaseContext,
  account: Account,
  deviceType: DeviceType,
  name: string,
  epoch: number,
): Promise<Credential> {
  const deviceId = newGuid();
  const answer = await limited(
    ctx,
    "login",
    () =>
      call(`${trimSlash(ctx.target.identityUrl)}/connect/token`, ctx.trace, name, {
        lifeline: "identity",
        kind: "login",
        method: "POST",
        headers: { "device-type": String(deviceType) },
        form: new URLSearchParams({
          grant_type: "password",
          username: account.email,
          password: account.passwordHash,
          scope: "api offline_access",
          client_id: "web",
          deviceType: String(deviceType),
          deviceIdentifier: deviceId,
          deviceName: "conformance",
        }),
      }),
  ) as TokenAnswer | undefined;
  return credentialOf(answer, { email: account.email, deviceId, deviceType, epoch });
}

/** The refresh-token grant for a known device; undefined when the target refuses it (4xx). */
async function refreshGrant(
  ctx: CaseContext,
  old: Credential,
  name: string,
  epoch: number,
): Promise<Credential | undefined> {
  if (old.refreshToken === undefined) return undefined;
  try {
    const answer = await call(
      `${trimSlash(ctx.target.identityUrl)}/connect/token`,
      ctx.trace,
      name,
      {
        lifeline: "identity",
        kind: "login",
        method: "POST",
        headers: { "device-type": String(old.deviceType) },
        form: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: old.refreshToken,
          client_id: "web",
        }),
      },
    ) as TokenAnswer | undefined;
    const fresh = credentialOf(answer, { ...old, epoch });
    // A target may rotate the refresh token or keep the old one.
    return fresh.refreshToken === undefined ? { ...fresh, refreshToken: old.refreshToken } : fresh;
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) return undefined;
    throw error;
  }
}

/** Options of {@linkcode ApiSession.registerAndLogin}. */
export interface SessionOptions {
  /** Device type of the first device (default ChromeBrowser). */
  readonly deviceType?: DeviceType;
  /** Trace lifeline name (default `user-<random>`). */
  readonly name?: string;
}

/** An account registered on the target (e-mail and password hash), able to log in devices. */
export interface Account {
  /** E-mail. */
  readonly email: string;
  /** Master password hash sent as `password`. */
  readonly passwordHash: string;
}

/** API routes (POST, under the API base) after which every session of the account is refused. */
const SESSION_ENDING_PATHS: ReadonlySet<string> = new Set([
  "/accounts/security-stamp",
  "/accounts/password",
  "/accounts/kdf",
  "/accounts/key",
  "/accounts/key-management/rotate-user-account-keys",
]);

/**
 * One logged-in device of a user.
 *
 * @example
 * ```ts ignore
 * // Not run by `deno test --doc`: `ctx` is the CaseContext the runner builds against a deployment.
 * const alice = await ApiSession.registerAndLogin(ctx);
 * const folderId = await alice.createFolder();
 * ```
 */
export class ApiSession {
  /** The account. */
  readonly account: Account;
  /** User id (`sub`). */
  readonly userId: string;
  /** This device's identifier (sent as ContextId by the server). */
  readonly deviceId: string;
  /** Device type. */
  readonly deviceType: DeviceType;
  /** Access token. */
  readonly accessToken: string;
  /** Trace lifeline name. */
  readonly name: string;
  #ctx: CaseContext;
  #key: string | undefined;

  /** The target this session belongs to (keys the run's shared state). */
  get target(): CaseContext["target"] {
    return this.#ctx.target;
  }

  private constructor(
    ctx: CaseContext,
    account: Account,
    credential: Credential,
    fields: { name: string; key?: string },
  ) {
    this.#ctx = ctx;
    this.#key = fields.key;
    this.account = account;
    this.userId = credential.userId;
    this.deviceId = credential.deviceId;
    this.deviceType = credential.deviceType;
    this.accessToken = credential.accessToken;
    this.name = fields.name;
  }

  /**
   * Registers a fresh account: `register/send-verification-email` + `register/finish`, falling
   * back to the legacy `accounts/register` when the current flow is absent. The e-mail is at
   * `--email-domain` (default example.com) and the KDF has `--kdf-iterations` (default 600000).
   *
   * @param ctx The case context.
   * @param name Trace lifeline name.
   * @returns The account.
   * @throws {CaseUnsupported} When the run was given `--accounts` (it registers none then).
   * @throws {TargetLimitReached} When the run's login budget was found spent less than a
   * refill period ago (the account could not log in).
   */
  static async register(ctx: CaseContext, name: string): Promise<Account> {
    if (ctx.target.accounts !== undefined) {
      throw new CaseUnsupported(
        `Needs an account of its own to register, but the run was given accounts made beforehand (--accounts), so it registers none`,
      );
    }
    // Past the login budget a new account could not log in, so it would only stay behind.
    const spent = sessionCache(ctx.target).loginLimit();
    if (spent) throw spent;
    const identity = trimSlash(ctx.target.identityUrl);
    const email = `conformance-${newGuid()}@${ctx.target.emailDomain ?? "example.com"}`;
    const password = `Conformance-${newGuid()}`;
    const iterations = ctx.target.kdfIterations ?? 600_000;
    const passwordHash = await masterPasswordHash(password, email, iterations);
    const keys = {
      publicKey: Buffer.from(newGuid()).toString("base64"),
      encryptedPrivateKey: ENC_STRING,
    };
    const common = { lifeline: "identity" as const, kind: "register" as const };
    let token: unknown;
    let currentFlow = true;
    try {
      token = await limited(
        ctx,
        "register",
        () =>
          call(`${identity}/accounts/register/send-verification-email`, ctx.trace, name, {
            ...common,
            method: "POST",
            body: { email, name: "Conformance", receiveMarketingEmails: false },
          }),
      );
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 405)) {
        throw error;
      }
      currentFlow = false;
    }
    if (currentFlow && (typeof token !== "string" || token.length === 0)) {
      // 204 without a token: the target e-mails it (Vaultwarden with SIGNUPS_VERIFY and mail on,
      // Bitwarden with e-mail verification), and the suite cannot read that mail.
      throw new CaseUnsupported(
        `Needs users registered through the target, but ${identity}/accounts/register/send-verification-email answered without a token: the target e-mails it for verification (turn e-mail verification off, e.g. Vaultwarden SIGNUPS_VERIFY=false, or give accounts made beforehand with --accounts FILE)`,
      );
    }
    if (typeof token === "string" && token.length > 0) {
      await call(`${identity}/accounts/register/finish`, ctx.trace, name, {
        ...common,
        method: "POST",
        body: {
          email,
          emailVerificationToken: token,
          masterPasswordHash: passwordHash,
          masterPasswordHint: null,
          userSymmetricKey: ENC_STRING,
          userAsymmetricKeys: keys,
          kdf: 0,
          kdfIterations: iterations,
          kdfMemory: null,
          kdfParallelism: null,
        },
      });
    } else {
      await call(`${identity}/accounts/register`, ctx.trace, name, {
        ...common,
        method: "POST",
        body: {
          email,
          name: "Conformance",
          masterPasswordHash: passwordHash,
          masterPasswordHint: null,
          key: ENC_STRING,
          keys,
          kdf: 0,
          kdfIterations: iterations,
        },
      });
    }
    const prelogin = await call(`${identity}/accounts/prelogin`, ctx.trace, name, {
      ...common,
      kind: "login",
      method: "POST",
      body: { email },
    }) as { kdfIterations?: number; kdf?: number } | undefined;
    if (prelogin?.kdfIterations !== undefined && prelogin.kdfIterations !== iterations) {
      throw new Error(
        `Prelogin answered kdfIterations ${prelogin.kdfIterations}, registered with ${iterations}`,
      );
    }
    // Recorded once it can log in, so the run can delete it at the end (see cleanup.ts).
    createdData(ctx.target).registered({ email, passwordHash });
    return { email, passwordHash };
  }

  /**
   * Makes the account of an e-mail and master password made beforehand (`--accounts`): its KDF
   * settings come from prelogin, as clients do before they log in.
   *
   * @param ctx The case context.
   * @param given E-mail and master password.
   * @returns The account.
   * @throws {CaseUnsupported} When the account's KDF is not PBKDF2.
   */
  static async prelogin(
    ctx: CaseContext,
    given: { readonly email: string; readonly password: string },
  ): Promise<Account> {
    const answer = await call(
      `${trimSlash(ctx.target.identityUrl)}/accounts/prelogin`,
      ctx.trace,
      given.email,
      { lifeline: "identity", kind: "login", method: "POST", body: { email: given.email } },
    ) as { kdf?: number; kdfIterations?: number } | undefined;
    const kdf = answer?.kdf ?? 0;
    const iterations = answer?.kdfIterations;
    if (kdf !== 0 || typeof iterations !== "number") {
      throw new CaseUnsupported(
        `Needs PBKDF2 accounts, but prelogin of ${given.email} answered ${
          JSON.stringify(answer)
        } (the suite hashes master passwords with PBKDF2-SHA256 only; change the account's KDF)`,
      );
    }
    return {
      email: given.email,
      passwordHash: await masterPasswordHash(given.password, given.email, iterations),
    };
  }

  /**
   * Logs a device of an account in with the password grant, once per run: a later case asking
   * for the same account and device type gets the same device and token back (refreshed when
   * close to expiry or when the account's memberships changed). Two connection names of one
   * case get two devices. A 429 waits for `Retry-After` when that fits the case's budget;
   * otherwise the case stops with {@linkcode TargetLimitReached} (graded UNSUPPORTED).
   *
   * @param ctx The case context.
   * @param account The account.
   * @param options Device type, trace name, and `shared` for setup calls that may use any
   * device of the type.
   * @returns The session.
   */
  static async login(
    ctx: CaseContext,
    account: Account,
    options: SessionOptions & { readonly shared?: boolean } = {},
  ): Promise<ApiSession> {
    const deviceType = options.deviceType ?? DeviceType.ChromeBrowser;
    const name = options.name ?? `user-${newGuid().slice(0, 6)}`;
    const cache = sessionCache(ctx.target);
    const key = cache.slotFor({
      email: account.email,
      deviceType,
      name,
      trace: ctx.trace,
      ...(options.shared ? { shared: true } : {}),
    });
    const { credential, reused } = await cache.device(key, {
      login: () => passwordGrant(ctx, account, deviceType, name, cache.epoch),
      refresh: (old) => refreshGrant(ctx, old, name, cache.epoch),
    });
    if (reused) {
      ctx.trace.record({
        from: `client:${name}`,
        to: "identity",
        kind: "note",
        summary: `reuses device ${credential.deviceId.slice(0, 8)} (${
          DeviceType[deviceType]
        }) logged in earlier in the run`,
      });
    }
    return new ApiSession(ctx, account, credential, { name, key });
  }

  /**
   * Registers an account and logs its first device in.
   *
   * @param ctx The case context.
   * @param options Device type and trace name.
   * @returns The session.
   */
  static async registerAndLogin(
    ctx: CaseContext,
    options: SessionOptions = {},
  ): Promise<ApiSession> {
    const name = options.name ?? `user-${newGuid().slice(0, 6)}`;
    const account = await ApiSession.register(ctx, name);
    return await ApiSession.login(ctx, account, { ...options, name });
  }

  /**
   * Calls the API as this device.
   *
   * @param method HTTP method.
   * @param path Path under the API base (`/folders`).
   * @param body JSON body.
   * @returns The parsed answer.
   */
  async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const route = routeTemplate(method, `${new URL(this.#ctx.target.apiUrl).pathname}${path}`);
    const missing = knownMissingRoute(this.#ctx.target, route);
    if (missing) throw missing;
    try {
      const answer = await call(
        `${trimSlash(this.#ctx.target.apiUrl)}${path}`,
        this.#ctx.trace,
        this.name,
        {
          lifeline: "api",
          kind: "update",
          method,
          token: this.accessToken,
          headers: { "device-type": String(this.deviceType) },
          ...(body !== undefined ? { body } : {}),
        },
      );
      // These end every session of the account (Bitwarden and Vaultwarden rotate the security
      // stamp): no cached device of it may be handed to a later case.
      if (method === "POST" && SESSION_ENDING_PATHS.has(path)) {
        sessionCache(this.#ctx.target).forgetAccount(this.account.email);
      }
      createdData(this.#ctx.target).answered(this.account, { method, path, body }, answer);
      return answer;
    } catch (error) {
      // A refused token (security stamp rotated, device removed) must not be handed to later cases.
      if (error instanceof ApiError && error.status === 401 && this.#key !== undefined) {
        sessionCache(this.#ctx.target).forget(this.#key);
      }
      if (error instanceof ApiError && isMissingRoute(error.status, error.body)) {
        throw recordMissingRoute(this.#ctx.target, route, error.status);
      }
      throw error;
    }
  }

  /**
   * Creates a folder.
   *
   * @returns Its id.
   */
  async createFolder(): Promise<string> {
    const folder = await this.api("POST", "/folders", { name: ENC_STRING }) as { id?: string };
    if (!folder?.id) throw new Error("Folder answer has no id");
    return folder.id;
  }

  /**
   * Creates a personal secure-note cipher.
   *
   * @returns Its id.
   */
  async createCipher(): Promise<string> {
    const cipher = await this.api("POST", "/ciphers", {
      type: 2,
      name: ENC_STRING,
      secureNote: { type: 0 },
    }) as {
      id?: string;
    };
    if (!cipher?.id) throw new Error("Cipher answer has no id");
    return cipher.id;
  }

  /**
   * The body of a text send deleted in a day.
   *
   * @returns The body.
   */
  sendBody(): Record<string, unknown> {
    return {
      type: 0,
      key: ENC_STRING,
      name: ENC_STRING,
      notes: null,
      text: { text: ENC_STRING, hidden: false },
      file: null,
      maxAccessCount: null,
      expirationDate: null,
      deletionDate: new Date(Date.now() + 86_400_000).toISOString(),
      disabled: false,
      password: null,
      hideEmail: false,
    };
  }

  /**
   * Creates a text send.
   *
   * @returns Its id.
   */
  async createSend(): Promise<string> {
    const send = await this.api("POST", "/sends", this.sendBody()) as { id?: string };
    if (!send?.id) throw new Error("Send answer has no id");
    return send.id;
  }

  /**
   * Creates a login-with-device request for this account, anonymously, from a device of the
   * account (`Device-Identifier` header = the requesting device).
   *
   * @param requester The requesting device (already known to the account).
   * @returns The auth request id and access code.
   */
  async createAuthRequest(requester: ApiSession): Promise<{ id: string; accessCode: string }> {
    const accessCode = newGuid().replaceAll("-", "").slice(0, 25);
    const answer = await call(
      `${trimSlash(this.#ctx.target.apiUrl)}/auth-requests`,
      this.#ctx.trace,
      requester.name,
      {
        lifeline: "api",
        kind: "update",
        method: "POST",
        headers: {
          "device-type": String(requester.deviceType),
          "device-identifier": requester.deviceId,
        },
        body: {
          email: this.account.email,
          publicKey: Buffer.from(newGuid()).toString("base64"),
          deviceIdentifier: requester.deviceId,
          accessCode,
          type: 0,
        },
      },
    ) as { id?: string };
    if (!answer?.id) throw new Error("Auth request answer has no id");
    createdData(this.#ctx.target).authRequested(this.account, answer.id);
    return { id: answer.id, accessCode };
  }
}
