/**
 * Identity-backed worlds: when the harness cannot mint tokens (`--act-as-authority`), the users,
 * devices and organizations of a case are created through the target itself, as Bitwarden
 * clients do (research bitwarden-api.md §1, §3.7): register (two-step flow, legacy fallback),
 * prelogin, one password-grant login per device with its real `deviceType`, organizations
 * created through the API with members invited and confirmed, then a fresh login so the
 * tokens carry the organization claims. The claims the hub routes by are read from the tokens
 * the target issued, never assumed.
 *
 * Registration is slow on real servers, so accounts are pooled per run and leased to one case
 * at a time: no two running cases share a user, and every pushed payload still gets fresh GUIDs.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import type { HubClaims } from "../../protocol/bitwarden/mod.ts";
import {
  type CaseContext,
  CaseUnsupported,
  type GivenAccount,
  type ResolvedTarget,
} from "../types.ts";
import { type Account, ApiError, ApiSession, ENC_STRING } from "./api_client.ts";
import { sessionCache } from "./session_cache.ts";

/** An account of the pool with its user id once known. */
export interface PooledAccount {
  /** E-mail and password hash. */
  readonly account: Account;
  /** Trace name of the account (`user-…`). */
  readonly label: string;
}

/** A logged-in device: the session and the claims of the token the target issued. */
export interface IdentityDevice {
  /** The API session of the device. */
  readonly session: ApiSession;
  /** The access token's claims (what the hub groups the connection by). */
  readonly claims: HubClaims;
}

/** Something leased from a pool; give it back with `release()` when the case is done. */
export interface Lease<T> {
  /** The leased value. */
  readonly value: T;
  /** Returns the value to the pool (idempotent). */
  release(): void;
}

interface RunState {
  readonly pools: Map<string, unknown[]>;
  /** Registered accounts no world holds (left over from a world that could not be built). */
  readonly spare: PooledAccount[];
  /** Accounts of `--accounts` not yet used (made into pooled accounts through prelogin on use). */
  readonly unmade: GivenAccount[];
  unavailable?: CaseUnsupported;
}

// One state per resolved target object: the runner hands the same object to every case of a run.
const RUNS = new WeakMap<ResolvedTarget, RunState>();

function runState(target: ResolvedTarget): RunState {
  let state = RUNS.get(target);
  if (!state) {
    state = { pools: new Map(), spare: [], unmade: [...(target.accounts ?? [])] };
    RUNS.set(target, state);
  }
  return state;
}

/**
 * Decodes the claims of a JWT without verifying it (the target issued it; the hub verifies).
 *
 * @param token A JWT.
 * @returns Its claims.
 *
 * @example
 * ```ts
 * import { tokenClaims } from "./identity_world.ts";
 * const body = btoa(JSON.stringify({ sub: "u" })).replace(/=+$/, "");
 * console.assert(tokenClaims(`e30.${body}.x`).sub === "u");
 * ```
 */
export function tokenClaims(token: string): HubClaims {
  const part = token.split(".")[1] ?? "";
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as HubClaims;
  } catch {
    throw new Error("Access token is not a JWT: its payload is not base64url JSON");
  }
}

/**
 * Organization ids named by a token's `org*` claims (string or array values).
 *
 * @param claims Token claims.
 * @returns Lowercase organization ids.
 */
export function organizationClaims(claims: HubClaims): string[] {
  const ids: string[] = [];
  for (const name of ["orgowner", "orgadmin", "orguser", "orgcustom"]) {
    const value = claims[name];
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === "string") ids.push(v.toLowerCase());
    }
  }
  return ids;
}

/** Why the target will not register users for the suite, or undefined when the error is not that. */
function registrationClosed(ctx: CaseContext, error: unknown): CaseUnsupported | undefined {
  if (error instanceof CaseUnsupported) return error;
  const first = error instanceof Error ? error.message.split("\n")[0] : String(error);
  const hint =
    "open registration (Vaultwarden SIGNUPS_ALLOWED=true, or SIGNUPS_DOMAINS_WHITELIST with --email-domain), give accounts made beforehand with --accounts FILE, or run with --act-as-authority";
  const refused = error instanceof ApiError && (error.status === 400 || error.status === 403) &&
    /not allowed|disabled|domain/i.test(error.message);
  const missing = error instanceof ApiError && (error.status === 404 || error.status === 405);
  if (!refused && !missing && !(error instanceof TypeError)) return undefined;
  return new CaseUnsupported(
    `Needs users registered through the target's identity (${ctx.target.identityUrl}), which ${
      refused ? "refuses to register them" : "cannot register them"
    }: ${first} (${hint})`,
  );
}

