import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { ALICE, BOB, passwordForm, startTestServe, tokenRequest } from "../_test_helpers.ts";

const VERSION = { "bitwarden-client-version": "2026.8.0", "device-type": "9" };

Deno.test("identity over HTTP", async (t) => {
  const serve = await startTestServe(["--role", "identity"]);
  const base = serve.url;
  const post = (path: string, body: unknown) =>
    fetch(`${base}/identity${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "device-type": "9",
        "bitwarden-client-name": "web",
      },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  try {
    await t.step("discovery and JWKS", async () => {
      const doc = await (await fetch(`${base}/identity/.well-known/openid-configuration`)).json();
      strictEqual(doc.issuer, `${base}/identity`);
      strictEqual(doc.jwks_uri, `${base}/identity/.well-known/openid-configuration/jwks`);
      strictEqual(doc.token_endpoint, `${base}/identity/connect/token`);
      const jwks = await (await fetch(doc.jwks_uri)).json();
      strictEqual(jwks.keys.length, 1);
      strictEqual(jwks.keys[0].kty, "RSA");
      strictEqual(jwks.keys[0].d, undefined);
    });

    await t.step("prelogin: known user, unknown e-mail, invalid body", async () => {
      const known = await post("/accounts/prelogin", { email: "Alice@Example.com" });
      deepStrictEqual(known, {
        status: 200,
        body: {
          kdf: 0,
          kdfIterations: 600000,
          kdfMemory: null,
          kdfParallelism: null,
          kdfSettings: { kdfType: 0, iterations: 600000, memory: null, parallelism: null },
          salt: null,
        },
      });
      const a = await post("/accounts/prelogin/password", { email: "nobody@example.com" });
      const b = await post("/accounts/prelogin", { email: "nobody@example.com" });
      strictEqual(a.status, 200);
      deepStrictEqual(a.body, b.body, "unknown e-mails get a deterministic default");
      const bad = await post("/accounts/prelogin", {});
      strictEqual(bad.status, 400);
      deepStrictEqual(bad.body.validationErrors, { Email: ["The Email field is required."] });
      strictEqual(bad.body.message, "The model state is invalid.");
      const empty = await fetch(`${base}/identity/accounts/prelogin`, { method: "POST" });
      strictEqual(empty.status, 400);
      deepStrictEqual((await empty.json()).validationErrors, { "": ["Body is empty."] });
    });

    await t.step("two-step registration, then login", async () => {
      const sent = await post("/accounts/register/send-verification-email", {
        email: "dave@example.com",
        name: "Dave",
        receiveMarketingEmails: false,
      });
      strictEqual(sent.status, 200);
      strictEqual(typeof sent.body, "string");
      const lowKdf = await post("/accounts/register/finish", {
        email: "dave@example.com",
        emailVerificationToken: sent.body,
        masterPasswordHash: "dave-hash",
        userSymmetricKey: "user_symmetric_key",
        userAsymmetricKeys: {
          publicKey: "public-key",
          encryptedPrivateKey: "encrypted-private-key",
        },
        kdf: 0,
        kdfIterations: 5000,
      });
      strictEqual(lowKdf.status, 400);
      deepStrictEqual(lowKdf.body.validationErrors, {
        KdfIterations: ["KDF iterations must be between 600000 and 2000000."],
      });
      const badToken = await post("/accounts/register/finish", {
        email: "dave@example.com",
        emailVerificationToken: "forged",
        masterPasswordHash: "dave-hash",
        userSymmetricKey: "k",
        userAsymmetricKeys: { publicKey: "p", encryptedPrivateKey: "e" },
        kdf: 0,
        kdfIterations: 600000,
      });
      deepStrictEqual([badToken.status, badToken.body.message], [
        400,
        "Invalid email verification token.",
      ]);
      const finish = await post("/accounts/register/finish", {
        email: "dave@example.com",
        emailVerificationToken: sent.body,
        masterPasswordHash: "dave-hash",
        userSymmetricKey: "user_symmetric_key",
        userAsymmetricKeys: {
          publicKey: "public-key",
          encryptedPrivateKey: "encrypted-private-key",
        },
        kdf: 0,
        kdfIterations: 600000,
      });
      deepStrictEqual(finish, { status: 200, body: { object: "registerFinish" } });
      const again = await post("/accounts/register/send-verification-email", {
        email: "dave@example.com",
      });
      deepStrictEqual([again.status, again.body.message], [
        400,
        "Email dave@example.com is already taken",
      ]);
      const { status, body } = await tokenRequest(
        base,
        passwordForm({ email: "dave@example.com", hash: "dave-hash" }, {
          id: crypto.randomUUID(),
          type: 9,
        }),
        VERSION,
      );
      strictEqual(status, 200);
      strictEqual(body.Key, "user_symmetric_key");
    });

    await t.step("legacy registration (Vaultwarden and older clients)", async () => {
      const body = {
        email: "erin@example.com",
        masterPasswordHash: "erin-hash",
        name: "Erin",
        key: "k",
        keys: { publicKey: "p", encryptedPrivateKey: "e" },
        kdf: 0,
        kdfIterations: 600000,
      };
      deepStrictEqual(await post("/accounts/register", body), {
        status: 200,
        body: { object: "register", captchaBypassToken: null },
      });
      const dup = await post("/accounts/register", body);
      strictEqual(dup.status, 400);
      deepStrictEqual(dup.body.validationErrors, {
        "": ["Email 'erin@example.com' is already taken."],
      });
      const missing = await post("/accounts/register", { email: "x@example.com" });
      deepStrictEqual(missing.body.validationErrors, {
        MasterPasswordHash: ["The MasterPasswordHash field is required."],
      });
    });

    let refresh = "";
    await t.step("password grant: response body and access-token claims", async () => {
      const { status, body } = await tokenRequest(
        base,
        passwordForm(ALICE, { id: ALICE.web, type: 9 }),
        VERSION,
      );
      strictEqual(status, 200);
      strictEqual(body.token_type, "Bearer");
      strictEqual(body.expires_in, 3600);
      strictEqual(body.scope, "api offline_access");
      strictEqual(body.Kdf, 0);
      strictEqual(body.KdfIterations, 600000);
      strictEqual(body.KdfMemory, null);
      strictEqual(body.ForcePasswordReset, false);
      deepStrictEqual(body.MasterPasswordPolicy, { Object: "masterPasswordPolicy" });
      const udo = body.UserDecryptionOptions as Record<string, unknown>;
      strictEqual(udo.Object, "userDecryptionOptions");
      strictEqual(udo.HasMasterPassword, true);
      deepStrictEqual(
        (udo.MasterPasswordUnlock as Record<string, unknown>).Salt,
        "alice@example.com",
      );
      ok(typeof body.refresh_token === "string");
      refresh = body.refresh_token as string;
      const token = body.access_token as string;
      const header = decodeProtectedHeader(token);
      deepStrictEqual([header.alg, header.typ, header.kid], [
        "RS256",
        "at+jwt",
        serve.keys!.currentKid,
      ]);
      const { payload } = await jwtVerify(token, createLocalJWKSet(serve.keys!.jwks), {
        issuer: `${base}/identity`,
        typ: "at+jwt",
      });
      strictEqual(payload.sub, ALICE.id);
      deepStrictEqual(payload.amr, ["Application"]);
      deepStrictEqual(payload.scope, ["api", "offline_access"]);
      strictEqual(payload.device, ALICE.web);
      strictEqual(payload.devicetype, "ChromeBrowser");
      strictEqual(payload.email, "alice@example.com");
      strictEqual(payload.name, "Alice");
      strictEqual(payload.premium, true);
      strictEqual(payload.client_id, "web");
      strictEqual(payload.idp, "bitwarden");
      strictEqual(payload.orgowner, "0acbe000-0000-4000-8000-00000000000a");
      strictEqual(payload.orgcustom, "610be000-0000-4000-8000-00000000000b");
      strictEqual(payload.manageusers, "610be000-0000-4000-8000-00000000000b");
      strictEqual(payload.orguser, undefined);
      strictEqual(payload.exp! - payload.iat!, 3600);
      ok(typeof payload.sstamp === "string" && typeof payload.jti === "string");
      const bob = await tokenRequest(
        base,
        passwordForm(BOB, { id: BOB.desktop, type: 6 }, "desktop"),
        VERSION,
      );
      const bobClaims = JSON.parse(
        atob(
          (bob.body.access_token as string).split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"),
        ),
      );
      strictEqual(bobClaims.orguser, "0acbe000-0000-4000-8000-00000000000a");
      strictEqual(bobClaims.orgowner, "610be000-0000-4000-8000-00000000000b");
      strictEqual(bobClaims.devicetype, "WindowsDesktop");
      strictEqual(bobClaims.premium, false);
    });

    await t.step("password grant errors: the real shapes, never a 500", async () => {
      const wrong = await tokenRequest(
        base,
        passwordForm({ ...ALICE, hash: "wrong" }, { id: ALICE.web, type: 9 }),
        VERSION,
      );
      deepStrictEqual(wrong, {
        status: 400,
        body: {
          error: "invalid_grant",
          error_description: "invalid_username_or_password",
          ErrorModel: { Object: "error", Message: "Username or password is incorrect. Try again." },
        },
      });
      const unknown = await tokenRequest(
        base,
        passwordForm({ email: "zed@example.com", hash: "x" }, { id: "d", type: 9 }),
        VERSION,
      );
      deepStrictEqual(unknown.body, wrong.body);
      const noVersion = await tokenRequest(
        base,
        passwordForm(ALICE, { id: ALICE.web, type: 9 }),
        {},
      );
      strictEqual(noVersion.body.error, "version_header_missing");
      const form = passwordForm(ALICE, { id: ALICE.web, type: 9 });
      form.delete("deviceIdentifier");
      const noDevice = await tokenRequest(base, form, VERSION);
      deepStrictEqual(noDevice.body, {
        error: "device_error",
        error_description: "No device information provided",
        ErrorModel: { Object: "error", Message: "no device information provided" },
      });
      const badClient = await tokenRequest(
        base,
        passwordForm(ALICE, { id: ALICE.web, type: 9 }, "nope"),
        VERSION,
      );
      deepStrictEqual(badClient, { status: 400, body: { error: "invalid_client" } });
      const scope = passwordForm(ALICE, { id: ALICE.web, type: 9 });
      scope.set("scope", "api admin");
      deepStrictEqual((await tokenRequest(base, scope, VERSION)).body, { error: "invalid_scope" });
      const grant = new URLSearchParams({ grant_type: "magic" });
      deepStrictEqual((await tokenRequest(base, grant, VERSION)).body, {
        error: "unsupported_grant_type",
      });
      const json = await fetch(`${base}/identity/connect/token`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      deepStrictEqual([json.status, await json.json()], [400, { error: "invalid_request" }]);
      const byName = passwordForm(ALICE, { id: ALICE.web, type: 9 });
      byName.set("deviceType", "ChromeBrowser");
      strictEqual(
        (await tokenRequest(base, byName, VERSION)).status,
        200,
        "deviceType may be the enum name",
      );
    });

    await t.step(
      "refresh_token grant re-uses the handle; a new security stamp kills it",
      async () => {
        const form = new URLSearchParams({
          grant_type: "refresh_token",
          client_id: "web",
          refresh_token: refresh,
        });
        const first = await tokenRequest(base, form, {});
        strictEqual(first.status, 200);
        strictEqual(first.body.refresh_token, refresh);
        deepStrictEqual(Object.keys(first.body).sort(), [
          "access_token",
          "expires_in",
          "refresh_token",
          "scope",
          "token_type",
        ]);
        const bad = await tokenRequest(
          base,
          new URLSearchParams({ grant_type: "refresh_token", refresh_token: "nope" }),
          {},
        );
        deepStrictEqual(bad, { status: 400, body: { error: "invalid_grant" } });
        serve.store!.users.get(ALICE.id)!.securityStamp = crypto.randomUUID();
        deepStrictEqual(await tokenRequest(base, form, {}), {
          status: 400,
          body: { error: "invalid_grant" },
        });
      },
    );

    await t.step("client_credentials for internal.* with the internal key", async () => {
      const form = new URLSearchParams({
        grant_type: "client_credentials",
        scope: "internal",
        client_id: "internal.Api",
        client_secret: "test-internal-key",
      });
      const { status, body } = await tokenRequest(base, form, {});
      strictEqual(status, 200);
      strictEqual(body.expires_in, 86400);
      strictEqual(body.scope, "internal");
      const claims = JSON.parse(
        atob((body.access_token as string).split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")),
      );
      deepStrictEqual(
        [claims.scope, claims.client_id, claims.client_sub, claims.exp - claims.iat],
        [["internal"], "internal.Api", "Api", 86400],
      );
      form.set("client_secret", "wrong-key");
      deepStrictEqual(await tokenRequest(base, form, {}), {
        status: 400,
        body: { error: "invalid_client" },
      });
      const basic = await tokenRequest(
        base,
        new URLSearchParams({ grant_type: "client_credentials", scope: "internal" }),
        {
          authorization: `Basic ${btoa("internal.Notifications:test-internal-key")}`,
        },
      );
      strictEqual(basic.status, 200);
    });

    await t.step("key rotation keeps the previous key in the JWKS", async () => {
      const before = serve.keys!.currentKid;
      const { body } = await tokenRequest(
        base,
        passwordForm(BOB, { id: BOB.web, type: 10 }),
        VERSION,
      );
      await serve.keys!.rotate();
      const jwks = await (await fetch(`${base}/identity/.well-known/openid-configuration/jwks`))
        .json();
      deepStrictEqual(jwks.keys.map((k: { kid: string }) => k.kid), [
        serve.keys!.currentKid,
        before,
      ]);
      await jwtVerify(body.access_token as string, createLocalJWKSet(jwks));
    });
  } finally {
    await serve.stop();
  }
});
