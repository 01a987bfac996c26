/**
 * Account routes of the API: security stamp (11 LogOut, ContextId null), password change
 * (11 LogOut, ContextId = acting device), KDF change (11 LogOut to every device),
 * equivalent-domain settings (10 SyncSettings) and
 * `GET /sync` (research bitwarden-api.md §3.5-§3.6), and account deletion (11 LogOut).
 *
 * @module
 */

import { PushType } from "../../protocol/bitwarden/mod.ts";
import { hashSecret, readKdfObject, validateKdf, verifySecret } from "../kernel/mod.ts";
import { type ApiDeps, iso, userPush } from "./_deps.ts";
import type { PushNotification } from "../push/mod.ts";
import { requireUserSecret } from "./_secret.ts";
import { cipherResponse } from "./ciphers.ts";
import { folderResponse } from "./folders.ts";
import {
  badRequest,
  emptyOk,
  field,
  type JsonObject,
  jsonResponse,
  modelStateError,
  readJsonObject,
} from "../kernel/http.ts";
import { organizationProfile, policyResponse } from "./organizations.ts";
import type { Router } from "../kernel/router.ts";
import { sendResponse } from "./sends.ts";
import { MemberStatus, MemberType, newId, type User } from "../kernel/store.ts";
import { isEncString, ModelState } from "../kernel/validation.ts";

/**
 * The profile response model.
 *
 * @param deps Dependencies (for memberships).
 * @param user The user.
 * @returns The model.
 */
export function profileResponse(deps: ApiDeps, user: User): Record<string, unknown> {
  return {
    object: "profile",
    id: user.id,
    name: user.name,
    email: user.email,
    emailVerified: user.emailVerified,
    premium: user.premium,
    premiumFromOrganization: false,
    culture: "en-US",
    twoFactorEnabled: false,
    key: user.key,
    privateKey: user.privateKey,
    securityStamp: user.securityStamp,
    forcePasswordReset: false,
    usesKeyConnector: false,
    avatarColor: null,
    creationDate: iso(user.creationDate),
    organizations: deps.store.membershipsOf(user.id)
      .filter((m) => m.status === MemberStatus.Confirmed || m.status === MemberStatus.Accepted)
      .map((m) => organizationProfile(deps, m)),
    providers: [],
    providerOrganizations: [],
  };
}

/** A validated password change. */
interface PasswordChange {
  readonly current: string;
  readonly next: string;
  readonly key: string;
  /** Undefined in the newer body, which carries no hint. */
  readonly hint?: string | null;
}

/**
 * Reads `PasswordRequestModel`: the legacy body (`newMasterPasswordHash`, `key`, hint) or the
 * newer one (`authenticationData`, `unlockData`); the KDF of the newer body is not changed here.
 */
function readPasswordChange(body: JsonObject): PasswordChange {
  const state = new ModelState(body);
  const current = state.string("masterPasswordHash", { required: true, max: 300 });
  const authentication = state.object("authenticationData");
  const unlock = state.object("unlockData");
  let next: string | null;
  let key: string | null;
  let hint: string | null | undefined;
  if (authentication !== null || unlock !== null) {
    next = nestedString(
      state,
      authentication,
      "AuthenticationData.MasterPasswordAuthenticationHash",
    );
    key = nestedString(state, unlock, "UnlockData.MasterKeyWrappedUserKey");
    if (key !== null && !isEncString(key)) {
      state.add(
        "UnlockData.MasterKeyWrappedUserKey",
        "MasterKeyWrappedUserKey is not a valid encrypted string.",
      );
      key = null;
    }
  } else {
    next = state.string("newMasterPasswordHash", { required: true, max: 300 });
    key = state.string("key", { required: true, encString: true });
    hint = state.string("masterPasswordHint", { max: 50 }) || null;
  }
  state.throwIfInvalid();
  return { current: current!, next: next!, key: key!, ...(hint !== undefined ? { hint } : {}) };
}

/** A required string inside a nested object, errors keyed `Object.Property`. */
function nestedString(state: ModelState, object: JsonObject | null, key: string): string | null {
  const [outer, inner] = key.split(".") as [string, string];
  if (object === null) {
    state.add(outer, `The ${outer} field is required.`);
    return null;
  }
  const value = field(object, inner.charAt(0).toLowerCase() + inner.slice(1));
  if (typeof value !== "string" || value === "") {
    state.add(key, `The ${inner} field is required.`);
    return null;
  }
  return value;
}

/**
 * `SoleOwnerError` (bitwarden/server
 * src/Core/AdminConsole/OrganizationFeatures/OrganizationUsers/DeleteClaimedAccount/Errors.cs @
 * ac309aa19ed351406a56032d5f26a7a9a99f4abd).
 */
const SOLE_OWNER =
  "You cannot delete this member because they are the sole owner of at least one organization vault. Delete these organization vaults or make another member an owner.";

