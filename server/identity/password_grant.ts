/**
 * The `password` grant (master password hash, or an approved auth request's access code for
 * login with device), with the login response fields clients unlock the vault with.
 *
 * @module
 */

import { parseDeviceTypeClaim } from "../../protocol/bitwarden/mod.ts";
import { jsonResponse } from "../kernel/http.ts";
import type { User } from "../kernel/store.ts";
import { AUTH_REQUEST_LIFETIME_MS, verifySecret } from "../kernel/mod.ts";
import {
  basicCredentials,
  constantTimeEqual,
  type Form,
  type GrantContext,
  invalidCredentials,
  issueUserTokens,
  requestedScopes,
  STATIC_CLIENTS,
  tokenError,
} from "./_token_common.ts";

/** System.Version.TryParse: 2 to 4 dot-separated non-negative integers. */
function isDotNetVersion(value: string): boolean {
  return /^\d+(\.\d+){1,3}$/.test(value.trim());
}

/**
 * The fields a password login adds to the token response: keys, KDF settings and the
 * decryption options.
 *
 * @param user The user.
 * @returns The fields.
 */
export function loginResponseFields(user: User): Record<string, unknown> {
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

/**
 * Answers a `password` grant.
 *
 * @param ctx The grant context.
 * @param request The request (headers: client version, Basic credentials).
 * @param form The form.
 * @returns The token response or Duende's error.
 */
export async function passwordGrant(
  ctx: GrantContext,
  request: Request,
  form: Form,
): Promise<Response> {
  const clientId = form.get("client_id") ?? basicCredentials(request)?.id ?? "";
  if (!(clientId in STATIC_CLIENTS)) return tokenError("invalid_client");
  const scopes = requestedScopes(form, ["api", "offline_access"]);
  if (!scopes) return tokenError("invalid_scope");
  const username = (form.get("username") ?? "").trim().toLowerCase();
  const password = form.get("password") ?? "";
  if (username === "" || password === "" || username.length > 256) return invalidCredentials();
  const user = ctx.store.userByEmail(username);
  if (!user) return invalidCredentials();

  const deviceIdentifier = (form.get("deviceidentifier") ?? "").trim();
  const authRequestId = (form.get("authrequest") ?? "").trim().toLowerCase();
  const authRequest = authRequestId === "" ? undefined : ctx.store.authRequests.get(authRequestId);
  if (authRequestId !== "") {
    const usable = authRequest !== undefined && authRequest.userId === user.id &&
      authRequest.approved === true && authRequest.authenticationDate === null &&
      ctx.now() - authRequest.creationDate.getTime() <= AUTH_REQUEST_LIFETIME_MS &&
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
  const known = ctx.store.deviceOf(user.id, deviceIdentifier);
  if (authRequest) {
    if (!known || authRequest.requestDeviceIdentifier !== deviceIdentifier) {
      return tokenError(
        "device_error",
        "Auth requests are not supported on unknown devices",
        "auth request flow unsupported on unknown device",
      );
    }
    authRequest.authenticationDate = new Date(ctx.now());
  }
  if (known) {
    known.type = deviceType;
    known.name = deviceName;
  } else {
    const id = crypto.randomUUID();
    ctx.store.devices.set(id, {
      id,
      userId: user.id,
      identifier: deviceIdentifier,
      type: deviceType,
      name: deviceName,
      creationDate: new Date(ctx.now()),
    });
  }
  const body = await issueUserTokens(
    ctx,
    user,
    clientId,
    { identifier: deviceIdentifier, type: deviceType },
    scopes,
    undefined,
  );
  return jsonResponse({ ...body, ...loginResponseFields(user) });
}
