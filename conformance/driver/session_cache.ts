/**
 * The logged-in devices of a run, kept so a password-grant login happens once per (account,
 * device type) for the whole run instead of once per connection per case: real targets limit
 * logins (Vaultwarden: a burst of 10, then one a minute per IP).
 *
 * Reusing a device's token for a later case's connection is what a client does across
 * reconnects, and it routes the same: Bitwarden's hub groups a connection by the token's user
 * and client type, never by its device (bitwarden/server test/Notifications.Test/HubHelpersTest.cs
 * asserts `Clients.User(sub)` and `UserClientType_{userId}_{clientType}` groups), and
 * Vaultwarden's keeps connections per user only (dani-garcia/vaultwarden
 * src/api/notifications.rs `send_update` @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a)).
 * Within one case two connections of one user and device type still get two devices, so the
 * acting device differs from the ones that receive.
 *
 * A reused token is refreshed (refresh-token grant, which Vaultwarden does not rate-limit) when
 * it is close to expiry or when the account's organization memberships changed since it was
 * issued, so its organization claims are current (Bitwarden writes them at issue time).
 *
 * @module
 */

import type { DeviceType } from "../../protocol/bitwarden/mod.ts";
import type { ResolvedTarget, TargetLimitReached, Trace } from "../types.ts";

/** What a password or refresh grant gave for one device. */
export interface Credential {
  /** The account's e-mail. */
  readonly email: string;
  /** User id (`sub`). */
  readonly userId: string;
  /** The device identifier sent on login. */
  readonly deviceId: string;
  /** The device type sent on login. */
  readonly deviceType: DeviceType;
  /** Access token. */
  readonly accessToken: string;
  /** Refresh token, when the target issued one. */
  readonly refreshToken?: string;
  /** When the access token expires (epoch milliseconds). */
  readonly expiresAtMs: number;
  /** The membership epoch at issue (see {@linkcode SessionCache.membershipChanged}). */
  readonly epoch: number;
}

/** How a login asks for a device. */
export interface DeviceRequest {
  /** The account's e-mail. */
  readonly email: string;
  /** The device type. */
  readonly deviceType: DeviceType;
  /** The connection name in the case (devices of one case with distinct names are distinct). */
  readonly name: string;
  /** The case's trace (identifies the case). */
  readonly trace: Trace;
  /**
   * Any device of the account with this type will do, shared with whichever connection of the
   * case claims it (setup calls such as creating an organization).
   */
  readonly shared?: boolean;
}

/**
 * How long a spent login budget is taken to stay spent when the 429 names no `Retry-After`:
 * Vaultwarden's default `LOGIN_RATELIMIT_SECONDS` (dani-garcia/vaultwarden src/config.rs @
 * 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a)), which refills one login per period.
 */
export const LOGIN_LIMIT_PERIOD_MS = 60_000;

/** Tokens this close to expiry are refreshed before reuse. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * One run's devices by (account, device type, slot).
 *
 * @example
 * ```ts
 * import { SessionCache } from "./session_cache.ts";
 * const cache = new SessionCache();
 * const trace = { record() {}, events: [] };
 * const a = cache.slotFor({ email: "a@x", deviceType: 9, name: "web", trace });
 * const b = cache.slotFor({ email: "a@x", deviceType: 9, name: "web-2", trace });
 * console.assert(a !== b);
 * ```
 */
export class SessionCache {
  #devices = new Map<string, Promise<Credential>>();
  #claims = new WeakMap<Trace, Map<string, string>>();
  #epoch = 0;
  #changed = new Map<string, number>();
  #logins = 0;
  #reuses = 0;

  #loginLimit: { readonly error: TargetLimitReached; readonly untilMs: number } | undefined;

  /**
   * Records that a password-grant login was refused for the target's rate limit and not
   * waited out. Until the limit may have let one more login through (`Retry-After`, else
   * Vaultwarden's default period of {@linkcode LOGIN_LIMIT_PERIOD_MS}), the run registers no
   * account: one it cannot log in to can be neither used by a case nor deleted afterwards.
   *
   * @param error The case's stop signal.
   * @param retryAfterMs The 429's `Retry-After`, if it had one.
   * @param now The clock (default `Date.now`).
   */
  loginLimitReached(
    error: TargetLimitReached,
    retryAfterMs: number | undefined,
    now: () => number = Date.now,
  ): void {
    this.#loginLimit = { error, untilMs: now() + (retryAfterMs ?? LOGIN_LIMIT_PERIOD_MS) };
  }

  /**
   * The stop signal of a spent login budget, while it is likely still spent.
   *
   * @param now The clock (default `Date.now`).
   * @returns The error to throw, or undefined.
   */
  loginLimit(now: () => number = Date.now): TargetLimitReached | undefined {
    const limit = this.#loginLimit;
    return limit !== undefined && now() < limit.untilMs ? limit.error : undefined;
  }

