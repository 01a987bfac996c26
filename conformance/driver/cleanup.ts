/**
 * Removes what a run created on the target, through the target's own API, once the cases are
 * graded (also after Ctrl-C): first the organizations it created (their collections, members
 * and ciphers go with them), then it denies the login-with-device requests no device answered,
 * then the accounts it registered (their ciphers, folders, Sends and
 * devices go with them), then what it created inside accounts given with `--accounts`, which
 * are never deleted themselves.
 *
 * The routes are Bitwarden's, and Vaultwarden serves the same: `DELETE /api/organizations/{id}`
 * and `DELETE /api/accounts` with the master password hash again (bitwarden/server
 * src/Api/AdminConsole/Controllers/OrganizationsController.cs and
 * src/Api/Auth/Controllers/AccountsController.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd;
 * dani-garcia/vaultwarden src/api/core/organizations.rs `delete_organization` and
 * src/api/core/accounts.rs `delete_account` @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a)),
 * and `DELETE /api/ciphers/{id}`, `/api/folders/{id}`, `/api/sends/{id}` for single objects.
 *
 * Logins are rate-limited on real targets, so the cleanup reuses the run's logged-in devices
 * and logs in only an account it has none of; once a login is refused for the limit, the
 * accounts still needing one are reported as failures with that reason instead of asked again.
 * A removal failure never changes a verdict and never throws: it is counted with its reason.
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { RecordingTrace } from "../trace.ts";
import { type CaseContext, type ResolvedTarget, TargetLimitReached } from "../types.ts";
import { ApiError, ApiSession, ENC_STRING } from "./api_client.ts";
import {
  type CreatedAccount,
  createdData,
  type CreatedKind,
  type CreatedObject,
} from "./created_data.ts";
import {
  type CleanupSummary,
  describeCounts,
  KIND_ORDER,
  type RemovedKind,
} from "./cleanup_summary.ts";
import { sessionCache } from "./session_cache.ts";

/** Options of {@linkcode removeCreatedData}. */
export interface CleanupOptions {
  /** Keep everything (`--keep-data`): only report what the run created. */
  readonly keep?: boolean;
  /** Stops the cleanup (a second Ctrl-C); what is not removed yet is reported as failures. */
  readonly signal?: AbortSignal;
  /** Budget of one removal call, in milliseconds (default 30000). */
  readonly timeoutMs?: number;
}

const PLURAL: Readonly<Record<CreatedKind, RemovedKind>> = {
  organization: "organizations",
  cipher: "ciphers",
  folder: "folders",
  send: "sends",
};
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** What always stays: the targets keep these and offer no API to remove them. */
const ALWAYS_STAYS = ["event logs"] as const;
const GIVEN_STAYS = [
  "device records and approved auth requests of the accounts given with --accounts (no route deletes them; Vaultwarden purges auth requests after 15 min)",
] as const;

/**
 * Removes what the run created on a target (or, with `keep`, only counts it).
 *
 * @param target The run's resolved target (keys the run's record and logged-in devices).
 * @param options `keep`, a stop signal and the per-call budget.
 * @returns What was removed, what failed and why, and what stays.
 */
