import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { resolveTarget } from "../target.ts";
import { RecordingTrace } from "../trace.ts";
import {
  type CaseContext,
  CaseUnsupported,
  type GivenAccount,
  TargetLimitReached,
} from "../types.ts";
import { ApiSession } from "./api_client.ts";
import {
  leaseAccounts,
  registerAccount,
  registerAccounts,
  registerThrowawayAccount,
} from "./identity_world.ts";
import { LIMIT_REASONS } from "./rate_limit.ts";
import { sessionCache } from "./session_cache.ts";

interface FakeOptions {
  /** Password logins allowed before 429 (default unlimited). */
  loginBurst?: number;
  /** `Retry-After` seconds on a login 429 (default none, as Vaultwarden). */
  retryAfter?: number;
  /** Registration answer: a token (default), 204 (verification by mail), refused, or 429. */
  register?: "token" | "mail" | "refused" | "limited";
}

/** A small identity + API that counts what the suite does to it. */
function fakeIdentity(options: FakeOptions = {}, accounts?: GivenAccount[]) {
  const counts = { password: 0, refresh: 0, limited: 0, register: 0, missing: 0, prelogin: 0 };
  let burst = options.loginBurst ?? Infinity;
  const tokens = new Set<string>();
  const token = (sub: string, device: string) => {
    const body = Buffer.from(JSON.stringify({ sub, device })).toString("base64url");
    const jwt = `e30.${body}.${crypto.randomUUID()}`;
    tokens.add(jwt);
    return jwt;
  };
  const json = (value: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(value), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/identity/accounts/register/send-verification-email") {
      counts.register++;
      await req.body?.cancel();
      switch (options.register ?? "token") {
        case "token":
          return json("verify-token");
        case "mail":
          return new Response(null, { status: 204 });
        case "refused":
          return json({ message: "Registration not allowed or user already exists" }, 400);
        case "limited":
          return json({ message: "Too many requests" }, 429);
      }
    }
    if (path === "/identity/accounts/register/finish") {
      await req.body?.cancel();
      return json({});
    }
    if (path === "/identity/accounts/prelogin") {
      await req.body?.cancel();
      counts.prelogin++;
      return json({ kdf: 0, kdfIterations: 5000 });
    }
    if (path === "/identity/connect/token") {
      const form = new URLSearchParams(await req.text());
      if (form.get("grant_type") === "refresh_token") {
        counts.refresh++;
        const [sub, device] = (form.get("refresh_token") ?? "").split("|");
        return json({ access_token: token(sub!, device!), expires_in: 7200 });
      }
      if (burst <= 0) {
        counts.limited++;
        return json(
          { message: "Too many login requests" },
          429,
          options.retryAfter === undefined ? {} : { "retry-after": String(options.retryAfter) },
        );
      }
      burst--;
      counts.password++;
      const sub = `user-${form.get("username")}`;
      const device = form.get("deviceIdentifier")!;
      return json({
        access_token: token(sub, device),
        refresh_token: `${sub}|${device}`,
        expires_in: 7200,
      });
    }
    if (path === "/api/folders") {
      await req.body?.cancel();
      const auth = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
      return tokens.has(auth) ? json({ id: crypto.randomUUID() }) : json({ message: "no" }, 401);
    }
    await req.body?.cancel();
    if (path.startsWith("/api/policies/")) {
      counts.missing++;
      return json({ error: { code: 404, reason: "Not Found" } }, 404);
    }
    if (path.startsWith("/api/ciphers/")) return json({ message: "Cipher doesn't exist" }, 404);
    return json({ message: "Not found" }, 404);
  });
  const target = resolveTarget(
    { target: `http://127.0.0.1:${server.addr.port}` },
    {},
    accounts ? { accounts } : {},
  );
  return {
    counts,
    target,
    refill(n: number) {
      burst += n;
    },
    revokeAll() {
      tokens.clear();
    },
    close: () => server.shutdown(),
  };
}

function context(target: CaseContext["target"], timeoutMs = 30_000): CaseContext {
  return {
    target,
    trace: new RecordingTrace(),
    signal: new AbortController().signal,
    timeoutMs,
    graceMs: 100,
    seed: 1,
    runs: 1,
    log() {},
  };
}

const ACCOUNT = { email: "alice@example.com", passwordHash: "x" };