  /** Password-grant logins the run made. */
  get logins(): number {
    return this.#logins;
  }

  /** Times a device was reused instead of logging in. */
  get reuses(): number {
    return this.#reuses;
  }

  /**
   * The cache key of a device request: the first slot of (account, type) not yet claimed by
   * another connection name of the same case. A shared request takes slot 0 without claiming.
   *
   * @param request The request.
   * @returns The key.
   */
  slotFor(request: DeviceRequest): string {
    const base = `${request.email.toLowerCase()}\n${request.deviceType}`;
    if (request.shared) return `${base}\n0`;
    let claims = this.#claims.get(request.trace);
    if (!claims) {
      claims = new Map();
      this.#claims.set(request.trace, claims);
    }
    for (let slot = 0;; slot++) {
      const key = `${base}\n${slot}`;
      const holder = claims.get(key);
      if (holder === undefined || holder === request.name) {
        claims.set(key, request.name);
        return key;
      }
    }
  }

  /**
   * Returns the device under `key`, logging it in (once, even for concurrent callers) when
   * absent, and refreshing it when stale.
   *
   * @param key From {@linkcode slotFor}.
   * @param steps How to log in and refresh.
   * @returns The credential and whether it was reused.
   */
  async device(
    key: string,
    steps: {
      readonly login: () => Promise<Credential>;
      readonly refresh: (old: Credential) => Promise<Credential | undefined>;
      readonly now?: () => number;
    },
  ): Promise<{ credential: Credential; reused: boolean }> {
    const known = this.#devices.get(key);
    if (known === undefined) {
      const pending = steps.login();
      this.#devices.set(key, pending);
      pending.catch(() => {
        if (this.#devices.get(key) === pending) this.#devices.delete(key);
      });
      const credential = await pending;
      this.#logins++;
      return { credential, reused: false };
    }
    const old = await known;
    const now = (steps.now ?? Date.now)();
    if (old.expiresAtMs - now > REFRESH_MARGIN_MS && !this.#stale(old)) {
      this.#reuses++;
      return { credential: old, reused: true };
    }
    const pending = steps.refresh(old).then((fresh) => fresh ?? steps.login());
    this.#devices.set(key, pending);
    pending.catch(() => {
      if (this.#devices.get(key) === pending) this.#devices.delete(key);
    });
    const credential = await pending;
    if (credential.deviceId === old.deviceId) this.#reuses++;
    else this.#logins++;
    return { credential, reused: credential.deviceId === old.deviceId };
  }

  /**
   * Forgets a device (its token was refused), so the next request logs in again.
   *
   * @param key The device's key.
   */
  forget(key: string): void {
    this.#devices.delete(key);
  }

  /**
   * Forgets every device of an account (its security stamp changed, so all its tokens and
   * refresh tokens are refused), so the next request for any of them logs in again.
   *
   * @param email The account's e-mail.
   */
  forgetAccount(email: string): void {
    const prefix = `${email.toLowerCase()}\n`;
    for (const key of [...this.#devices.keys()]) {
      if (key.startsWith(prefix)) this.#devices.delete(key);
    }
  }

  /**
   * The device types an account has a logged-in device of in its first slot, so a later caller
   * (the run's cleanup) can reuse one instead of spending a login.
   *
   * @param email The account's e-mail.
   * @returns The device types, in login order.
   */
  deviceTypesOf(email: string): DeviceType[] {
    const prefix = `${email.toLowerCase()}\n`;
    return [...this.#devices.keys()].filter((key) => key.startsWith(prefix) && key.endsWith("\n0"))
      .map((key) => Number(key.split("\n")[1]) as DeviceType);
  }

  /** The current membership epoch (stamp new credentials with it). */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Records that organization memberships changed, so tokens issued before carry stale claims.
   *
   * @param email The account whose memberships changed, or undefined when unknown (all).
   */
  membershipChanged(email?: string): void {
    this.#epoch++;
    this.#changed.set(email === undefined ? "*" : email.toLowerCase(), this.#epoch);
  }

  #stale(credential: Credential): boolean {
    const mine = this.#changed.get(credential.email.toLowerCase()) ?? 0;
    const anyone = this.#changed.get("*") ?? 0;
    return Math.max(mine, anyone) > credential.epoch;
  }
}

// One cache per resolved target object: the runner hands the same object to every case of a run.
const CACHES = new WeakMap<ResolvedTarget, SessionCache>();

/**
 * The session cache of a run.
 *
 * @param target The run's resolved target.
 * @returns Its cache.
 */
export function sessionCache(target: ResolvedTarget): SessionCache {
  let cache = CACHES.get(target);
  if (!cache) {
    cache = new SessionCache();
    CACHES.set(target, cache);
  }
  return cache;
}
