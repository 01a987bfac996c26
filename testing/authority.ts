/**
 * An OIDC-style test authority: serves discovery + JWKS and mints RS256 `at+jwt` access tokens
 * with arbitrary claims, optionally broken in one named way. Used by the Notifications tests and by
 * the conformance suite's `--act-as-authority` mode, so a target configured to trust this authority
 * can be driven with any identity and every kind of bad token.
 *
 * @module
 */

import { base64url, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, SignJWT } from "jose";

/** One deliberate defect of a minted token. */
export type TokenFault =
  /** `exp` an hour in the past (well beyond the 5 minute clock skew). */
  | "expired"
  /** `nbf` an hour in the future. */
  | "not-yet-valid"
  /** Signed with a key that is not the published key of that `kid`. */
  | "bad-signature"
  /** Unsigned: header `alg: none`, empty signature. */
  | "alg-none"
  /** Header `typ: JWT` instead of `at+jwt`. */
  | "wrong-typ"
  /** `iss` is not the authority's issuer. */
  | "wrong-issuer"
  /** Signed with a key whose `kid` is not in the JWKS. */
  | "unknown-kid";

/** Every {@linkcode TokenFault}, for suites that iterate over them. */
export const TOKEN_FAULTS: readonly TokenFault[] = [
  "expired",
  "not-yet-valid",
  "bad-signature",
  "alg-none",
  "wrong-typ",
  "wrong-issuer",
  "unknown-kid",
];

/** Options of {@linkcode ActingAuthority.mint}. */
export interface MintOptions {
  /** Claims of the token; they override the defaults (`iss`, `iat`, `nbf`, `exp`, `jti`). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** A deliberate defect, if any. */
  readonly fault?: TokenFault | undefined;
  /** Lifetime in seconds (default 3600). */
  readonly lifetimeSeconds?: number | undefined;
}

/** Options of {@linkcode ActingAuthority.create}. */
export interface ActingAuthorityOptions {
  /** Issuer written to discovery and tokens; defaults to the URL `listen` returns. */
  readonly issuer?: string;
}

/** Options of {@linkcode ActingAuthority.listen}. */
export interface ListenOptions {
  /** Interface to bind (default `127.0.0.1`). */
  readonly hostname?: string;
  /** Port to bind; 0 (default) picks a free one. */
  readonly port?: number;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = base64url.encode(crypto.getRandomValues(new Uint8Array(12)));
  const jwk = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: "RS256", use: "sig" } };
}

/**
 * A test identity authority.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ActingAuthority } from "./authority.ts";
 * const authority = await ActingAuthority.create();
 * const url = await authority.listen({ port: 0 });
 * try {
 *   const token = await authority.mint({ claims: { sub: "u1", scope: ["api"], amr: ["Application"] } });
 *   assert.equal(token.split(".").length, 3);
 *   const discovery = await (await fetch(`${url}/.well-known/openid-configuration`)).json();
 *   assert.equal(discovery.issuer, url);
 * } finally {
 *   await authority.close();
 * }
 * ```
 */
export class ActingAuthority {
  #keys: SigningKey[];
  #rogue: SigningKey;
  #issuer: string | undefined;
  #server: Deno.HttpServer | undefined;
  #url: string | undefined;

  private constructor(keys: SigningKey[], rogue: SigningKey, issuer: string | undefined) {
    this.#keys = keys;
    this.#rogue = rogue;
    this.#issuer = issuer;
  }

  /**
   * Creates an authority with a fresh RSA signing key.
   *
   * @param options Optional fixed issuer.
   * @returns The authority (not yet listening).
   */
  static async create(options: ActingAuthorityOptions = {}): Promise<ActingAuthority> {
    const [key, rogue] = await Promise.all([newSigningKey(), newSigningKey()]);
    return new ActingAuthority([key], rogue, options.issuer);
  }

  /** Base URL once listening (`http://127.0.0.1:<port>`), else undefined. */
  get url(): string | undefined {
    return this.#url;
  }

  /** The issuer tokens carry: the configured one, else the listening URL. */
  get issuer(): string {
    const issuer = this.#issuer ?? this.#url;
    if (issuer === undefined) {
      throw new Error("Authority has no issuer: call listen() first or pass an issuer to create()");
    }
    return issuer;
  }

