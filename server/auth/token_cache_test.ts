import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import type { HubClaims } from "../../protocol/bitwarden/mod.ts";
import { AuthError, type TokenVerifier } from "./access_token.ts";
import { cacheVerifiedTokens } from "./token_cache.ts";

/** A verifier that counts calls and accepts tokens `ok:<exp seconds>`, refusing the rest. */
function countingVerifier(): { verify: TokenVerifier; calls: string[] } {
  const calls: string[] = [];
  const verify: TokenVerifier = (token) => {
    calls.push(token);
    const match = /^ok:(\d+)$/.exec(token);
    return match
      ? Promise.resolve({ sub: token, exp: Number(match[1]) } as HubClaims)
      : Promise.reject(new AuthError(401, "Token signature is invalid"));
  };
  return { verify, calls };
}

Deno.test("a verified token is checked once, and its claims are reused", async () => {
  const { verify, calls } = countingVerifier();
  const cached = cacheVerifiedTokens(verify, { now: () => 1_000_000 });
  const first = await cached("ok:5000");
  const second = await cached("ok:5000");
  deepStrictEqual(second, first);
  deepStrictEqual(calls, ["ok:5000"]);
  await cached("ok:6000");
  deepStrictEqual(calls, ["ok:5000", "ok:6000"]);
});

Deno.test("concurrent requests with one token share one verification", async () => {
  const { verify, calls } = countingVerifier();
  const cached = cacheVerifiedTokens(verify, { now: () => 0 });
  await Promise.all([cached("ok:100"), cached("ok:100"), cached("ok:100")]);
  strictEqual(calls.length, 1);
});

Deno.test("refusals are never cached", async () => {
  const { verify, calls } = countingVerifier();
  const cached = cacheVerifiedTokens(verify, { now: () => 0 });
  await rejects(cached("forged"), (e) => e instanceof AuthError && e.status === 401);
  await rejects(cached("forged"), AuthError);
  strictEqual(calls.length, 2);
});

Deno.test("a token is verified again once exp plus the skew has passed", async () => {
  const { verify, calls } = countingVerifier();
  let clock = 0;
  const cached = cacheVerifiedTokens(verify, { clockSkewSeconds: 300, now: () => clock });
  await cached("ok:100");
  clock = 399_999; // 100 s + 300 s skew, less a millisecond: still reused
  await cached("ok:100");
  strictEqual(calls.length, 1);
  clock = 400_000;
  await cached("ok:100");
  strictEqual(calls.length, 2);
});

Deno.test("a verification is reused for at most maxAgeMs", async () => {
  const { verify, calls } = countingVerifier();
  let clock = 0;
  const cached = cacheVerifiedTokens(verify, { maxAgeMs: 1_000, now: () => clock });
  await cached("ok:999999");
  clock = 999;
  await cached("ok:999999");
  clock = 1_000;
  await cached("ok:999999");
  strictEqual(calls.length, 2);
});

Deno.test("a token without exp is not reused", async () => {
  const calls: string[] = [];
  const cached = cacheVerifiedTokens((token) => {
    calls.push(token);
    return Promise.resolve({ sub: "u" });
  }, { now: () => 0 });
  await cached("t");
  await cached("t");
  strictEqual(calls.length, 2);
});

Deno.test("the oldest token is forgotten beyond maxEntries", async () => {
  const { verify, calls } = countingVerifier();
  const cached = cacheVerifiedTokens(verify, { maxEntries: 2, now: () => 0 });
  await cached("ok:1");
  await cached("ok:2");
  await cached("ok:3"); // forgets ok:1
  await cached("ok:2");
  await cached("ok:3");
  strictEqual(calls.length, 3);
  await cached("ok:1");
  deepStrictEqual(calls, ["ok:1", "ok:2", "ok:3", "ok:1"]);
});
