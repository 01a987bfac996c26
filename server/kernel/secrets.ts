/**
 * Server-side hashing of the client's master password hash (clients send a derived hash, the
 * server hashes it again, as Bitwarden does with ASP.NET Identity): PBKDF2-SHA256 via WebCrypto.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { StoredSecret } from "./store.ts";

/** Default server-side PBKDF2 iterations: enough for a reference, cheap on shared CI cores. */
export const DEFAULT_SECRET_ITERATIONS = 10_000;

async function derive(secret: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * Hashes a secret with a fresh random salt.
 *
 * @example
 * ```ts
 * import { hashSecret, verifySecret } from "./secrets.ts";
 * const stored = await hashSecret("client-hash", { iterations: 1000 });
 * console.assert(await verifySecret("client-hash", stored));
 * ```
 * @param secret The client's master password hash (or any secret).
 * @param options PBKDF2 iterations.
 * @returns The stored form.
 */
export async function hashSecret(
  secret: string,
  options: { iterations?: number | undefined } = {},
): Promise<StoredSecret> {
  const iterations = options.iterations ?? DEFAULT_SECRET_ITERATIONS;
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(secret, salt, iterations);
  return {
    hash: Buffer.from(hash).toString("base64"),
    salt: Buffer.from(salt).toString("base64"),
    iterations,
  };
}

/**
 * Checks a secret against a stored hash in constant time.
 *
 * @param secret The candidate.
 * @param stored The stored form.
 * @returns True when it matches.
 */
export async function verifySecret(secret: string, stored: StoredSecret): Promise<boolean> {
  const expected = Buffer.from(stored.hash, "base64");
  const actual = await derive(
    secret,
    new Uint8Array(Buffer.from(stored.salt, "base64")),
    stored.iterations,
  );
  if (actual.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff |= actual[i]! ^ expected[i]!;
  return diff === 0;
}
