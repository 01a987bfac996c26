import assert from "node:assert/strict";
import { ActingAuthority } from "../../testing/mod.ts";
import {
  AuthError,
  createTokenVerifier,
  extractAccessToken,
  queryValue,
  requireApplicationPolicy,
  requireInternalPolicy,
} from "./access_token.ts";

Deno.test("extractAccessToken follows TokenRetrieval", async (t) => {
  await t.step("Bearer header, case-insensitive scheme, trimmed", () => {
    const r = new Request("http://x/hub?access_token=q", {
      headers: { authorization: "bEaReR  tok " },
    });
    assert.equal(extractAccessToken(r), "tok");
  });
  await t.step("non-Bearer header yields null without consulting the query", () => {
    const r = new Request("http://x/hub?access_token=q", {
      headers: { authorization: "Basic abc" },
    });
    assert.equal(extractAccessToken(r), null);
  });
  await t.step("query access_token, key case-insensitive", () => {
    assert.equal(extractAccessToken(new Request("http://x/hub?access_token=q")), "q");
    assert.equal(extractAccessToken(new Request("http://x/hub?Access_Token=q2")), "q2");
  });
  await t.step("nothing at all", () => {
    assert.equal(extractAccessToken(new Request("http://x/hub")), null);
    assert.equal(extractAccessToken(new Request("http://x/hub?access_token=")), null);
  });
});

Deno.test("policies", async (t) => {
  await t.step("Application: amr Application or external, scope api (array or string)", () => {
    requireApplicationPolicy({ amr: ["Application"], scope: ["api", "offline_access"] });
    requireApplicationPolicy({ amr: "external", scope: "offline_access api" });
    assert.throws(
      () => requireApplicationPolicy({ amr: ["pwd"], scope: ["api"] }),
      (e: unknown) => e instanceof AuthError && e.status === 403 && /amr/.test(e.message),
    );
    assert.throws(
      () => requireApplicationPolicy({ amr: ["Application"], scope: ["internal"] }),
      (e: unknown) =>
        e instanceof AuthError && e.status === 403 && /scope must include api/.test(e.message),
    );
    assert.throws(
      () => requireApplicationPolicy({ amr: ["application"], scope: ["api"] }),
      AuthError,
    );
  });
  await t.step("Internal: scope internal", () => {
    requireInternalPolicy({ scope: ["internal"] });
    requireInternalPolicy({ scope: "internal" });
    assert.throws(
      () => requireInternalPolicy({ scope: ["api"] }),
      (e: unknown) => e instanceof AuthError && e.status === 403,
    );
  });
});

Deno.test("createTokenVerifier against a discovery authority", async (t) => {
  const authority = await ActingAuthority.create();
  const url = await authority.listen({ port: 0 });
  try {
    const verify = await createTokenVerifier({ authority: url, jwksCooldownMs: 0 });
    const claims = { sub: "u1", amr: ["Application"], scope: ["api"] };

    await t.step("accepts a good token", async () => {
      const result = await verify(await authority.mint({ claims }));
      assert.equal(result.sub, "u1");
    });

    const cases: [Parameters<ActingAuthority["mint"]>[0]["fault"], RegExp][] = [
      ["expired", /^Token expired$/],
      ["not-yet-valid", /^Token not yet valid/],
      ["bad-signature", /^Token signature is invalid$/],
      ["alg-none", /^Token is unsigned: alg none/],
      ["wrong-typ", /^Token type is not at\+jwt$/],
      ["wrong-issuer", /^Token issuer is not trusted/],
      ["unknown-kid", /^Token signing key is unknown/],
    ];
    for (const [fault, message] of cases) {
      await t.step(`refuses ${fault} with a specific 401`, async () => {
        const token = await authority.mint({ claims, fault });
        await assert.rejects(
          () => verify(token),
          (e: unknown) => e instanceof AuthError && e.status === 401 && message.test(e.message),
        );
      });
    }

    await t.step("refuses garbage and HMAC tokens", async () => {
      await assert.rejects(() => verify("not-a-jwt"), /Token is malformed/);
      const hs = "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln";
      await assert.rejects(() => verify(hs), /Token algorithm is not allowed: HS256/);
    });

    await t.step("within the 300 s skew an expired token is still accepted", async () => {
      const token = await authority.mint({
        claims: { ...claims, exp: Math.floor(Date.now() / 1000) - 60 },
      });
      assert.equal((await verify(token)).sub, "u1");
    });

    await t.step("refetches the JWKS on an unknown kid after key rotation", async () => {
      await authority.rotateKey();
      const token = await authority.mint({ claims });
      assert.equal((await verify(token)).sub, "u1");
    });
  } finally {
    await authority.close();
  }
});

