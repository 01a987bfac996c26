/**
 * The suite's own model of who receives a push: a table per push type (audience, precedence of
 * targets, client-type filter, hub, method), each row citing the upstream source it comes from,
 * and a reader of connection claims written from `NotificationsHub.OnConnectedAsync` and
 * `CurrentContext.SetContextAsync`.
 *
 * It is written apart from `protocol/bitwarden` (`routeEnvelope`, `groupsForConnection`), which
 * the reference server uses to deliver: a judge that shared the server's routing code could not
 * see a mistake in it. `delivery_model_test.ts` cross-checks the two over generated worlds; a
 * disagreement is a bug in one of them, settled from the upstream source.
 *
 * Upstream sources, all `bitwarden/server` at commit ac309aa19ed351406a56032d5f26a7a9a99f4abd:
 * - `src/Notifications/HubHelpers.cs` (`SendNotificationToHubAsync`: the switch per push type);
 * - `src/Notifications/NotificationsHub.cs` (`OnConnectedAsync`, the group names);
 * - `src/Notifications/AnonymousNotificationsHub.cs` (the `Token` group);
 * - `src/Notifications/SubjectUserIdProvider.cs` (the SignalR user is the raw first `sub`);
 * - `src/Core/Context/CurrentContext.cs` (`SetContextAsync`: `type`, `sub`, `devicetype`,
 *   organization claims);
 * - `src/Core/Utilities/DeviceTypes.cs` and `src/Core/Enums/DeviceType.cs` (`ToClientType`);
 * - `src/Core/Platform/Push/PushType.cs` (the push type numbers).
 *
 * @module
 */

import type { Envelope, HubClaims } from "../../protocol/mod.ts";

const BITWARDEN_SERVER = "bitwarden/server @ ac309aa19ed351406a56032d5f26a7a9a99f4abd";
const HUB_HELPERS = `${BITWARDEN_SERVER} src/Notifications/HubHelpers.cs`;

/**
 * `DeviceType` name, number and the client type `DeviceTypes.ToClientType` gives it (the
 * `src/Core/Enums/ClientType.cs` number: 0 All, 1 Web, 2 Browser, 3 Desktop, 4 Mobile, 5 Cli;
 * All for SDK and Server).
 */
const DEVICE_TYPES: readonly (readonly [name: string, value: number, clientType: number])[] = [
  ["Android", 0, 4],
  ["iOS", 1, 4],
  ["ChromeExtension", 2, 2],
  ["FirefoxExtension", 3, 2],
  ["OperaExtension", 4, 2],
  ["EdgeExtension", 5, 2],
  ["WindowsDesktop", 6, 3],
  ["MacOsDesktop", 7, 3],
  ["LinuxDesktop", 8, 3],
  ["ChromeBrowser", 9, 1],
  ["FirefoxBrowser", 10, 1],
  ["OperaBrowser", 11, 1],
  ["EdgeBrowser", 12, 1],
  ["IEBrowser", 13, 1],
  ["UnknownBrowser", 14, 1],
  ["AndroidAmazon", 15, 4],
  ["UWP", 16, 3],
  ["SafariBrowser", 17, 1],
  ["VivaldiBrowser", 18, 1],
  ["VivaldiExtension", 19, 2],
  ["SafariExtension", 20, 2],
  ["SDK", 21, 0],
  ["Server", 22, 0],
  ["WindowsCLI", 23, 5],
  ["MacOsCLI", 24, 5],
  ["LinuxCLI", 25, 5],
  ["DuckDuckGoBrowser", 26, 1],
];

/** Who one step of a rule addresses, read from one payload field. */
export type Audience =
  /** `Clients.User(id)`: connections whose raw `sub` equals the id's text. */
  | "user"
  /** `Organization_{id}` (or `OrganizationClientType_{id}_{ct}`): connections with the claim. */
  | "organization"
  /** `Installation_{id}` (or `Installation_ClientType_{id}_{ct}`): every connection of the hub. */
  | "installation"
  /** The anonymous hub's group named by the `Token` query value. */
  | "auth-request";

