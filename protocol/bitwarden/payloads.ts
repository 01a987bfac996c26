/**
 * Payload models of the 28 push types as data: for each type, the model the API writes
 * (`[NotificationInfo]` payload type) and the model `HubHelpers` deserializes and re-sends on
 * the hub. Field order is declaration order, which is the wire order of every serializer.
 *
 * @module
 */

import { EMPTY_GUID } from "./guid.ts";
import { PushType } from "./push_type.ts";
import type { JsonValue } from "./types.ts";

/**
 * How a field is typed in C#, which decides how it is read, defaulted and written:
 * - `guid`: `Guid` (JSON: 36-char `D` string; MessagePack: lowercase str);
 * - `date`: `DateTime` (JSON: ISO 8601 as STJ; MessagePack: timestamp ext -1);
 * - `bool`: `bool`;
 * - `byte-enum`: a byte-backed enum (JSON and MessagePack: an integer 0..255);
 * - `string`: `string`;
 * - `json-string`: a `string` holding JSON text (carried as an opaque string);
 * - `guid-array`: `IEnumerable<Guid>`;
 * - `model`: a nested object (for example `Policy`).
 */
export type FieldKind =
  | "guid"
  | "date"
  | "bool"
  | "byte-enum"
  | "string"
  | "json-string"
  | "guid-array"
  | "model";

/** One property of a payload model. */
export interface FieldSpec {
  /** Property name as declared (PascalCase): the queue and MessagePack key. */
  readonly name: string;
  /** Name under the camelCase policy: the `/send` and JSON hub key. */
  readonly camelName: string;
  /** C# type family. */
  readonly kind: FieldKind;
  /** Whether JSON `null` is allowed (nullable value type or reference type). */
  readonly nullable: boolean;
  /** Value when the property is absent (`default(T)`), in canonical JSON form. */
  readonly defaultValue: JsonValue;
  /** C# `required`: deserialization fails when the key is absent. */
  readonly required: boolean;
  /**
   * `internal set`: STJ does not populate it, so the real hub re-sends the value of a fresh
   * object (`DateTime.UtcNow` for `Policy.CreationDate`/`RevisionDate`). hubproof forwards the
   * given value instead (pure code has no clock).
   */
  readonly internalSetter: boolean;
  /** Enum member names by value, for `byte-enum` fields. */
  readonly enumNames?: Readonly<Record<number, string>>;
  /** The nested model, for `model` fields. */
  readonly model?: PayloadModel;
}

/** A C# payload class: name and ordered properties. */
export interface PayloadModel {
  /** C# class name. */
  readonly name: string;
  /** Properties in declaration order. */
  readonly fields: readonly FieldSpec[];
}

/** The two models of a push type. */
export interface PushTypeModels {
  /** Numeric push type. */
  readonly type: PushType;
  /** Enum name. */
  readonly name: string;
  /** What the API writes to the queue or `/send`. */
  readonly declared: PayloadModel;
  /** What `HubHelpers` deserializes and re-sends to clients. */
  readonly resent: PayloadModel;
}

/** `PushNotificationLogOutReason` (byte enum). */
export const LOG_OUT_REASON_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: "KdfChange",
  1: "KeyRotation",
});

/** `Priority` of notification-center notifications (byte enum). */
export const PRIORITY_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: "Informational",
  1: "Low",
  2: "Medium",
  3: "High",
  4: "Critical",
});

/** `ClientType` (byte enum); also used in group names. */
export const CLIENT_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: "All",
  1: "Web",
  2: "Browser",
  3: "Desktop",
  4: "Mobile",
  5: "Cli",
});

/**
 * The .NET camelCase naming policy (`JsonNamingPolicy.CamelCase`): lower-cases the leading
 * run of upper-case letters, keeping the last one of a run that is followed by a lower-case
 * letter (`UserId` -> `userId`, `IDValue` -> `idValue`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { toCamelCase } from "./payloads.ts";
 * strictEqual(toCamelCase("OrganizationId"), "organizationId");
 * ```
 * @param name A PascalCase name.
 * @returns The camelCase name.
 */
export function toCamelCase(name: string): string {
  const isUpper = (c: string | undefined) =>
    c !== undefined && c !== c.toLowerCase() && c === c.toUpperCase();
  if (!isUpper(name[0])) return name;
  const chars = [...name];
  for (let i = 0; i < chars.length; i++) {
    if (i === 1 && !isUpper(chars[i])) break;
    const next = chars[i + 1];
    if (i > 0 && next !== undefined && !isUpper(next)) {
      if (next === " ") chars[i] = chars[i]!.toLowerCase();
      break;
    }
    chars[i] = chars[i]!.toLowerCase();
  }
  return chars.join("");
}

interface FieldOptions {
  readonly nullable?: boolean;
  readonly required?: boolean;
  readonly internalSetter?: boolean;
  readonly enumNames?: Readonly<Record<number, string>>;
  readonly model?: PayloadModel;
}

