import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { startAzurite } from "./azurite/mod.ts";
import { freePort } from "../testing/mod.ts";
import { createNotificationsService, type NotificationsOptions } from "./notifications/mod.ts";
import { stripPrefix } from "./kernel/mod.ts";
import {
  ALICE,
  api,
  ENC,
  login,
  receivedIds,
  startTestServe,
  waitFor,
  watch,
  type Watcher,
} from "./_test_helpers.ts";

const INSTALLATION = "11111111-2222-4333-8444-555555555555";

/** A Notifications instance the test can stop and start again on the same port. */
async function notificationsInstance(port: number, options: NotificationsOptions) {
  const service = await createNotificationsService(options);
  const gate = { sendOpen: true };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    (request, info) =>
      // A restarting service that answers /send with 503 until the test's client is back.
      !gate.sendOpen && new URL(request.url).pathname.endsWith("/send")
        ? new Response(null, { status: 503 })
        : service.fetch(
          request,
          stripPrefix(new URL(request.url).pathname, "/notifications") ?? "/",
          info,
        ),
  );
  return {
    service,
    gate,
    async stop() {
      await service.shutdown();
      await server.shutdown();
    },
  };
}

async function burst(base: string, token: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await api(base, "POST", "/folders", { token, body: { name: ENC } });
    strictEqual(r.status, 200);
    ids.push((r.body as { id: string }).id);
  }
  return ids;
}

Deno.test("self-hosted: a Notifications restart during a burst loses no message (outbox)", async () => {
  const port = freePort();
  const notificationsUrl = `http://127.0.0.1:${port}/notifications`;
  const serve = await startTestServe([
    "--role",
    "identity",
    "--role",
    "api",
    "--notifications-url",
    notificationsUrl,
    "--installation-id",
    INSTALLATION,
  ]);
  const options: NotificationsOptions = {
    selfHosted: true,
    installationId: INSTALLATION,
    auth: { authority: serve.urls.identity! },
    log: () => {},
  };
  let instance = await notificationsInstance(port, options);
  await instance.service.start();
  const watchers: Watcher[] = [];
  try {
    const hubBase = `http://127.0.0.1:${port}`;
    const web = await login(serve.url, ALICE, { id: ALICE.web, type: 9 });
    const desktop = await login(serve.url, ALICE, { id: ALICE.desktop, type: 8 });
    watchers.push(await watch(hubBase, "before", { token: desktop }));
    const first = await burst(serve.url, web, 10);
    // A push accepted by /send while the service shuts down reaches no socket: that is the
    // hub's loss, not the transport's, so the restart starts once these arrived.
    await waitFor(() => receivedIds(...watchers).length === 10, "the first pushes");
    await instance.stop();
    const during = await burst(serve.url, web, 30);
    strictEqual(
      serve.sendEngine!.stats.pending > 0,
      true,
      "pushes wait in the outbox while Notifications is down",
    );
    instance = await notificationsInstance(port, options);
    instance.gate.sendOpen = false;
    await instance.service.start();
    watchers.push(await watch(hubBase, "after", { token: desktop }));
    instance.gate.sendOpen = true;
    await serve.sendEngine!.drain();
    const all = [...first, ...during];
    await waitFor(
      () => receivedIds(...watchers).length >= all.length,
      "every folder push to arrive",
    );
    deepStrictEqual(receivedIds(...watchers).sort(), [...all].sort());
    const stats = serve.sendEngine!.stats;
    deepStrictEqual([stats.delivered, stats.pending, stats.overflowed, stats.rejected], [
      40,
      0,
      0,
      0,
    ]);
  } finally {
    await Promise.allSettled(watchers.map((w) => w.stop()));
    await instance.stop();
    await serve.stop();
  }
});

Deno.test("cloud: a Notifications restart during a queue backlog loses no message", async () => {
  const azurite = await startAzurite();
  const serve = await startTestServe([
    "--mode",
    "cloud",
    "--role",
    "identity",
    "--role",
    "api",
    "--queue-connection-string",
    azurite.connectionString,
    "--installation-id",
    INSTALLATION,
  ]);
  const port = freePort();
  const options: NotificationsOptions = {
    selfHosted: false,
    installationId: INSTALLATION,
    auth: { authority: serve.urls.identity! },
    queue: { connectionString: azurite.connectionString, idleWait: { minMs: 20, maxMs: 100 } },
    log: () => {},
  };
  let instance = await notificationsInstance(port, options);
  await instance.service.start();
  const watchers: Watcher[] = [];
  try {
    const hubBase = `http://127.0.0.1:${port}`;
    const web = await login(serve.url, ALICE, { id: ALICE.web, type: 9 });
    const desktop = await login(serve.url, ALICE, { id: ALICE.desktop, type: 8 });
    watchers.push(await watch(hubBase, "before", { token: desktop }));
    const first = await burst(serve.url, web, 10);
    await waitFor(() => receivedIds(...watchers).length === 10, "the first pushes");
    await instance.stop();
    const backlog = await burst(serve.url, web, 30);
    instance = await notificationsInstance(port, options);
    watchers.push(await watch(hubBase, "after", { token: desktop }));
    await instance.service.start();
    const all = [...first, ...backlog];
    await waitFor(() => receivedIds(...watchers).length >= all.length, "the backlog to drain");
    await new Promise((r) => setTimeout(r, 200));
    deepStrictEqual(receivedIds(...watchers).sort(), [...all].sort(), "each message exactly once");
  } finally {
    await Promise.allSettled(watchers.map((w) => w.stop()));
    await instance.stop();
    await serve.stop();
    await azurite.stop();
  }
});