/** One target of a rule: the payload field it reads and whom it addresses. */
export interface AudienceStep {
  /** The payload field holding the id (read case-insensitively, as `HubHelpers` does). */
  readonly field: string;
  /** Whom the id addresses. */
  readonly audience: Audience;
  /** True when the field is a `Guid?`: null or absent moves on to the next step. */
  readonly nullable: boolean;
}

/** How one push type is delivered. */
export interface DeliveryRule {
  /** The `PushType` number. */
  readonly type: number;
  /** The `PushType` name. */
  readonly name: string;
  /** Which hub sends it. */
  readonly hub: "main" | "anonymous";
  /** The client method invoked. */
  readonly method: "ReceiveMessage" | "AuthRequestResponseRecieved";
  /** Targets in order of precedence: the first step whose field has a value is the only one used. */
  readonly steps: readonly AudienceStep[];
  /**
   * True when `Payload.ClientType` narrows the audience to connections of that client type
   * (`UserClientType_…`, `Installation_ClientType_…`, `OrganizationClientType_…` groups), and a
   * user target with a client type other than All becomes the user's client-type group.
   */
  readonly clientTypeFilter: boolean;
  /** The upstream source of the row. */
  readonly source: string;
}

const USER_ONLY = [{ field: "UserId", audience: "user", nullable: false }] as const;
const ORGANIZATION_ONLY = [
  { field: "OrganizationId", audience: "organization", nullable: false },
] as const;

function rule(
  type: number,
  name: string,
  steps: readonly AudienceStep[],
  source: string,
  extra: Partial<Pick<DeliveryRule, "hub" | "method" | "clientTypeFilter">> = {},
): DeliveryRule {
  return {
    type,
    name,
    hub: extra.hub ?? "main",
    method: extra.method ?? "ReceiveMessage",
    steps,
    clientTypeFilter: extra.clientTypeFilter ?? false,
    source,
  };
}

const CIPHER_STEPS: readonly AudienceStep[] = [
  { field: "UserId", audience: "user", nullable: true },
  { field: "OrganizationId", audience: "organization", nullable: true },
];
const CIPHER = `${HUB_HELPERS} (SyncCipher*: UserId if set, else the organization group)`;
const FOLDER = `${HUB_HELPERS} (SyncFolder*: the user)`;
const USER = `${HUB_HELPERS} (LogOutPushNotification/UserPushNotification types: the user)`;
const SEND = `${HUB_HELPERS} (SyncSend*: the user)`;
const ORGANIZATION = `${HUB_HELPERS} (the organization group)`;
const NOTIFICATION =
  `${HUB_HELPERS} (Notification*: InstallationId, else UserId, else OrganizationId, each per ClientType)`;