/**
 * Registers one fresh account through the target's identity. A target that will not register
 * users (unreachable, 404/405 on both flows, registration refused or restricted to other e-mail
 * domains, or e-mail verification on) makes every identity-backed case of the run UNSUPPORTED
 * with one reason, found once. A spent registration rate limit stops only the cases that meet it.
 *
 * @param ctx The case context.
 * @param label Trace name.
 * @returns The account.
 * @throws {CaseUnsupported} When users cannot be created through the target.
 * @throws {TargetLimitReached} When the registration rate limit is spent.
 */
export async function registerAccount(ctx: CaseContext, label: string): Promise<PooledAccount> {
  if (ctx.target.accounts !== undefined) return (await takeGivenAccounts(ctx, [label]))[0]!;
  const state = runState(ctx.target);
  const spare = state.spare.pop();
  if (spare) return spare;
  if (state.unavailable) throw state.unavailable;
  try {
    return { account: await ApiSession.register(ctx, label), label };
  } catch (error) {
    const closed = registrationClosed(ctx, error);
    if (closed === undefined) throw error;
    state.unavailable ??= closed;
    throw state.unavailable;
  }
}

/**
 * Leases a value from a named per-run pool, creating one when none is free.
 *
 * @param ctx The case context.
 * @param pool Pool name (values of one pool are interchangeable).
 * @param create Builds a new value (registers its accounts, sets up its organizations).
 * @returns The lease; release it in `finally`.
 */
export async function leaseFromPool<T>(
  ctx: CaseContext,
  pool: string,
  create: () => Promise<T>,
): Promise<Lease<T>> {
  const pools = runState(ctx.target).pools;
  const free = (pools.get(pool) ?? []) as T[];
  pools.set(pool, free);
  const value = free.pop() ?? await create();
  let released = false;
  return {
    value,
    release() {
      if (released) return;
      released = true;
      free.push(value);
    },
  };
}

/**
 * Registers several accounts for one world, all or none: when one registration fails, the
 * others are kept as spares for the next world (registration is rate-limited on real targets).
 *
 * @param ctx The case context.
 * @param labels Trace names, one per account.
 * @returns The accounts, in order.
 */
export async function registerAccounts(
  ctx: CaseContext,
  labels: readonly string[],
): Promise<PooledAccount[]> {
  if (ctx.target.accounts !== undefined) return await takeGivenAccounts(ctx, labels);
  const settled = await Promise.allSettled(labels.map((label) => registerAccount(ctx, label)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  const accounts = settled.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  if (failed) {
    giveBackAccounts(ctx, accounts);
    throw failed.reason;
  }
  return accounts;
}

/**
 * Returns accounts that no world holds any more, and that carry no memberships, to the run's
 * spares (a world whose build failed before it set up organizations).
 *
 * @param ctx The case context.
 * @param accounts The accounts.
 */
export function giveBackAccounts(ctx: CaseContext, accounts: readonly PooledAccount[]): void {
  runState(ctx.target).spare.push(...accounts);
}

/**
 * Registers an account a case spoils (changes its password or keys), never one of `--accounts`.
 *
 * @param ctx The case context.
 * @param label Trace name.
 * @returns The account.
 * @throws {CaseUnsupported} When the run was given `--accounts` (it registers none then).
 */
export async function registerThrowawayAccount(
  ctx: CaseContext,
  label: string,
): Promise<PooledAccount> {
  if (ctx.target.accounts !== undefined) {
    throw new CaseUnsupported(
      "Needs a throw-away account (the case changes its password or keys), but the run was given accounts made beforehand (--accounts) and registers none",
    );
  }
  return await registerAccount(ctx, label);
}

/** Every pooled account inside a pooled value (pool values are plain data holding them). */
function accountsIn(value: unknown, found: Set<PooledAccount> = new Set()): Set<PooledAccount> {
  if (value === null || typeof value !== "object") return found;
  const record = value as Record<string, unknown>;
  if (typeof record.label === "string" && typeof (record.account as Account)?.email === "string") {
    found.add(value as PooledAccount);
    return found;
  }
  for (const item of Array.isArray(value) ? value : Object.values(record)) accountsIn(item, found);
  return found;
}

/** Dissolves the idle values of every pool, so their given accounts serve other worlds. */
function reclaimIdle(state: RunState): void {
  for (const free of state.pools.values()) {
    for (const value of free.splice(0)) state.spare.push(...accountsIn(value));
  }
}

const GIVEN_POLL_MS = 200;

/**
 * Takes `labels.length` accounts of `--accounts` at once for one world: free ones first, then
 * the accounts idle worlds of other pools hold (those worlds are dissolved; the organizations
 * they made stay, and nobody changes them any more), waiting for running cases to give some
 * back for up to half the case's budget.
 */
async function takeGivenAccounts(
  ctx: CaseContext,
  labels: readonly string[],
): Promise<PooledAccount[]> {
  const state = runState(ctx.target);
  const total = ctx.target.accounts?.length ?? 0;
  if (labels.length > total) {
    throw new CaseUnsupported(
      `Needs ${labels.length} accounts at once, but --accounts gives ${total} (add ${
        labels.length - total
      } more to the file)`,
    );
  }
  const started = performance.now();
  while (state.spare.length + state.unmade.length < labels.length) {
    reclaimIdle(state);
    if (state.spare.length + state.unmade.length >= labels.length) break;
    if (performance.now() - started > ctx.timeoutMs / 2) {
      throw new CaseUnsupported(
        `Needs ${labels.length} accounts at once, but the ${total} accounts of --accounts are held by cases running at the same time (add accounts to the file, or lower --concurrency)`,
      );
    }
    await sleep(GIVEN_POLL_MS, ctx.signal);
  }
  const spares = state.spare.splice(0, labels.length);
  const unmade = state.unmade.splice(0, labels.length - spares.length);
  const made = await Promise.allSettled(
    unmade.map(async (given, i) => ({
      account: await ApiSession.prelogin(ctx, given),
      label: labels[spares.length + i]!,
    })),
  );
  const failed = made.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    state.spare.push(...spares);
    state.unmade.push(...unmade);
    throw failed.reason;
  }
  return [...spares, ...made.map((r) => (r as PromiseFulfilledResult<PooledAccount>).value)];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    function abort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", abort, { once: true });
  });
}

