/**
 * Access-token authentication shared by the Notifications service and the API: token retrieval
 * from a request, JWT verification with `jose` (discovery + remote JWKS, or a static key set),
 * and the two authorization policies of the real service ("Application" for `/hub`, "Internal"
 * for `/send`).
 *
 * @module
 */

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import type { HubClaims } from "../../protocol/bitwarden/mod.ts";
import { cacheVerifiedTokens } from "./token_cache.ts";

/** Where the service gets its signing keys and which issuer it trusts. */
export interface AuthOptions {
  /** Identity authority base URL; keys come from its discovery document's `jwks_uri`. */
  readonly authority?: string;
  /** A static key set (offline setups and tests); takes precedence over `jwksFile` and `authority`. */
  readonly jwks?: JSONWebKeySet;
  /** Path of a JSON file holding a static key set; takes precedence over `authority`. */
  readonly jwksFile?: string;
  /**
   * Trusted issuer. Default: the `issuer` of the authority's discovery document (what ASP.NET
   * Core's JwtBearer handler validates against), else the authority URL.
   */
  readonly issuer?: string;
  /** Allowed clock skew for `exp`/`nbf` in seconds (default 300, as ASP.NET Core). */
  readonly clockSkewSeconds?: number;
  /** Minimum time between two JWKS refetches triggered by an unknown `kid` (default 30000). */
  readonly jwksCooldownMs?: number;
}

/** Why a request was refused by authentication or authorization; carries the HTTP status. */
export class AuthError extends Error {
  /** 401 (no or invalid token), 403 (valid token lacking a claim), 503 (authority unreachable). */
  readonly status: 401 | 403 | 503;

  /**
   * Creates an auth error.
   *
   * @param status HTTP status to answer with.
   * @param message What was wrong, starting with a capital, no trailing period.
   */
  constructor(status: 401 | 403 | 503, message: string) {
    super(message);
    this.name = "AuthError";
    this.status = status;
  }
}

/** Verifies an access token and returns its claims; throws {@linkcode AuthError}. */
export type TokenVerifier = (token: string) => Promise<HubClaims>;

/** Asymmetric algorithms accepted; `none` and HMAC are refused before any key lookup. */
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/**
 * Extracts the access token the way Bitwarden's `TokenRetrieval` does: a non-empty
 * `Authorization` header wins (a `Bearer ` prefix, case-insensitive, yields the trimmed rest;
 * any other scheme yields null WITHOUT consulting the query); otherwise the `access_token`
 * query parameter (key matched case-insensitively, as ASP.NET Core's query collection does).
 *
 * @example
 * ```ts
 * import { extractAccessToken } from "./access_token.ts";
 * const request = new Request("http://x/hub?access_token=abc");
 * console.assert(extractAccessToken(request) === "abc");
 * ```
 * @param request The HTTP request.
 * @returns The token, or null.
 */
export function extractAccessToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header !== null && header.trim() !== "") {
    const trimmed = header.trim();
    if (/^bearer\s/i.test(trimmed)) {
      const token = trimmed.slice(7).trim();
      return token === "" ? null : token;
    }
    return null;
  }
  const value = queryValue(new URL(request.url), "access_token");
  return value === null || value === "" ? null : value;
}

/**
 * Reads a query parameter with a case-insensitive key (first match), as ASP.NET Core does.
 *
 * @param url The request URL.
 * @param key The key, any case.
 * @returns The value, or null when absent.
 */
export function queryValue(url: URL, key: string): string | null {
  const lower = key.toLowerCase();
  // Splitting `search` ourselves instead of iterating `searchParams`: every hub connect reads
  // its access token this way, and building the whole parameter list (the token is most of it)
  // cost more than the rest of the lookup. A pair with `%` or `+` is decoded by
  // URLSearchParams itself, so the answer is exactly what iterating `searchParams` gives.
  for (const pair of url.search.slice(1).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const encoded = /[%+]/.test(pair);
    const name = encoded ? [...new URLSearchParams(pair).keys()][0]! : rawKey;
    if (name.toLowerCase() !== lower) continue;
    if (encoded) return new URLSearchParams(pair).values().next().value!;
    return eq < 0 ? "" : pair.slice(eq + 1);
  }
  return null;
}

/** Values of a claim that may be a string, a space-separated string (scope) or an array. */
function claimValues(claims: HubClaims, name: string, splitSpaces: boolean): string[] {
  const value = claims[name];
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const strings = list.filter((v): v is string => typeof v === "string");
  return splitSpaces ? strings.flatMap((s) => s.split(" ").filter((p) => p !== "")) : strings;
}

/**
 * Enforces the "Application" policy of `/hub`: `amr` includes `Application` or `external`
 * and `scope` includes `api` (an array, or a space-separated string).
 *
 * @param claims Verified token claims.
 * @throws {AuthError} 403 naming the missing claim.
 */
export function requireApplicationPolicy(claims: HubClaims): void {
  const amr = claimValues(claims, "amr", false);
  if (!amr.includes("Application") && !amr.includes("external")) {
    throw new AuthError(403, `Token lacks claim: amr must include Application or external`);
  }
  if (!claimValues(claims, "scope", true).includes("api")) {
    throw new AuthError(403, "Token lacks claim: scope must include api");
  }
}

/**
 * Enforces the "Internal" policy of `/send`: `scope` includes `internal`.
 *
 * @param claims Verified token claims.
 * @throws {AuthError} 403 naming the missing scope.
 */
export function requireInternalPolicy(claims: HubClaims): void {
  if (!claimValues(claims, "scope", true).includes("internal")) {
    throw new AuthError(403, "Token lacks claim: scope must include internal");
  }
}

