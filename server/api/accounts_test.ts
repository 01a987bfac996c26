import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { until } from "../../testing/mod.ts";
import {
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