export async function removeCreatedData(
  target: ResolvedTarget,
  options: CleanupOptions = {},
): Promise<CleanupSummary> {
  const started = performance.now();
  const record = createdData(target);
  const removed = Object.fromEntries(KIND_ORDER.map((k) => [k, 0])) as Record<RemovedKind, number>;
  const failures = new Map<string, number>();
  const fail = (reason: string) => failures.set(reason, (failures.get(reason) ?? 0) + 1);
  const accounts = record.registeredAccounts();
  const objects = record.objects();
  const stays: string[] = [...(target.accounts !== undefined ? GIVEN_STAYS : []), ...ALWAYS_STAYS];
  if (options.keep) {
    const counts = countObjects(objects);
    counts.accounts = accounts.length;
    return {
      kept: true,
      removed,
      failed: 0,
      failures: [],
      stays: [`everything the run created (--keep-data): ${describeCounts(counts)}`, ...stays],
      durationMs: Math.round(performance.now() - started),
    };
  }
  const sessions = new Sessions(target, options);
  const gone = new Set<string>();
  const remove = async (
    owner: CreatedAccount,
    what: string,
    request: RemovalRequest,
  ): Promise<boolean> => {
    try {
      await sessions.call(owner, request);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return false;
      fail(`${what}: ${reasonOf(error)}`);
      return false;
    }
  };

  for (const org of objects.filter((o) => o.kind === "organization")) {
    const deleted = await remove(org.owner, "organization", {
      method: "DELETE",
      path: `/organizations/${org.id}`,
      body: { masterPasswordHash: org.owner.passwordHash },
    });
    gone.add(org.id);
    if (!deleted) continue;
    removed.organizations++;
    for (const inside of objects.filter((o) => o.organizationId === org.id && !gone.has(o.id))) {
      gone.add(inside.id);
      removed[PLURAL[inside.kind]]++;
    }
  }
  // Denied first: Vaultwarden cannot delete a user a pending auth request names.
  for (const request of record.pendingAuthRequests()) {
    await remove(request.owner, "auth request", {
      method: "PUT",
      path: `/auth-requests/${request.id}`,
      body: (session) => ({
        key: ENC_STRING,
        masterPasswordHash: null,
        deviceIdentifier: session.deviceId,
        requestApproved: false,
      }),
    });
  }
  for (const account of accounts) {
    const deleted = await remove(account, "account", {
      method: "DELETE",
      path: "/accounts",
      body: { masterPasswordHash: account.passwordHash },
    });
    const owned = objects.filter((o) => o.owner === account && !gone.has(o.id));
    for (const object of owned) gone.add(object.id);
    if (!deleted) continue;
    removed.accounts++;
    for (const object of owned) removed[PLURAL[object.kind]]++;
  }
  for (const object of objects.filter((o) => !gone.has(o.id))) {
    const deleted = await remove(object.owner, object.kind, {
      method: "DELETE",
      path: `/${object.kind}s/${object.id}`,
    });
    if (deleted) removed[PLURAL[object.kind]]++;
  }

  const failureList = [...failures].map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  const failed = failureList.reduce((n, f) => n + f.count, 0);
  return {
    kept: false,
    removed,
    failed,
    failures: failureList,
    stays: failed > 0 ? [`what the ${failed} failed removals named`, ...stays] : stays,
    durationMs: Math.round(performance.now() - started),
  };
}

function countObjects(objects: readonly CreatedObject[]): Record<RemovedKind, number> {
  const counts = Object.fromEntries(KIND_ORDER.map((k) => [k, 0])) as Record<RemovedKind, number>;
  for (const object of objects) counts[PLURAL[object.kind]]++;
  return counts;
}

/** A failure's reason, shared by every object it hit (ids replaced, first line only). */
function reasonOf(error: unknown): string {
  if (error instanceof TargetLimitReached) {
    return "could not log in: the target's login rate limit is spent (Vaultwarden LOGIN_RATELIMIT_MAX_BURST, LOGIN_RATELIMIT_SECONDS)";
  }
  if (error instanceof ApiError) {
    const said = answerMessage(error.body);
    const request = error.message.split(" answered ")[0]!;
    if (said !== undefined) {
      return `${request} answered HTTP ${error.status}: ${said}`.replace(GUID, "{id}").slice(
        0,
        240,
      );
    }
  }
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.replace(GUID, "{id}").slice(0, 240);
}

/** The `message` of a Bitwarden or Vaultwarden error body, if it has one. */
function answerMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === "string" ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}

/** One removal call; the body may depend on the session that sends it (its device id). */
interface RemovalRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: Record<string, unknown> | ((session: ApiSession) => Record<string, unknown>);
}

/**
 * The sessions of the cleanup: a device the run already logged in when there is one (its token
 * refreshed if stale), else one login; a refused token logs in once more.
 */
class Sessions {
  #target: ResolvedTarget;
  #ctx: CaseContext;
  #limit: TargetLimitReached | undefined;

  constructor(target: ResolvedTarget, options: CleanupOptions) {
    this.#target = target;
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.#ctx = {
      target,
      trace: new RecordingTrace(),
      signal: options.signal ?? new AbortController().signal,
      timeoutMs,
      graceMs: 0,
      seed: 0,
      runs: 1,
      log: () => {},
    };
  }

  async call(account: CreatedAccount, request: RemovalRequest): Promise<unknown> {
    this.#ctx.signal.throwIfAborted();
    const send = (session: ApiSession) =>
      session.api(
        request.method,
        request.path,
        typeof request.body === "function" ? request.body(session) : request.body,
      );
    try {
      return await send(await this.#session(account));
    } catch (error) {
      // A token the target refuses now (its security stamp changed) was forgotten by `api`.
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      return await send(await this.#session(account));
    }
  }

  async #session(account: CreatedAccount): Promise<ApiSession> {
    const known = sessionCache(this.#target).deviceTypesOf(account.email);
    if (known.length === 0 && this.#limit) throw this.#limit;
    try {
      return await ApiSession.login(this.#ctx, account, {
        deviceType: known[0] ?? DeviceType.ChromeBrowser,
        name: "cleanup",
        shared: true,
      });
    } catch (error) {
      if (error instanceof TargetLimitReached) this.#limit = error;
      throw error;
    }
  }
}
