import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { until } from "../../testing/mod.ts";
import { ALICE, api, ENC, login, plain, startTestServe, watch } from "../_test_helpers.ts";

/** A PUT whose JSON body is held back until `release` is called. */
function slowPut(url: string, token: string, body: unknown) {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(bytes.slice(0, 1));
      await released;
      controller.enqueue(bytes.slice(1));
      controller.close();
    },
  });
  const response = fetch(url, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: stream,
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
  return { response, release };
}

Deno.test("an update racing a delete never resurrects the item or pushes after the delete", async (t) => {
  const serve = await startTestServe();
  const base = serve.url;
  const web = await login(base, ALICE, { id: ALICE.web, type: 9 });
  const desktop = await login(base, ALICE, { id: ALICE.desktop, type: 8 });
  const watcher = await watch(base, "desktop", { token: desktop });
  try {
    for (
      const [kind, create, update] of [
        ["folder", { name: ENC }, { name: ENC }],
        ["cipher", { type: 2, name: ENC, secureNote: { type: 0 } }, {
          type: 2,
          name: ENC,
          secureNote: { type: 0 },
        }],
      ] as const
    ) {
      await t.step(kind, async () => {
        const path = kind === "folder" ? "/folders" : "/ciphers";
        const created = await api(base, "POST", path, { token: web, body: create });
        const id = (created.body as { id: string }).id;
        const put = slowPut(`${base}/api${path}/${id}`, web, update);
        // The PUT's headers are in; its body is not. Now the item goes away.
        await new Promise((r) => setTimeout(r, 50));
        strictEqual((await api(base, "DELETE", `${path}/${id}`, { token: web })).status, 200);
        put.release();
        const answer = await put.response;
        deepStrictEqual([answer.status, answer.body.message], [404, "Resource not found."]);
        strictEqual((await api(base, "GET", `${path}/${id}`, { token: web })).status, 404);
        // Create and delete reach the hub; nothing after the delete does.
        await until(
          () =>
            watcher.received.filter((r) =>
              (plain(r.message) as { Payload: { Id: string } }).Payload.Id === id
            ).length >= 2,
          "create and delete pushes",
          { timeoutMs: 10_000 },
        );
        await new Promise((r) => setTimeout(r, 100));
        const types = watcher.received
          .map((r) => plain(r.message) as { Type: number; Payload: { Id: string } })
          .filter((m) => m.Payload.Id === id)
          .map((m) => m.Type);
        deepStrictEqual(types, kind === "folder" ? [7, 3] : [1, 2]);
      });
    }
  } finally {
    await watcher.stop();
    await serve.stop();
  }
});
