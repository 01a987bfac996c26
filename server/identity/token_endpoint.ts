/**
 * `POST /connect/token`: the `password`, `refresh_token` and `client_credentials` grants as
 * real Bitwarden Identity (Duende) answers them, with its error shapes
 * (research bitwarden-api.md §1.4-§1.6, §2).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { parseDeviceTypeClaim } from "../../protocol/bitwarden/mod.ts";
import { jsonResponse, readBodyText } from "../kernel/http.ts";
import type { MemoryStore, User } from "../kernel/store.ts";
import { buildUserClaims } from "./claims.ts";
import { AUTH_REQUEST_LIFETIME_MS, verifySecret } from "../kernel/mod.ts";
import type { SigningKeys } from "./signing_keys.ts";

/** Static clients: refresh-token sliding lifetime in seconds (research §1.4). */
export const STATIC_CLIENTS: Readonly<
  Record<string, { slidingSeconds: number; accessSeconds: number }>
> = {
  web: { slidingSeconds: 7 * 86400, accessSeconds: 3600 },
  browser: { slidingSeconds: 30 * 86400, accessSeconds: 3600 },
  desktop: { slidingSeconds: 30 * 86400, accessSeconds: 3600 },
  cli: { slidingSeconds: 30 * 86400, accessSeconds: 3600 },
  mobile: { slidingSeconds: 60 * 86400, accessSeconds: 3600 },
  connector: { slidingSeconds: 30 * 86400, accessSeconds: 86400 },
};

/** Lifetime of `internal.*` client-credentials tokens. */
export const INTERNAL_TOKEN_SECONDS = 86400;

/** Options of {@linkcode createTokenEndpoint}. */
export interface TokenEndpointOptions {
  /** Shared store. */
  readonly store: MemoryStore;
  /** Signing keys. */
  readonly keys: SigningKeys;
  /** Issuer written to tokens. */
  readonly issuer: string;
  /** Secret of `internal.*` clients; undefined disables them, as on the real server. */
  readonly internalKey?: string;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

function tokenError(
  error: string,
  description?: string,
  message?: string,
): Response {
  const body: Record<string, unknown> = { error };
  if (description !== undefined) body.error_description = description;
  if (message !== undefined) body.ErrorModel = { Object: "error", Message: message };
  return jsonResponse(body, 400);
}

function invalidCredentials(): Response {
  return tokenError(
    "invalid_grant",
    "invalid_username_or_password",
    "Username or password is incorrect. Try again.",
  );
}

/** Form fields by lower-cased name (Duende reads them case-insensitively). */
type Form = ReadonlyMap<string, string>;

async function readForm(request: Request): Promise<Form | null> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().includes("application/x-www-form-urlencoded")) return null;
  const params = new URLSearchParams(await readBodyText(request));
  const form = new Map<string, string>();
  for (const [k, v] of params) if (!form.has(k.toLowerCase())) form.set(k.toLowerCase(), v);
  return form;
}

