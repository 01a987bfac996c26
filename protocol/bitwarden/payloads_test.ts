import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  LOG_OUT_MODEL,
  modelsForPushType,
  NOTIFICATION_MODEL,
  ORGANIZATION_STATUS_MODEL,
  POLICY_MODEL,
  PUSH_TYPE_MODELS,
  toCamelCase,
  USER_MODEL,
} from "./payloads.ts";
import { PUSH_TYPES, pushTypeName } from "./push_type.ts";

const names = (model: { fields: readonly { name: string }[] }) => model.fields.map((f) => f.name);

Deno.test("every defined push type has its two models", () => {
  strictEqual(PUSH_TYPE_MODELS.length, 28);
  for (const type of PUSH_TYPES) {
    const models = modelsForPushType(type)!;
    strictEqual(models.type, type);
    strictEqual(models.name, pushTypeName(type));
  }
  strictEqual(modelsForPushType(28), undefined);
  strictEqual(modelsForPushType(-1), undefined);
  strictEqual(modelsForPushType(1.5), undefined);
});

Deno.test("types 4/5/6/10/17 and 19 are re-sent through another model", () => {
  for (const type of [4, 5, 6, 10, 17]) {
    strictEqual(modelsForPushType(type)!.declared, USER_MODEL);
    strictEqual(modelsForPushType(type)!.resent, LOG_OUT_MODEL);
  }
  strictEqual(
    modelsForPushType(19)!.declared.name,
    "OrganizationCollectionManagementPushNotification",
  );
  strictEqual(modelsForPushType(19)!.resent, ORGANIZATION_STATUS_MODEL);
  const different = PUSH_TYPE_MODELS.filter((m) => m.declared !== m.resent).map((m) => m.type);
  deepStrictEqual(different, [4, 5, 6, 10, 17, 19]);
});

Deno.test("fields are in declaration order with their C# defaults", () => {
  deepStrictEqual(names(NOTIFICATION_MODEL), [
    "Id",
    "Priority",
    "Global",
    "ClientType",
    "UserId",
    "OrganizationId",
    "InstallationId",
    "TaskId",
    "Title",
    "Body",
    "CreationDate",
    "RevisionDate",
    "ReadDate",
    "DeletedDate",
  ]);
  deepStrictEqual(names(modelsForPushType(15)!.resent), ["UserId", "Id"]);
  deepStrictEqual(names(POLICY_MODEL), [
    "Id",
    "OrganizationId",
    "Type",
    "Data",
    "Enabled",
    "CreationDate",
    "RevisionDate",
  ]);
  const byName = Object.fromEntries(NOTIFICATION_MODEL.fields.map((f) => [f.name, f]));
  strictEqual(byName.Id!.defaultValue, "00000000-0000-0000-0000-000000000000");
  strictEqual(byName.CreationDate!.defaultValue, "0001-01-01T00:00:00");
  strictEqual(byName.Global!.defaultValue, false);
  strictEqual(byName.Priority!.defaultValue, 0);
  strictEqual(byName.UserId!.defaultValue, null);
  strictEqual(byName.Title!.nullable, true);
  strictEqual(byName.ReadDate!.nullable, true);
  strictEqual(byName.RevisionDate!.nullable, false);
  const policy = modelsForPushType(25)!.resent.fields[1]!;
  strictEqual(policy.required, true);
  strictEqual(policy.model, POLICY_MODEL);
  strictEqual(POLICY_MODEL.fields.filter((f) => f.internalSetter).length, 2);
});

Deno.test("toCamelCase follows JsonNamingPolicy.CamelCase", () => {
  strictEqual(toCamelCase("UserId"), "userId");
  strictEqual(toCamelCase("TargetOrganizationUserId"), "targetOrganizationUserId");
  strictEqual(toCamelCase("ID"), "id");
  strictEqual(toCamelCase("IDValue"), "idValue");
  strictEqual(toCamelCase("URL Value"), "url Value");
  strictEqual(toCamelCase("already"), "already");
  strictEqual(toCamelCase(""), "");
});
