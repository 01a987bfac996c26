/**
 * Identity's account routes: prelogin (both paths), the current two-step registration
 * (`register/send-verification-email` + `register/finish`) and the legacy `register`
 * (research bitwarden-api.md §1.1-§1.2). E-mail verification is off: the verification token
 * comes back in the 200 body, as on a real server with `EnableEmailVerification=false`.
 *
 * @module
 */

import type { Logger } from "../kernel/log.ts";
import { Buffer } from "node:buffer";
import {
  badRequest,
  field,
  jsonResponse,
  modelStateError,
  readJsonObject,
} from "../kernel/http.ts";
import { type KdfSettings, type MemoryStore, newId, type StoredSecret } from "../kernel/store.ts";
import { ModelState } from "../kernel/validation.ts";
import type { Router } from "../kernel/router.ts";
import { hashSecret, readKdfObject, validateKdf } from "../kernel/mod.ts";

/** Options of {@linkcode addAccountRoutes}. */
export interface AccountRoutesOptions {
  /** Shared store. */
  readonly store: MemoryStore;
  /** Key of the deterministic default-KDF choice for unknown e-mails. */
  readonly preloginSecret: string;
  /** Server-side PBKDF2 iterations for stored secrets. */
  readonly secretIterations?: number;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
  /** Logger. */
  readonly log?: Logger;
}

/** Lifetime of a registration e-mail verification token. */
const REGISTRATION_TOKEN_MS = 24 * 3600 * 1000;

/** The six defaults a real server picks from for an unknown e-mail (research §1.1). */
const DEFAULT_KDFS: readonly KdfSettings[] = [
  { kdf: 0, iterations: 600_000, memory: null, parallelism: null },
  { kdf: 0, iterations: 600_000, memory: null, parallelism: null },
  { kdf: 0, iterations: 100_000, memory: null, parallelism: null },
  { kdf: 0, iterations: 5_000, memory: null, parallelism: null },
  { kdf: 1, iterations: 3, memory: 64, parallelism: 4 },
  { kdf: 1, iterations: 6, memory: 32, parallelism: 4 },
];

function preloginBody(kdf: KdfSettings, salt: string | null): Record<string, unknown> {
  return {
    kdf: kdf.kdf,
    kdfIterations: kdf.iterations,
    kdfMemory: kdf.memory,
    kdfParallelism: kdf.parallelism,
    kdfSettings: {
      kdfType: kdf.kdf,
      iterations: kdf.iterations,
      memory: kdf.memory,
      parallelism: kdf.parallelism,
    },
    salt,
  };
}

