import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ALICE, passwordForm, startTestServe, tokenRequest } from "../_test_helpers.ts";

Deno.test("token endpoint: malformed client credentials are invalid_client, not a 500", async () => {
  const serve = await startTestServe(["--role", "identity"]);
  try {
    for (const header of [`Basic ${btoa("internal.%ZZ:test-internal-key")}`, "Basic %%%"]) {
      const response = await fetch(`${serve.url}/identity/connect/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: header,
        },
        body: "grant_type=client_credentials&scope=internal",
      });
      deepStrictEqual([response.status, await response.json()], [400, {
        error: "invalid_client",
      }], header);
    }
  } finally {
    await serve.stop();
  }
});

Deno.test("token endpoint: concurrent first logins from one new device record one device", async () => {
  const serve = await startTestServe(["--role", "identity"], { secretIterations: 20_000 });
  try {
    const device = { id: "a11ce000-0000-4000-8000-00000000beef", type: 8 };
    const results = await Promise.all(
      Array.from({ length: 4 }, () => tokenRequest(serve.url, passwordForm(ALICE, device))),
    );
    deepStrictEqual(results.map((r) => r.status), [200, 200, 200, 200]);
    const rows = [...serve.store!.devices.values()].filter((d) => d.identifier === device.id);
    strictEqual(rows.length, 1);
  } finally {
    await serve.stop();
  }
});
