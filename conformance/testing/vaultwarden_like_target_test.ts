import assert from "node:assert/strict";
import { passwordForm, postToken, RawHubClient } from "../../testing/mod.ts";
import { decode } from "@msgpack/msgpack";
import { MemberStatus, MemberType, MemoryStore } from "../../server/kernel/mod.ts";
import { type StoreCounts, storeCounts } from "./_store_counts.ts";
import { splitBinaryMessages } from "../../protocol/signalr/mod.ts";
import { KeyedRateLimiter } from "./_rate_limit.ts";
import { type HubSink, VaultwardenLikePushEngine } from "./_vaultwarden_push.ts";
import { startVaultwardenLikeTarget } from "./vaultwarden_like_target.ts";
import { runConformance } from "../runner.ts";
import { resolveTarget } from "../target.ts";

const HANDSHAKE = '{"protocol":"messagepack","version":1}\x1e';
const PING = new Uint8Array([0x02, 0x91, 0x06]);

async function register(base: string, email: string): Promise<void> {
  const post = (path: string, body: unknown) =>
    fetch(`${base}/identity${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const token = await (await post("/accounts/register/send-verification-email", { email })).json();
  const finish = await post("/accounts/register/finish", {
    email,
    emailVerificationToken: token,
    masterPasswordHash: "aGFzaA==",
    userSymmetricKey: "2.AA==|AA==|AA==",
    userAsymmetricKeys: { publicKey: "cGs=", encryptedPrivateKey: "2.AA==|AA==|AA==" },
    kdf: 0,
    kdfIterations: 600000,
  });
  assert.equal(finish.status, 200, await finish.text());
}

function login(base: string, email: string): Promise<Response> {
  return postToken(
    base,
    passwordForm({ email, hash: "aGFzaA==" }, { id: crypto.randomUUID(), type: 9 }),
    { headers: {} },
  );
}

/** Opens a hub socket, sends `steps` 200 ms apart and returns what came back before closing. */
async function exchange(
  base: string,
  token: string,
  steps: (string | Uint8Array)[],
): Promise<string[]> {
  const client = await RawHubClient.open(`${base}/notifications`, { token });
  for (const step of steps) {
    if (typeof step === "string") client.sendText(step);
    else client.sendBinary(step);
    await new Promise((r) => setTimeout(r, 200));
  }
  const heard = client.frames.map((f) =>
    typeof f.data === "string" ? `text ${f.data}` : `bin ${[...f.data]}`
  );
  const open = client.closeEvent === undefined;
  await client.close();
  return open ? [...heard, `open after ${steps.length} steps`] : heard;
}

Deno.test({
  name: "stand-in hub: MessagePack only, silent on JSON and bad versions, echoes binary frames",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vw = await startVaultwardenLikeTarget();
    try {
      const email = `hub-${crypto.randomUUID()}@example.com`;
      await register(vw.url, email);
      const token = (await (await login(vw.url, email)).json()).access_token;
      assert.deepEqual(await exchange(vw.url, token, [HANDSHAKE, PING]), [
        "bin 123,125,30",
        "bin 2,145,6",
        "open after 2 steps",
      ]);
      assert.deepEqual(
        await exchange(vw.url, token, ['{"protocol":"json","version":1}\x1e', '{"type":6}\x1e']),
        ["open after 2 steps"],
      );
      assert.deepEqual(
        await exchange(vw.url, token, ['{"protocol":"messagepack","version":99}\x1e']),
        ["open after 1 steps"],
      );
      const refused = await fetch(`${vw.url}/notifications/hub`, {
        headers: {
          upgrade: "websocket",
          connection: "Upgrade",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-version": "13",
        },
      });
      assert.equal(refused.status, 401);
      assert.equal((await refused.json()).message, "Invalid claim");
      const negotiate = await fetch(`${vw.url}/notifications/hub/negotiate`, { method: "POST" });
      assert.equal(negotiate.status, 404);
      await negotiate.body?.cancel();
    } finally {
      await vw.close();
    }
  },
});

Deno.test({
  name: "stand-in identity and API: Vaultwarden's 429, no org claims, its 404 and 422 answers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vw = await startVaultwardenLikeTarget({ loginRateLimit: { burst: 2, seconds: 60 } });
    try {
      const email = `limit-${crypto.randomUUID()}@example.com`;
      await register(vw.url, email);
      const first = await (await login(vw.url, email)).json();
      const claims = JSON.parse(atob(
        first.access_token.split(".")[1].replace(/-/g, "+").replace(
          /_/g,
          "/",
        ),
      ));
      assert.equal(typeof claims.sub, "string");
      assert.ok(!Object.keys(claims).some((k) => k.startsWith("org")));
      await (await login(vw.url, email)).body?.cancel();
      const limited = await login(vw.url, email);
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("retry-after"), null);
      assert.equal((await limited.json()).message, "Too many login requests");
      const refresh = await fetch(`${vw.url}/identity/connect/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: first.refresh_token,
          client_id: "web",
        }),
      });
      assert.equal(refresh.status, 200, "refresh is not rate limited");
      await refresh.body?.cancel();
      const missing = await fetch(`${vw.url}/api/organizations/x/collection-management`, {
        method: "PUT",
        headers: { authorization: `Bearer ${first.access_token}` },
      });
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error.reason, "Not Found");
      const invite = await fetch(`${vw.url}/api/organizations/x/users/invite`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${first.access_token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ emails: ["a@example.com"], groups: [], type: 2, permissions: null }),
      });
      assert.equal(invite.status, 422, "Vaultwarden's InviteData refuses permissions: null");
      assert.equal((await invite.json()).error.code, 422);
    } finally {
      await vw.close();
    }
  },
});

