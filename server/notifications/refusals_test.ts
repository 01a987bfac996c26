/**
 * Every refusal through raw sockets: bad tokens (HTTP status before any upgrade), bad handshakes,
 * oversized and garbage messages, bad `/send` calls. After each one the service is still up and
 * a witness connection still receives pushes.
 */

import assert from "node:assert/strict";
import { rawHttp, RawHubClient, type TokenFault, UPGRADE_HEADERS } from "../../testing/mod.ts";
import { FAST_TIMERS, type Fixture, withService } from "./_testing.ts";

const WITNESS = "11111111-2222-4333-8444-555555555555";
const OTHER = "99999999-8888-4777-8666-555555555555";

function logOut(userId: string) {
  return { type: 11, payload: { userId, reason: null }, contextId: null };
}

async function expectWitnessReceives(
  f: Fixture,
  witness: RawHubClient,
  expected: number,
): Promise<void> {
  const response = await f.send(logOut(WITNESS));
  assert.equal(response.status, 200);
  await witness.waitFor(
    () => witness.invocations("ReceiveMessage").length === expected,
    3_000,
    "witness push",
  );
}

Deno.test("token refusals happen before the upgrade, with a specific message", async (t) => {
  await withService({}, async (f) => {
    const witness = await f.connect({ token: await f.userToken({ sub: WITNESS }) });
    let pushes = 0;
    const good = { sub: OTHER, amr: ["Application"], scope: ["api"] };
    const faults: [TokenFault, RegExp][] = [
      ["expired", /^Token expired$/],
      ["not-yet-valid", /^Token not yet valid/],
      ["bad-signature", /^Token signature is invalid$/],
      ["wrong-typ", /^Token type is not at\+jwt$/],
      ["wrong-issuer", /^Token issuer is not trusted/],
      ["alg-none", /^Token is unsigned: alg none is not accepted$/],
      ["unknown-kid", /^Token signing key is unknown/],
    ];
    for (const [fault, message] of faults) {
      await t.step(`${fault}: 401`, async () => {
        const token = await f.authority.mint({ claims: good, fault });
        const response = await rawHttp(f.url, {
          path: `/hub?access_token=${encodeURIComponent(token)}`,
          headers: UPGRADE_HEADERS,
        });
        assert.equal(response.status, 401);
        assert.match(JSON.parse(response.body).message, message);
        assert.match(
          response.headers.get("www-authenticate") ?? "",
          /^Bearer error="invalid_token"/,
        );
        await expectWitnessReceives(f, witness, ++pushes);
      });
    }
    await t.step("missing token: 401 naming both places", async () => {
      const response = await rawHttp(f.url, { path: "/hub", headers: UPGRADE_HEADERS });
      assert.equal(response.status, 401);
      assert.match(
        JSON.parse(response.body).message,
        /^Missing access token: send Authorization: Bearer/,
      );
      await expectWitnessReceives(f, witness, ++pushes);
    });
    await t.step("a non-Bearer Authorization header hides the query token", async () => {
      const token = await f.authority.mint({ claims: good });
      const response = await rawHttp(f.url, {
        path: `/hub?access_token=${token}`,
        headers: { ...UPGRADE_HEADERS, authorization: "Basic dXNlcjpwYXNz" },
      });
      assert.equal(response.status, 401);
      assert.match(JSON.parse(response.body).message, /^Missing access token/);
    });
    await t.step("wrong scope or amr: 403 (the Application policy)", async () => {
      for (const claims of [{ ...good, scope: ["internal"] }, { ...good, amr: ["pwd"] }]) {
        const token = await f.authority.mint({ claims });
        const response = await rawHttp(f.url, {
          path: `/hub?access_token=${token}`,
          headers: UPGRADE_HEADERS,
        });
        assert.equal(response.status, 403);
        assert.match(
          JSON.parse(response.body).message,
          /^Token lacks claim: (scope must include api|amr must include)/,
        );
      }
      await expectWitnessReceives(f, witness, ++pushes);
    });
    await t.step("negotiate is refused the same way", async () => {
      const response = await fetch(`${f.url}/hub/negotiate?negotiateVersion=1`, { method: "POST" });
      assert.equal(response.status, 401);
      assert.match((await response.json()).message, /^Missing access token/);
    });
    await t.step("the anonymous hub needs no token", async () => {
      const anon = await f.connect({ path: "/anonymous-hub", query: "Token=x" });
      assert.deepEqual(anon.handshakeResponse, {});
    });
  });
});