/** New security stamp: the user's refresh tokens die (access tokens live until `exp`). */
function refreshSecurityStamp(deps: ApiDeps, user: User): void {
  user.securityStamp = newId();
  user.revisionDate = deps.now();
  for (const [handle, grant] of deps.store.refreshGrants) {
    if (grant.userId === user.id) deps.store.refreshGrants.delete(handle);
  }
}

/** LogOut to every device of the user, the acting one included (its session is gone too). */
function logOutEverywhere(user: User): PushNotification {
  return {
    type: PushType.LogOut,
    target: "user",
    targetId: user.id,
    payload: { UserId: user.id, Reason: null },
    excludeCurrentContext: false,
  };
}

/**
 * Adds the account routes.
 *
 * @param router The API router.
 * @param deps Dependencies.
 */
export function addAccountRoutes(router: Router, deps: ApiDeps): void {
  const { store } = deps;

  router.on("POST", "/accounts/security-stamp", async (request) => {
    const ctx = await deps.auth.user(request);
    const state = new ModelState(await readJsonObject(request));
    const hash = state.string("masterPasswordHash", { max: 300 });
    const otp = state.string("otp");
    const accessCode = state.string("authRequestAccessCode");
    state.throwIfInvalid();
    if (hash === null && otp === null && accessCode === null) {
      throw modelStateError({ "": ["MasterPasswordHash, OTP, or AccessCode must be supplied."] });
    }
    if (hash === null || !(await verifySecret(hash, ctx.user.masterPassword))) {
      throw modelStateError({ "": ["Incorrect password."] });
    }
    refreshSecurityStamp(deps, ctx.user);
    await deps.push(logOutEverywhere(ctx.user));
    return emptyOk();
  });

  router.on("POST", "/accounts/password", async (request) => {
    const ctx = await deps.auth.user(request);
    const change = readPasswordChange(await readJsonObject(request));
    if (!(await verifySecret(change.current, ctx.user.masterPassword))) {
      throw modelStateError({ "": ["Incorrect password."] });
    }
    // Same server-side hashing as registration; the user's own iteration count carries over.
    const secret = await hashSecret(change.next, {
      iterations: ctx.user.masterPassword.iterations,
    });
    ctx.user.masterPassword = secret;
    ctx.user.key = change.key;
    if (change.hint !== undefined) ctx.user.masterPasswordHint = change.hint;
    refreshSecurityStamp(deps, ctx.user);
    // Every other device logs out; the acting one recognises its own ContextId and stays.
    await deps.push(
      userPush(ctx, PushType.LogOut, { UserId: ctx.user.id, Reason: null }),
    );
    return emptyOk();
  });

  // bitwarden/server src/Api/Auth/Controllers/AccountsController.cs `PostKdf` and
  // src/Core/KeyManagement/Kdf/Implementations/ChangeKdfCommand.cs @
  // ac309aa19ed351406a56032d5f26a7a9a99f4abd: the current hash, then the same salt (the user's)
  // and the same KDF in authentication and unlock data, within KdfSettingsValidator's ranges. With
  // `NoLogoutOnKdfChange` off (its default) the stamp is refreshed and `PushLogOutAsync(user.Id)`
  // logs every device out, the acting one included: Reason null (KdfChange = 0 is sent only with
  // the flag on, with a SyncSettings after it), nothing excluded.
  router.on("POST", "/accounts/kdf", async (request) => {
    const ctx = await deps.auth.user(request);
    const state = new ModelState(await readJsonObject(request));
    const current = state.string("masterPasswordHash", { required: true, max: 300 });
    const authentication = state.object("authenticationData");
    const unlock = state.object("unlockData");
    const next = nestedString(
      state,
      authentication,
      "AuthenticationData.MasterPasswordAuthenticationHash",
    );
    const key = nestedString(state, unlock, "UnlockData.MasterKeyWrappedUserKey");
    if (key !== null && !isEncString(key)) {
      state.add(
        "UnlockData.MasterKeyWrappedUserKey",
        "MasterKeyWrappedUserKey is not a valid encrypted string.",
      );
    }
    state.throwIfInvalid();
    const user = ctx.user;
    if (!(await verifySecret(current!, user.masterPassword))) {
      throw modelStateError({ "": ["Incorrect password."] });
    }
    const salt = user.salt ?? user.email.toLowerCase();
    if (field(authentication!, "salt") !== salt || field(unlock!, "salt") !== salt) {
      throw badRequest("Invalid master password salt.");
    }
    const kdf = readKdfObject(field(authentication!, "kdf"));
    if (
      kdf === null || JSON.stringify(kdf) !== JSON.stringify(readKdfObject(field(unlock!, "kdf")))
    ) {
      throw badRequest("AuthenticationData and UnlockData must have the same KDF configuration.");
    }
    const ranges = new ModelState({});
    validateKdf(ranges, kdf);
    if (!ranges.valid) throw badRequest("KDF settings are invalid.");
    user.kdf = kdf;
    user.masterPassword = await hashSecret(next!, { iterations: user.masterPassword.iterations });
    user.key = key;
    refreshSecurityStamp(deps, user);
    // The acting device rides along (not excluded): what a server that excludes it would use.
    await deps.push({ ...logOutEverywhere(user), deviceIdentifier: ctx.deviceIdentifier });
    return emptyOk();
  });

  // bitwarden/server src/Api/Auth/Controllers/AccountsController.cs `Delete` / `PostDelete` and
  // src/Core/Services/Implementations/UserService.cs `DeleteAsync` @
  // ac309aa19ed351406a56032d5f26a7a9a99f4abd: the sole owner of an organization is refused,
  // unless it is their only organization and they its only member (it goes with them).
  const deleteAccount = async (request: Request) => {
    const ctx = await deps.auth.user(request);
    await requireUserSecret(request, ctx.user);
    const owned = store.membershipsOf(ctx.user.id, MemberStatus.Confirmed).filter((m) =>
      m.type === MemberType.Owner &&
      store.membersOf(m.organizationId).filter((o) =>
          o.type === MemberType.Owner && o.status === MemberStatus.Confirmed
        ).length <= 1
    );
    if (owned.length > 0) {
      const confirmed = store.membershipsOf(ctx.user.id, MemberStatus.Confirmed);
      const only = confirmed.length === 1 ? confirmed[0]!.organizationId : undefined;
      if (only === undefined || store.membersOf(only).length > 1) {
        throw modelStateError({ "": [SOLE_OWNER] });
      }
      store.deleteOrganization(only);
    }
    store.deleteUser(ctx.user.id);
    await deps.push(logOutEverywhere(ctx.user));
    return emptyOk();
  };
  router.on("DELETE", "/accounts", deleteAccount);
  router.on("POST", "/accounts/delete", deleteAccount);

  const domains = (user: User) => ({
    object: "domains",
    equivalentDomains: user.equivalentDomains,
    globalEquivalentDomains: [],
  });

  router.on("GET", "/settings/domains", async (request) => {
    const ctx = await deps.auth.user(request);
    return jsonResponse(domains(ctx.user));
  });

  const saveDomains = async (request: Request) => {
    const ctx = await deps.auth.user(request);
    const body = await readJsonObject(request);
    const value = field(body, "equivalentDomains");
    if (
      value !== null && value !== undefined &&
      !(Array.isArray(value) &&
        value.every((g) => Array.isArray(g) && g.every((d) => typeof d === "string")))
    ) {
      throw modelStateError({
        EquivalentDomains: ["The JSON value could not be converted to List<List<string>>."],
      });
    }
    ctx.user.equivalentDomains = (value ?? null) as string[][] | null;
    ctx.user.revisionDate = deps.now();
    await deps.push({
      type: PushType.SyncSettings,
      target: "user",
      targetId: ctx.user.id,
      payload: { UserId: ctx.user.id, Date: iso(ctx.user.revisionDate) },
      excludeCurrentContext: false,
    });
    return jsonResponse(domains(ctx.user));
  };
  router.on("PUT", "/settings/domains", saveDomains);
  router.on("POST", "/settings/domains", saveDomains);

  router.on("GET", "/accounts/profile", async (request) => {
    const ctx = await deps.auth.user(request);
    return jsonResponse(profileResponse(deps, ctx.user));
  });

  router.on("GET", "/sync", async (request) => {
    const ctx = await deps.auth.user(request);
    const user = ctx.user;
    const orgIds = new Set(
      store.membershipsOf(user.id, MemberStatus.Confirmed).map((m) => m.organizationId),
    );
    const visibleCollections = [...store.collections.values()].filter((c) => {
      const m = store.confirmedMembership(c.organizationId, user.id);
      return m !== undefined &&
        (m.type === MemberType.Owner || m.type === MemberType.Admin ||
          m.collectionIds.includes(c.id));
    });
    const collectionIds = new Set(visibleCollections.map((c) => c.id));
    const ciphers = [...store.ciphers.values()].filter((c) =>
      c.userId === user.id ||
      (c.organizationId !== null && orgIds.has(c.organizationId) &&
        c.collectionIds.some((id) => collectionIds.has(id)))
    );
    const policies = [...store.policies.values()].filter((p) => orgIds.has(p.organizationId)).map(
      policyResponse,
    );
    return jsonResponse({
      object: "sync",
      profile: profileResponse(deps, user),
      folders: [...store.folders.values()].filter((f) => f.userId === user.id).map(folderResponse),
      collections: visibleCollections.map((c) => ({
        object: "collectionDetails",
        id: c.id,
        organizationId: c.organizationId,
        name: c.name,
        externalId: null,
        readOnly: false,
        hidePasswords: false,
        manage: true,
      })),
      ciphers: ciphers.map(cipherResponse),
      domains:
        field(Object.fromEntries(new URL(request.url).searchParams), "excludeDomains") === "true"
          ? null
          : {
            object: "domains",
            equivalentDomains: user.equivalentDomains,
            globalEquivalentDomains: [],
          },
      policies,
      sends: [...store.sends.values()].filter((s) => s.userId === user.id).map(sendResponse),
    });
  });
}