/** The delivery table, one row per push type `HubHelpers` handles; other types reach no one. */
export const DELIVERY_RULES: readonly DeliveryRule[] = Object.freeze([
  rule(0, "SyncCipherUpdate", CIPHER_STEPS, CIPHER),
  rule(1, "SyncCipherCreate", CIPHER_STEPS, CIPHER),
  rule(2, "SyncLoginDelete", CIPHER_STEPS, CIPHER),
  rule(3, "SyncFolderDelete", USER_ONLY, FOLDER),
  rule(4, "SyncCiphers", USER_ONLY, USER),
  rule(5, "SyncVault", USER_ONLY, USER),
  rule(6, "SyncOrgKeys", USER_ONLY, USER),
  rule(7, "SyncFolderCreate", USER_ONLY, FOLDER),
  rule(8, "SyncFolderUpdate", USER_ONLY, FOLDER),
  rule(9, "SyncCipherDelete", CIPHER_STEPS, CIPHER),
  rule(10, "SyncSettings", USER_ONLY, USER),
  rule(11, "LogOut", USER_ONLY, USER),
  rule(12, "SyncSendCreate", USER_ONLY, SEND),
  rule(13, "SyncSendUpdate", USER_ONLY, SEND),
  rule(14, "SyncSendDelete", USER_ONLY, SEND),
  rule(15, "AuthRequest", USER_ONLY, `${HUB_HELPERS} (AuthRequest: the user)`),
  rule(
    16,
    "AuthRequestResponse",
    [{ field: "Id", audience: "auth-request", nullable: false }],
    `${HUB_HELPERS} (AuthRequestResponse: the anonymous hub's group Payload.Id); ` +
      `${BITWARDEN_SERVER} src/Notifications/AnonymousNotificationsHub.cs`,
    { hub: "anonymous", method: "AuthRequestResponseRecieved" },
  ),
  rule(17, "SyncOrganizations", USER_ONLY, USER),
  rule(18, "SyncOrganizationStatusChanged", ORGANIZATION_ONLY, ORGANIZATION),
  rule(19, "SyncOrganizationCollectionSettingChanged", ORGANIZATION_ONLY, ORGANIZATION),
  rule(
    20,
    "Notification",
    [
      { field: "InstallationId", audience: "installation", nullable: true },
      { field: "UserId", audience: "user", nullable: true },
      { field: "OrganizationId", audience: "organization", nullable: true },
    ],
    NOTIFICATION,
    { clientTypeFilter: true },
  ),
  rule(
    21,
    "NotificationStatus",
    [
      { field: "InstallationId", audience: "installation", nullable: true },
      { field: "UserId", audience: "user", nullable: true },
      { field: "OrganizationId", audience: "organization", nullable: true },
    ],
    NOTIFICATION,
    { clientTypeFilter: true },
  ),
  rule(22, "RefreshSecurityTasks", USER_ONLY, USER),
  rule(23, "OrganizationBankAccountVerified", ORGANIZATION_ONLY, ORGANIZATION),
  rule(
    24,
    "ProviderBankAccountVerified",
    [{ field: "AdminId", audience: "user", nullable: false }],
    `${HUB_HELPERS} (ProviderBankAccountVerified: the user AdminId)`,
  ),
  rule(25, "PolicyChanged", ORGANIZATION_ONLY, `${HUB_HELPERS} (policyChangedNotificationHandler)`),
  rule(26, "AutoConfirm", USER_ONLY, USER),
  rule(27, "PremiumStatusChanged", USER_ONLY, USER),
]);

const RULES_BY_TYPE = new Map(DELIVERY_RULES.map((row) => [row.type, row]));

/** A hub connection as the model sees it. */
export type ModelEndpoint =
  | {
    /** Unique connection name. */
    readonly name: string;
    /** Main hub. */
    readonly hub: "main";
    /** The claims of the connection's access token. */
    readonly claims: HubClaims;
    /**
     * Organizations the harness made the user a confirmed member of, whether or not the token
     * claims them: a target whose tokens carry no organization claims (Vaultwarden) must reach
     * such a member by a user message, once, for pushes to the whole organization.
     */
    readonly memberships?: readonly string[];
  }
  | {
    /** Unique connection name. */
    readonly name: string;
    /** Anonymous hub. */
    readonly hub: "anonymous";
    /** The `Token` query value. */
    readonly token: string;
  };

/** The model's answer for one envelope. */
export interface ModelDelivery {
  /** The rule applied, or null when `HubHelpers` handles no such type. */
  readonly rule: DeliveryRule | null;
  /** The names of the connections that must receive the envelope, once each. */
  readonly recipients: readonly string[];
  /** Why nobody receives it, when `recipients` is empty for a reason other than "no match". */
  readonly reason?: string;
}

const HEX = "[0-9a-fA-F]";
const D_GUID = new RegExp(`^${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}$`);
const N_GUID = new RegExp(`^${HEX}{32}$`);

/** A payload GUID as System.Text.Json reads it: the `D` form only; lower-cased like `ToString()`. */
function payloadGuid(value: unknown): string | undefined {
  return typeof value === "string" && D_GUID.test(value) ? value.toLowerCase() : undefined;
}

/** A claim GUID as `Guid.TryParse`/`new Guid` read it: D, N, {D} or (D), whitespace trimmed. */
function claimGuid(text: string): string | undefined {
  let t = text.trim();
  if ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("(") && t.endsWith(")"))) {
    t = t.slice(1, -1);
    if (!D_GUID.test(t)) return undefined;
  }
  if (N_GUID.test(t)) {
    t = `${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`;
  }
  return D_GUID.test(t) ? t.toLowerCase() : undefined;
}