/**
 * Leases `count` accounts of a named pool (registering what is missing) for one case.
 *
 * @param ctx The case context.
 * @param pool Pool name.
 * @param count How many accounts.
 * @returns The lease.
 */
export async function leaseAccounts(
  ctx: CaseContext,
  pool: string,
  count: number,
): Promise<Lease<PooledAccount[]>> {
  return await leaseFromPool(
    ctx,
    `${pool}/${count}`,
    () =>
      registerAccounts(
        ctx,
        Array.from({ length: count }, (_, i) => `${pool}-${i}-${crypto.randomUUID().slice(0, 4)}`),
      ),
  );
}

/**
 * Logs a new device of an account in (fresh device identifier, the given device type) and reads
 * the claims of the token the target issued.
 *
 * @param ctx The case context.
 * @param account The account.
 * @param options Device type and trace name.
 * @returns The device.
 */
export async function loginDevice(
  ctx: CaseContext,
  account: PooledAccount,
  options: { deviceType: DeviceType; name: string },
): Promise<IdentityDevice> {
  const session = await ApiSession.login(ctx, account.account, options);
  return { session, claims: tokenClaims(session.accessToken) };
}

/** Why organizations cannot be set up through this target, if they cannot. */
export type OrganizationProblem = string | undefined;

function organizationUnsupported(what: string, error: unknown): CaseUnsupported {
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new CaseUnsupported(
    `Needs organizations created through the target's API, but ${what}: ${message} (a self-hosted Bitwarden creates organizations only from a cloud license; run with --act-as-authority to cover organization routes)`,
  );
}

/**
 * Records that an account's organization memberships changed, so the run's cached tokens of it
 * are refreshed before reuse (their organization claims were written at issue).
 *
 * @param session Any session of the run.
 * @param email The account, or undefined when not known (every account).
 */
export function membershipChanged(session: ApiSession, email?: string): void {
  sessionCache(session.target).membershipChanged(email);
}

/** An RSA-wrapped organization key as clients send on confirm (EncString type 4). */
function rsaWrappedKey(): string {
  return `4.${Buffer.from(crypto.getRandomValues(new Uint8Array(256))).toString("base64")}`;
}

/**
 * Creates an organization owned by `owner` through the API (one collection, as clients create).
 *
 * @param owner The owner's session.
 * @returns The organization id.
 * @throws {CaseUnsupported} When the target refuses to create organizations (4xx).
 */
