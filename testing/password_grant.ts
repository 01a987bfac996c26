/**
 * The OAuth password grant as Bitwarden clients send it (`POST {base}/identity/connect/token`),
 * for tests that log in against the reference server or a Vaultwarden-like target. The suite's
 * own driver (`conformance/driver/`) has its production login; this is the tests' one helper.
 *
 * @module
 */

/** What clients send unless a test says otherwise. */
const CLIENT_HEADERS: Readonly<Record<string, string>> = {
  "bitwarden-client-version": "2026.8.0",
};

/**
 * The form a client sends for the password grant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { passwordForm } from "./password_grant.ts";
 * const form = passwordForm({ email: "a@example.com", hash: "aGFzaA==" }, { id: "d1", type: 9 });
 * assert.equal(form.get("grant_type"), "password");
 * assert.equal(form.get("deviceType"), "9");
 * ```
 * @param user E-mail and master password hash.
 * @param device Identifier and DeviceType.
 * @param clientId Client id (default `web`).
 * @returns The form.
 */
export function passwordForm(
  user: { readonly email: string; readonly hash: string },
  device: { readonly id: string; readonly type: number },
  clientId = "web",
): URLSearchParams {
  return new URLSearchParams({
    grant_type: "password",
    username: user.email,
    password: user.hash,
    scope: "api offline_access",
    client_id: clientId,
    deviceType: String(device.type),
    deviceIdentifier: device.id,
    deviceName: "test",
  });
}

/** Options of {@linkcode postToken}. */
export interface PostTokenOptions {
  /** Extra headers (default: the client version header). */
  readonly headers?: Readonly<Record<string, string>>;
  /** An HTTP client (a private CA, for TLS tests). */
  readonly client?: Deno.HttpClient;
}

/**
 * POSTs a token request form and returns the raw response (status, headers, body unread).
 *
 * @param base Deployment base URL (the token endpoint is `{base}/identity/connect/token`).
 * @param form The form.
 * @param options Headers and HTTP client.
 * @returns The response.
 */
export function postToken(
  base: string,
  form: URLSearchParams,
  options: PostTokenOptions = {},
): Promise<Response> {
  return fetch(`${base}/identity/connect/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      ...(options.headers ?? CLIENT_HEADERS),
    },
    body: form,
    ...(options.client ? { client: options.client } : {}),
  });
}

/**
 * POSTs a token request form and reads the JSON answer.
 *
 * @param base Deployment base URL.
 * @param form The form.
 * @param headers Extra headers (default: the client version header).
 * @returns Status and JSON body.
 */
export async function tokenRequest(
  base: string,
  form: URLSearchParams,
  headers: Readonly<Record<string, string>> = CLIENT_HEADERS,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await postToken(base, form, { headers });
  return { status: response.status, body: await response.json() };
}

/**
 * Logs in with the password grant and returns the access token.
 *
 * @param base Deployment base URL.
 * @param user E-mail and master password hash.
 * @param device Identifier and DeviceType.
 * @returns The access token.
 * @throws {Error} With the status and body when the login is refused.
 */
export async function passwordLogin(
  base: string,
  user: { readonly email: string; readonly hash: string },
  device: { readonly id: string; readonly type: number },
): Promise<string> {
  const { status, body } = await tokenRequest(base, passwordForm(user, device));
  if (status !== 200) throw new Error(`Login failed: ${status} ${JSON.stringify(body)}`);
  return body.access_token as string;
}
