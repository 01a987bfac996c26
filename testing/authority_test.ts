import assert from "node:assert/strict";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
} from "jose";
import { ActingAuthority, TOKEN_FAULTS } from "./authority.ts";

Deno.test("ActingAuthority", async (t) => {
  const authority = await ActingAuthority.create();
  const url = await authority.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await t.step("serves discovery naming its JWKS and issuer", async () => {
      const response = await fetch(`${url}/.well-known/openid-configuration`);
      const doc = await response.json();
      assert.equal(doc.issuer, url);
      assert.equal(doc.jwks_uri, `${url}/.well-known/openid-configuration/jwks`);
      const jwks = await (await fetch(doc.jwks_uri)).json();
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0].kty, "RSA");
      assert.equal(jwks.keys[0].d, undefined, "private part must not be published");
    });

    await t.step("unknown paths and methods are refused", async () => {
      const missing = await fetch(`${url}/nope`);
      assert.equal(missing.status, 404);
      assert.match((await missing.json()).message, /Not found/);
      const post = await fetch(`${url}/.well-known/openid-configuration`, { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
    });

    await t.step("mints at+jwt RS256 tokens verifiable against the JWKS", async () => {
      const token = await authority.mint({ claims: { sub: "u1", scope: ["api"] } });
      const header = decodeProtectedHeader(token);
      assert.equal(header.typ, "at+jwt");
      assert.equal(header.alg, "RS256");
      const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/openid-configuration/jwks`));
      const { payload } = await jwtVerify(token, jwks, { issuer: url, typ: "at+jwt" });
      assert.equal(payload.sub, "u1");
      assert.deepEqual(payload.scope, ["api"]);
      assert.ok(payload.exp! > Date.now() / 1000);
    });

    await t.step("each fault breaks exactly its property", async () => {
      const keys = createLocalJWKSet(authority.jwks);
      for (const fault of TOKEN_FAULTS) {
        const token = await authority.mint({ claims: { sub: "u1" }, fault });
        const verify = () =>
          jwtVerify(token, keys, { issuer: url, typ: "at+jwt", algorithms: ["RS256"] });
        await assert.rejects(verify, Error, `fault ${fault} must not verify`);
      }
      const claims = decodeJwt(
        await authority.mint({ claims: { exp: 1 }, fault: "not-yet-valid" }),
      );
      assert.ok(claims.nbf! > Date.now() / 1000, "fault claims win over caller claims");
      const none = await authority.mint({ claims: {}, fault: "alg-none" });
      assert.equal(decodeProtectedHeader(none).alg, "none");
      assert.ok(none.endsWith("."));
      const wrongTyp = await authority.mint({ claims: {}, fault: "wrong-typ" });
      assert.equal(decodeProtectedHeader(wrongTyp).typ, "JWT");
      const wrongIss = decodeJwt(await authority.mint({ claims: {}, fault: "wrong-issuer" }));
      assert.notEqual(wrongIss.iss, url);
    });

    await t.step("rotateKey publishes a second key used for new tokens", async () => {
      const kid = await authority.rotateKey();
      const token = await authority.mint({ claims: {} });
      assert.equal(decodeProtectedHeader(token).kid, kid);
      assert.equal(authority.jwks.keys.length, 2);
    });
  } finally {
    await authority.close();
  }
});

Deno.test("ActingAuthority with a fixed issuer", async () => {
  const authority = await ActingAuthority.create({ issuer: "http://identity" });
  assert.throws(() => new URL(authority.url ?? "x"));
  const token = await authority.mint({ claims: {} });
  assert.equal(decodeJwt(token).iss, "http://identity");
  await authority.close();
});

Deno.test("ActingAuthority without issuer cannot mint before listen", async () => {
  const authority = await ActingAuthority.create();
  await assert.rejects(() => authority.mint({ claims: {} }), /call listen\(\) first/);
});
