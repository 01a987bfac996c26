import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ALICE, ENC, login, startTestServe } from "../_test_helpers.ts";

Deno.test("router: a malformed percent-encoding in the path is a JSON 404, never a 500", async () => {
  const serve = await startTestServe();
  try {
    const token = await login(serve.url, ALICE, { id: ALICE.web, type: 9 });
    for (
      const [method, path, headers] of [
        ["GET", "/api/folders/%E0%A4%A", { authorization: `Bearer ${token}` }],
        ["PUT", "/api/folders/%ZZ", { authorization: `Bearer ${token}` }],
        ["POST", "/identity/accounts/%ZZ", {}],
        ["GET", "/identity/.well-known/%", {}],
      ] as const
    ) {
      const response = await fetch(`${serve.url}${path}`, {
        method,
        headers: { ...headers, "content-type": "application/json" },
        ...(method === "GET" ? {} : { body: JSON.stringify({ name: ENC }) }),
      });
      strictEqual(response.status, 404, `${method} ${path}`);
      strictEqual(response.headers.get("content-type"), "application/json; charset=utf-8");
      const body = await response.json();
      strictEqual(typeof body.message, "string", `${method} ${path}`);
    }
  } finally {
    await serve.stop();
  }
});

Deno.test("request bodies over --max-body-bytes are refused with 413, streamed or not", async (t) => {
  const limit = 4096;
  const serve = await startTestServe(["--max-body-bytes", String(limit)]);
  const huge = JSON.stringify({ name: ENC, padding: "x".repeat(limit) });
  const streamed = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        // Two chunks and no Content-Length: the limit must hold while reading.
        const bytes = new TextEncoder().encode(text);
        controller.enqueue(bytes.slice(0, 100));
        controller.enqueue(bytes.slice(100));
        controller.close();
      },
    });
  try {
    const token = await login(serve.url, ALICE, { id: ALICE.web, type: 9 });
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const expect413 = async (response: Response, what: string) => {
      strictEqual(response.status, 413, what);
      const body = await response.json();
      deepStrictEqual([body.object, body.message], [
        "error",
        `Request body too large: the limit is ${limit} bytes`,
      ], what);
    };

    await t.step("API, with Content-Length", async () => {
      await expect413(
        await fetch(`${serve.url}/api/folders`, { method: "POST", headers: auth, body: huge }),
        "POST /api/folders",
      );
    });

    await t.step("API, chunked", async () => {
      await expect413(
        await fetch(`${serve.url}/api/folders`, {
          method: "POST",
          headers: auth,
          body: streamed(huge),
        }),
        "POST /api/folders (chunked)",
      );
    });

    await t.step("Identity: JSON routes and the token endpoint", async () => {
      await expect413(
        await fetch(`${serve.url}/identity/accounts/prelogin`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: streamed(JSON.stringify({ email: "a@b.c", padding: "x".repeat(limit) })),
        }),
        "prelogin",
      );
      await expect413(
        await fetch(`${serve.url}/identity/connect/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `grant_type=password&username=${"x".repeat(limit)}`,
        }),
        "token",
      );
    });

    await t.step("a body under the limit still works", async () => {
      const ok = await fetch(`${serve.url}/api/folders`, {
        method: "POST",
        headers: auth,
        body: streamed(JSON.stringify({ name: ENC })),
      });
      strictEqual(ok.status, 200);
      strictEqual((await ok.json()).object, "folder");
    });
  } finally {
    await serve.stop();
  }
});
