/**
 * Delivery per push-type family: several users, two organizations, every client type, an
 * installation, several connections per user and the anonymous hub. For each envelope the
 * expected connections get exactly one message and every other connection none.
 */

import assert from "node:assert/strict";
import type { RawHubClient } from "../../testing/mod.ts";
import { delay, notificationPush, withService } from "./_testing.ts";

const INSTALLATION = "1a2b3c4d-0000-4000-8000-000000000001";
const U1 = "a1000000-0000-4000-8000-000000000001";
const U2 = "a2000000-0000-4000-8000-000000000002";
const U3 = "a3000000-0000-4000-8000-000000000003";
const O1 = "0a000000-0000-4000-8000-0000000000a1";
const O2 = "0b000000-0000-4000-8000-0000000000b2";
const AUTH_A = "aaaa0000-0000-4000-8000-00000000aaaa";
const AUTH_B = "bbbb0000-0000-4000-8000-00000000bbbb";
const NOW = "2024-05-01T12:00:00Z";

/** Connections: name -> [claims, protocol]. */
const MAIN: Record<string, [Record<string, unknown>, "json" | "messagepack"]> = {
  u1Web: [{ sub: U1, devicetype: "ChromeBrowser", orguser: O1 }, "json"],
  u1Desktop: [{ sub: U1, devicetype: "WindowsDesktop", orguser: O1 }, "messagepack"],
  u1Extension: [{ sub: U1, devicetype: "ChromeExtension", orguser: O1 }, "messagepack"],
  u1Extension2: [{ sub: U1, devicetype: "FirefoxExtension", orguser: O1 }, "json"],
  u2Web: [{ sub: U2, devicetype: "FirefoxBrowser", orgadmin: O1 }, "json"],
  u2Cli: [{ sub: U2, devicetype: "LinuxCLI", orgadmin: O1 }, "messagepack"],
  u3Mobile: [{ sub: U3, devicetype: "Android", orgowner: [O2] }, "messagepack"],
  u3Sdk: [{ sub: U3, devicetype: "SDK", orgowner: [O2] }, "json"],
  upperU1: [{ sub: U1.toUpperCase(), devicetype: "ChromeBrowser" }, "json"],
};

const ALL_MAIN = Object.keys(MAIN);
const U1_ALL = ["u1Web", "u1Desktop", "u1Extension", "u1Extension2"];

