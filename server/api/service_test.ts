import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  ACME,
  ACME_COLLECTION,
  ALICE,
  api,
  BOB,
  CAROL,
  ENC,
  GLOBEX,
  login,
  plain,
  startTestServe,
  watch,
} from "../_test_helpers.ts";
import { until } from "../../testing/mod.ts";

Deno.test("API checks tokens, input and ownership", async (t) => {
  const serve = await startTestServe();
  const base = serve.url;
  try {
    const alice = await login(base, ALICE, { id: ALICE.web, type: 9 });
    const bob = await login(base, BOB, { id: BOB.web, type: 10 });
    const carol = await login(base, CAROL, { id: CAROL.cli, type: 25 });

    await t.step("401 without or with a bad token, empty body and a Bearer challenge", async () => {
      const none = await api(base, "POST", "/folders", { body: { name: ENC } });
      deepStrictEqual([none.status, none.body], [401, null]);
      strictEqual(none.headers.get("www-authenticate")?.startsWith("Bearer"), true);
      const forged = await api(base, "POST", "/folders", {
        token: alice.slice(0, -4) + "AAAA",
        body: { name: ENC },
      });
      deepStrictEqual([forged.status, forged.body], [401, null]);
    });

    await t.step(
      "403 for a valid token of the wrong kind (internal token on a user route)",
      async () => {
        const { body } = await fetch(`${base}/identity/connect/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "client_credentials",
            scope: "internal",
            client_id: "internal.x",
            client_secret: "test-internal-key",
          }),
        }).then(async (r) => ({ body: await r.json() }));
        const r = await api(base, "POST", "/folders", {
          token: body.access_token,
          body: { name: ENC },
        });
        deepStrictEqual([r.status, r.body], [403, null]);
        const userOnInternal = await api(base, "PUT", `/hubproof/users/${ALICE.id}/premium`, {
          token: alice,
          body: { premium: false },
        });
        deepStrictEqual([userOnInternal.status, userOnInternal.body], [403, null]);
      },
    );

    await t.step("400 with the real error model", async () => {
      const empty = await api(base, "POST", "/folders", { token: alice });
      strictEqual(empty.status, 400);
      deepStrictEqual((empty.body as { validationErrors: unknown }).validationErrors, {
        "": ["Body is empty."],
      });
      const cipher = await api(base, "POST", "/ciphers", {
        token: alice,
        body: { type: 2, name: ENC },
      });
      deepStrictEqual((cipher.body as { validationErrors: unknown }).validationErrors, {
        SecureNote: ["The SecureNote field is required."],
      });
      const send = await api(base, "POST", "/sends", {
        token: alice,
        body: { type: 0, key: ENC, text: { text: ENC }, disabled: false },
      });
      deepStrictEqual((send.body as { validationErrors: unknown }).validationErrors, {
        DeletionDate: ["The DeletionDate field is required."],
      });
      const org = await api(base, "POST", "/ciphers/create", {
        token: alice,
        body: {
          cipher: { type: 1, name: ENC, login: {}, organizationId: ACME },
          collectionIds: [],
        },
      });
      deepStrictEqual([org.status, (org.body as { message: string }).message], [
        400,
        "You must select at least one collection.",
      ]);
      const authRequest = await api(base, "POST", "/auth-requests", {
        body: {
          email: ALICE.email,
          publicKey: "p",
          deviceIdentifier: ALICE.web,
          accessCode: "c",
          type: 0,
        },
      });
      deepStrictEqual(
        (authRequest.body as { message: string }).message,
        "Device type not provided.",
      );
      const stamp = await api(base, "POST", "/accounts/security-stamp", {
        token: alice,
        body: { masterPasswordHash: "wrong" },
      });
      deepStrictEqual((stamp.body as { validationErrors: unknown }).validationErrors, {
        "": ["Incorrect password."],
      });
      const notGuid = await api(base, "PUT", "/folders/not-a-guid", {
        token: alice,
        body: { name: ENC },
      });
      deepStrictEqual([notGuid.status, (notGuid.body as { message: string }).message], [
        404,
        "Resource not found.",
      ]);
    });

    await t.step("one user cannot touch or see another's data", async () => {
      const folder = await api(base, "POST", "/folders", { token: alice, body: { name: ENC } });
      const id = (folder.body as { id: string }).id;
      strictEqual((await api(base, "GET", `/folders/${id}`, { token: bob })).status, 404);
      strictEqual(
        (await api(base, "PUT", `/folders/${id}`, { token: bob, body: { name: ENC } })).status,
        404,
      );
      strictEqual((await api(base, "DELETE", `/folders/${id}`, { token: bob })).status, 404);
      const bobFolders = (await api(base, "GET", "/folders", { token: bob })).body as {
        data: unknown[];
      };
      deepStrictEqual(bobFolders.data, []);
      const orgCipher = await api(base, "POST", "/ciphers/create", {
        token: alice,
        body: {
          cipher: { type: 1, name: ENC, login: {}, organizationId: ACME },
          collectionIds: [ACME_COLLECTION],
        },
      });
      const cid = (orgCipher.body as { id: string }).id;
      strictEqual(
        (await api(base, "GET", `/ciphers/${cid}`, { token: bob })).status,
        200,
        "Acme member",
      );
      strictEqual(
        (await api(base, "GET", `/ciphers/${cid}`, { token: carol })).status,
        404,
        "not an Acme member",
      );
      const sync = (await api(base, "GET", "/sync", { token: carol })).body as {
        ciphers: unknown[];
        folders: unknown[];
      };
      deepStrictEqual([sync.ciphers.length, sync.folders.length], [0, 0]);
    });

    await t.step(
      "organization roles: 403 for members without the permission, 404 for non-owners on owner routes",
      async () => {
        const invite = await api(base, "POST", `/organizations/${ACME}/users/invite`, {
          token: bob,
          body: { emails: ["x@example.com"], type: 2 },
        });
        deepStrictEqual([invite.status, invite.body], [403, null]);
        const policy = await api(base, "PUT", `/organizations/${ACME}/policies/1`, {
          token: carol,
          body: { policy: { enabled: true } },
        });
        strictEqual(policy.status, 403);
        const settings = await api(base, "PUT", `/organizations/${GLOBEX}/collection-management`, {
          token: carol,
          body: {},
        });
        strictEqual(settings.status, 404, "collection management is owner only; an admin gets 404");
        const custom = await api(base, "GET", `/organizations/${GLOBEX}/users`, { token: alice });
        strictEqual(custom.status, 200, "a custom member with manageUsers may list members");
      },
    );
  } finally {
    await serve.stop();
  }
});

Deno.test("PUT /ciphers/move moves only the caller's ciphers into a folder of the caller's", async () => {
  const serve = await startTestServe();
  const base = serve.url;
  try {
    const alice = await login(base, ALICE, { id: ALICE.web, type: 9 });
    const bob = await login(base, BOB, { id: BOB.web, type: 10 });
    const note = { type: 2, name: ENC, secureNote: { type: 0 } };
    const mine = (await api(base, "POST", "/ciphers", { token: alice, body: note })).body as {
      id: string;
    };
    const theirs = (await api(base, "POST", "/ciphers", { token: bob, body: note })).body as {
      id: string;
    };
    const folder = (await api(base, "POST", "/folders", { token: alice, body: { name: ENC } }))
      .body as { id: string };
    const bobFolder = (await api(base, "POST", "/folders", { token: bob, body: { name: ENC } }))
      .body as { id: string };
    const foreign = await api(base, "PUT", "/ciphers/move", {
      token: alice,
      body: { ids: [mine.id], folderId: bobFolder.id },
    });
    deepStrictEqual([foreign.status, (foreign.body as { message?: string }).message], [
      400,
      "Invalid folder.",
    ]);
    const missing = await api(base, "PUT", "/ciphers/move", { token: alice, body: {} });
    deepStrictEqual((missing.body as { validationErrors: unknown }).validationErrors, {
      Ids: ["The Ids field is required."],
    });
    const moved = await api(base, "PUT", "/ciphers/move", {
      token: alice,
      body: { ids: [mine.id, theirs.id], folderId: folder.id },
    });
    strictEqual(moved.status, 200);
    const folderOf = async (id: string, token: string) =>
      ((await api(base, "GET", `/ciphers/${id}`, { token })).body as { folderId: unknown })
        .folderId;
    deepStrictEqual([await folderOf(mine.id, alice), await folderOf(theirs.id, bob)], [
      folder.id,
      null,
    ]);
  } finally {
    await serve.stop();
  }
});

Deno.test("PUT /ciphers/{id}/collections re-files an organization cipher and pushes SyncCipherUpdate to the organization", async () => {
  const serve = await startTestServe();
  const base = serve.url;
  const alice = await login(base, ALICE, { id: ALICE.web, type: 9 });
  const desktop = await login(base, ALICE, { id: ALICE.desktop, type: 8 });
  const carol = await login(base, CAROL, { id: CAROL.cli, type: 23 });
  const hub = await watch(base, "alice-desktop", { token: desktop });
  try {
    const note = { type: 2, name: ENC, secureNote: { type: 0 } };
    const personal = (await api(base, "POST", "/ciphers", { token: alice, body: note })).body as {
      id: string;
    };
    const shared = (await api(base, "POST", "/ciphers/create", {
      token: alice,
      body: { cipher: { ...note, organizationId: ACME }, collectionIds: [ACME_COLLECTION] },
    })).body as { id: string };
    const put = (token: string, id: string, collectionIds: unknown) =>
      api(base, "PUT", `/ciphers/${id}/collections`, { token, body: { collectionIds } });
    strictEqual((await put(alice, personal.id, [ACME_COLLECTION])).status, 404);
    strictEqual((await put(carol, shared.id, [ACME_COLLECTION])).status, 404);
    const foreign = await put(alice, shared.id, [GLOBEX]);
    deepStrictEqual([foreign.status, (foreign.body as { message?: string }).message], [
      400,
      "You do not have permissions to edit this.",
    ]);
    strictEqual((await put(alice, shared.id, "nope")).status, 400);
    const before = hub.received.length;
    const saved = await put(alice, shared.id, [ACME_COLLECTION.toUpperCase()]);
    deepStrictEqual(
      [saved.status, (saved.body as { collectionIds: unknown }).collectionIds],
      [200, [ACME_COLLECTION]],
    );
    await until(() => hub.received.length > before, "SyncCipherUpdate on alice's desktop", {
      timeoutMs: 10_000,
    });
    const pushed = plain(hub.received.at(-1)!.message) as {
      Type: number;
      ContextId: string;
      Payload: { Id: string; OrganizationId: string };
    };
    deepStrictEqual(
      [pushed.Type, pushed.ContextId, pushed.Payload.Id, pushed.Payload.OrganizationId],
      [0, ALICE.web, shared.id, ACME],
    );
  } finally {
    await hub.stop();
    await serve.stop();
  }
});
