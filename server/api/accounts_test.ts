import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { until } from "../../testing/mod.ts";
import {
  ACME,
  ALICE,
  api,
  BOB,
  ENC,
  login,
  passwordForm,
  plain,
  startTestServe,
  tokenRequest,
  watch,
} from "../_test_helpers.ts";

const NEW_HASH = "bmV3LW1hc3Rlci1wYXNzd29yZC1oYXNoLTAxMjM0NTY=";

interface Pushed {
  Type: number;
  ContextId: string | null;
  Payload: { UserId: string; Reason: number | null };
}

Deno.test("POST /api/accounts/password checks the hash, rotates it and logs other devices out", async (t) => {
  const serve = await startTestServe();
  const base = serve.url;
  const web = await login(base, ALICE, { id: ALICE.web, type: 9 });
  const desktop = await login(base, ALICE, { id: ALICE.desktop, type: 8 });
  const bob = await login(base, BOB, { id: BOB.desktop, type: 8 });
  const refresh = await tokenRequest(base, passwordForm(ALICE, { id: ALICE.extension, type: 2 }));
  const watchers = await Promise.all([
    watch(base, "alice-desktop", { token: desktop }),
    watch(base, "bob-desktop", { token: bob }, "json"),
  ]);
  const [aliceHub, bobHub] = watchers;
  try {
    await t.step("a wrong current hash is 400 model state and pushes nothing", async () => {
      const wrong = await api(base, "POST", "/accounts/password", {
        token: web,
        body: {
          masterPasswordHash: "wrong",
          masterPasswordHint: null,
          newMasterPasswordHash: NEW_HASH,
          key: ENC,
        },
      });
      strictEqual(wrong.status, 400);
      deepStrictEqual((wrong.body as { validationErrors: unknown }).validationErrors, {
        "": ["Incorrect password."],
      });
      const invalid = await api(base, "POST", "/accounts/password", {
        token: web,
        body: { masterPasswordHash: ALICE.hash, key: "plain" },
      });
      deepStrictEqual((invalid.body as { validationErrors: unknown }).validationErrors, {
        NewMasterPasswordHash: ["The NewMasterPasswordHash field is required."],
        Key: ["Key is not a valid encrypted string."],
      });
      const nested = await api(base, "POST", "/accounts/password", {
        token: web,
        body: { masterPasswordHash: ALICE.hash, authenticationData: {} },
      });
      deepStrictEqual((nested.body as { validationErrors: unknown }).validationErrors, {
        "AuthenticationData.MasterPasswordAuthenticationHash": [
          "The MasterPasswordAuthenticationHash field is required.",
        ],
        UnlockData: ["The UnlockData field is required."],
      });
      strictEqual((await login(base, ALICE, { id: ALICE.web, type: 9 })).length > 0, true);
    });

    await t.step("the right hash answers 200 empty and pushes LogOut with ContextId", async () => {
      const changed = await api(base, "POST", "/accounts/password", {
        token: web,
        body: {
          masterPasswordHash: ALICE.hash,
          masterPasswordHint: "a hint",
          newMasterPasswordHash: NEW_HASH,
          key: ENC,
        },
      });
      deepStrictEqual([changed.status, changed.body], [200, null]);
      await until(() => aliceHub.received.length > 0, "LogOut on alice's desktop", {
        timeoutMs: 10_000,
      });
      // Give a stray push (the wrong-password call, or one to bob) time to show up.
      await new Promise((r) => setTimeout(r, 100));
      deepStrictEqual(aliceHub.received.map((r) => plain(r.message) as Pushed), [{
        ContextId: ALICE.web,
        Type: 11,
        Payload: { UserId: ALICE.id, Reason: null },
      }]);
      deepStrictEqual(bobHub.received, []);
    });

    await t.step(
      "the old hash no longer logs in, the new one does, refresh tokens die",
      async () => {
        strictEqual(typeof refresh.body.refresh_token, "string");
        const old = await tokenRequest(base, passwordForm(ALICE, { id: ALICE.web, type: 9 }));
        strictEqual(old.status, 400);
        const fresh = await login(base, { email: ALICE.email, hash: NEW_HASH }, {
          id: ALICE.web,
          type: 9,
        });
        strictEqual(typeof fresh, "string");
        const refreshed = await tokenRequest(
          base,
          new URLSearchParams({
            grant_type: "refresh_token",
            client_id: "web",
            refresh_token: refresh.body.refresh_token as string,
          }),
        );
        strictEqual(refreshed.status, 400);
        const profile = await api(base, "GET", "/accounts/profile", { token: fresh });
        strictEqual((profile.body as { key: string }).key, ENC);
      },
    );
  } finally {
    await Promise.all(watchers.map((w) => w.stop()));
    await serve.stop();
  }
});