/** Every value of a claim as text (.NET makes one `Claim` per array element). */
function claimTexts(claims: HubClaims, name: string): string[] {
  if (!Object.hasOwn(claims, name)) return [];
  const raw = claims[name];
  const values = Array.isArray(raw) ? raw : [raw];
  return values.filter((value) => value !== null && value !== undefined)
    .map((value) => typeof value === "string" ? value : JSON.stringify(value));
}

/**
 * The client type index a `devicetype` claim maps to: `Enum.TryParse<DeviceType>` of the name or
 * a decimal number, then `ToClientType`; All when absent, unparsable or not a listed device.
 */
function clientTypeOfDevice(claim: string | undefined): number {
  if (claim === undefined) return 0;
  const text = claim.trim();
  const byName = DEVICE_TYPES.find(([name]) => name === text);
  if (byName !== undefined) return byName[2];
  if (!/^[+-]?\d+$/.test(text)) return 0;
  const value = Number(text);
  return DEVICE_TYPES.find(([, number]) => number === value)?.[2] ?? 0;
}

/** What a main-hub connection is, read the way `CurrentContext` and the hub read its token. */
interface MainConnection {
  /** SignalR's user identifier: the raw first `sub` (`SubjectUserIdProvider`). */
  readonly signalRUser: string | undefined;
  /** `CurrentContext.UserId`: `sub` as a GUID, unset for Send tokens. */
  readonly userGuid: string | undefined;
  /** Client type index (0 = All). */
  readonly clientType: number;
  /** Organization ids from `orgowner`, `orgadmin`, `orguser`, `orgcustom`. */
  readonly organizations: ReadonlySet<string>;
  /** Memberships the token does not claim (reached only for the whole organization). */
  readonly unclaimed: ReadonlySet<string>;
}

function readConnection(
  claims: HubClaims,
  memberships: readonly string[] = [],
): MainConnection | { readonly refused: string } {
  const signalRUser = claimTexts(claims, "sub")[0];
  const type = claimTexts(claims, "type")[0]?.trim();
  // `IdentityClientType.Send` (3): CurrentContext stops before reading the user, device or
  // organizations.
  if (type === "Send" || (type !== undefined && /^\+?0*3$/.test(type))) {
    return {
      signalRUser,
      userGuid: undefined,
      clientType: 0,
      organizations: new Set(),
      unclaimed: new Set(memberships.map((m) => m.toLowerCase())),
    };
  }
  const organizations = new Set<string>();
  for (const name of ["orgowner", "orgadmin", "orguser", "orgcustom"]) {
    for (const text of claimTexts(claims, name)) {
      const id = claimGuid(text);
      // `new Guid(c.Value)` throws: the connection fails in OnConnectedAsync.
      if (id === undefined) return { refused: `${name} claim is not a GUID` };
      organizations.add(id);
    }
  }
  return {
    signalRUser,
    userGuid: signalRUser === undefined ? undefined : claimGuid(signalRUser),
    clientType: clientTypeOfDevice(claimTexts(claims, "devicetype")[0]),
    organizations,
    unclaimed: new Set(
      memberships.map((m) => m.toLowerCase()).filter((m) => !organizations.has(m)),
    ),
  };
}

function payloadField(envelope: Envelope, field: string): { present: boolean; value: unknown } {
  const key = Object.keys(envelope.payload).find((k) => k.toLowerCase() === field.toLowerCase());
  return key === undefined
    ? { present: false, value: undefined }
    : { present: true, value: envelope.payload[key] };
}

