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
import type { CaseContext, Trace } from "../types.ts";
import { newGuid } from "./identity.ts";

/** A syntactically valid EncString (research §4). */
export const ENC_STRING = "2.AA==|AA==|AA==";

const CLIENT_VERSION = "2026.8.0";

/** An API error answer. */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: number;

  /**
   * Creates the error.
   *
   * @param status HTTP status.
   * @param message What failed.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
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
  const response = await fetch(url, {
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

/**
 * One logged-in device of a user.
 *
 * @example
 * ```ts ignore
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

  private constructor(ctx: CaseContext, fields: {
    account: Account;
    userId: string;
    deviceId: string;
    deviceType: DeviceType;
    accessToken: string;
    name: string;
  }) {
    this.#ctx = ctx;
    this.account = fields.account;
    this.userId = fields.userId;
    this.deviceId = fields.deviceId;
    this.deviceType = fields.deviceType;
    this.accessToken = fields.accessToken;
    this.name = fields.name;
  }

  /**
   * Registers a fresh account: `register/send-verification-email` + `register/finish`, falling
   * back to the legacy `accounts/register` when the current flow is absent.
   *
   * @param ctx The case context.
   * @param name Trace lifeline name.
   * @returns The account.
   */
  static async register(ctx: CaseContext, name: string): Promise<Account> {
    const identity = trimSlash(ctx.target.identityUrl);
    const email = `conformance-${newGuid()}@example.com`;
    const password = `Conformance-${newGuid()}`;
    const iterations = 600_000;
    const passwordHash = await masterPasswordHash(password, email, iterations);
    const keys = {
      publicKey: Buffer.from(newGuid()).toString("base64"),
      encryptedPrivateKey: ENC_STRING,
    };
    const common = { lifeline: "identity" as const, kind: "register" as const };
    let token: unknown;
    try {
      token = await call(`${identity}/accounts/register/send-verification-email`, ctx.trace, name, {
        ...common,
        method: "POST",
        body: { email, name: "Conformance", receiveMarketingEmails: false },
      });
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 405)) {
        throw error;
      }
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
    return { email, passwordHash };
  }

  /**
   * Logs a new device of an account in with the password grant.
   *
   * @param ctx The case context.
   * @param account The account.
   * @param options Device type and trace name.
   * @returns The session.
   */
  static async login(
    ctx: CaseContext,
    account: Account,
    options: SessionOptions = {},
  ): Promise<ApiSession> {
    const deviceType = options.deviceType ?? DeviceType.ChromeBrowser;
    const deviceId = newGuid();
    const name = options.name ?? `user-${deviceId.slice(0, 6)}`;
    const answer = await call(
      `${trimSlash(ctx.target.identityUrl)}/connect/token`,
      ctx.trace,
      name,
      {
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
      },
    ) as { access_token?: unknown };
    if (typeof answer?.access_token !== "string") {
      throw new Error("Token answer has no access_token");
    }
    const claims = decodeClaims(answer.access_token);
    if (typeof claims.sub !== "string") throw new Error("Access token has no sub claim");
    return new ApiSession(ctx, {
      account,
      userId: claims.sub,
      deviceId,
      deviceType,
      accessToken: answer.access_token,
      name,
    });
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
    return await call(`${trimSlash(this.#ctx.target.apiUrl)}${path}`, this.#ctx.trace, this.name, {
      lifeline: "api",
      kind: "update",
      method,
      token: this.accessToken,
      headers: { "device-type": String(this.deviceType) },
      ...(body !== undefined ? { body } : {}),
    });
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
    return { id: answer.id, accessCode };
  }
}