const DEFAULTS: Readonly<Record<FieldKind, JsonValue>> = {
  guid: EMPTY_GUID,
  date: "0001-01-01T00:00:00",
  bool: false,
  "byte-enum": 0,
  string: null,
  "json-string": null,
  "guid-array": null,
  model: null,
};

function field(name: string, kind: FieldKind, options: FieldOptions = {}): FieldSpec {
  const referenceType = kind === "string" || kind === "json-string" || kind === "guid-array" ||
    kind === "model";
  const nullable = options.nullable ?? referenceType;
  return Object.freeze({
    name,
    camelName: toCamelCase(name),
    kind,
    nullable,
    defaultValue: nullable ? null : DEFAULTS[kind],
    required: options.required ?? false,
    internalSetter: options.internalSetter ?? false,
    ...(options.enumNames ? { enumNames: options.enumNames } : {}),
    ...(options.model ? { model: options.model } : {}),
  });
}

function model(name: string, fields: FieldSpec[]): PayloadModel {
  return Object.freeze({ name, fields: Object.freeze(fields) });
}

/** `SyncCipherPushNotification`. */
export const SYNC_CIPHER_MODEL: PayloadModel = model("SyncCipherPushNotification", [
  field("Id", "guid"),
  field("UserId", "guid", { nullable: true }),
  field("OrganizationId", "guid", { nullable: true }),
  field("CollectionIds", "guid-array"),
  field("RevisionDate", "date"),
]);

/** `SyncFolderPushNotification`. */
export const SYNC_FOLDER_MODEL: PayloadModel = model("SyncFolderPushNotification", [
  field("Id", "guid"),
  field("UserId", "guid"),
  field("RevisionDate", "date"),
]);

/** `UserPushNotification`. */
export const USER_MODEL: PayloadModel = model("UserPushNotification", [
  field("UserId", "guid"),
  field("Date", "date"),
]);

/** `LogOutPushNotification`. */
export const LOG_OUT_MODEL: PayloadModel = model("LogOutPushNotification", [
  field("UserId", "guid"),
  field("Reason", "byte-enum", { nullable: true, enumNames: LOG_OUT_REASON_NAMES }),
]);

/** `SyncSendPushNotification`. */
export const SYNC_SEND_MODEL: PayloadModel = model("SyncSendPushNotification", [
  field("Id", "guid"),
  field("UserId", "guid"),
  field("RevisionDate", "date"),
]);

/** `AuthRequestPushNotification` (note: `UserId` is declared before `Id`). */
export const AUTH_REQUEST_MODEL: PayloadModel = model("AuthRequestPushNotification", [
  field("UserId", "guid"),
  field("Id", "guid"),
]);

/** `OrganizationStatusPushNotification`. */
export const ORGANIZATION_STATUS_MODEL: PayloadModel = model(
  "OrganizationStatusPushNotification",
  [field("OrganizationId", "guid"), field("Enabled", "bool")],
);

/** `OrganizationCollectionManagementPushNotification` (producer side only). */
export const ORGANIZATION_COLLECTION_MANAGEMENT_MODEL: PayloadModel = model(
  "OrganizationCollectionManagementPushNotification",
  [
    field("OrganizationId", "guid"),
    field("LimitCollectionCreation", "bool"),
    field("LimitCollectionDeletion", "bool"),
    field("LimitItemDeletion", "bool"),
  ],
);

/** `NotificationPushNotification` (notification center). */
export const NOTIFICATION_MODEL: PayloadModel = model("NotificationPushNotification", [
  field("Id", "guid"),
  field("Priority", "byte-enum", { enumNames: PRIORITY_NAMES }),
  field("Global", "bool"),
  field("ClientType", "byte-enum", { enumNames: CLIENT_TYPE_NAMES }),
  field("UserId", "guid", { nullable: true }),
  field("OrganizationId", "guid", { nullable: true }),
  field("InstallationId", "guid", { nullable: true }),
  field("TaskId", "guid", { nullable: true }),
  field("Title", "string"),
  field("Body", "string"),
  field("CreationDate", "date"),
  field("RevisionDate", "date"),
  field("ReadDate", "date", { nullable: true }),
  field("DeletedDate", "date", { nullable: true }),
]);

/** `OrganizationBankAccountVerifiedPushNotification`. */
export const ORGANIZATION_BANK_ACCOUNT_VERIFIED_MODEL: PayloadModel = model(
  "OrganizationBankAccountVerifiedPushNotification",
  [field("OrganizationId", "guid")],
);

/** `ProviderBankAccountVerifiedPushNotification`. */
export const PROVIDER_BANK_ACCOUNT_VERIFIED_MODEL: PayloadModel = model(
  "ProviderBankAccountVerifiedPushNotification",
  [field("ProviderId", "guid"), field("AdminId", "guid")],
);

