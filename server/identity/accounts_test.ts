import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { startTestServe } from "../_test_helpers.ts";

Deno.test("registration: concurrent requests for one e-mail create exactly one account", async (t) => {
  // Server-side hashing is slow enough here to keep every request inside the race window.
  const serve = await startTestServe(["--role", "identity"], { secretIterations: 20_000 });
  const post = (path: string, body: unknown) =>
    fetch(`${serve.url}/identity/accounts/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const accounts = (email: string) =>
    [...serve.store!.users.values()].filter((u) => u.email === email).length;
  try {
    await t.step("legacy register", async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          post("register", {
            email: "race@example.com",
            masterPasswordHash: `hash-${i}`,
            kdf: 0,
            kdfIterations: 600000,
          })),
      );
      deepStrictEqual(results.map((r) => r.status).sort(), [200, 400, 400, 400, 400]);
      for (const r of results.filter((r) => r.status === 400)) {
        deepStrictEqual(r.body.validationErrors, {
          "": ["Email 'race@example.com' is already taken."],
        });
      }
      strictEqual(accounts("race@example.com"), 1);
    });

    await t.step("register/finish with two verification tokens", async () => {
      const tokens = await Promise.all(
        [0, 1, 2].map(() =>
          post("register/send-verification-email", { email: "race2@example.com" }).then((r) =>
            r.body as string
          )
        ),
      );
      const results = await Promise.all(tokens.map((token, i) =>
        post("register/finish", {
          email: "race2@example.com",
          emailVerificationToken: token,
          masterPasswordHash: `hash-${i}`,
          userSymmetricKey: "user_symmetric_key",
          userAsymmetricKeys: { publicKey: "public-key", encryptedPrivateKey: "private-key" },
          kdf: 0,
          kdfIterations: 600000,
        })
      ));
      deepStrictEqual(results.map((r) => r.status).sort(), [200, 400, 400]);
      strictEqual(accounts("race2@example.com"), 1);
    });
  } finally {
    await serve.stop();
  }
});
