/**
 * RS256 signing keys of the Identity role: generated at start or loaded from a PEM (PKCS#8)
 * or JWK file; rotation signs with a new key while the JWKS keeps publishing the previous one,
 * so tokens issued just before a rotation still verify.
 *
 * @module
 */

import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";

interface KeyEntry {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function entryFromPrivate(privateKey: CryptoKey, kid?: string): Promise<KeyEntry> {
  const jwk = await exportJWK(privateKey);
  const publicJwk: JWK = { kty: "RSA", n: jwk.n!, e: jwk.e! };
  const id = kid ?? (await calculateJwkThumbprint(publicJwk)).slice(0, 32);
  return { kid: id, privateKey, publicJwk: { ...publicJwk, kid: id, alg: "RS256", use: "sig" } };
}

/** The signing key set of an issuer. */
export class SigningKeys {
  #current: KeyEntry;
  #previous: KeyEntry | undefined;

  private constructor(current: KeyEntry) {
    this.#current = current;
  }

  /**
   * Generates a fresh RSA-2048 key.
   *
   * @returns The key set.
   */
  static async generate(): Promise<SigningKeys> {
    const { privateKey } = await generateKeyPair("RS256", {
      extractable: true,
      modulusLength: 2048,
    });
    return new SigningKeys(
      await entryFromPrivate(
        privateKey,
        base64url.encode(crypto.getRandomValues(new Uint8Array(12))),
      ),
    );
  }

  /**
   * Loads a private key from a file: PEM `PRIVATE KEY` (PKCS#8) or a JSON RSA private JWK
   * (its `kid` is kept; otherwise the kid is the key's thumbprint).
   *
   * @param path The file.
   * @returns The key set.
   * @throws {TypeError} Naming the file and what is wrong with it.
   */
  static async fromFile(path: string): Promise<SigningKeys> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new TypeError(`Cannot read signing key: ${path}: ${(error as Error).message}`);
    }
    try {
      if (text.includes("-----BEGIN PRIVATE KEY-----")) {
        const key = await importPKCS8(text, "RS256", { extractable: true });
        return new SigningKeys(await entryFromPrivate(key as CryptoKey));
      }
      const jwk = JSON.parse(text) as JWK;
      if (jwk.kty !== "RSA" || typeof jwk.d !== "string") {
        throw new Error("expected an RSA private JWK (kty RSA with d)");
      }
      const key = await importJWK({ ...jwk, alg: "RS256" }, "RS256", { extractable: true });
      return new SigningKeys(await entryFromPrivate(key as CryptoKey, jwk.kid));
    } catch (error) {
      throw new TypeError(
        `Invalid signing key: ${path}: ${
          (error as Error).message
        } (expected PEM PKCS#8 "PRIVATE KEY" or an RSA private JWK)`,
      );
    }
  }

  /** The kid new tokens are signed with. */
  get currentKid(): string {
    return this.#current.kid;
  }

  /** The published key set: the current key, then the previous one after a rotation. */
  get jwks(): JSONWebKeySet {
    const keys = [this.#current.publicJwk];
    if (this.#previous) keys.push(this.#previous.publicJwk);
    return { keys: keys.map((k) => ({ ...k })) };
  }

  /**
   * Rotates: a new current key; the old current key stays published as the previous key
   * (a key older than that is dropped).
   *
   * @returns The new kid.
   */
  async rotate(): Promise<string> {
    const next = await SigningKeys.generate();
    this.#previous = this.#current;
    this.#current = next.#current;
    return this.#current.kid;
  }

  /**
   * Signs a JWT with the current key (`alg: RS256`, `kid`, the given `typ`).
   *
   * @param claims The payload.
   * @param options Header `typ` (default `at+jwt`).
   * @returns The compact JWS.
   */
  sign(claims: JWTPayload, options: { typ?: string } = {}): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: this.#current.kid, typ: options.typ ?? "at+jwt" })
      .sign(this.#current.privateKey);
  }
}