Deno.test("a second case asking for the same account and device type reuses the device", async () => {
  const fake = fakeIdentity();
  try {
    const first = await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    const second = await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    assert.equal(second.deviceId, first.deviceId);
    assert.equal(second.accessToken, first.accessToken);
    const other = await ApiSession.login(context(fake.target), ACCOUNT, {
      name: "desktop",
      deviceType: DeviceType.WindowsDesktop,
    });
    assert.notEqual(other.deviceId, first.deviceId);
    assert.equal(fake.counts.password, 2);
    assert.equal(sessionCache(fake.target).logins, 2);
  } finally {
    await fake.close();
  }
});

Deno.test("two connections of one case with one device type get two devices", async () => {
  const fake = fakeIdentity();
  try {
    const ctx = context(fake.target);
    const [acting, listener] = await Promise.all([
      ApiSession.login(ctx, ACCOUNT, { name: "acting" }),
      ApiSession.login(ctx, ACCOUNT, { name: "listener" }),
    ]);
    assert.notEqual(acting.deviceId, listener.deviceId);
    // A later case gets both back by their names' order of asking.
    const later = context(fake.target);
    const again = await ApiSession.login(later, ACCOUNT, { name: "acting" });
    assert.equal(again.deviceId, acting.deviceId);
    assert.equal(fake.counts.password, 2);
  } finally {
    await fake.close();
  }
});

