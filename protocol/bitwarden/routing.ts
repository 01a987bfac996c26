/**
 * Where `HubHelpers.SendNotificationToHubAsync` sends each envelope: hub, client method and
 * recipients (SignalR users, matched ordinally against the raw `sub`, or groups).
 *
 * @module
 */

import { EnvelopeError } from "../errors.ts";
import { ClientType } from "./client_type.ts";
import { parseJsonGuid } from "./guid.ts";
import { installationGroup, organizationGroup, userClientTypeGroup } from "./groups.ts";
import { modelsForPushType } from "./payloads.ts";
import { PushType } from "./push_type.ts";
import type { Envelope, Route, RouteTarget } from "./types.ts";
import { describeValue } from "./_json_read.ts";

function mainHub(targets: RouteTarget[], reason?: string): Route {
  return {
    hub: "main",
    method: "ReceiveMessage",
    targets,
    ...(reason === undefined ? {} : { reason }),
  };
}

function user(userId: string): RouteTarget {
  return { kind: "user", userId };
}

function group(name: string): RouteTarget {
  return { kind: "group", group: name };
}

/** Reads a GUID field of the re-sent model (absent -> its default); null -> null. */
function guidOf(envelope: Envelope, name: string): string | null {
  const field = modelsForPushType(envelope.type)?.resent.fields.find((f) => f.name === name);
  const value = Object.hasOwn(envelope.payload, name)
    ? envelope.payload[name]
    : field?.defaultValue ?? null;
  if (value === null || value === undefined) return null;
  const guid = typeof value === "string" ? parseJsonGuid(value) : undefined;
  if (guid === undefined) {
    throw new EnvelopeError(`Payload.${name}`, `Invalid GUID: ${describeValue(value)}`);
  }
  return guid;
}

function requiredGuid(envelope: Envelope, name: string): string {
  return guidOf(envelope, name) ?? (() => {
    throw new EnvelopeError(`Payload.${name}`, "Invalid null: guid field is not nullable");
  })();
}

function routeCipher(envelope: Envelope): Route {
  const userId = guidOf(envelope, "UserId");
  if (userId !== null) return mainHub([user(userId)]);
  const organizationId = guidOf(envelope, "OrganizationId");
  if (organizationId !== null) return mainHub([group(organizationGroup(organizationId))]);
  return mainHub([], "Cipher payload has neither UserId nor OrganizationId: nothing is sent");
}

function routeNotification(envelope: Envelope): Route {
  const raw = envelope.payload.ClientType ?? ClientType.All;
  if (typeof raw !== "number") {
    throw new EnvelopeError(
      "Payload.ClientType",
      `Expected an integer 0..255: got ${describeValue(raw)}`,
    );
  }
  const installationId = guidOf(envelope, "InstallationId");
  if (installationId !== null) return mainHub([group(installationGroup(installationId, raw))]);
  const userId = guidOf(envelope, "UserId");
  if (userId !== null) {
    return mainHub([
      raw === ClientType.All ? user(userId) : group(userClientTypeGroup(userId, raw)),
    ]);
  }
  const organizationId = guidOf(envelope, "OrganizationId");
  if (organizationId !== null) return mainHub([group(organizationGroup(organizationId, raw))]);
  return mainHub(
    [],
    envelope.payload.Global === true
      ? "Global notification without InstallationId: nothing is sent"
      : "Notification has no InstallationId, UserId or OrganizationId: nothing is sent",
  );
}

/**
 * Routes an envelope exactly as the real `HubHelpers` does:
 * - 0, 1, 2, 9 (ciphers): the user `UserId`, else the group `Organization_{OrganizationId}`, else nothing;
 * - 3-8, 10-15, 17, 22, 26, 27: the user `UserId`;
 * - 16: the anonymous hub, method `AuthRequestResponseRecieved` (sic), group = `Payload.Id`;
 * - 18, 19, 23, 25: the group `Organization_{OrganizationId}`;
 * - 20, 21: `InstallationId` (installation group, per client type) > `UserId` (the user for
 *   client type All, else `UserClientType_{u}_{ct}`) > `OrganizationId` (organization group,
 *   per client type) > nothing (including Global notifications without an installation);
 * - 24: the user `AdminId`;
 * - any other number: nothing (the real server logs a warning).
 *
 * User ids are the lowercase GUID text (`Guid.ToString()`), matched case-sensitively against
 * each connection's raw `sub`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseQueueMessage } from "./envelope_parse.ts";
 * import { routeEnvelope } from "./routing.ts";
 * deepStrictEqual(
 *   routeEnvelope(parseQueueMessage('{"Type":18,"Payload":{"OrganizationId":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa","Enabled":true}}')),
 *   { hub: "main", method: "ReceiveMessage", targets: [{ kind: "group", group: "Organization_aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" }] },
 * );
 * ```
 * @param envelope A parsed or created envelope.
 * @returns The route; `targets` is empty (with a `reason`) when nothing is sent.
 * @throws {EnvelopeError} When a field used for routing is not a valid GUID.
 */
export function routeEnvelope(envelope: Envelope): Route {
  switch (envelope.type) {
    case PushType.SyncCipherUpdate:
    case PushType.SyncCipherCreate:
    case PushType.SyncLoginDelete:
    case PushType.SyncCipherDelete:
      return routeCipher(envelope);
    case PushType.SyncFolderDelete:
    case PushType.SyncCiphers:
    case PushType.SyncVault:
    case PushType.SyncOrgKeys:
    case PushType.SyncFolderCreate:
    case PushType.SyncFolderUpdate:
    case PushType.SyncSettings:
    case PushType.LogOut:
    case PushType.SyncSendCreate:
    case PushType.SyncSendUpdate:
    case PushType.SyncSendDelete:
    case PushType.AuthRequest:
    case PushType.SyncOrganizations:
    case PushType.RefreshSecurityTasks:
    case PushType.AutoConfirm:
    case PushType.PremiumStatusChanged:
      return mainHub([user(requiredGuid(envelope, "UserId"))]);
    case PushType.AuthRequestResponse:
      return {
        hub: "anonymous",
        method: "AuthRequestResponseRecieved",
        targets: [group(requiredGuid(envelope, "Id"))],
      };
    case PushType.SyncOrganizationStatusChanged:
    case PushType.SyncOrganizationCollectionSettingChanged:
    case PushType.OrganizationBankAccountVerified:
    case PushType.PolicyChanged:
      return mainHub([group(organizationGroup(requiredGuid(envelope, "OrganizationId")))]);
    case PushType.Notification:
    case PushType.NotificationStatus:
      return routeNotification(envelope);
    case PushType.ProviderBankAccountVerified:
      return mainHub([user(requiredGuid(envelope, "AdminId"))]);
    default:
      return mainHub(
        [],
        `Notification type '${envelope.type}' is not registered in HubHelpers: nothing is sent`,
      );
  }
}