Deno.test("rate limiter: a burst, then one request per period", () => {
  let now = 0;
  const limiter = new KeyedRateLimiter({ burst: 10, periodMs: 60_000, now: () => now });
  const allowed = Array.from({ length: 11 }, () => limiter.check("a")).filter(Boolean).length;
  assert.equal(allowed, 10);
  assert.ok(limiter.check("b"), "per key");
  now = 59_999;
  assert.ok(!limiter.check("a"));
  now = 60_000;
  assert.ok(limiter.check("a") && !limiter.check("a"));
  assert.throws(() => new KeyedRateLimiter({ burst: 0, periodMs: 1 }), RangeError);
});

type Sent = { to: string; message: unknown };

function recordingHub(): HubSink & { sent: Sent[] } {
  const sent: Sent[] = [];
  const record = (to: string, frame: Uint8Array) => {
    for (const m of splitBinaryMessages(frame)) sent.push({ to, message: decode(m) });
  };
  return {
    sent,
    sendToUser: (userId, frame) => record(`user:${userId}`, frame),
    sendToAnonymous: (token, frame) => record(`anon:${token}`, frame),
  };
}

function argumentOf(message: unknown): Record<string, unknown> {
  return ((message as unknown[])[4] as Record<string, unknown>[])[0]!;
}

Deno.test("stand-in push engine: per-member org pushes, Vaultwarden payload forms", async () => {
  const store = new MemoryStore();
  const hub = recordingHub();
  const now = new Date("2026-12-04T00:00:00Z");
  const engine = new VaultwardenLikePushEngine(store, hub, () => now);
  const member = (userId: string, type: number, status: number, collectionIds: string[]) => {
    const id = crypto.randomUUID();
    store.memberships.set(id, {
      id,
      organizationId: "org",
      userId,
      email: `${userId}@example.com`,
      type,
      status,
      key: null,
      permissions: null,
      collectionIds,
      inviteToken: null,
    });
  };
  member("owner", MemberType.Owner, MemberStatus.Confirmed, []);
  member("reader", MemberType.User, MemberStatus.Confirmed, ["c1"]);
  member("outsider", MemberType.User, MemberStatus.Confirmed, ["c2"]);
  member("invited", MemberType.User, MemberStatus.Invited, ["c1"]);
  store.ciphers.set("k", {
    id: "k",
    userId: null,
    organizationId: "org",
    type: 1,
    data: {},
    folderId: null,
    favorite: false,
    reprompt: 0,
    key: null,
    collectionIds: ["c1"],
    creationDate: now,
    revisionDate: now,
  } as unknown as never);
  await engine.push({
    type: 1,
    target: "organization",
    targetId: "org",
    payload: { Id: "k", UserId: null, OrganizationId: "org", CollectionIds: null },
    excludeCurrentContext: true,
    deviceIdentifier: "dev",
  });
  assert.deepEqual(hub.sent.map((s) => s.to).sort(), ["user:owner", "user:reader"]);
  assert.deepEqual(argumentOf(hub.sent[0]!.message), {
    ContextId: "dev",
    Type: 1,
    Payload: {
      Id: "k",
      UserId: null,
      OrganizationId: "org",
      CollectionIds: ["c1"],
      RevisionDate: now,
    },
  });
  hub.sent.length = 0;
  await engine.push({
    type: 25,
    target: "organization",
    targetId: "org",
    payload: {},
    excludeCurrentContext: false,
  });
  await engine.push({
    type: 10,
    target: "user",
    targetId: "reader",
    payload: { UserId: "reader", Date: now.toISOString() },
    excludeCurrentContext: true,
    deviceIdentifier: "dev",
  });
  await engine.push({
    type: 12,
    target: "user",
    targetId: "reader",
    payload: { Id: "s", UserId: "reader", RevisionDate: now.toISOString() },
    excludeCurrentContext: true,
    deviceIdentifier: "dev",
  });
  await engine.push({
    type: 16,
    target: "user",
    targetId: "reader",
    payload: { UserId: "reader", Id: "req" },
    excludeCurrentContext: true,
    deviceIdentifier: "dev",
  });
  assert.deepEqual(hub.sent.map((s) => [s.to, argumentOf(s.message)]), [
    ["user:reader", { ContextId: null, Type: 10, Payload: { UserId: "reader", Date: now } }],
    [
      "user:reader",
      { ContextId: null, Type: 12, Payload: { Id: "s", UserId: "reader", RevisionDate: now } },
    ],
    ["anon:req", { Type: 16, Payload: { Id: "req", UserId: "reader" }, UserId: "reader" }],
    ["user:reader", { ContextId: "dev", Type: 16, Payload: { Id: "req", UserId: "reader" } }],
  ]);
  assert.equal((hub.sent[2]!.message as unknown[])[3], "AuthRequestResponseRecieved");
});

