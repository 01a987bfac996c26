/**
 * The few Bitwarden client calls the end-to-end benchmarks make against any deployment (the
 * reference server or Vaultwarden): register an account, log a device in, call the API. The
 * bench does not compute the client-side KDF: the server only stores a hash of what the client
 * sends, so a random string stands in for the master password hash.
 *
 * @module
 */

const ENC_STRING =
  "2.AAAAAAAAAAAAAAAAAAAAAA==|AAAAAAAAAAAAAAAAAAAAAA==|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/** A registered account. */
export interface BenchAccount {
  /** E-mail. */
  readonly email: string;
  /** What the client sends as `password` in the password grant. */
  readonly passwordHash: string;
}

/** A logged-in device. */
export interface BenchDevice {
  /** The device identifier (the ContextId of the pushes its API calls make). */
  readonly deviceId: string;
  /** The account's user id (`sub`). */
  readonly userId: string;
  /** Access token (API and hub). */
  readonly accessToken: string;
}

/** A failed call: the status and the first part of the body. */
export class BenchHttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /**
   * @param what The call.
   * @param status HTTP status.
   * @param body Response text.
   */
  constructor(what: string, status: number, body: string) {
    super(`${what} answered ${status}: ${body.slice(0, 200)}`);
    this.name = "BenchHttpError";
    this.status = status;
  }
}

async function call(
  url: string,
  init: RequestInit & { readonly what: string },
): Promise<unknown> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new BenchHttpError(init.what, response.status, text);
  return text === "" ? undefined : JSON.parse(text);
}

function json(body: unknown, token?: string): RequestInit {
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  };
}

/**
 * Registers a fresh account: `register/send-verification-email` + `register/finish` (e-mail
 * verification off, as on the reference server and Vaultwarden with `SIGNUPS_VERIFY=false`).
 *
 * @param baseUrl The deployment (`http://host:port`, paths `/identity`, `/api`).
 * @param label Part of the e-mail, for logs.
 * @returns The account.
 * @throws {BenchHttpError} When the deployment refuses a step.
 */
export async function registerAccount(baseUrl: string, label: string): Promise<BenchAccount> {
  const email = `bench-${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const passwordHash = btoa(crypto.randomUUID());
  const identity = `${baseUrl}/identity/accounts/register`;
  const token = await call(`${identity}/send-verification-email`, {
    ...json({ email, name: "Bench", receiveMarketingEmails: false }),
    what: "POST /identity/accounts/register/send-verification-email",
  });
  if (typeof token !== "string") {
    throw new Error(`Registration needs e-mail verification on ${baseUrl}: turn it off`);
  }
  await call(`${identity}/finish`, {
    ...json({
      email,
      emailVerificationToken: token,
      masterPasswordHash: passwordHash,
      masterPasswordHint: null,
      userSymmetricKey: ENC_STRING,
      userAsymmetricKeys: { publicKey: btoa(crypto.randomUUID()), encryptedPrivateKey: ENC_STRING },
      kdf: 0,
      kdfIterations: 600_000,
      kdfMemory: null,
      kdfParallelism: null,
    }),
    what: "POST /identity/accounts/register/finish",
  });
  return { email, passwordHash };
}

/**
 * Logs a new web-vault device in with the password grant.
 *
 * @param baseUrl The deployment.
 * @param account The account.
 * @returns The device and its access token.
 * @throws {BenchHttpError} When the token endpoint refuses (for example HTTP 429).
 */
export async function loginDevice(baseUrl: string, account: BenchAccount): Promise<BenchDevice> {
  const deviceId = crypto.randomUUID();
  const answer = await call(`${baseUrl}/identity/connect/token`, {
    method: "POST",
    headers: { "device-type": "9", "bitwarden-client-version": "2026.8.0" },
    body: new URLSearchParams({
      grant_type: "password",
      username: account.email,
      password: account.passwordHash,
      scope: "api offline_access",
      client_id: "web",
      deviceType: "9",
      deviceIdentifier: deviceId,
      deviceName: "bench",
    }),
    what: "POST /identity/connect/token",
  }) as { access_token?: string };
  const accessToken = answer?.access_token;
  if (typeof accessToken !== "string") throw new Error("The token answer has no access_token");
  const claims = JSON.parse(atob(accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
  return { deviceId, userId: String(claims.sub).toLowerCase(), accessToken };
}

/**
 * Calls the API with a device's token and reads the JSON answer.
 *
 * @param baseUrl The deployment.
 * @param device The acting device.
 * @param request Method, path below `/api`, and body.
 * @returns The answer's JSON (undefined for an empty body).
 * @throws {BenchHttpError} On a non-2xx answer.
 */
export function apiCall(
  baseUrl: string,
  device: BenchDevice,
  request: { readonly method: string; readonly path: string; readonly body?: unknown },
): Promise<unknown> {
  return call(`${baseUrl}/api${request.path}`, {
    method: request.method,
    headers: {
      authorization: `Bearer ${device.accessToken}`,
      "content-type": "application/json",
    },
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    what: `${request.method} /api${request.path}`,
  });
}

/** The body of `POST /api/folders`. */
export const FOLDER_BODY = { name: ENC_STRING } as const;

/**
 * Creates an organization with one collection, owned by the device's user.
 *
 * @param baseUrl The deployment.
 * @param owner The owner's device.
 * @param account The owner's account (its e-mail is the billing e-mail).
 * @returns The organization and its collection.
 */
export async function createOrganization(
  baseUrl: string,
  owner: BenchDevice,
  account: BenchAccount,
): Promise<{ organizationId: string; collectionId: string }> {
  const org = await apiCall(baseUrl, owner, {
    method: "POST",
    path: "/organizations",
    body: {
      name: "Bench",
      billingEmail: account.email,
      planType: 0,
      key: ENC_STRING,
      keys: { publicKey: btoa(crypto.randomUUID()), encryptedPrivateKey: ENC_STRING },
      collectionName: ENC_STRING,
      useSecretsManager: false,
    },
  }) as { id?: string };
  if (typeof org?.id !== "string") throw new Error("The organization answer has no id");
  const organizationId = org.id.toLowerCase();
  const sync = await apiCall(baseUrl, owner, {
    method: "GET",
    path: "/sync?excludeDomains=true",
  }) as {
    collections?: { id?: string; organizationId?: string }[];
  };
  const collection = sync?.collections?.find((c) =>
    c.organizationId?.toLowerCase() === organizationId
  );
  if (typeof collection?.id !== "string") throw new Error("The sync lists no collection");
  return { organizationId, collectionId: collection.id.toLowerCase() };
}

/**
 * The body of `POST /api/ciphers/create` for a secure note in an organization collection.
 *
 * @param organizationId The organization.
 * @param collectionId Its collection.
 * @returns The body.
 */
export function orgCipherBody(organizationId: string, collectionId: string): unknown {
  return {
    cipher: { type: 2, name: ENC_STRING, secureNote: { type: 0 }, organizationId },
    collectionIds: [collectionId],
  };
}