Deno.test("DELETE /api/accounts and /api/organizations/{id} ask for the hash, refuse a sole owner, push LogOut", async (t) => {
  const serve = await startTestServe();
  const base = serve.url;
  const store = serve.store!;
  const web = await login(base, ALICE, { id: ALICE.web, type: 9 });
  const bob = await login(base, BOB, { id: BOB.web, type: 10 });
  const desktop = await login(base, ALICE, { id: ALICE.desktop, type: 8 });
  const aliceHub = await watch(base, "alice-desktop", { token: desktop });
  const errors = (body: unknown) => (body as { validationErrors: unknown }).validationErrors;
  try {
    await t.step("a wrong hash is 400 'User verification failed.'", async () => {
      const wrong = await api(base, "DELETE", "/accounts", {
        token: web,
        body: { masterPasswordHash: "wrong" },
      });
      deepStrictEqual([wrong.status, errors(wrong.body)], [400, {
        "": ["User verification failed."],
      }]);
      const none = await api(base, "DELETE", "/accounts", { token: web, body: {} });
      deepStrictEqual(errors(none.body), {
        "": ["MasterPasswordHash, OTP, or AccessCode must be supplied."],
      });
    });

    await t.step("the sole owner of an organization with other members is refused", async () => {
      const refused = await api(base, "DELETE", "/accounts", {
        token: web,
        body: { masterPasswordHash: ALICE.hash },
      });
      strictEqual(refused.status, 400);
      strictEqual(
        (errors(refused.body) as Record<string, string[]>)[""]![0]!.startsWith(
          "You cannot delete this member because they are the sole owner",
        ),
        true,
      );
      strictEqual(store.users.has(ALICE.id), true);
    });

    await t.step("only an owner deletes an organization, with its collections", async () => {
      const member = await api(base, "DELETE", `/organizations/${ACME}`, {
        token: bob,
        body: { masterPasswordHash: BOB.hash },
      });
      strictEqual(member.status, 404);
      const owner = await api(base, "POST", `/organizations/${ACME}/delete`, {
        token: web,
        body: { masterPasswordHash: ALICE.hash },
      });
      deepStrictEqual([owner.status, owner.body], [200, null]);
      strictEqual(store.organizations.has(ACME), false);
      strictEqual([...store.collections.values()].some((c) => c.organizationId === ACME), false);
      strictEqual([...store.memberships.values()].some((m) => m.organizationId === ACME), false);
    });

    await t.step("then the account goes, with its vault, and its devices hear LogOut", async () => {
      const deleted = await api(base, "DELETE", "/accounts", {
        token: web,
        body: { masterPasswordHash: ALICE.hash },
      });
      deepStrictEqual([deleted.status, deleted.body], [200, null]);
      await until(() => aliceHub.received.length > 0, "LogOut on alice's desktop", {
        timeoutMs: 10_000,
      });
      deepStrictEqual(aliceHub.received.map((r) => plain(r.message) as Pushed), [{
        ContextId: null,
        Type: 11,
        Payload: { UserId: ALICE.id, Reason: null },
      }]);
      strictEqual(store.users.has(ALICE.id), false);
      const left = [store.ciphers, store.folders, store.sends, store.devices, store.memberships]
        .flatMap((m) => [...m.values()]).filter((r) =>
          (r as { userId: unknown }).userId === ALICE.id
        );
      deepStrictEqual(left, []);
      strictEqual((await api(base, "GET", "/accounts/profile", { token: web })).status, 401);
      strictEqual(
        (await tokenRequest(base, passwordForm(ALICE, { id: ALICE.web, type: 9 }))).status,
        400,
      );
    });
  } finally {
    await aliceHub.stop();
    await serve.stop();
  }
});