const CASES: [string, unknown, string[]][] = [
  ["SyncFolderUpdate to a user: every connection of that user (raw sub, case-sensitive)", {
    type: 8,
    payload: { id: "f0000000-0000-4000-8000-00000000000f", userId: U1, revisionDate: NOW },
    contextId: "some-device",
  }, U1_ALL],
  ["LogOut to a user", { type: 11, payload: { userId: U2, reason: null }, contextId: null }, [
    "u2Web",
    "u2Cli",
  ]],
  ["SyncCiphers to a user", { type: 4, payload: { userId: U3, date: NOW }, contextId: null }, [
    "u3Mobile",
    "u3Sdk",
  ]],
  ["org cipher without user: Organization_ group", {
    type: 0,
    payload: {
      id: "e0000000-0000-4000-8000-00000000000e",
      userId: null,
      organizationId: O1,
      collectionIds: [],
      revisionDate: NOW,
    },
    contextId: null,
  }, [...U1_ALL, "u2Web", "u2Cli"]],
  ["cipher with user and org: the user wins", {
    type: 1,
    payload: {
      id: "e0000000-0000-4000-8000-00000000000e",
      userId: U3,
      organizationId: O1,
      collectionIds: null,
      revisionDate: NOW,
    },
    contextId: null,
  }, ["u3Mobile", "u3Sdk"]],
  ["SyncOrganizationStatusChanged: organization group", {
    type: 18,
    payload: { organizationId: O2, enabled: true },
    contextId: null,
  }, ["u3Mobile", "u3Sdk"]],
  // The group name is built from the sub parsed as a GUID (lowercase), so an upper-case sub
  // joins it too, while Clients.User(sub) targeting stays ordinal.
  [
    "Notification to a user, client type Web: UserClientType_ group",
    notificationPush({ userId: U1, clientType: 1 }),
    ["u1Web", "upperU1"],
  ],
  [
    "Notification to a user, All: every connection of the user",
    notificationPush({ userId: U2, clientType: 0 }),
    ["u2Web", "u2Cli"],
  ],
  [
    "Notification to an org, Browser: OrganizationClientType_ group",
    notificationPush({ organizationId: O1, clientType: 2 }),
    ["u1Extension", "u1Extension2"],
  ],
  [
    "Notification to the installation, All",
    notificationPush({ installationId: INSTALLATION, clientType: 0 }),
    ALL_MAIN,
  ],
  [
    "Notification to the installation, Desktop",
    notificationPush({ installationId: INSTALLATION, clientType: 3 }),
    ["u1Desktop"],
  ],
  [
    "Notification to the installation, Cli beats user and org",
    notificationPush({
      installationId: INSTALLATION,
      userId: U1,
      organizationId: O1,
      clientType: 5,
    }),
    ["u2Cli"],
  ],
  [
    "Notification to another installation: nobody",
    notificationPush({ installationId: "99999999-0000-4000-8000-000000000099" }),
    [],
  ],
  ["global Notification without installation: nobody", notificationPush({ global: true }), []],
  ["AuthRequestResponse: the anonymous group of that auth request only", {
    type: 16,
    payload: { id: AUTH_A, userId: U1 },
    contextId: null,
  }, ["anonA", "anonA2"]],
  ["unknown type: nobody", { type: 200, payload: { userId: U1 }, contextId: null }, []],
];

Deno.test("each envelope reaches exactly the expected connections, once", async (t) => {
  await withService({ installationId: INSTALLATION }, async (f) => {
    const clients = new Map<string, RawHubClient>();
    for (const [name, [claims, protocol]] of Object.entries(MAIN)) {
      clients.set(name, await f.connect({ token: await f.userToken(claims), protocol }));
    }
    clients.set(
      "anonA",
      await f.connect({
        path: "/anonymous-hub",
        query: `Token=${AUTH_A}`,
        protocol: "messagepack",
      }),
    );
    clients.set("anonA2", await f.connect({ path: "/anonymous-hub", query: `token=${AUTH_A}` }));
    clients.set("anonB", await f.connect({ path: "/anonymous-hub", query: `Token=${AUTH_B}` }));
    clients.set("anonNone", await f.connect({ path: "/anonymous-hub" }));

    const count = (c: RawHubClient) =>
      c.invocations("ReceiveMessage").length + c.invocations("AuthRequestResponseRecieved").length;
    for (const [name, envelope, expected] of CASES) {
      await t.step(name, async () => {
        const before = new Map([...clients].map(([n, c]) => [n, count(c)]));
        const response = await f.send(envelope);
        assert.equal(response.status, 200);
        for (const n of expected) {
          const c = clients.get(n)!;
          await c.waitFor(() => count(c) > before.get(n)!, 3_000, `${n} to receive`);
        }
        await delay(60); // grace period for messages that must NOT arrive
        const got = [...clients].filter(([n, c]) => count(c) > before.get(n)!).map(([n]) => n)
          .sort();
        assert.deepEqual(got, [...expected].sort());
        for (const n of expected) {
          assert.equal(count(clients.get(n)!), before.get(n)! + 1, `${n} exactly once`);
        }
      });
    }

    await t.step("the anonymous hub method is spelled as the real server spells it", () => {
      const [message] = clients.get("anonA2")!.invocations("AuthRequestResponseRecieved");
      assert.deepEqual((message as { arguments: unknown[] }).arguments[0], {
        type: 16,
        payload: { id: AUTH_A, userId: U1 },
        contextId: null,
      });
    });

    await t.step("nobody saw a decode error", () => {
      for (const [name, c] of clients) assert.deepEqual(c.errors, [], name);
    });
  });
});