Deno.test("createTokenVerifier uses the discovery document's issuer", async () => {
  const authority = await ActingAuthority.create({ issuer: "http://identity" });
  const url = await authority.listen({ port: 0 });
  try {
    const verify = await createTokenVerifier({ authority: url });
    assert.equal((await verify(await authority.mint({ claims: { sub: "a" } }))).sub, "a");
    const pinned = await createTokenVerifier({ authority: url, issuer: url });
    await assert.rejects(
      async () => pinned(await authority.mint({ claims: { sub: "a" } })),
      /Token issuer is not trusted: got "http:\/\/identity", expected/,
    );
  } finally {
    await authority.close();
  }
});

Deno.test("createTokenVerifier with static keys", async (t) => {
  const authority = await ActingAuthority.create({ issuer: "http://identity" });
  const token = await authority.mint({ claims: { sub: "s" } });
  await t.step("inline jwks", async () => {
    const verify = await createTokenVerifier({ jwks: authority.jwks, issuer: "http://identity" });
    assert.equal((await verify(token)).sub, "s");
  });
  await t.step("jwks file", async () => {
    const path = await Deno.makeTempFile({ suffix: ".json" });
    try {
      await Deno.writeTextFile(path, JSON.stringify(authority.jwks));
      const verify = await createTokenVerifier({ jwksFile: path, issuer: "http://identity" });
      assert.equal((await verify(token)).sub, "s");
      await Deno.writeTextFile(path, "{nope");
      await assert.rejects(
        () => createTokenVerifier({ jwksFile: path, issuer: "x" }),
        /Invalid JWKS file/,
      );
    } finally {
      await Deno.remove(path);
    }
  });
  await t.step("configuration errors name the option", async () => {
    await assert.rejects(() => createTokenVerifier({}), /give authority, jwks or jwksFile/);
    await assert.rejects(
      () => createTokenVerifier({ jwks: authority.jwks }),
      /issuer is required with a static key set/,
    );
    await assert.rejects(
      () => createTokenVerifier({ jwksFile: "/nonexistent/keys.json", issuer: "x" }),
      /Cannot read JWKS file: \/nonexistent\/keys.json/,
    );
  });
});

Deno.test("an unreachable authority is a 503, retried on the next request", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const verify = await createTokenVerifier({ authority: `http://127.0.0.1:${port}` });
  const authority = await ActingAuthority.create({ issuer: `http://127.0.0.1:${port}` });
  const token = await authority.mint({ claims: {} });
  await assert.rejects(
    () => verify(token),
    (e: unknown) => e instanceof AuthError && e.status === 503 && /unreachable/.test(e.message),
  );
  await authority.listen({ port });
  try {
    assert.ok(await verify(token));
  } finally {
    await authority.close();
  }
});

Deno.test("queryValue answers what iterating searchParams answers", () => {
  const reference = (url: URL, key: string) => {
    for (const [k, v] of url.searchParams) if (k.toLowerCase() === key.toLowerCase()) return v;
    return null;
  };
  const queries = [
    "",
    "?",
    "?access_token=a.b.c",
    "?ACCESS_TOKEN=first&access_token=second",
    "?x=1&&access_token=t&",
    "?access_token",
    "?access_token=",
    "?access_token=a=b==",
    "?access%5Ftoken=encoded-key",
    "?access_token=a%20b+c",
    "?access_token=%E2%82%AC%zz",
    "?Access_Token=%41",
    "?id=abc&access_token=t#access_token=fragment",
    "?acc+ess_token=nope&access_token=yes",
  ];
  for (const query of queries) {
    const url = new URL(`http://x/hub${query}`);
    for (const key of ["access_token", "id", "Token"]) {
      assert.equal(queryValue(url, key), reference(url, key), `${key} in ${query}`);
    }
  }
});