interface KeySource {
  readonly getKey: JWTVerifyGetKey;
  readonly issuer: string;
}

async function fetchDiscovery(authority: string): Promise<{ issuer?: string; jwksUri: string }> {
  const url = `${authority.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new AuthError(503, `Identity authority unreachable: ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new AuthError(
      503,
      `Identity authority discovery failed: ${url}: HTTP ${response.status}`,
    );
  }
  let document: unknown;
  try {
    document = await response.json();
  } catch {
    throw new AuthError(503, `Identity authority discovery is not JSON: ${url}`);
  }
  const doc = document as { issuer?: unknown; jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== "string") {
    throw new AuthError(503, `Identity authority discovery lacks jwks_uri: ${url}`);
  }
  return typeof doc.issuer === "string"
    ? { issuer: doc.issuer, jwksUri: doc.jwks_uri }
    : { jwksUri: doc.jwks_uri };
}

async function readJwksFile(path: string): Promise<JSONWebKeySet> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new TypeError(`Cannot read JWKS file: ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as JSONWebKeySet;
    if (!parsed || !Array.isArray(parsed.keys)) throw new Error("no keys array");
    return parsed;
  } catch (error) {
    throw new TypeError(`Invalid JWKS file: ${path}: ${(error as Error).message}`);
  }
}

function describeJoseError(error: unknown, issuer: string): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof errors.JWTExpired) return new AuthError(401, "Token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return new AuthError(401, "Token not yet valid: nbf is in the future");
      case "iss":
        return new AuthError(
          401,
          `Token issuer is not trusted: got ${JSON.stringify(error.payload.iss)}, expected ${
            JSON.stringify(issuer)
          }`,
        );
      case "typ":
        return new AuthError(401, "Token type is not at+jwt");
      case "exp":
        return new AuthError(401, "Token lacks exp");
      default:
        return new AuthError(401, `Token claim invalid: ${error.claim}: ${error.message}`);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError(401, "Token signature is invalid");
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new AuthError(
      401,
      "Token signing key is unknown: no key in the key set matches its kid",
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new AuthError(401, "Token algorithm is not allowed");
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new AuthError(503, `Identity authority key set unavailable: ${error.message}`);
  }
  if (error instanceof errors.JOSEError) {
    return new AuthError(401, `Token is invalid: ${error.message}`);
  }
  return new AuthError(503, `Token could not be verified: ${(error as Error).message}`);
}

/**
 * Builds the token verifier: signature against the configured key source, header `typ` =
 * `at+jwt`, issuer, `exp` required, `exp`/`nbf` with the clock skew; `alg: none` refused.
 * With an authority the discovery document is fetched lazily (and refetched after a
 * failure), the JWKS is cached and refetched on an unknown `kid`. A token that verified is
 * accepted again without a second signature check until `exp` plus the skew, for at most
 * 10 minutes (`token_cache.ts`); refusals are checked every time.
 *
 * @param options Key source, issuer and skew.
 * @returns A verifier throwing {@linkcode AuthError} with a message naming the problem.
 * @throws {TypeError} When no key source is configured or a JWKS file is unreadable.
 */
export async function createTokenVerifier(options: AuthOptions): Promise<TokenVerifier> {
  const skew = options.clockSkewSeconds ?? 300;
  let sourcePromise: Promise<KeySource> | undefined;
  const staticJwks = options.jwks ??
    (options.jwksFile !== undefined ? await readJwksFile(options.jwksFile) : undefined);
  if (staticJwks !== undefined) {
    const issuer = options.issuer ?? options.authority?.replace(/\/+$/, "");
    if (issuer === undefined) {
      throw new TypeError("Invalid auth options: issuer is required with a static key set");
    }
    sourcePromise = Promise.resolve({ getKey: createLocalJWKSet(staticJwks), issuer });
  } else if (options.authority === undefined) {
    throw new TypeError("Invalid auth options: give authority, jwks or jwksFile");
  }
  const authority = options.authority;
  const loadSource = (): Promise<KeySource> => {
    if (sourcePromise) return sourcePromise;
    const attempt = fetchDiscovery(authority!).then((d) => ({
      getKey: createRemoteJWKSet(new URL(d.jwksUri), {
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
      }),
      issuer: options.issuer ?? d.issuer ?? authority!.replace(/\/+$/, ""),
    }));
    sourcePromise = attempt;
    // A failed discovery must not poison the cache: the next request retries.
    attempt.catch(() => {
      if (sourcePromise === attempt) sourcePromise = undefined;
    });
    return attempt;
  };

  const verify = async (token: string): Promise<HubClaims> => {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AuthError(401, "Token is malformed: not a compact JWS");
    }
    if (token.split(".").length !== 3) {
      throw new AuthError(401, "Token is malformed: not a compact JWS");
    }
    if (typeof header.alg !== "string" || header.alg.toLowerCase() === "none") {
      throw new AuthError(401, "Token is unsigned: alg none is not accepted");
    }
    if (!ALGORITHMS.includes(header.alg)) {
      throw new AuthError(401, `Token algorithm is not allowed: ${header.alg}`);
    }
    const source = await loadSource();
    try {
      const { payload } = await jwtVerify(token, source.getKey, {
        algorithms: ALGORITHMS,
        issuer: source.issuer,
        typ: "at+jwt",
        clockTolerance: skew,
        requiredClaims: ["exp"],
      });
      return payload as HubClaims;
    } catch (error) {
      throw describeJoseError(error, source.issuer);
    }
  };
  // A signature check costs far more than the rest of a connect or a `/send`: each token
  // string is verified once while it stays valid.
  return cacheVerifiedTokens(verify, { clockSkewSeconds: skew });
}