const EMPTY: StoreCounts = {
  users: 0,
  organizations: 0,
  memberships: 0,
  collections: 0,
  ciphers: 0,
  folders: 0,
  sends: 0,
};

Deno.test({
  name:
    "stand-in: a run removes the accounts, organizations and objects it created; --keep-data keeps them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vw = await startVaultwardenLikeTarget({ loginRateLimit: { burst: 1000, seconds: 60 } });
    const only = [
      "e2e/folder-create",
      "e2e/cipher-create",
      "e2e/send-create",
      "e2e/security-stamp",
      "e2e/org-cipher-create",
      "e2e/auth-request",
    ];
    const options = {
      only,
      timeoutMs: 60_000,
      graceMs: 300,
      seed: 1,
      runs: 1,
    };
    try {
      const kept = await runConformance({
        ...options,
        target: resolveTarget({ target: vw.url, inject: "api" }),
        keepData: true,
      });
      const made = storeCounts(vw.store);
      assert.ok(
        made.users >= 5 && made.organizations >= 1 && made.ciphers >= 2,
        JSON.stringify(made),
      );
      assert.equal(kept.cleanup.kept, true);
      assert.match(
        kept.cleanup.stays[0]!,
        /^everything the run created \(--keep-data\): \d+ accounts/,
      );
      // Start the second run from an empty store, so what it leaves is what it did not remove.
      for (const id of [...vw.store.organizations.keys()]) vw.store.deleteOrganization(id);
      for (const id of [...vw.store.users.keys()]) vw.store.deleteUser(id);
      assert.deepEqual(storeCounts(vw.store), EMPTY);

      const report = await runConformance({
        ...options,
        target: resolveTarget({ target: vw.url, inject: "api" }),
      });
      assert.deepEqual(
        Object.fromEntries(report.cases.map((c) => [c.id, c.verdict])),
        Object.fromEntries(kept.cases.map((c) => [c.id, c.verdict])),
        "removal changes no verdict",
      );
      assert.deepEqual(storeCounts(vw.store), EMPTY);
      assert.equal(report.cleanup.failed, 0, JSON.stringify(report.cleanup.failures));
      // How many accounts a run registers depends on which cases the login budget reaches, so
      // two runs need not match: the empty store above is the proof that every one was removed.
      assert.ok(report.cleanup.removed.accounts >= 1, JSON.stringify(report.cleanup));
      assert.ok(report.cleanup.removed.organizations >= 1);
    } finally {
      await vw.close();
    }
  },
});

Deno.test({
  name:
    "stand-in: accounts the spent login budget keeps out are counted as removal failures, verdicts stay",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vw = await startVaultwardenLikeTarget({ loginRateLimit: { burst: 1, seconds: 600 } });
    try {
      const report = await runConformance({
        only: ["e2e/folder-create"],
        timeoutMs: 30_000,
        graceMs: 300,
        seed: 1,
        runs: 1,
        target: resolveTarget({ target: vw.url, inject: "api" }),
      });
      assert.equal(report.cases[0]!.verdict, "UNSUPPORTED");
      assert.equal(report.totals.ERROR, 0);
      // The one device logged in is reused to delete its account; the others cannot log in.
      assert.equal(report.cleanup.removed.accounts, 1);
      assert.equal(report.cleanup.failed, vw.store.users.size);
      assert.ok(report.cleanup.failed >= 1);
      assert.match(
        report.cleanup.failures[0]!.reason,
        /^account: could not log in: the target's login rate limit is spent/,
      );
    } finally {
      await vw.close();
    }
  },
});

Deno.test({
  name: "stand-in: a cancelled run (Ctrl-C) still removes what it created",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vw = await startVaultwardenLikeTarget({ loginRateLimit: { burst: 1000, seconds: 60 } });
    try {
      const cancel = new AbortController();
      const report = await runConformance({
        only: ["e2e/folder-create", "e2e/folder-update", "e2e/send-create", "e2e/send-update"],
        concurrency: 1,
        timeoutMs: 30_000,
        graceMs: 300,
        seed: 1,
        runs: 1,
        target: resolveTarget({ target: vw.url, inject: "api" }),
        signal: cancel.signal,
        onEvent: (event) => {
          if (event.type === "case-end") cancel.abort(new DOMException("SIGINT", "AbortError"));
        },
      });
      assert.ok(report.cases.some((c) => c.verdict === "ERROR"), "cases after the cancel");
      assert.ok(report.cleanup.removed.accounts >= 2, JSON.stringify(report.cleanup));
      assert.equal(report.cleanup.failed, 0, JSON.stringify(report.cleanup.failures));
      assert.deepEqual(storeCounts(vw.store), EMPTY);
    } finally {
      await vw.close();
    }
  },
});
