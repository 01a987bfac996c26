/**
 * Wire literals anchored in the real server's tests (`AzureQueuePipelineTests`,
 * `PostSendEndpointTests`, `HubHelpersTest`), with the route each must take. The push engines
 * must reproduce the `engineOutput` ones byte for byte; every literal must be accepted and
 * routed as stated. Useful to the conformance suite as well as to unit tests.
 *
 * @module
 */

import type { Route } from "./types.ts";

/** The ids used by the real tests. */
export const REFERENCE_IDS = Object.freeze({
  /** The user. */
  userId: "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c",
  /** The organization. */
  organizationId: "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
  /** The installation. */
  installationId: "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
  /** The notification-center notification. */
  notificationId: "cccccccc-cccc-cccc-cccc-cccccccccccc",
  /** The auth request (also the anonymous-hub token). */
  authRequestId: "dddddddd-dddd-dddd-dddd-dddddddddddd",
  /** The acting device of ExcludeCurrentContext pushes. */
  deviceId: "test-device-id",
});

/** One test-anchored wire literal. */
export interface ReferenceLiteral {
  /** Short description. */
  readonly name: string;
  /** Transport form: queue message text or `/send` body. */
  readonly form: "queue" | "send";
  /** The exact text. */
  readonly text: string;
  /**
   * True when the real engine writes exactly this text (the research quotes it in full);
   * false for a literal reconstructed from an abbreviated quote (accepted and routed, not
   * necessarily engine output).
   */
  readonly engineOutput: boolean;
  /** Where it must be routed. */
  readonly route: Route;
}

const { userId, organizationId, installationId, notificationId, authRequestId } = REFERENCE_IDS;
const MIN_DATE = "0001-01-01T00:00:00";

function toUser(id: string): Route {
  return { hub: "main", method: "ReceiveMessage", targets: [{ kind: "user", userId: id }] };
}

function toGroup(group: string): Route {
  return { hub: "main", method: "ReceiveMessage", targets: [{ kind: "group", group }] };
}

const TO_AUTH_REQUEST_GROUP: Route = {
  hub: "anonymous",
  method: "AuthRequestResponseRecieved",
  targets: [{ kind: "group", group: authRequestId }],
};

/** The queue literals (`AzureQueuePushEngine` output, PascalCase, nulls omitted). */
export const QUEUE_LITERALS: readonly ReferenceLiteral[] = Object.freeze([
  {
    name: "LogOut to a user",
    form: "queue",
    text: `{"Type":11,"Payload":{"UserId":"${userId}"}}`,
    engineOutput: true,
    route: toUser(userId),
  },
  {
    name: "LogOut to a user, excluding the current context",
    form: "queue",
    text: `{"Type":11,"Payload":{"UserId":"${userId}"},"ContextId":"test-device-id"}`,
    engineOutput: true,
    route: toUser(userId),
  },
  {
    name: "SyncOrganizationStatusChanged to an organization",
    form: "queue",
    text: `{"Type":18,"Payload":{"OrganizationId":"${organizationId}","Enabled":true}}`,
    engineOutput: true,
    route: toGroup(`Organization_${organizationId}`),
  },
  {
    name: "Notification to an installation, all client types",
    form: "queue",
    text:
      `{"Type":20,"Payload":{"Id":"${notificationId}","Priority":0,"Global":false,"ClientType":0,"InstallationId":"${installationId}","CreationDate":"${MIN_DATE}","RevisionDate":"${MIN_DATE}"}}`,
    engineOutput: true,
    route: toGroup(`Installation_${installationId}`),
  },
  {
    name: "Notification to a user's browser clients",
    form: "queue",
    text:
      `{"Type":20,"Payload":{"Id":"${notificationId}","Priority":0,"Global":false,"ClientType":2,"UserId":"${userId}","CreationDate":"${MIN_DATE}","RevisionDate":"${MIN_DATE}"}}`,
    engineOutput: false,
    route: toGroup(`UserClientType_${userId}_Browser`),
  },
  {
    name: "AuthRequestResponse to the anonymous hub",
    form: "queue",
    text:
      `{"Type":16,"Payload":{"UserId":"${userId}","Id":"${authRequestId}"},"ContextId":"test-device-id"}`,
    engineOutput: true,
    route: TO_AUTH_REQUEST_GROUP,
  },
]);

/** The `/send` literals (`NotificationsApiPushEngine` output, camelCase, explicit nulls). */
export const SEND_LITERALS: readonly ReferenceLiteral[] = Object.freeze([
  {
    name: "LogOut to a user",
    form: "send",
    text: `{"type":11,"payload":{"userId":"${userId}","reason":null},"contextId":null}`,
    engineOutput: true,
    route: toUser(userId),
  },
  {
    name: "SyncOrganizationStatusChanged to an organization, excluding the current context",
    form: "send",
    text:
      `{"type":18,"payload":{"organizationId":"${organizationId}","enabled":true},"contextId":"test-device-id"}`,
    engineOutput: true,
    route: toGroup(`Organization_${organizationId}`),
  },
  {
    name: "Notification to an installation, all client types",
    form: "send",
    text:
      `{"type":20,"payload":{"id":"${notificationId}","priority":0,"global":false,"clientType":0,"userId":null,"organizationId":null,"installationId":"${installationId}","taskId":null,"title":null,"body":null,"creationDate":"${MIN_DATE}","revisionDate":"${MIN_DATE}","readDate":null,"deletedDate":null},"contextId":null}`,
    engineOutput: true,
    route: toGroup(`Installation_${installationId}`),
  },
  {
    name: "AuthRequestResponse to the anonymous hub",
    form: "send",
    text:
      `{"type":16,"payload":{"userId":"${userId}","id":"${authRequestId}"},"contextId":"test-device-id"}`,
    engineOutput: true,
    route: TO_AUTH_REQUEST_GROUP,
  },
]);