async function hmacIndex(secret: string, email: string, modulo: number): Promise<number> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(email)),
  );
  return (((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0) % modulo;
}

function readRootKdf(state: ModelState): KdfSettings | null {
  const kdf = state.int("kdf", { allowed: [0, 1] });
  const iterations = state.int("kdfIterations");
  const memory = state.int("kdfMemory");
  const parallelism = state.int("kdfParallelism");
  if (kdf === null || iterations === null) return null;
  return { kdf: kdf as 0 | 1, iterations, memory, parallelism };
}

/**
 * Adds the account routes to an Identity router.
 *
 * @param router The router of the Identity role.
 * @param options Store, secrets and clock.
 */
export function addAccountRoutes(router: Router, options: AccountRoutesOptions): void {
  const { store } = options;
  const nowMs = options.now ?? Date.now;

  const prelogin = async (request: Request): Promise<Response> => {
    const state = new ModelState(await readJsonObject(request));
    const email = state.string("email", { required: true, email: true, max: 256 });
    state.throwIfInvalid();
    const user = store.userByEmail(email!);
    if (user) return jsonResponse(preloginBody(user.kdf, user.salt));
    const normalized = email!.trim().toLowerCase();
    const index = await hmacIndex(options.preloginSecret, normalized, DEFAULT_KDFS.length * 2);
    return jsonResponse(
      preloginBody(
        DEFAULT_KDFS[index % DEFAULT_KDFS.length]!,
        index >= DEFAULT_KDFS.length ? normalized : null,
      ),
    );
  };
  router.on("POST", "/accounts/prelogin", prelogin);
  router.on("POST", "/accounts/prelogin/password", prelogin);

  router.on("POST", "/accounts/register/send-verification-email", async (request) => {
    const state = new ModelState(await readJsonObject(request));
    const email = state.string("email", { required: true, email: true, max: 256 });
    const name = state.string("name", { max: 50 });
    state.bool("receiveMarketingEmails");
    state.throwIfInvalid();
    const normalized = email!.trim().toLowerCase();
    if (store.userByEmail(normalized)) throw badRequest(`Email ${email} is already taken`);
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    store.registrationTokens.set(token, {
      email: normalized,
      name: name === "" ? null : name,
      expiresAt: nowMs() + REGISTRATION_TOKEN_MS,
    });
    return jsonResponse(token);
  });

  router.on("POST", "/accounts/register/verification-email-clicked", async (request) => {
    const state = new ModelState(await readJsonObject(request));
    const email = state.string("email", { required: true, email: true });
    const token = state.string("emailVerificationToken", { required: true });
    state.throwIfInvalid();
    const entry = store.registrationTokens.get(token!);
    if (!entry || entry.email !== email!.trim().toLowerCase() || entry.expiresAt < nowMs()) {
      throw badRequest(
        "Expired link. Please restart registration or try logging in. You may already have an account",
      );
    }
    return new Response(null, { status: 200 });
  });

  router.on("POST", "/accounts/register/finish", async (request) => {
    const body = await readJsonObject(request);
    const state = new ModelState(body);
    const email = state.string("email", { required: true, email: true, max: 256 });
    const rootHash = state.string("masterPasswordHash", { max: 1000 });
    const hint = state.string("masterPasswordHint", { max: 50 });
    const userKey = state.string("userSymmetricKey");
    const keys = state.object("userAsymmetricKeys");
    const accountKeys = state.object("accountKeys");
    const authentication = state.object("masterPasswordAuthentication");
    const unlock = state.object("masterPasswordUnlock");
    const token = state.string("emailVerificationToken");
    const rootKdf = readRootKdf(state);
    state.throwIfInvalid();

    const authHash = authentication
      ? field(authentication, "masterPasswordAuthenticationHash")
      : undefined;
    const hash = rootHash ?? (typeof authHash === "string" && authHash !== "" ? authHash : null);
    if (hash === null) state.add("MasterPasswordHash", "The MasterPasswordHash field is required.");
    else if (rootHash !== null && typeof authHash === "string" && authHash !== rootHash) {
      state.add(
        "MasterPasswordHash",
        "Master password hash and master password authentication hash must be equal.",
      );
    }
    let kdf: KdfSettings | null = null;
    let salt: string | null = null;
    let wrappedKey = userKey;
    if (authentication || unlock) {
      if (!authentication || !unlock) {
        state.add(
          "",
          "MasterPasswordAuthentication and MasterPasswordUnlock must be given together.",
        );
      } else {
        const a = readKdfObject(field(authentication, "kdf"));
        const u = readKdfObject(field(unlock, "kdf"));
        if (!a || !u || JSON.stringify(a) !== JSON.stringify(u)) {
          state.add("", "The KDF settings of authentication and unlock data must match.");
        } else kdf = a;
        const sa = field(authentication, "salt");
        const su = field(unlock, "salt");
        if (typeof sa !== "string" || sa !== su) {
          state.add("", "The salts of authentication and unlock data must match.");
        } else salt = sa;
        const wrapped = field(unlock, "masterKeyWrappedUserKey");
        if (typeof wrapped === "string") wrappedKey = wrapped;
      }
    } else if (rootKdf) kdf = rootKdf;
    else state.add("", "Kdf not found on RequestModel");
    if (kdf) validateKdf(state, kdf);
    const publicKey = keys
      ? field(keys, "publicKey")
      : accountKeys
      ? field(accountKeys, "accountPublicKey")
      : undefined;
    const privateKey = keys
      ? field(keys, "encryptedPrivateKey")
      : accountKeys
      ? field(accountKeys, "userKeyEncryptedAccountPrivateKey")
      : undefined;
    if (!keys && !accountKeys) {
      state.add("UserAsymmetricKeys", "The UserAsymmetricKeys field is required.");
    } else if (typeof publicKey !== "string" || typeof privateKey !== "string") {
      state.add("UserAsymmetricKeys", "PublicKey and EncryptedPrivateKey are required.");
    }
    state.throwIfInvalid();
    if (token === null) throw badRequest("No valid registration token provided");
    // Hash before the checks: from the checks to the insert nothing awaits, so two concurrent
    // registrations of one e-mail cannot both pass the duplicate check.
    const secret = await hashSecret(hash!, { iterations: options.secretIterations });
    const entry = store.registrationTokens.get(token);
    const normalized = email!.trim().toLowerCase();
    if (!entry || entry.email !== normalized || entry.expiresAt < nowMs()) {
      throw badRequest("Invalid email verification token.");
    }
    rejectTaken(email!);
    store.registrationTokens.delete(token);
    createUser({
      email: normalized,
      name: entry.name,
      secret,
      hint,
      kdf: kdf!,
      salt,
      key: wrappedKey,
      publicKey: publicKey as string,
      privateKey: privateKey as string,
    });
    return jsonResponse({ object: "registerFinish" });
  });

  router.on("POST", "/accounts/register", async (request) => {
    const state = new ModelState(await readJsonObject(request));
    const email = state.string("email", { required: true, email: true, max: 256 });
    const hash = state.string("masterPasswordHash", { required: true, max: 1000 });
    const name = state.string("name", { max: 50 });
    const hint = state.string("masterPasswordHint", { max: 50 });
    const key = state.string("key");
    const keys = state.object("keys");
    const kdf = readRootKdf(state);
    if (keys) {
      const nested = new ModelState(keys);
      nested.string("publicKey", { required: true });
      nested.string("encryptedPrivateKey", { required: true });
      if (!nested.valid) state.add("Keys", "PublicKey and EncryptedPrivateKey are required.");
    }
    if (kdf) validateKdf(state, kdf);
    state.throwIfInvalid();
    const secret = await hashSecret(hash!, { iterations: options.secretIterations });
    rejectTaken(email!);
    createUser({
      email: email!.trim().toLowerCase(),
      name: name === "" ? null : name,
      secret,
      hint,
      kdf: kdf ?? { kdf: 0, iterations: 600_000, memory: null, parallelism: null },
      salt: null,
      key,
      publicKey: keys ? field(keys, "publicKey") as string : null,
      privateKey: keys ? field(keys, "encryptedPrivateKey") as string : null,
    });
    return jsonResponse({ object: "register", captchaBypassToken: null });
  });

  function rejectTaken(email: string): void {
    if (store.userByEmail(email)) {
      throw modelStateError({ "": [`Email '${email}' is already taken.`] });
    }
  }

  /** Inserts the account; synchronous, so it runs in the same turn as the duplicate check. */
  function createUser(data: {
    email: string;
    name: string | null;
    secret: StoredSecret;
    hint: string | null;
    kdf: KdfSettings;
    salt: string | null;
    key: string | null;
    publicKey: string | null;
    privateKey: string | null;
  }): void {
    const id = newId();
    const now = new Date(nowMs());
    store.users.set(id, {
      id,
      email: data.email,
      name: data.name,
      emailVerified: true,
      premium: false,
      securityStamp: newId(),
      masterPassword: data.secret,
      masterPasswordHint: data.hint,
      kdf: data.kdf,
      salt: data.salt,
      key: data.key,
      publicKey: data.publicKey,
      privateKey: data.privateKey,
      equivalentDomains: null,
      creationDate: now,
      revisionDate: now,
    });
    // An invite to this address waiting for a registration now knows its user.
    for (const m of store.memberships.values()) {
      if (m.userId === null && m.email === data.email) m.userId = id;
    }
    options.log?.("info", `Registered ${data.email} (${id})`);
  }
}