/** The `Policy` entity carried by type 25. */
export const POLICY_MODEL: PayloadModel = model("Policy", [
  field("Id", "guid"),
  field("OrganizationId", "guid"),
  field("Type", "byte-enum"),
  field("Data", "json-string"),
  field("Enabled", "bool"),
  field("CreationDate", "date", { internalSetter: true }),
  field("RevisionDate", "date", { internalSetter: true }),
]);

/** `SyncPolicyPushNotification` (`Policy` is `required`). */
export const SYNC_POLICY_MODEL: PayloadModel = model("SyncPolicyPushNotification", [
  field("OrganizationId", "guid"),
  field("Policy", "model", { required: true, model: POLICY_MODEL }),
]);

/** `AutoConfirmPushNotification`. */
export const AUTO_CONFIRM_MODEL: PayloadModel = model("AutoConfirmPushNotification", [
  field("UserId", "guid"),
  field("OrganizationId", "guid"),
  field("TargetUserId", "guid"),
  field("TargetOrganizationUserId", "guid"),
]);

/** `PremiumStatusPushNotification` (`Bit.Core.Billing.Models`). */
export const PREMIUM_STATUS_MODEL: PayloadModel = model("PremiumStatusPushNotification", [
  field("UserId", "guid"),
  field("Premium", "bool"),
]);

function entry(type: PushType, declared: PayloadModel, resent = declared): PushTypeModels {
  return Object.freeze({ type, name: PushType[type], declared, resent });
}

/**
 * Models of every defined push type, indexed by type value (0..27). Types 4, 5, 6, 10 and 17
 * are written as `UserPushNotification` but re-sent as `LogOutPushNotification`; type 19 is
 * written as `OrganizationCollectionManagementPushNotification` but re-sent as
 * `OrganizationStatusPushNotification`.
 */
export const PUSH_TYPE_MODELS: readonly PushTypeModels[] = Object.freeze([
  entry(PushType.SyncCipherUpdate, SYNC_CIPHER_MODEL),
  entry(PushType.SyncCipherCreate, SYNC_CIPHER_MODEL),
  entry(PushType.SyncLoginDelete, SYNC_CIPHER_MODEL),
  entry(PushType.SyncFolderDelete, SYNC_FOLDER_MODEL),
  entry(PushType.SyncCiphers, USER_MODEL, LOG_OUT_MODEL),
  entry(PushType.SyncVault, USER_MODEL, LOG_OUT_MODEL),
  entry(PushType.SyncOrgKeys, USER_MODEL, LOG_OUT_MODEL),
  entry(PushType.SyncFolderCreate, SYNC_FOLDER_MODEL),
  entry(PushType.SyncFolderUpdate, SYNC_FOLDER_MODEL),
  entry(PushType.SyncCipherDelete, SYNC_CIPHER_MODEL),
  entry(PushType.SyncSettings, USER_MODEL, LOG_OUT_MODEL),
  entry(PushType.LogOut, LOG_OUT_MODEL),
  entry(PushType.SyncSendCreate, SYNC_SEND_MODEL),
  entry(PushType.SyncSendUpdate, SYNC_SEND_MODEL),
  entry(PushType.SyncSendDelete, SYNC_SEND_MODEL),
  entry(PushType.AuthRequest, AUTH_REQUEST_MODEL),
  entry(PushType.AuthRequestResponse, AUTH_REQUEST_MODEL),
  entry(PushType.SyncOrganizations, USER_MODEL, LOG_OUT_MODEL),
  entry(PushType.SyncOrganizationStatusChanged, ORGANIZATION_STATUS_MODEL),
  entry(
    PushType.SyncOrganizationCollectionSettingChanged,
    ORGANIZATION_COLLECTION_MANAGEMENT_MODEL,
    ORGANIZATION_STATUS_MODEL,
  ),
  entry(PushType.Notification, NOTIFICATION_MODEL),
  entry(PushType.NotificationStatus, NOTIFICATION_MODEL),
  entry(PushType.RefreshSecurityTasks, USER_MODEL),
  entry(PushType.OrganizationBankAccountVerified, ORGANIZATION_BANK_ACCOUNT_VERIFIED_MODEL),
  entry(PushType.ProviderBankAccountVerified, PROVIDER_BANK_ACCOUNT_VERIFIED_MODEL),
  entry(PushType.PolicyChanged, SYNC_POLICY_MODEL),
  entry(PushType.AutoConfirm, AUTO_CONFIRM_MODEL),
  entry(PushType.PremiumStatusChanged, PREMIUM_STATUS_MODEL),
]);

/**
 * Returns the models of a push type, or undefined for a value the real server does not define
 * (such envelopes parse but are routed nowhere).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { modelsForPushType } from "./payloads.ts";
 * strictEqual(modelsForPushType(4)?.resent.name, "LogOutPushNotification");
 * strictEqual(modelsForPushType(99), undefined);
 * ```
 * @param type Numeric push type.
 * @returns The declared and re-sent models.
 */
export function modelsForPushType(type: number): PushTypeModels | undefined {
  return Number.isInteger(type) ? PUSH_TYPE_MODELS[type] : undefined;
}