export async function createOrganization(owner: ApiSession): Promise<string> {
  let answer: unknown;
  try {
    answer = await owner.api("POST", "/organizations", {
      name: "Conformance",
      billingEmail: owner.account.email,
      planType: 0,
      key: ENC_STRING,
      keys: {
        publicKey: Buffer.from(crypto.randomUUID()).toString("base64"),
        encryptedPrivateKey: ENC_STRING,
      },
      collectionName: ENC_STRING,
      useSecretsManager: false,
    });
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      throw organizationUnsupported("POST /api/organizations was refused", error);
    }
    throw error;
  }
  membershipChanged(owner, owner.account.email);
  const id = (answer as { id?: unknown } | undefined)?.id;
  if (typeof id !== "string") throw new Error("Organization answer has no id");
  return id.toLowerCase();
}

interface MemberRow {
  readonly id?: string;
  readonly email?: string;
  readonly status?: number;
}

/**
 * Adds a registered user to an organization as a confirmed member: invite, then accept when the
 * target needs it (the token is only e-mailed, so that is UNSUPPORTED), then confirm. The
 * reference server and Vaultwarden (mail off) accept invited existing users at once.
 *
 * @param owner The owner's session.
 * @param organizationId The organization.
 * @param member The member's account.
 * @throws {CaseUnsupported} When the target needs the e-mailed invite token.
 */
export async function addConfirmedMember(
  owner: ApiSession,
  organizationId: string,
  member: Account,
): Promise<void> {
  const email = member.email.toLowerCase();
  try {
    await owner.api("POST", `/organizations/${organizationId}/users/invite`, {
      emails: [email],
      type: 2,
      collections: [],
      groups: [],
      // `permissions` omitted, not null: Vaultwarden 1.37.2 answers 422 to an explicit null.
      accessSecretsManager: false,
    });
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      throw organizationUnsupported("inviting a member was refused", error);
    }
    throw error;
  }
  const list = await owner.api("GET", `/organizations/${organizationId}/users`) as {
    data?: MemberRow[];
  };
  const row = list?.data?.find((m) => m.email?.toLowerCase() === email);
  if (!row?.id) throw new Error(`The member list of ${organizationId} does not show ${email}`);
  if (row.status === 0) {
    throw new CaseUnsupported(
      "Needs organization members, but the target keeps invited users Invited until they accept with the e-mailed token (capture mail or run with --act-as-authority)",
    );
  }
  if (row.status === 1) {
    await owner.api("POST", `/organizations/${organizationId}/users/${row.id}/confirm`, {
      key: rsaWrappedKey(),
      defaultUserCollectionName: null,
    });
    membershipChanged(owner, member.email);
  }
}

/**
 * Sets up organizations among accounts: each organization is created by its first member and
 * the others are invited and confirmed. Logs in a throw-away web device per owner to do it.
 *
 * @param ctx The case context.
 * @param accounts The accounts.
 * @param organizations Member indices per organization (first = owner); empty ones are skipped.
 * @returns The organization ids (a fresh unused GUID for an empty organization).
 * @throws {CaseUnsupported} When the target cannot create organizations or confirm members.
 */
export async function setUpOrganizations(
  ctx: CaseContext,
  accounts: readonly PooledAccount[],
  organizations: readonly (readonly number[])[],
): Promise<string[]> {
  const owners = new Map<number, ApiSession>();
  const ids: string[] = [];
  for (const members of organizations) {
    const [ownerIndex, ...others] = members;
    if (ownerIndex === undefined) {
      ids.push(crypto.randomUUID());
      continue;
    }
    let owner = owners.get(ownerIndex);
    if (!owner) {
      const account = accounts[ownerIndex]!;
      owner = await ApiSession.login(ctx, account.account, {
        deviceType: DeviceType.ChromeBrowser,
        name: `${account.label}-admin`,
        shared: true,
      });
      owners.set(ownerIndex, owner);
    }
    const id = await createOrganization(owner);
    for (const other of others) await addConfirmedMember(owner, id, accounts[other]!.account);
    ids.push(id);
  }
  return ids;
}

/**
 * Checks that a device's token carries the organization claims its user's confirmed memberships
 * call for (Vaultwarden issues none), so organization routes can be checked with it.
 *
 * @param device The device.
 * @param organizationIds The organizations the user is a confirmed member of.
 * @returns A problem description, or undefined when every organization is claimed.
 */
export function missingOrganizationClaims(
  device: IdentityDevice,
  organizationIds: readonly string[],
): string | undefined {
  const claimed = new Set(organizationClaims(device.claims));
  const missing = organizationIds.filter((id) => !claimed.has(id.toLowerCase()));
  if (missing.length === 0) return undefined;
  return `Needs organization claims in the target's access tokens, but a confirmed member's fresh token has no org* claim for ${
    missing.join(", ")
  } (Vaultwarden issues none; run with --act-as-authority to cover organization routes)`;
}