function basicCredentials(request: Request): { id: string; secret: string } | null {
  const header = request.headers.get("authorization");
  if (!header || !/^basic\s/i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    // A malformed escape is an unusable credential: invalid_client, as for a wrong secret.
    return null;
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** System.Version.TryParse: 2 to 4 dot-separated non-negative integers. */
function isDotNetVersion(value: string): boolean {
  return /^\d+(\.\d+){1,3}$/.test(value.trim());
}

function randomHandle(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex").toUpperCase();
}

/**
 * Builds the token endpoint handler.
 *
 * @param options Store, keys, issuer, internal key, clock.
 * @returns The handler for `POST /connect/token`.
 */
export function createTokenEndpoint(
  options: TokenEndpointOptions,
): (request: Request) => Promise<Response> {
  const { store, keys } = options;
  const nowMs = options.now ?? Date.now;

  async function issueUserTokens(
    user: User,
    clientId: string,
    device: { identifier: string; type: number },
    scopes: readonly string[],
    refreshHandle: string | undefined,
  ): Promise<Record<string, unknown>> {
    const client = STATIC_CLIENTS[clientId]!;
    const now = Math.floor(nowMs() / 1000);
    const claims = buildUserClaims(store, user, {
      issuer: options.issuer,
      clientId,
      deviceIdentifier: device.identifier,
      deviceType: device.type,
      scopes,
      now,
      lifetime: client.accessSeconds,
    });
    const body: Record<string, unknown> = {
      access_token: await keys.sign(claims),
      expires_in: client.accessSeconds,
      token_type: "Bearer",
    };
    if (scopes.includes("offline_access")) {
      const handle = refreshHandle ?? randomHandle();
      store.refreshGrants.set(handle, {
        userId: user.id,
        clientId,
        deviceIdentifier: device.identifier,
        scopes: [...scopes],
        securityStamp: user.securityStamp,
        expiresAt: nowMs() + client.slidingSeconds * 1000,
        slidingSeconds: client.slidingSeconds,
      });
      body.refresh_token = handle;
    }
    body.scope = scopes.join(" ");
    return body;
  }

  function customResponse(user: User): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    if (user.privateKey) {
      body.PrivateKey = user.privateKey;
      body.AccountKeys = {
        Object: "privateKeys",
        publicKeyEncryptionKeyPair: {
          Object: "publicKeyEncryptionKeyPair",
          wrappedPrivateKey: user.privateKey,
          publicKey: user.publicKey,
        },
      };
    }
    if (user.key) body.Key = user.key;
    const kdf: Record<string, unknown> = { KdfType: user.kdf.kdf, Iterations: user.kdf.iterations };
    if (user.kdf.memory !== null) kdf.Memory = user.kdf.memory;
    if (user.kdf.parallelism !== null) kdf.Parallelism = user.kdf.parallelism;
    const unlock: Record<string, unknown> = { Kdf: kdf, Salt: user.salt ?? user.email };
    if (user.key) unlock.MasterKeyEncryptedUserKey = user.key;
    Object.assign(body, {
      MasterPasswordPolicy: { Object: "masterPasswordPolicy" },
      ForcePasswordReset: false,
      Kdf: user.kdf.kdf,
      KdfIterations: user.kdf.iterations,
      KdfMemory: user.kdf.memory,
      KdfParallelism: user.kdf.parallelism,
      UserDecryptionOptions: {
        Object: "userDecryptionOptions",
        HasMasterPassword: true,
        MasterPasswordUnlock: unlock,
      },
    });
    return body;
  }

  function requestedScopes(form: Form, allowed: readonly string[]): string[] | null {
    const raw = form.get("scope");
    if (raw === undefined || raw.trim() === "") return [...allowed];
    const scopes = [...new Set(raw.split(/\s+/).filter((s) => s !== ""))];
    return scopes.every((s) => allowed.includes(s)) ? scopes : null;
  }

  async function passwordGrant(request: Request, form: Form): Promise<Response> {
    const clientId = form.get("client_id") ?? basicCredentials(request)?.id ?? "";
    if (!(clientId in STATIC_CLIENTS)) return tokenError("invalid_client");
    const scopes = requestedScopes(form, ["api", "offline_access"]);
    if (!scopes) return tokenError("invalid_scope");
    const username = (form.get("username") ?? "").trim().toLowerCase();
    const password = form.get("password") ?? "";
    if (username === "" || password === "" || username.length > 256) return invalidCredentials();
    const user = store.userByEmail(username);
    if (!user) return invalidCredentials();

    const deviceIdentifier = (form.get("deviceidentifier") ?? "").trim();
    const authRequestId = (form.get("authrequest") ?? "").trim().toLowerCase();
    const authRequest = authRequestId === "" ? undefined : store.authRequests.get(authRequestId);
    if (authRequestId !== "") {
      const usable = authRequest !== undefined && authRequest.userId === user.id &&
        authRequest.approved === true && authRequest.authenticationDate === null &&
        nowMs() - authRequest.creationDate.getTime() <= AUTH_REQUEST_LIFETIME_MS &&
        constantTimeEqual(authRequest.accessCode, password);
      if (!usable) return invalidCredentials();
    } else if (!(await verifySecret(password, user.masterPassword))) {
      return invalidCredentials();
    }

    const version = request.headers.get("bitwarden-client-version");
    if (version === null || !isDotNetVersion(version)) {
      const text =
        'No client version header found, required to prevent encryption errors. Please confirm your client is supplying the header: "Bitwarden-Client-Version"';
      return tokenError("version_header_missing", text, text);
    }

    const deviceTypeRaw = (form.get("devicetype") ?? "").trim();
    const deviceName = (form.get("devicename") ?? "").trim();
    const deviceType = parseDeviceTypeClaim(deviceTypeRaw);
    if (deviceIdentifier === "" || deviceName === "" || deviceType === undefined) {
      return tokenError(
        "device_error",
        "No device information provided",
        "no device information provided",
      );
    }
    const known = store.deviceOf(user.id, deviceIdentifier);
    if (authRequest) {
      if (!known || authRequest.requestDeviceIdentifier !== deviceIdentifier) {
        return tokenError(
          "device_error",
          "Auth requests are not supported on unknown devices",
          "auth request flow unsupported on unknown device",
        );
      }
      authRequest.authenticationDate = new Date(nowMs());
    }
    if (known) {
      known.type = deviceType;
      known.name = deviceName;
    } else {
      const id = crypto.randomUUID();
      store.devices.set(id, {
        id,
        userId: user.id,
        identifier: deviceIdentifier,
        type: deviceType,
        name: deviceName,
        creationDate: new Date(nowMs()),
      });
    }
    const body = await issueUserTokens(
      user,
      clientId,
      { identifier: deviceIdentifier, type: deviceType },
      scopes,
      undefined,
    );
    return jsonResponse({ ...body, ...customResponse(user) });
  }

  async function refreshGrant(form: Form): Promise<Response> {
    const handle = form.get("refresh_token") ?? "";
    const grant = store.refreshGrants.get(handle);
    const clientId = form.get("client_id");
    const user = grant ? store.users.get(grant.userId) : undefined;
    if (
      !grant || !user || grant.expiresAt < nowMs() || grant.securityStamp !== user.securityStamp ||
      (clientId !== undefined && clientId !== grant.clientId)
    ) {
      if (grant && (!user || grant.securityStamp !== user?.securityStamp)) {
        store.refreshGrants.delete(handle);
      }
      return tokenError("invalid_grant");
    }
    const device = store.deviceOf(user.id, grant.deviceIdentifier);
    const body = await issueUserTokens(
      user,
      grant.clientId,
      { identifier: grant.deviceIdentifier, type: device?.type ?? 21 },
      grant.scopes,
      handle,
    );
    return jsonResponse(body);
  }

  async function clientCredentialsGrant(request: Request, form: Form): Promise<Response> {
    const basic = basicCredentials(request);
    const clientId = form.get("client_id") ?? basic?.id ?? "";
    const secret = form.get("client_secret") ?? basic?.secret ?? "";
    const dot = clientId.indexOf(".");
    const kind = dot < 0 ? clientId : clientId.slice(0, dot);
    const identifier = dot < 0 ? "" : clientId.slice(dot + 1);
    if (
      kind !== "internal" || identifier === "" || options.internalKey === undefined ||
      !constantTimeEqual(secret, options.internalKey)
    ) {
      return tokenError("invalid_client");
    }
    const scopes = requestedScopes(form, ["internal"]);
    if (!scopes) return tokenError("invalid_scope");
    const now = Math.floor(nowMs() / 1000);
    const token = await keys.sign({
      iss: options.issuer,
      nbf: now,
      iat: now,
      exp: now + INTERNAL_TOKEN_SECONDS,
      scope: scopes,
      client_id: clientId,
      sub: identifier,
      client_sub: identifier,
      jti: crypto.randomUUID().replaceAll("-", "").toUpperCase(),
    });
    return jsonResponse({
      access_token: token,
      expires_in: INTERNAL_TOKEN_SECONDS,
      token_type: "Bearer",
      scope: scopes.join(" "),
    });
  }

  return async (request: Request): Promise<Response> => {
    if (request.method !== "POST") return tokenError("invalid_request");
    const form = await readForm(request);
    if (!form) return tokenError("invalid_request");
    switch (form.get("grant_type")) {
      case "password":
        return await passwordGrant(request, form);
      case "refresh_token":
        return await refreshGrant(form);
      case "client_credentials":
        return await clientCredentialsGrant(request, form);
      default:
        return tokenError("unsupported_grant_type");
    }
  };
}
