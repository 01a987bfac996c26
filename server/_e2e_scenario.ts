/**
 * Private: the end-to-end scenario both deployment modes run: three devices of one user, a
 * second and third user, two organizations; every API change must reach exactly the right hub
 * connections with the right type, payload and ContextId, and login with device must work
 * through the anonymous hub.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { until } from "../testing/mod.ts";
import {
  ACME,
  ACME_COLLECTION,
  ALICE,
  api,
  BOB,
  CAROL,
  ENC,
  GLOBEX,
  login,
  passwordForm,
  plain,
  tokenRequest,
  watch,
  type Watcher,
} from "./_test_helpers.ts";
import type { RunningServe } from "./serve.ts";

/** A received message, keys camelCased (JSON and MessagePack clients agree after this). */
interface Seen {
  readonly method: string;
  readonly type: number;
  readonly payload: Record<string, unknown>;
  readonly contextId: unknown;
}

function camel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camel);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), camel(v)]),
    );
  }
  return value;
}

function seen(w: Watcher): Seen[] {
  return w.received.map(({ method, message }) => {
    const m = camel(plain(message)) as {
      type: number;
      payload: Record<string, unknown>;
      contextId: unknown;
    };
    return { method, type: m.type, payload: m.payload, contextId: m.contextId };
  });
}

/**
 * Runs the scenario against a running deployment (all roles in one process).
 *
 * @param serve The deployment.
 * @param internalKey The internal key (for installation-internal routes).
 */
