import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { ClientType } from "./client_type.ts";
import { groupsForConnection } from "./connection_groups.ts";

const U = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const O1 = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const O2 = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee";
const I = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

Deno.test("groups are joined in OnConnectedAsync's order", () => {
  const result = groupsForConnection(
    { sub: U, device: "device-1", devicetype: "ChromeExtension", orgowner: O1, orguser: [O2] },
    I,
  );
  deepStrictEqual(result, {
    userId: U,
    deviceId: "device-1",
    clientType: ClientType.Browser,
    groups: [
      `UserClientType_${U}_Browser`,
      `Installation_${I}`,
      `Installation_ClientType_${I}_Browser`,
      `Organization_${O1}`,
      `OrganizationClientType_${O1}_Browser`,
      `Organization_${O2}`,
      `OrganizationClientType_${O2}_Browser`,
    ],
  });
});

Deno.test("client type All joins only the plain groups", () => {
  for (const devicetype of [undefined, "SDK", "Server", "22", "Bogus", "300"]) {
    const claims = devicetype === undefined
      ? { sub: U, orgadmin: O1 }
      : { sub: U, devicetype, orgadmin: O1 };
    const result = groupsForConnection(claims, I);
    strictEqual(result.clientType, ClientType.All);
    deepStrictEqual(result.groups, [`Installation_${I}`, `Organization_${O1}`]);
  }
});

Deno.test("devicetype by number, installation id absent or empty", () => {
  const result = groupsForConnection({ sub: U, devicetype: "1" }, null);
  deepStrictEqual(result.groups, [`UserClientType_${U}_Mobile`]);
  deepStrictEqual(
    groupsForConnection({ sub: U, devicetype: "9" }, "00000000-0000-0000-0000-000000000000").groups,
    [`UserClientType_${U}_Web`],
  );
});

Deno.test("the user id is the raw sub; the group uses the parsed GUID", () => {
  const upper = U.toUpperCase();
  const result = groupsForConnection({ sub: upper, devicetype: "ChromeBrowser" }, null);
  strictEqual(result.userId, upper);
  deepStrictEqual(result.groups, [`UserClientType_${U}_Web`]);
  const braces = groupsForConnection({ sub: `{${U}}`, devicetype: "ChromeBrowser" }, null);
  deepStrictEqual(braces.groups, [`UserClientType_${U}_Web`]);
  const notGuid = groupsForConnection(
    { sub: "user-42", devicetype: "ChromeBrowser", orguser: O1 },
    null,
  );
  strictEqual(notGuid.userId, "user-42");
  deepStrictEqual(notGuid.groups, [`Organization_${O1}`, `OrganizationClientType_${O1}_Web`]);
  strictEqual(groupsForConnection({}, null).userId, null);
});

Deno.test("every org claim counts, in owner/admin/user/custom order, each group once", () => {
  const result = groupsForConnection(
    { sub: U, orgcustom: [O2], orguser: [O1, O1.toUpperCase()], orgowner: O1 },
    null,
  );
  deepStrictEqual(result.groups, [`Organization_${O1}`, `Organization_${O2}`]);
});

Deno.test("a Send token short-circuits: no device, no organizations", () => {
  for (const type of ["Send", "3"]) {
    const result = groupsForConnection({
      sub: U,
      type,
      device: "d",
      devicetype: "ChromeBrowser",
      orgowner: O1,
    }, I);
    deepStrictEqual(result, {
      userId: U,
      deviceId: null,
      clientType: ClientType.All,
      groups: [`Installation_${I}`],
    });
  }
  strictEqual(
    groupsForConnection({ sub: U, type: "User", devicetype: "ChromeBrowser" }, null).clientType,
    ClientType.Web,
  );
});

Deno.test("bad organization claims refuse the connection", () => {
  throws(
    () => groupsForConnection({ sub: U, orguser: [O1, "not-a-guid"] }, null),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.message === 'Invalid organization claim: orguser is not a GUID: "not-a-guid"',
  );
  throws(() => groupsForConnection({ sub: U, orgadmin: { id: O1 } }, null), ProtocolError);
  throws(
    () => groupsForConnection(null as unknown as Record<string, unknown>, null),
    ProtocolError,
  );
  throws(() => groupsForConnection({ sub: U }, "nope"), TypeError);
});
