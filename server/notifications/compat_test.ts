/**
 * Wire-compatibility and robustness edges found in review, through real sockets: handshake
 * protocol names in any case (ASP.NET Core resolves them with OrdinalIgnoreCase), malformed
 * WebSocket upgrades, and client data POSTed before a transport started.
 */

import assert from "node:assert/strict";
import { rawHttp, RawHubClient } from "../../testing/mod.ts";
import { withService } from "./_testing.ts";

const USER = "c2000000-0000-4000-8000-000000000002";
const push = { type: 11, payload: { userId: USER, reason: null }, contextId: null };

Deno.test("handshake protocol names match case-insensitively, as ASP.NET Core's resolver does", async (t) => {
  await withService({}, async (f) => {
    const token = await f.userToken({ sub: USER });
    for (const [name, binary] of [["MessagePack", true], ["JSON", false]] as const) {
      await t.step(`"${name}" is accepted and speaks its protocol`, async () => {
        const client = await RawHubClient.open(f.url, { token });
        try {
          client.sendText(`{"protocol":"${name}","version":1}\x1e`);
          await client.waitFor(() => client.frames.length > 0, 3_000, "handshake response");
          const first = client.frames[0]!;
          assert.equal(first.kind, binary ? "binary" : "text");
          const text = typeof first.data === "string"
            ? first.data
            : new TextDecoder().decode(first.data);
          assert.equal(text, "{}\x1e");
          assert.equal((await f.send(push)).status, 200);
          await client.waitFor(() => client.frames.length > 1, 3_000, "push");
          assert.equal(client.frames[1]!.kind, binary ? "binary" : "text");
        } finally {
          await client.close();
        }
      });
    }
    await t.step("an unknown name is still refused with the name as sent", async () => {
      const client = await RawHubClient.open(f.url, { token });
      try {
        assert.deepEqual(
          await (async () => {
            client.sendText('{"protocol":"MsgPack","version":1}\x1e');
            await client.closed();
            return client.frames.map((fr) => fr.data);
          })(),
          ['{"error":"The protocol \'MsgPack\' is not supported."}\x1e'],
        );
      } finally {
        await client.close();
      }
    });
    await t.step("a version error names the server's spelling", async () => {
      const client = await RawHubClient.open(f.url, { token });
      try {
        client.sendText('{"protocol":"Json","version":3}\x1e');
        await client.closed();
        assert.deepEqual(client.frames.map((fr) => fr.data), [
          '{"error":"The server does not support version 3 of the \'json\' protocol."}\x1e',
        ]);
      } finally {
        await client.close();
      }
    });
  });
});

Deno.test("a malformed WebSocket upgrade is a 400 naming the problem and leaves the id usable", async () => {
  await withService({}, async (f) => {
    const token = await f.userToken({ sub: USER });
    const auth = { authorization: `Bearer ${token}` };
    const broken = { ...auth, upgrade: "websocket", connection: "Upgrade" };
    const skipped = await rawHttp(f.url, { path: "/hub", headers: broken });
    assert.equal(skipped.status, 400);
    assert.match(
      JSON.parse(skipped.body).message,
      /^Invalid WebSocket upgrade request: .*sec-websocket-key/i,
    );
    const id = (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
      method: "POST",
      headers: auth,
    })).json()).connectionToken;
    const negotiated = await rawHttp(f.url, { path: `/hub?id=${id}`, headers: broken });
    assert.equal(negotiated.status, 400);
    assert.match(JSON.parse(negotiated.body).message, /^Invalid WebSocket upgrade request/);
    // The refused attempt did not pin the id to a transport: long polling may still start.
    const poll = await fetch(`${f.url}/hub?id=${id}`, { headers: auth });
    assert.equal(poll.status, 200);
    await poll.body?.cancel();
  });
});

Deno.test("data POSTed before the transport started is bounded by maxMessageSize", async () => {
  await withService({ maxMessageSize: 4096 }, async (f) => {
    const auth = { authorization: `Bearer ${await f.userToken({ sub: USER })}` };
    const negotiate = async () =>
      (await (await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, {
        method: "POST",
        headers: auth,
      })).json()).connectionToken as string;
    const small = await negotiate();
    const accepted = await fetch(`${f.url}/hub?id=${small}`, {
      method: "POST",
      headers: auth,
      body: '{"protocol":"json","version":1}\x1e',
    });
    assert.equal(accepted.status, 200);
    await accepted.body?.cancel();
    const big = await negotiate();
    const refused = await fetch(`${f.url}/hub?id=${big}`, {
      method: "POST",
      headers: auth,
      body: "x".repeat(100_000),
    });
    assert.equal(refused.status, 413);
    assert.match(
      (await refused.json()).message,
      /^Request body too large: more than 4096 bytes sent before the transport started$/,
    );
    const gone = await fetch(`${f.url}/hub?id=${big}`, { headers: auth });
    assert.equal(gone.status, 404);
    assert.equal(await gone.text(), "No Connection with that ID");
  });
});

Deno.test("a log sink that throws never takes the service down from a socket handler", async () => {
  let calls = 0;
  const log = () => {
    calls++;
    throw new Error("log sink down");
  };
  await withService({ log }, async (f) => {
    const token = await f.userToken({ sub: USER });
    const leaving = await f.connect({ token });
    await leaving.close();
    const witness = await f.connect({ token });
    assert.equal((await f.send(push)).status, 200);
    await witness.waitFor(() => witness.invocations("ReceiveMessage").length === 1);
    assert.ok(calls > 0, "the sink was called (and threw)");
  });
});

Deno.test("default CORS origins follow Bitwarden: https://bitwarden.com in cloud mode only", async () => {
  const preflight = async (url: string, origin: string) => {
    const response = await fetch(`${url}/hub/negotiate`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    await response.body?.cancel();
    return response.headers.get("access-control-allow-origin");
  };
  await withService({ selfHosted: false }, async (f) => {
    assert.equal(await preflight(f.url, "https://bitwarden.com"), "https://bitwarden.com");
    assert.equal(await preflight(f.url, "bw-desktop-file://bundle"), "bw-desktop-file://bundle");
  });
  await withService({ selfHosted: true }, async (f) => {
    assert.equal(await preflight(f.url, "https://bitwarden.com"), null);
    assert.equal(await preflight(f.url, "file://"), "file://");
  });
});