Deno.test("handshake refusals carry the ASP.NET Core texts and close only that socket", async (t) => {
  await withService({ timers: { ...FAST_TIMERS, handshakeTimeoutMs: 150 } }, async (f) => {
    const token = await f.userToken({ sub: OTHER });
    const witness = await f.connect({ token: await f.userToken({ sub: WITNESS }) });
    let pushes = 0;
    const cases: [string, string | Uint8Array, string, RegExp][] = [
      [
        "unknown protocol",
        '{"protocol":"xml","version":1}\x1e',
        "The protocol 'xml' is not supported.",
        /xml/,
      ],
      [
        "unsupported version",
        '{"protocol":"json","version":3}\x1e',
        "The server does not support version 3 of the 'json' protocol.",
        /version 3/,
      ],
      [
        "garbage",
        "hello\x1e",
        "An unexpected error occurred during connection handshake.",
        /Handshake failed: Unexpected JSON Token/,
      ],
      [
        "a hub message before the handshake",
        '{"type":6}\x1e',
        "An unexpected error occurred during connection handshake.",
        /Missing required property 'protocol'/,
      ],
      [
        "binary MessagePack before the handshake",
        new Uint8Array([0x02, 0x91, 0x06, 0x1e]),
        "An unexpected error occurred during connection handshake.",
        /Handshake failed/,
      ],
    ];
    for (const [name, input, error, reason] of cases) {
      await t.step(name, async () => {
        const client = await RawHubClient.open(f.url, { token });
        try {
          if (typeof input === "string") client.sendText(input);
          else client.sendBinary(input);
          const closed = await client.closed();
          assert.deepEqual(client.handshakeResponse, { error });
          assert.equal(closed.code, 1000);
          assert.match(closed.reason, reason);
        } finally {
          await client.close();
        }
        await expectWitnessReceives(f, witness, ++pushes);
      });
    }
    await t.step("handshake split across frames, then several messages in one frame", async () => {
      const client = await RawHubClient.open(f.url, { token });
      try {
        client.sendText('{"protocol":"js');
        client.sendText(
          'on","version":1}\x1e{"type":6}\x1e{"type":1,"target":"A","arguments":[],"invocationId":"1"}\x1e',
        );
        await client.waitFor(() => client.messages.some((m) => m.type === 3));
        assert.deepEqual(client.handshakeResponse, {});
        assert.deepEqual(client.messages.find((m) => m.type === 3), {
          type: 3,
          invocationId: "1",
          error: "Unknown hub method 'A'",
        });
      } finally {
        await client.close();
      }
    });
    await t.step("no handshake in time: Handshake was canceled.", async () => {
      const client = await RawHubClient.open(f.url, { token });
      try {
        const closed = await client.closed();
        assert.deepEqual(client.handshakeResponse, { error: "Handshake was canceled." });
        assert.match(closed.reason, /No complete handshake within 150 ms/);
      } finally {
        await client.close();
      }
      await expectWitnessReceives(f, witness, ++pushes);
    });
  });
});