/** The chosen step with its id, the reason nobody is addressed, or the default GUID. */
function chooseStep(
  rule: DeliveryRule,
  envelope: Envelope,
): { step: AudienceStep; id: string } | { reason: string } {
  for (const step of rule.steps) {
    const { present, value } = payloadField(envelope, step.field);
    if (!present || value === null) {
      if (step.nullable) continue;
      // A non-nullable Guid: absent deserializes to Guid.Empty, null fails deserialization.
      if (!present) return { step, id: "00000000-0000-0000-0000-000000000000" };
      return { reason: `Payload.${step.field} is null: deserialization fails, nothing is sent` };
    }
    const id = payloadGuid(value);
    if (id === undefined) {
      return { reason: `Payload.${step.field} is not a GUID: deserialization fails` };
    }
    return { step, id };
  }
  return { reason: `none of ${rule.steps.map((s) => s.field).join(", ")} is set` };
}

/** `Payload.ClientType` as the byte enum it deserializes to, or undefined when it does not. */
function payloadClientType(envelope: Envelope): number | undefined {
  const { present, value } = payloadField(envelope, "ClientType");
  if (!present) return 0;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 255
    ? value
    : undefined;
}

function addressed(
  connection: MainConnection,
  audience: Audience,
  id: string,
  clientType: number,
  installationId: string | undefined,
): boolean {
  // A client type other than All narrows every group to connections of that client type; a
  // connection of client type All joins no client-type group.
  const typeMatches = clientType === 0 || connection.clientType === clientType;
  switch (audience) {
    case "user":
      // `Clients.User(guid.ToString())` for All; the `UserClientType_{guid}_{ct}` group, which
      // connections join by `CurrentContext.UserId`, for any other client type.
      return clientType === 0
        ? connection.signalRUser === id
        : connection.userGuid === id && typeMatches;
    case "organization":
      return (connection.organizations.has(id) && typeMatches) ||
        (clientType === 0 && connection.unclaimed.has(id));
    case "installation":
      return installationId === id && typeMatches;
    case "auth-request":
      return false;
  }
}

/**
 * Who must receive `envelope`, from the delivery table and the connections' claims.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { modelDelivery } from "./delivery_model.ts";
 * const user = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
 * const delivery = modelDelivery(
 *   { type: 5, payload: { UserId: user, Date: "2025-01-01T00:00:00Z" }, contextId: null },
 *   [
 *     { name: "mine", hub: "main", claims: { sub: user, devicetype: "ChromeBrowser" } },
 *     { name: "other", hub: "main", claims: { sub: "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" } },
 *   ],
 *   null,
 * );
 * deepStrictEqual(delivery.recipients, ["mine"]);
 * ```
 * @param envelope The pushed envelope (payload fields are read case-insensitively).
 * @param endpoints Every connection of the scenario.
 * @param installationId The Notifications service's installation id, or null when it has none.
 * @returns The rule applied and the recipients, once each.
 */
export function modelDelivery(
  envelope: Envelope,
  endpoints: readonly ModelEndpoint[],
  installationId: string | null,
): ModelDelivery {
  const row = RULES_BY_TYPE.get(envelope.type) ?? null;
  if (row === null) {
    return { rule: null, recipients: [], reason: `HubHelpers has no case for ${envelope.type}` };
  }
  const chosen = chooseStep(row, envelope);
  if ("reason" in chosen) return { rule: row, recipients: [], reason: chosen.reason };
  const clientType = row.clientTypeFilter ? payloadClientType(envelope) : 0;
  if (clientType === undefined) {
    return { rule: row, recipients: [], reason: "Payload.ClientType is not a byte" };
  }
  const installation = installationId === null ? undefined : claimGuid(installationId);
  const activeInstallation = installation === "00000000-0000-0000-0000-000000000000"
    ? undefined
    : installation;
  const recipients: string[] = [];
  for (const endpoint of endpoints) {
    if (endpoint.hub !== row.hub) continue;
    if (endpoint.hub === "anonymous") {
      // The anonymous hub adds the raw `Token` to a group unless it is blank.
      if (endpoint.token.trim() !== "" && endpoint.token === chosen.id) {
        recipients.push(endpoint.name);
      }
      continue;
    }
    const connection = readConnection(endpoint.claims, endpoint.memberships);
    if ("refused" in connection) continue;
    if (addressed(connection, chosen.step.audience, chosen.id, clientType, activeInstallation)) {
      recipients.push(endpoint.name);
    }
  }
  return { rule: row, recipients };
}
