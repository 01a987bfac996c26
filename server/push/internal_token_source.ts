/**
 * The `client_credentials` token the API uses for Notifications `/send`
 * (`client_id=internal.<name>`, `scope=internal`, research bitwarden-server.md §1.4), cached
 * and renewed before it expires.
 *
 * @module
 */

import { decodeJwt } from "jose";

/** Options of {@linkcode InternalTokenSource}. */
export interface InternalTokenSourceOptions {
  /** Identity base URL (`.../identity`); the token endpoint is `{identityUrl}/connect/token`. */
  readonly identityUrl: string;
  /** Client id, e.g. `internal.Api`. */
  readonly clientId: string;
  /** The installation's internal identity key. */
  readonly clientSecret: string;
  /** Renew this many seconds before `exp` (default 300, capped at half the lifetime). */
  readonly refreshMarginSeconds?: number;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

/** Why a token could not be obtained; `retryable` is false when Identity refused the client. */
export class TokenSourceError extends Error {
  /** Whether retrying later may help (network or 5xx) or not (400/401 from Identity). */
  readonly retryable: boolean;

  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param retryable Whether a retry may help.
   */
  constructor(message: string, retryable: boolean) {
    super(message);
    this.name = "TokenSourceError";
    this.retryable = retryable;
  }
}

/** Gets and caches an internal access token. */
export class InternalTokenSource {
  #options: InternalTokenSourceOptions;
  #token: string | undefined;
  #renewAt = 0;
  #pending: Promise<string> | undefined;

  /**
   * Creates the source.
   *
   * @param options Identity URL, client id and secret.
   */
  constructor(options: InternalTokenSourceOptions) {
    this.#options = options;
  }

  /**
   * Returns a valid token, fetching one when none is cached or the cached one is due.
   *
   * @returns The access token.
   * @throws {TokenSourceError} When Identity is unreachable or refuses.
   */
  get(): Promise<string> {
    const now = (this.#options.now ?? Date.now)();
    if (this.#token !== undefined && now < this.#renewAt) return Promise.resolve(this.#token);
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Drops the cached token (after a 401 from `/send`). */
  invalidate(): void {
    this.#token = undefined;
  }

  async #fetch(): Promise<string> {
    const url = `${this.#options.identityUrl.replace(/\/+$/, "")}/connect/token`;
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      scope: "internal",
      client_id: this.#options.clientId,
      client_secret: this.#options.clientSecret,
    });
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new TokenSourceError(`Identity unreachable: ${url}: ${(error as Error).message}`, true);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new TokenSourceError(
        `Identity refused the internal client: HTTP ${response.status}: ${text.slice(0, 200)}`,
        response.status >= 500,
      );
    }
    let token: unknown;
    try {
      token = (JSON.parse(text) as { access_token?: unknown }).access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== "string") {
      throw new TokenSourceError(`Identity answered without access_token: ${url}`, true);
    }
    const now = (this.#options.now ?? Date.now)();
    let exp: number | undefined;
    let iat: number | undefined;
    try {
      const claims = decodeJwt(token);
      exp = claims.exp;
      iat = claims.iat;
    } catch {
      exp = undefined;
    }
    const expMs = (exp ?? Math.floor(now / 1000) + 3600) * 1000;
    const lifetime = expMs - (iat !== undefined ? iat * 1000 : now);
    const margin = Math.min((this.#options.refreshMarginSeconds ?? 300) * 1000, lifetime / 2);
    this.#token = token;
    this.#renewAt = expMs - margin;
    return token;
  }
}