Deno.test("bad messages after the handshake close with an error Close", async (t) => {
  await withService({ maxMessageSize: 1024 }, async (f) => {
    const token = await f.userToken({ sub: OTHER });
    const witness = await f.connect({
      token: await f.userToken({ sub: WITNESS }),
      protocol: "messagepack",
    });
    let pushes = 0;
    const cases: [string, "json" | "messagepack", string | Uint8Array, RegExp][] = [
      [
        "oversized JSON message",
        "json",
        `{"type":1,"target":"${"x".repeat(2000)}`,
        /maximum message size of 1024B was exceeded/,
      ],
      [
        "oversized MessagePack message",
        "messagepack",
        new Uint8Array([0x80, 0x10]),
        /maximum message size of 1024B/,
      ],
      ["JSON garbage", "json", "not json\x1e", /Error reading JSON/],
      ["JSON array", "json", "[1,2]\x1e", /Expected a JSON Object/],
      ["MessagePack garbage", "messagepack", new Uint8Array([0x02, 0xc1, 0xc1]), /./],
      ["MessagePack non-array", "messagepack", new Uint8Array([0x01, 0x05]), /./],
    ];
    for (const [name, protocol, input, reason] of cases) {
      await t.step(name, async () => {
        const client = await f.connect({ token, protocol });
        if (typeof input === "string") client.sendText(input);
        else client.sendBinary(input);
        const closed = await client.closed();
        assert.equal(closed.code, 1000);
        assert.match(closed.reason, reason);
        const close = client.messages.find((m) => m.type === 7);
        assert.deepEqual(close, {
          type: 7,
          error: "Connection closed with an error.",
          allowReconnect: true,
        });
        await expectWitnessReceives(f, witness, ++pushes);
      });
    }
    await t.step("a client Close ends the connection without a server Close", async () => {
      const client = await f.connect({ token });
      client.sendText('{"type":7}\x1e');
      await client.closed();
      assert.equal(client.messages.filter((m) => m.type === 7).length, 0);
    });
    await t.step(
      "non-blocking unknown invocations are ignored, blocking ones answered",
      async () => {
        const client = await f.connect({ token, protocol: "messagepack" });
        // [1, {}, nil, "X", []] then [1, {}, "7", "Y", []], as the official client writes them.
        client.sendBinary(new Uint8Array([0x07, 0x95, 0x01, 0x80, 0xc0, 0xa1, 0x58, 0x90]));
        client.sendBinary(new Uint8Array([0x08, 0x95, 0x01, 0x80, 0xa1, 0x37, 0xa1, 0x59, 0x90]));
        await client.waitFor(() => client.messages.some((m) => m.type === 3));
        assert.deepEqual(client.messages.filter((m) => m.type === 3), [
          { type: 3, invocationId: "7", error: "Unknown hub method 'Y'" },
        ]);
      },
    );
  });
});

Deno.test("POST /send refusals", async (t) => {
  await withService({}, async (f) => {
    const witness = await f.connect({ token: await f.userToken({ sub: WITNESS }) });
    const post = (body: string, token?: string) =>
      fetch(`${f.url}/send`, {
        method: "POST",
        headers: token ? { authorization: `Bearer ${token}` } : {},
        body,
      });
    await t.step("no token: 401", async () => {
      const response = await post(JSON.stringify(logOut(WITNESS)));
      assert.equal(response.status, 401);
      assert.match((await response.json()).message, /^Missing access token/);
    });
    await t.step("hub token without scope internal: 403", async () => {
      const response = await post(
        JSON.stringify(logOut(WITNESS)),
        await f.userToken({ sub: WITNESS }),
      );
      assert.equal(response.status, 403);
      assert.equal(
        (await response.json()).message,
        "Token lacks claim: scope must include internal",
      );
    });
    await t.step("expired internal token: 401", async () => {
      const token = await f.authority.mint({ claims: { scope: ["internal"] }, fault: "expired" });
      const response = await post("{}", token);
      assert.equal(response.status, 401);
      assert.equal((await response.json()).message, "Token expired");
    });
    await t.step("malformed JSON: 400 naming the problem", async () => {
      const response = await post("{not json", f.internalToken);
      assert.equal(response.status, 400);
      const body = await response.json();
      assert.equal(typeof body.message, "string");
      assert.equal(typeof body.field, "string");
    });
    await t.step("bad field: 400 naming the field", async () => {
      const response = await post(JSON.stringify({ type: "x", payload: {} }), f.internalToken);
      assert.equal(response.status, 400);
      const body = await response.json();
      assert.match(body.field, /type/i);
    });
    await t.step("blank body: 200 no-op", async () => {
      const response = await post("  ", f.internalToken);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "");
    });
    await t.step("GET /send: 405", async () => {
      const response = await fetch(`${f.url}/send`);
      assert.equal(response.status, 405);
      await response.body?.cancel();
    });
    await t.step("the witness got nothing from the refused calls, then one push", async () => {
      assert.equal(witness.invocations("ReceiveMessage").length, 0);
      await expectWitnessReceives(f, witness, 1);
    });
  });
});

Deno.test("cloud mode refuses /send after auth", async () => {
  await withService({ selfHosted: false }, async (f) => {
    const unauthenticated = await fetch(`${f.url}/send`, { method: "POST", body: "{}" });
    assert.equal(unauthenticated.status, 401);
    await unauthenticated.body?.cancel();
    const response = await fetch(`${f.url}/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${f.internalToken}` },
      body: JSON.stringify(logOut(WITNESS)),
    });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { message: "Only allowed when self hosted." });
  });
});
