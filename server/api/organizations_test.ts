import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { decodeJwt } from "jose";
import { until } from "../../testing/mod.ts";
import {
  ACME,
  ALICE,
  api,
  BOB,
  CAROL,
  GLOBEX,
  login,
  plain,
  startTestServe,
  watch,
} from "../_test_helpers.ts";

const CAROL_IN_GLOBEX = "610be000-0000-4000-8000-0000000b0002";
const ALICE_IN_ACME = "0acbe000-0000-4000-8000-0000000a0001";
const BOB_IN_ACME = "0acbe000-0000-4000-8000-0000000a0002";

async function register(base: string, email: string, hash: string): Promise<void> {
  const response = await fetch(`${base}/identity/accounts/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, masterPasswordHash: hash, kdf: 0, kdfIterations: 600000 }),
  });
  strictEqual(response.status, 200, await response.text());
}

function message(body: unknown): string {
  return (body as { message: string }).message;
}

Deno.test("organization members: custom permissions are a fixed set and cannot escalate", async (t) => {
  const serve = await startTestServe();
  const base = serve.url;
  try {
    await register(base, "erin@example.com", "erin-hash");
    const erin = { email: "erin@example.com", hash: "erin-hash" };
    // Alice is a Custom member of Globex with manageUsers only; Bob owns Globex.
    const alice = await login(base, ALICE, { id: ALICE.web, type: 9 });
    const bob = await login(base, BOB, { id: BOB.web, type: 10 });
    const invite = (token: string, body: unknown) =>
      api(base, "POST", `/organizations/${GLOBEX}/users/invite`, { token, body });

    await t.step("a Custom member cannot invite an Admin or grant what it lacks", async () => {
      const admin = await invite(alice, { emails: [erin.email], type: 1, groups: [] });
      deepStrictEqual([admin.status, message(admin.body)], [
        400,
        "Custom users can not manage Admins or Owners.",
      ]);
      const more = await invite(alice, {
        emails: [erin.email],
        type: 4,
        permissions: { manageUsers: true, managePolicies: true },
      });
      deepStrictEqual([more.status, message(more.body)], [
        400,
        "Custom users can only grant the same custom permissions that they have.",
      ]);
    });

    await t.step("a Custom member cannot remove an Admin", async () => {
      const removed = await api(
        base,
        "DELETE",
        `/organizations/${GLOBEX}/users/${CAROL_IN_GLOBEX}`,
        {
          token: alice,
        },
      );
      deepStrictEqual([removed.status, message(removed.body)], [
        400,
        "Custom users can not remove admins.",
      ]);
    });

    await t.step("non-boolean permissions are a model-state error", async () => {
      const bad = await invite(bob, {
        emails: [erin.email],
        type: 4,
        permissions: { manageUsers: "yes" },
      });
      strictEqual(bad.status, 400);
      strictEqual(message(bad.body), "The model state is invalid.");
    });

    await t.step("unknown permission names never become token claims", async () => {
      const invited = await invite(bob, {
        emails: [erin.email],
        type: 4,
        collections: [],
        groups: [],
        // PascalCase binds (case-insensitive bodies); unknown names are ignored.
        permissions: { sub: true, orgowner: true, device: true, ManageUsers: true },
      });
      strictEqual(invited.status, 200, JSON.stringify(invited.body));
      const members = (await api(base, "GET", `/organizations/${GLOBEX}/users`, { token: bob }))
        .body as { data: { id: string; email: string; permissions: Record<string, boolean> }[] };
      const member = members.data.find((m) => m.email === erin.email)!;
      strictEqual(member.permissions.manageUsers, true);
      strictEqual("sub" in member.permissions, false);
      const confirmed = await api(
        base,
        "POST",
        `/organizations/${GLOBEX}/users/${member.id}/confirm`,
        { token: bob, body: { key: "4.AAAA" } },
      );
      strictEqual(confirmed.status, 200);
      const token = await login(base, erin, {
        id: "e0000000-0000-4000-8000-0000000000e1",
        type: 9,
      });
      const claims = decodeJwt(token);
      strictEqual(typeof claims.sub, "string");
      strictEqual(claims.device, "e0000000-0000-4000-8000-0000000000e1");
      deepStrictEqual(
        [claims.orgowner, claims.orgcustom, claims.manageusers],
        [undefined, GLOBEX, GLOBEX],
      );
      const list = await api(base, "GET", `/organizations/${GLOBEX}/users`, { token });
      strictEqual(list.status, 200, "ManageUsers (PascalCase in the invite) is honoured");
    });
  } finally {
    await serve.stop();
  }
});

Deno.test("PUT /organizations/{id}/users/{id}/revoke and /restore refuse as Bitwarden and push SyncOrgKeys to the member", async (t) => {
  const serve = await startTestServe();
  const base = serve.url;
  const alice = await login(base, ALICE, { id: ALICE.web, type: 9 });
  const bob = await login(base, BOB, { id: BOB.desktop, type: 8 });
  const carol = await login(base, CAROL, { id: CAROL.cli, type: 23 });
  const [aliceHub, bobHub] = await Promise.all([
    watch(base, "alice-web", { token: alice }),
    watch(base, "bob-desktop", { token: bob }),
  ]);
  const put = (token: string, org: string, member: string, verb: string) =>
    api(base, "PUT", `/organizations/${org}/users/${member}/${verb}`, { token });
  const refusal = async (answer: Promise<{ status: number; body: unknown }>) => {
    const { status, body } = await answer;
    return [status, (body as { message?: string } | null)?.message ?? null];
  };
  const statusOfBob = async () =>
    ((await api(base, "GET", `/organizations/${ACME}/users`, { token: alice })).body as {
      data: { id: string; status: number }[];
    }).data.find((m) => m.id === BOB_IN_ACME)!.status;
  /** Waits for bob's next SyncOrgKeys and checks nothing else reached anyone. */
  const syncOrgKeysToBob = async (count: number) => {
    await until(() => bobHub.received.length >= count, "SyncOrgKeys on bob's desktop", {
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 100));
    const last = plain(bobHub.received.at(-1)!.message) as {
      Type: number;
      ContextId: unknown;
      Payload: { UserId: string };
    };
    deepStrictEqual(
      [bobHub.received.length, last.Type, last.ContextId, last.Payload.UserId],
      [count, 6, null, BOB.id],
    );
    deepStrictEqual(aliceHub.received, []);
  };
  try {
    await t.step("a non-member is 403, an unknown member 404, and nothing is pushed", async () => {
      strictEqual((await put(carol, ACME, BOB_IN_ACME, "revoke")).status, 403);
      strictEqual((await put(alice, ACME, CAROL_IN_GLOBEX, "revoke")).status, 404);
      deepStrictEqual(await refusal(put(alice, ACME, ALICE_IN_ACME, "revoke")), [
        400,
        "You cannot revoke yourself.",
      ]);
      deepStrictEqual(await refusal(put(alice, ACME, BOB_IN_ACME, "restore")), [
        400,
        "Already active.",
      ]);
    });

    await t.step("a Custom member cannot revoke an Admin", async () => {
      deepStrictEqual(await refusal(put(alice, GLOBEX, CAROL_IN_GLOBEX, "revoke")), [
        400,
        "Custom users can not revoke admins.",
      ]);
    });

    await t.step("revoke: 200 empty, status Revoked (-1), SyncOrgKeys to bob", async () => {
      deepStrictEqual(await refusal(put(alice, ACME, BOB_IN_ACME, "revoke")), [200, null]);
      strictEqual(await statusOfBob(), -1);
      await syncOrgKeysToBob(1);
      deepStrictEqual(await refusal(put(alice, ACME, BOB_IN_ACME, "revoke")), [
        400,
        "Already revoked.",
      ]);
    });

    await t.step("restore: back to Confirmed (it has a key), SyncOrgKeys to bob", async () => {
      deepStrictEqual(await refusal(put(alice, ACME, BOB_IN_ACME, "restore")), [200, null]);
      strictEqual(await statusOfBob(), 2);
      await syncOrgKeysToBob(2);
    });
  } finally {
    await Promise.all([aliceHub.stop(), bobHub.stop()]);
    await serve.stop();
  }
});