  /** The published key set (public keys only). */
  get jwks(): JSONWebKeySet {
    return { keys: this.#keys.map((k) => ({ ...k.publicJwk })) };
  }

  /**
   * Starts serving discovery and JWKS over HTTP.
   *
   * @param options Host and port (0 = a free port).
   * @returns The base URL, e.g. `http://127.0.0.1:40123`.
   */
  listen(options: ListenOptions = {}): Promise<string> {
    if (this.#server) return Promise.resolve(this.#url!);
    const hostname = options.hostname ?? "127.0.0.1";
    return new Promise((resolve, reject) => {
      try {
        this.#server = Deno.serve({
          hostname,
          port: options.port ?? 0,
          onListen: (addr) => {
            const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
            this.#url = `http://${host}:${addr.port}`;
            resolve(this.#url);
          },
        }, (request) => this.fetch(request));
      } catch (error) {
        reject(error);
      }
    });
  }

  /**
   * Serves `/.well-known/openid-configuration` and its `jwks_uri`
   * (`/.well-known/openid-configuration/jwks`, as IdentityServer names it).
   *
   * @param request The HTTP request.
   * @returns The response.
   */
  fetch(request: Request): Response {
    const url = new URL(request.url);
    const base = this.#url ?? url.origin;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Response.json({ message: `Method not allowed: ${request.method}` }, { status: 405 });
    }
    if (url.pathname === "/.well-known/openid-configuration") {
      return Response.json({
        issuer: this.#issuer ?? base,
        jwks_uri: `${base}/.well-known/openid-configuration/jwks`,
        id_token_signing_alg_values_supported: ["RS256"],
        response_types_supported: ["token"],
        subject_types_supported: ["public"],
      });
    }
    if (url.pathname === "/.well-known/openid-configuration/jwks") {
      return Response.json(this.jwks, { headers: { "content-type": "application/jwk-set+json" } });
    }
    return Response.json({ message: `Not found: ${url.pathname}` }, { status: 404 });
  }

  /**
   * Adds a new signing key; tokens minted afterwards use it. Relying parties that cached the old
   * key set must refetch it on the unknown `kid`.
   *
   * @returns The new key id.
   */
  async rotateKey(): Promise<string> {
    const key = await newSigningKey();
    this.#keys.push(key);
    return key.kid;
  }

  /**
   * Mints an RS256 access token with header `typ: at+jwt`.
   *
   * @param options Claims, optional fault and lifetime.
   * @returns The compact JWS.
   */
  async mint(options: MintOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const lifetime = options.lifetimeSeconds ?? 3600;
    const key = this.#keys[this.#keys.length - 1]!;
    // Fault claims are applied last so a caller's claims cannot accidentally repair the defect.
    const faultClaims: Record<string, unknown> = {};
    if (options.fault === "expired") {
      Object.assign(faultClaims, { nbf: now - 7200, exp: now - 3600 });
    }
    if (options.fault === "not-yet-valid") {
      Object.assign(faultClaims, { nbf: now + 3600, exp: now + 3600 + lifetime });
    }
    if (options.fault === "wrong-issuer") {
      faultClaims.iss = `${this.issuer.replace(/\/+$/, "")}/not-this-issuer`;
    }
    const claims = {
      iss: this.issuer,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      jti: base64url.encode(crypto.getRandomValues(new Uint8Array(12))),
      ...options.claims,
      ...faultClaims,
    };
    const typ = options.fault === "wrong-typ" ? "JWT" : "at+jwt";
    if (options.fault === "alg-none") {
      const header = base64url.encode(JSON.stringify({ alg: "none", typ, kid: key.kid }));
      return `${header}.${base64url.encode(JSON.stringify(claims))}.`;
    }
    const signer = options.fault === "unknown-kid"
      ? { kid: this.#rogue.kid, privateKey: this.#rogue.privateKey }
      : options.fault === "bad-signature"
      ? { kid: key.kid, privateKey: this.#rogue.privateKey }
      : key;
    return await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ, kid: signer.kid })
      .sign(signer.privateKey);
  }

  /** Stops the HTTP server (if listening). */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await server.shutdown();
  }
}