export async function runScenario(serve: RunningServe, internalKey: string): Promise<void> {
  const base = serve.url;
  const tokens = {
    aliceWeb: await login(base, ALICE, { id: ALICE.web, type: 9 }),
    aliceExt: await login(base, ALICE, { id: ALICE.extension, type: 2 }),
    aliceDesk: await login(base, ALICE, { id: ALICE.desktop, type: 8 }),
    bobWeb: await login(base, BOB, { id: BOB.web, type: 10 }),
    bobDesk: await login(base, BOB, { id: BOB.desktop, type: 6 }),
    carol: await login(base, CAROL, { id: CAROL.cli, type: 25 }),
  };
  const internal = (await tokenRequest(
    base,
    new URLSearchParams({
      grant_type: "client_credentials",
      scope: "internal",
      client_id: "internal.Billing",
      client_secret: internalKey,
    }),
    {},
  )).body.access_token as string;

  const w = {
    aliceWeb: await watch(base, "alice-web", { token: tokens.aliceWeb }, "json"),
    aliceExt: await watch(base, "alice-ext", { token: tokens.aliceExt }),
    aliceDesk: await watch(base, "alice-desktop", { token: tokens.aliceDesk }),
    bobWeb: await watch(base, "bob-web", { token: tokens.bobWeb }),
    bobDesk: await watch(base, "bob-desktop", { token: tokens.bobDesk }, "json"),
    carol: await watch(base, "carol-cli", { token: tokens.carol }),
  };
  const all = Object.values(w);
  const alice = [w.aliceWeb, w.aliceExt, w.aliceDesk];
  const bob = [w.bobWeb, w.bobDesk];
  const expected = new Map<Watcher, [number, unknown][]>(all.map((x) => [x, []]));
  const expect = (to: Watcher[], type: number, contextId: unknown) => {
    for (const x of to) expected.get(x)!.push([type, contextId]);
  };
  const settle = async () => {
    for (const x of all) {
      const want = expected.get(x)!.length;
      await until(() => x.received.length >= want, `${x.name} to receive ${want} message(s)`, {
        timeoutMs: 10_000,
      });
    }
  };
  const last = (x: Watcher) => seen(x).at(-1)!;
  let anonymous: Watcher | undefined;

  try {
    // Folders: 7, 8, 3 to alice's three devices, ContextId = the acting device.
    const folder = await api(base, "POST", "/folders", {
      token: tokens.aliceWeb,
      body: { name: ENC },
    });
    strictEqual(folder.status, 200);
    const folderId = (folder.body as { id: string }).id;
    expect(alice, 7, ALICE.web);
    await settle();
    deepStrictEqual(last(w.aliceDesk), {
      method: "ReceiveMessage",
      type: 7,
      payload: {
        id: folderId,
        userId: ALICE.id,
        revisionDate: (folder.body as { revisionDate: string }).revisionDate,
      },
      contextId: ALICE.web,
    });
    strictEqual(
      (await api(base, "PUT", `/folders/${folderId}`, {
        token: tokens.aliceDesk,
        body: { name: ENC },
      })).status,
      200,
    );
    expect(alice, 8, ALICE.desktop);
    strictEqual(
      (await api(base, "DELETE", `/folders/${folderId}`, { token: tokens.aliceDesk })).status,
      200,
    );
    expect(alice, 3, ALICE.desktop);

    // Personal cipher: 1, 0, 2.
    const cipher = await api(base, "POST", "/ciphers", {
      token: tokens.aliceExt,
      body: { type: 2, name: ENC, secureNote: { type: 0 } },
    });
    strictEqual(cipher.status, 200);
    const cipherId = (cipher.body as { id: string }).id;
    expect(alice, 1, ALICE.extension);
    await settle();
    deepStrictEqual(last(w.aliceWeb).payload.collectionIds, []);
    strictEqual(last(w.aliceWeb).payload.organizationId, null);
    strictEqual(
      (await api(base, "PUT", `/ciphers/${cipherId}`, {
        token: tokens.aliceExt,
        body: { type: 2, name: ENC, secureNote: { type: 0 } },
      })).status,
      200,
    );
    expect(alice, 0, ALICE.extension);
    strictEqual(
      (await api(base, "DELETE", `/ciphers/${cipherId}`, { token: tokens.aliceExt })).status,
      200,
    );
    expect(alice, 2, ALICE.extension);

    // Organization cipher in Acme: to Organization_Acme (alice and bob), not carol.
    const orgCipher = await api(base, "POST", "/ciphers/create", {
      token: tokens.bobWeb,
      body: {
        cipher: { type: 1, name: ENC, login: {}, organizationId: ACME },
        collectionIds: [ACME_COLLECTION],
      },
    });
    strictEqual(orgCipher.status, 200);
    expect([...alice, ...bob], 1, BOB.web);
    await settle();
    deepStrictEqual(
      { ...last(w.aliceDesk).payload, revisionDate: "x" },
      {
        id: (orgCipher.body as { id: string }).id,
        userId: null,
        organizationId: ACME,
        collectionIds: null,
        revisionDate: "x",
      },
    );

    // Sends: 12, 13, 14 to the owner.
    const deletionDate = new Date(Date.now() + 86400_000).toISOString();
    const sendBody = {
      type: 0,
      key: ENC,
      name: ENC,
      text: { text: ENC, hidden: false },
      deletionDate,
      disabled: false,
    };
    const send = await api(base, "POST", "/sends", { token: tokens.bobDesk, body: sendBody });
    strictEqual(send.status, 200);
    const sendId = (send.body as { id: string }).id;
    expect(bob, 12, BOB.desktop);
    strictEqual(
      (await api(base, "PUT", `/sends/${sendId}`, { token: tokens.bobDesk, body: sendBody }))
        .status,
      200,
    );
    expect(bob, 13, BOB.desktop);
    strictEqual(
      (await api(base, "DELETE", `/sends/${sendId}`, { token: tokens.bobDesk })).status,
      200,
    );
    expect(bob, 14, BOB.desktop);

    // Policy in Globex (bob owner): 25 to every Globex member, ContextId null.
    const policy = await api(base, "PUT", `/organizations/${GLOBEX}/policies/6`, {
      token: tokens.bobWeb,
      body: { policy: { enabled: true, data: null }, metadata: null },
    });
    strictEqual(policy.status, 200);
    expect([...alice, ...bob, w.carol], 25, null);
    await settle();
    strictEqual(last(w.carol).payload.organizationId, GLOBEX);
    strictEqual((last(w.carol).payload.policy as Record<string, unknown>).type, 6);

    // Collection management on Acme (owner alice): 19, re-sent as {OrganizationId, Enabled:false}.
    strictEqual(
      (await api(base, "PUT", `/organizations/${ACME}/collection-management`, {
        token: tokens.aliceWeb,
        body: {
          limitCollectionCreation: true,
          limitCollectionDeletion: false,
          limitItemDeletion: false,
          allowAdminAccessToAllCollectionItems: true,
        },
      })).status,
      200,
    );
    expect([...alice, ...bob], 19, null);
    await settle();
    deepStrictEqual(last(w.bobDesk).payload, { organizationId: ACME, enabled: false });

    // Installation-internal: org disabled (18), premium (27).
    strictEqual(
      (await api(base, "PUT", `/hubproof/organizations/${GLOBEX}/status`, {
        token: internal,
        body: { enabled: false },
      })).status,
      200,
    );
    expect([...alice, ...bob, w.carol], 18, null);
    strictEqual(
      (await api(base, "PUT", `/hubproof/users/${BOB.id}/premium`, {
        token: internal,
        body: { premium: true },
      })).status,
      200,
    );
    expect(bob, 27, null);

    // Notification center: to alice's desktop only; global to browser extensions; to Globex, all clients.
    strictEqual(
      (await api(base, "POST", "/hubproof/notifications", {
        token: internal,
        body: { userId: ALICE.id, clientType: 3, title: "desktop only" },
      })).status,
      200,
    );
    expect([w.aliceDesk], 20, null);
    const global = await api(base, "POST", "/hubproof/notifications", {
      token: internal,
      body: { global: true, clientType: 2 },
    });
    strictEqual(global.status, 200);
    expect([w.aliceExt], 20, null);
    await settle();
    strictEqual(last(w.aliceExt).payload.installationId, serve.config.installationId);
    strictEqual(
      (await api(base, "POST", "/hubproof/notifications", {
        token: internal,
        body: { organizationId: GLOBEX },
      })).status,
      200,
    );
    expect([...alice, ...bob, w.carol], 20, null);
    // Reading the global one pushes 21 to the installation's browser connections, ContextId = reader.
    strictEqual(
      (await api(base, "PATCH", `/notifications/${(global.body as { id: string }).id}/read`, {
        token: tokens.aliceWeb,
      })).status,
      200,
    );
    expect([w.aliceExt], 21, ALICE.web);

    // Settings (10), import (5), security stamp later.
    strictEqual(
      (await api(base, "PUT", "/settings/domains", {
        token: tokens.carol,
        body: { equivalentDomains: [["a.com", "b.com"]] },
      })).status,
      200,
    );
    expect([w.carol], 10, null);
    strictEqual(
      (await api(base, "POST", "/ciphers/import", {
        token: tokens.carol,
        body: {
          folders: [{ name: ENC }],
          ciphers: [{ type: 2, name: ENC, secureNote: { type: 0 } }],
          folderRelationships: [{ key: 0, value: 0 }],
        },
      })).status,
      200,
    );
    expect([w.carol], 5, null);

    // Invite carol to Acme (registered: Accepted at once), confirm: 6 SyncOrgKeys to carol only.
    strictEqual(
      (await api(base, "POST", `/organizations/${ACME}/users/invite`, {
        token: tokens.aliceWeb,
        body: {
          emails: [CAROL.email],
          type: 2,
          collections: [{ id: ACME_COLLECTION }],
          groups: [],
          permissions: null,
        },
      })).status,
      200,
    );
    const members =
      (await api(base, "GET", `/organizations/${ACME}/users`, { token: tokens.aliceWeb })).body as {
        data: { id: string; email: string; status: number }[];
      };
    const carolMember = members.data.find((m) => m.email === CAROL.email)!;
    strictEqual(carolMember.status, 1);
    strictEqual(
      (await api(base, "POST", `/organizations/${ACME}/users/${carolMember.id}/confirm`, {
        token: tokens.aliceWeb,
        body: { key: "4.AAAA" },
      })).status,
      200,
    );
    expect([w.carol], 6, null);
    await settle();
    // A refreshed login now carries the membership claim.
    const carolAgain = await login(base, CAROL, { id: CAROL.cli, type: 25 });
    const claims = JSON.parse(
      atob(carolAgain.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")),
    );
    deepStrictEqual([claims.orgadmin, claims.orguser], [GLOBEX, ACME]);

    // Login with device: the extension asks, the web vault approves, the anonymous hub hears it.
    const accessCode = "ABCDEFGHIJKLMNOPQRSTU";
    const request = await api(base, "POST", "/auth-requests", {
      headers: { "device-type": "2", "device-identifier": ALICE.extension },
      body: {
        email: ALICE.email,
        publicKey: "cHVibGlj",
        deviceIdentifier: ALICE.extension,
        accessCode,
        type: 0,
      },
    });
    strictEqual(request.status, 200);
    const requestId = (request.body as { id: string }).id;
    expect(alice, 15, ALICE.extension);
    await settle();
    deepStrictEqual(last(w.aliceWeb).payload, { userId: ALICE.id, id: requestId });
    anonymous = await watch(base, "anonymous", { anonymous: requestId });
    expected.set(anonymous, []);
    const approve = await api(base, "PUT", `/auth-requests/${requestId}`, {
      token: tokens.aliceWeb,
      body: {
        key: "4.ZW5jcnlwdGVk",
        masterPasswordHash: null,
        deviceIdentifier: ALICE.web,
        requestApproved: true,
      },
    });
    strictEqual(approve.status, 200);
    await until(() => anonymous!.received.length === 1, "the anonymous hub to hear the approval", {
      timeoutMs: 10_000,
    });
    deepStrictEqual(seen(anonymous)[0], {
      method: "AuthRequestResponseRecieved",
      type: 16,
      payload: { userId: ALICE.id, id: requestId },
      contextId: ALICE.web,
    });
    expected.get(anonymous)!.push([16, ALICE.web]);
    const response = await api(
      base,
      "GET",
      `/auth-requests/${requestId}/response?code=${accessCode}`,
    );
    strictEqual((response.body as { requestApproved: boolean }).requestApproved, true);
    const form = passwordForm({ email: ALICE.email, hash: accessCode }, {
      id: ALICE.extension,
      type: 2,
    }, "browser");
    form.set("authRequest", requestId);
    strictEqual((await tokenRequest(base, form)).status, 200, "login with the approved request");
    strictEqual((await tokenRequest(base, form)).status, 400, "an approval is single use");

    // Security stamp: 11 to every alice device, ContextId null.
    strictEqual(
      (await api(base, "POST", "/accounts/security-stamp", {
        token: tokens.aliceDesk,
        body: { masterPasswordHash: ALICE.hash },
      })).status,
      200,
    );
    expect(alice, 11, null);

    await settle();
    await new Promise((r) => setTimeout(r, 300));
    for (const x of [...all, anonymous]) {
      deepStrictEqual(
        seen(x).map((m) => [m.type, m.contextId]),
        expected.get(x),
        `${x.name} received exactly its messages`,
      );
    }
    ok(seen(w.aliceExt).every((m) => m.method === "ReceiveMessage"));
  } finally {
    await Promise.allSettled([...all, ...(anonymous ? [anonymous] : [])].map((x) => x.stop()));
  }
}