Deno.test("a setup session shares the device the case's connection then claims", async () => {
  const fake = fakeIdentity();
  try {
    const ctx = context(fake.target);
    const admin = await ApiSession.login(ctx, ACCOUNT, { name: "admin", shared: true });
    const web = await ApiSession.login(ctx, ACCOUNT, { name: "web" });
    assert.equal(web.deviceId, admin.deviceId);
    assert.equal(fake.counts.password, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("a membership change refreshes the reused token instead of logging in again", async () => {
  const fake = fakeIdentity();
  try {
    const first = await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    sessionCache(fake.target).membershipChanged(ACCOUNT.email);
    const second = await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    assert.equal(second.deviceId, first.deviceId);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.deepEqual([fake.counts.password, fake.counts.refresh], [1, 1]);
  } finally {
    await fake.close();
  }
});

Deno.test("a token the API refuses is not handed to the next case", async () => {
  const fake = fakeIdentity();
  try {
    const first = await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    fake.revokeAll();
    await assert.rejects(first.api("POST", "/folders", {}), { name: "ApiError", status: 401 });
    const second = await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    assert.notEqual(second.deviceId, first.deviceId);
    await second.api("POST", "/folders", {});
    assert.equal(fake.counts.password, 2);
  } finally {
    await fake.close();
  }
});

Deno.test("a spent login limit without Retry-After is TargetLimitReached naming the settings", async () => {
  const fake = fakeIdentity({ loginBurst: 1 });
  try {
    await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    const error = await ApiSession.login(context(fake.target), ACCOUNT, {
      name: "cli",
      deviceType: DeviceType.LinuxCLI,
    }).catch((e) => e);
    assert.ok(error instanceof TargetLimitReached, String(error));
    assert.ok(!(error instanceof CaseUnsupported));
    assert.equal(error.message, LIMIT_REASONS.login);
    assert.match(error.message, /LOGIN_RATELIMIT_MAX_BURST.*LOGIN_RATELIMIT_SECONDS/);
    // The cached device still serves; once the limit refills a new device logs in.
    await ApiSession.login(context(fake.target), ACCOUNT, { name: "web" });
    fake.refill(1);
    await ApiSession.login(context(fake.target), ACCOUNT, {
      name: "cli",
      deviceType: DeviceType.LinuxCLI,
    });
    assert.deepEqual([fake.counts.password, fake.counts.limited], [2, 1]);
    // Once the budget was found spent, the run registers no account it could not log in to.
    const registered = fake.counts.register;
    const refused = await ApiSession.register(context(fake.target), "late").catch((e) => e);
    assert.ok(refused instanceof TargetLimitReached, String(refused));
    assert.equal(fake.counts.register, registered);
  } finally {
    await fake.close();
  }
});

Deno.test("a 429 with a Retry-After that fits the case's budget is waited out", async () => {
  const fake = fakeIdentity({ loginBurst: 0, retryAfter: 1 });
  try {
    setTimeout(() => fake.refill(1), 500);
    const started = performance.now();
    await ApiSession.login(context(fake.target, 10_000), ACCOUNT, { name: "web" });
    assert.ok(performance.now() - started >= 900);
    assert.deepEqual([fake.counts.password, fake.counts.limited], [1, 1]);
  } finally {
    await fake.close();
  }
});

Deno.test("a Retry-After longer than half the case's budget is not waited", async () => {
  const fake = fakeIdentity({ loginBurst: 0, retryAfter: 3 });
  try {
    const started = performance.now();
    await assert.rejects(
      ApiSession.login(context(fake.target, 4_000), ACCOUNT, { name: "web" }),
      TargetLimitReached,
    );
    assert.ok(performance.now() - started < 1000);
  } finally {
    await fake.close();
  }
});

Deno.test("registration refused, or needing e-mail verification, is UNSUPPORTED once per run", async () => {
  for (
    const [mode, pattern] of [
      ["refused", /refuses to register them.*SIGNUPS_ALLOWED.*--accounts FILE/],
      ["mail", /e-mails it for verification.*--accounts FILE/],
    ] as const
  ) {
    const fake = fakeIdentity({ register: mode });
    try {
      await assert.rejects(registerAccount(context(fake.target), "a"), (error: Error) => {
        assert.ok(error instanceof CaseUnsupported);
        assert.match(error.message, pattern);
        return true;
      });
      await assert.rejects(registerAccount(context(fake.target), "b"), CaseUnsupported);
      assert.equal(fake.counts.register, 1, mode);
    } finally {
      await fake.close();
    }
  }
});

Deno.test("a spent registration limit stops the case without closing registration for the run", async () => {
  const fake = fakeIdentity({ register: "limited" });
  try {
    const ctx = context(fake.target);
    await assert.rejects(leaseAccounts(ctx, "p", 2), (error: Error) => {
      assert.ok(error instanceof TargetLimitReached);
      assert.equal(error.message, LIMIT_REASONS.register);
      return true;
    });
    await assert.rejects(leaseAccounts(ctx, "p", 2), TargetLimitReached);
    assert.equal(fake.counts.register, 4);
  } finally {
    await fake.close();
  }
});

Deno.test("a route the target lacks is UNSUPPORTED, found once per run; a missing resource is not", async () => {
  const fake = fakeIdentity();
  try {
    const id = crypto.randomUUID();
    for (const name of ["one", "two"]) {
      const session = await ApiSession.login(context(fake.target), ACCOUNT, { name });
      await assert.rejects(session.api("PUT", `/policies/${crypto.randomUUID()}`, {}), {
        name: "CaseUnsupported",
        message:
          "The target does not serve PUT /api/policies/{id}: it answered HTTP 404 without an API error body (a route this deployment lacks)",
      });
      await assert.rejects(session.api("GET", `/ciphers/${id}`), { name: "ApiError", status: 404 });
    }
    assert.equal(fake.counts.missing, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("with --accounts the suite registers none and hands out the given accounts", async () => {
  const given = [1, 2, 3].map((i) => ({ email: `u${i}@corp.example`, password: `p${i}` }));
  const fake = fakeIdentity({}, given);
  try {
    const ctx = context(fake.target);
    await assert.rejects(registerAccounts(ctx, ["a", "b", "c", "d"]), {
      name: "CaseUnsupported",
      message: "Needs 4 accounts at once, but --accounts gives 3 (add 1 more to the file)",
    });
    // Worlds of one pool hold their accounts; an idle world of another pool gives them back.
    const pair = await leaseAccounts(ctx, "pair", 2);
    assert.deepEqual(pair.value.map((a) => a.account.email), [
      "u1@corp.example",
      "u2@corp.example",
    ]);
    pair.release();
    const three = await leaseAccounts(ctx, "three", 3);
    assert.equal(new Set(three.value.map((a) => a.account.email)).size, 3);
    await assert.rejects(ApiSession.register(ctx, "x"), CaseUnsupported);
    await assert.rejects(registerThrowawayAccount(ctx, "x"), /throw-away account/);
    assert.equal(fake.counts.register, 0);
    assert.equal(fake.counts.prelogin, 3);
    // Logging in uses the hash prelogin's KDF gives, like a client.
    const session = await ApiSession.login(ctx, three.value[0]!.account, { name: "web" });
    assert.match(session.userId, /^user-u\d@corp.example$/);
  } finally {
    await fake.close();
  }
});

Deno.test("with --accounts all held by running cases, a case waits half its budget then is UNSUPPORTED", async () => {
  const fake = fakeIdentity({}, [{ email: "solo@corp.example", password: "p" }]);
  try {
    const held = await registerAccount(context(fake.target), "held");
    assert.equal(held.account.email, "solo@corp.example");
    await assert.rejects(registerAccount(context(fake.target, 600), "other"), {
      name: "CaseUnsupported",
      message: /held by cases running at the same time/,
    });
  } finally {
    await fake.close();
  }
});
