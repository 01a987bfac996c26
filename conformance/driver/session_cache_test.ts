import assert from "node:assert/strict";
import { RecordingTrace } from "../trace.ts";
import { TargetLimitReached } from "../types.ts";
import {
  type Credential,
  LOGIN_LIMIT_PERIOD_MS,
  REFRESH_MARGIN_MS,
  SessionCache,
} from "./session_cache.ts";

function credential(fields: Partial<Credential> = {}): Credential {
  return {
    email: "a@x",
    userId: "u",
    deviceId: crypto.randomUUID(),
    deviceType: 9,
    accessToken: crypto.randomUUID(),
    refreshToken: "r",
    expiresAtMs: Date.now() + 7_200_000,
    epoch: 0,
    ...fields,
  };
}

Deno.test("concurrent requests for one device log in once", async () => {
  const cache = new SessionCache();
  let logins = 0;
  const steps = {
    login: async () => {
      logins++;
      await new Promise((r) => setTimeout(r, 10));
      return credential();
    },
    refresh: () => Promise.resolve(undefined),
  };
  const [a, b] = await Promise.all([cache.device("k", steps), cache.device("k", steps)]);
  assert.equal(a.credential.deviceId, b.credential.deviceId);
  assert.equal(logins, 1);
});

Deno.test("a failed login is not remembered", async () => {
  const cache = new SessionCache();
  await assert.rejects(
    cache.device("k", {
      login: () => Promise.reject(new Error("429")),
      refresh: () => Promise.resolve(undefined),
    }),
  );
  const got = await cache.device("k", {
    login: () => Promise.resolve(credential()),
    refresh: () => Promise.resolve(undefined),
  });
  assert.equal(got.reused, false);
  assert.equal(cache.logins, 1);
});

Deno.test("a token near expiry is refreshed; a refused refresh logs in again", async () => {
  const cache = new SessionCache();
  const old = credential({ expiresAtMs: Date.now() + REFRESH_MARGIN_MS - 1000 });
  await cache.device("k", {
    login: () => Promise.resolve(old),
    refresh: () => Promise.resolve(undefined),
  });
  const refreshed = await cache.device("k", {
    login: () => Promise.reject(new Error("must refresh")),
    refresh: (c) => Promise.resolve({ ...c, accessToken: "new", expiresAtMs: Date.now() + 1e7 }),
  });
  assert.deepEqual([refreshed.reused, refreshed.credential.accessToken], [true, "new"]);
  cache.membershipChanged();
  const relogged = await cache.device("k", {
    login: () => Promise.resolve(credential()),
    refresh: () => Promise.resolve(undefined),
  });
  assert.equal(relogged.reused, false);
  assert.deepEqual([cache.logins, cache.reuses], [2, 1]);
});

Deno.test("only the account whose memberships changed is stale", async () => {
  const cache = new SessionCache();
  const steps = (email: string) => ({
    login: () => Promise.resolve(credential({ email, epoch: cache.epoch })),
    refresh: (c: Credential) => Promise.resolve({ ...c, accessToken: "refreshed" }),
  });
  await cache.device("a", steps("a@x"));
  await cache.device("b", steps("b@x"));
  cache.membershipChanged("A@x");
  assert.equal((await cache.device("a", steps("a@x"))).credential.accessToken, "refreshed");
  assert.notEqual((await cache.device("b", steps("b@x"))).credential.accessToken, "refreshed");
});

Deno.test("slots: one case's names get distinct devices; the same name in a later case reuses", () => {
  const cache = new SessionCache();
  const one = new RecordingTrace();
  const two = new RecordingTrace();
  const ask = (trace: RecordingTrace, name: string, shared = false) =>
    cache.slotFor({ email: "a@x", deviceType: 9, name, trace, ...(shared ? { shared } : {}) });
  const web = ask(one, "web");
  assert.notEqual(ask(one, "web-2"), web);
  assert.equal(ask(one, "web"), web);
  assert.equal(ask(two, "web"), web);
  assert.equal(ask(two, "admin", true), web);
});

Deno.test("forgetAccount: every device of a stamped account logs in again, others are reused", async () => {
  const cache = new SessionCache();
  const trace = new RecordingTrace();
  const keyOf = (email: string, deviceType: number) =>
    cache.slotFor({ email, deviceType, name: `${email}-${deviceType}`, trace });
  const steps = (email: string) => ({
    login: () => Promise.resolve(credential({ email })),
    refresh: () => Promise.resolve(undefined),
  });
  const keys = [keyOf("A@x", 9), keyOf("a@x", 6), keyOf("b@x", 9)];
  for (const [i, key] of keys.entries()) await cache.device(key, steps(i < 2 ? "a@x" : "b@x"));
  cache.forgetAccount("A@X");
  const again = await Promise.all(
    keys.map((key, i) => cache.device(key, steps(i < 2 ? "a@x" : "b@x"))),
  );
  assert.deepEqual(again.map((d) => d.reused), [false, false, true]);
  assert.equal(cache.logins, 5);
});

Deno.test("a spent login budget holds for Retry-After, else one refill period", () => {
  const cache = new SessionCache();
  let now = 1_000_000;
  const clock = () => now;
  const spent = new TargetLimitReached("spent");
  assert.equal(cache.loginLimit(clock), undefined);
  cache.loginLimitReached(spent, undefined, clock);
  assert.equal(cache.loginLimit(clock), spent);
  now += LOGIN_LIMIT_PERIOD_MS - 1;
  assert.equal(cache.loginLimit(clock), spent);
  now += 1;
  assert.equal(cache.loginLimit(clock), undefined, "a login may have refilled");
  cache.loginLimitReached(spent, 5_000, clock);
  now += 5_000;
  assert.equal(cache.loginLimit(clock), undefined, "Retry-After wins");
});