Deno.test("POST /api/accounts/kdf checks hash, salt and KDF, then logs every device out", async (t) => {
  const serve = await startTestServe();
  const base = serve.url;
  const web = await login(base, ALICE, { id: ALICE.web, type: 9 });
  const desktop = await login(base, ALICE, { id: ALICE.desktop, type: 8 });
  const bob = await login(base, BOB, { id: BOB.desktop, type: 8 });
  const [webHub, desktopHub, bobHub] = await Promise.all([
    watch(base, "alice-web", { token: web }),
    watch(base, "alice-desktop", { token: desktop }),
    watch(base, "bob-desktop", { token: bob }),
  ]);
  const kdf = { kdfType: 0, iterations: 650_000 };
  const body = (changes: { salt?: string; unlockKdf?: unknown; hash?: string } = {}) => ({
    masterPasswordHash: changes.hash ?? ALICE.hash,
    authenticationData: {
      kdf,
      salt: changes.salt ?? ALICE.email,
      masterPasswordAuthenticationHash: NEW_HASH,
    },
    unlockData: {
      kdf: changes.unlockKdf ?? kdf,
      salt: changes.salt ?? ALICE.email,
      masterKeyWrappedUserKey: ENC,
    },
  });
  const post = (payload: unknown) =>
    api(base, "POST", "/accounts/kdf", { token: web, body: payload });
  const message = (answer: { body: unknown }) =>
    (answer.body as { message?: string; validationErrors?: unknown }).validationErrors ??
      (answer.body as { message?: string }).message;
  try {
    await t.step("bad bodies are refused with Bitwarden's errors and push nothing", async () => {
      deepStrictEqual(message(await post({ masterPasswordHash: ALICE.hash })), {
        AuthenticationData: ["The AuthenticationData field is required."],
        UnlockData: ["The UnlockData field is required."],
      });
      deepStrictEqual(message(await post(body({ hash: "wrong" }))), {
        "": ["Incorrect password."],
      });
      strictEqual(
        message(await post(body({ salt: "someone@example.com" }))),
        "Invalid master password salt.",
      );
      strictEqual(
        message(await post(body({ unlockKdf: { kdfType: 0, iterations: 700_000 } }))),
        "AuthenticationData and UnlockData must have the same KDF configuration.",
      );
      const weak = { kdfType: 0, iterations: 5000 };
      const tooWeak = await post({
        ...body({ unlockKdf: weak }),
        authenticationData: { ...body().authenticationData, kdf: weak },
      });
      deepStrictEqual([tooWeak.status, message(tooWeak)], [400, "KDF settings are invalid."]);
    });

    await t.step(
      "the change answers 200 and pushes LogOut, Reason null, to every device",
      async () => {
        deepStrictEqual([(await post(body())).status], [200]);
        await until(
          () => webHub.received.length > 0 && desktopHub.received.length > 0,
          "LogOut on both of alice's devices",
          { timeoutMs: 10_000 },
        );
        await new Promise((r) => setTimeout(r, 100));
        const logOut = { ContextId: null, Type: 11, Payload: { UserId: ALICE.id, Reason: null } };
        deepStrictEqual(webHub.received.map((r) => plain(r.message) as Pushed), [logOut]);
        deepStrictEqual(desktopHub.received.map((r) => plain(r.message) as Pushed), [logOut]);
        deepStrictEqual(bobHub.received, []);
        const prelogin = await fetch(`${base}/identity/accounts/prelogin`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: ALICE.email }),
        });
        strictEqual(((await prelogin.json()) as { kdfIterations: number }).kdfIterations, 650_000);
        strictEqual(
          (await login(base, { ...ALICE, hash: NEW_HASH }, { id: ALICE.web, type: 9 })).length > 0,
          true,
        );
      },
    );
  } finally {
    await Promise.all([webHub.stop(), desktopHub.stop(), bobHub.stop()]);
    await serve.stop();
  }
});
