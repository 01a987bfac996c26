/**
 * The master password hash a Bitwarden client sends as `password` in the password grant and as
 * `masterPasswordHash` on registration (PBKDF2 accounts): the master key is
 * `PBKDF2-SHA256(password, lower(trim(email)), iterations)` and the hash is
 * `base64(PBKDF2-SHA256(masterKey, password, 1))`. Pure computation (WebCrypto), no I/O.
 *
 * @module
 */

const encoder = new TextEncoder();

async function pbkdf2(
  secret: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", secret as BufferSource, "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Derives the master password hash a client sends for a PBKDF2 account.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { masterPasswordHash } from "./master_password.ts";
 * const hash = await masterPasswordHash("correct horse battery staple", "Alice@Example.com", 5000);
 * assert.equal(hash, "Wp0cuFrBdgGQf1MnSMjPqXOzczCiCp5luRpAbMMDpz4=");
 * ```
 * @param password The master password.
 * @param email The account e-mail (the salt, trimmed and lowercased).
 * @param iterations The account's PBKDF2 iterations (from prelogin's `kdfIterations`).
 * @returns The base64 hash.
 */
export async function masterPasswordHash(
  password: string,
  email: string,
  iterations: number,
): Promise<string> {
  const passwordBytes = encoder.encode(password);
  const masterKey = await pbkdf2(
    passwordBytes,
    encoder.encode(email.trim().toLowerCase()),
    iterations,
  );
  return toBase64(await pbkdf2(masterKey, passwordBytes, 1));
}
