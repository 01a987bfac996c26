import { strictEqual } from "node:assert/strict";
import { ClientType } from "./client_type.ts";
import {
  clientTypeName,
  installationGroup,
  organizationGroup,
  userClientTypeGroup,
} from "./groups.ts";

const U = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const O = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const I = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

Deno.test("group names match HubHelpersTest's literals", async (t) => {
  await t.step("user client-type groups use the enum name", () => {
    strictEqual(userClientTypeGroup(U, ClientType.Web), `UserClientType_${U}_Web`);
    strictEqual(userClientTypeGroup(U, ClientType.Browser), `UserClientType_${U}_Browser`);
    strictEqual(userClientTypeGroup(U, ClientType.Desktop), `UserClientType_${U}_Desktop`);
    strictEqual(userClientTypeGroup(U, ClientType.Mobile), `UserClientType_${U}_Mobile`);
    strictEqual(userClientTypeGroup(U, ClientType.Cli), `UserClientType_${U}_Cli`);
  });
  await t.step("organization groups: plain for All / absent, per client type otherwise", () => {
    strictEqual(organizationGroup(O), `Organization_${O}`);
    strictEqual(organizationGroup(O, null), `Organization_${O}`);
    strictEqual(organizationGroup(O, ClientType.All), `Organization_${O}`);
    strictEqual(organizationGroup(O, ClientType.Mobile), `OrganizationClientType_${O}_Mobile`);
  });
  await t.step("installation groups: note the underscore in Installation_ClientType_", () => {
    strictEqual(installationGroup(I), `Installation_${I}`);
    strictEqual(installationGroup(I, ClientType.All), `Installation_${I}`);
    strictEqual(installationGroup(I, ClientType.Browser), `Installation_ClientType_${I}_Browser`);
  });
  await t.step("undefined client type values print as numbers, like Enum.ToString", () => {
    strictEqual(clientTypeName(7), "7");
    strictEqual(organizationGroup(O, 7), `OrganizationClientType_${O}_7`);
  });
});
