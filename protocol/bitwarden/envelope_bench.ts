/**
 * Envelope benchmarks: what the Notifications service does per push before it touches a socket
 * (parse the queue message or `/send` body, route it, build the hub argument) and per connection
 * (derive its groups from the token's claims). Inputs are the real servers' test literals plus a
 * typical organization cipher update.
 *
 * Run: `deno task bench protocol/bitwarden/envelope_bench.ts`
 *
 * @module
 */

import {
  createEnvelope,
  type Envelope,
  groupsForConnection,
  type HubClaims,
  parseQueueMessage,
  parseSendBody,
  PushType,
  QUEUE_LITERALS,
  REFERENCE_IDS,
  routeEnvelope,
  SEND_LITERALS,
  toHubJsonArgument,
  toHubMessagePackArgument,
  writeQueueMessage,
  writeSendBody,
} from "./mod.ts";

/** The most frequent push: a cipher in an organization changed, sent by an excluded device. */
const cipherUpdate = createEnvelope(PushType.SyncCipherUpdate, {
  Id: "5f0c1f7e-3b7a-4d33-9a51-2f4e8c0d9b11",
  UserId: null,
  OrganizationId: REFERENCE_IDS.organizationId,
  CollectionIds: [
    "0e6f4b7a-93c1-4b5e-8d0f-6a1c2b3d4e5f",
    "1f7a5c8b-a4d2-4c6f-9e10-7b2d3c4e5f60",
    "2a8b6d9c-b5e3-4d70-8f21-8c3e4d5f6071",
  ],
  RevisionDate: new Date("2024-05-17T09:41:26.8133333Z"),
}, REFERENCE_IDS.deviceId);

const queueText = writeQueueMessage(cipherUpdate);
const queueBase64 = btoa(queueText);
const sendText = writeSendBody(cipherUpdate);
const queueLiterals = QUEUE_LITERALS.map((literal) => literal.text);
const sendLiterals = SEND_LITERALS.map((literal) => literal.text);
const literalEnvelopes: readonly Envelope[] = [
  ...queueLiterals.map(parseQueueMessage),
  ...sendLiterals.map(parseSendBody),
];
/** A notification-center push: the widest payload (14 fields, three of them dates). */
const notification = parseSendBody(
  SEND_LITERALS.find((literal) => literal.text.startsWith('{"type":20'))!.text,
);

Deno.bench({
  name: "JSON.parse (floor)",
  group: "parseQueueMessage",
  baseline: true,
  fn: () => void JSON.parse(queueText),
});
Deno.bench({
  name: `raw JSON, cipher update (${queueText.length} B)`,
  group: "parseQueueMessage",
  fn: () => void parseQueueMessage(queueText),
});
Deno.bench({
  name: `base64, cipher update (${queueBase64.length} B)`,
  group: "parseQueueMessage",
  fn: () => void parseQueueMessage(queueBase64),
});
Deno.bench({
  name: `raw JSON, all ${queueLiterals.length} reference literals`,
  group: "parseQueueMessage",
  fn: () => {
    for (const text of queueLiterals) parseQueueMessage(text);
  },
});

Deno.bench({
  name: "JSON.parse (floor)",
  group: "parseSendBody",
  baseline: true,
  fn: () => void JSON.parse(sendText),
});
Deno.bench({
  name: `cipher update (${sendText.length} B)`,
  group: "parseSendBody",
  fn: () => void parseSendBody(sendText),
});
Deno.bench({
  name: `all ${sendLiterals.length} reference literals`,
  group: "parseSendBody",
  fn: () => {
    for (const text of sendLiterals) parseSendBody(text);
  },
});

Deno.bench({
  name: "cipher update",
  group: "routeEnvelope",
  baseline: true,
  fn: () => void routeEnvelope(cipherUpdate),
});
Deno.bench({
  name: `all ${literalEnvelopes.length} reference literals`,
  group: "routeEnvelope",
  fn: () => {
    for (const envelope of literalEnvelopes) routeEnvelope(envelope);
  },
});

Deno.bench({
  name: "toHubJsonArgument, cipher update",
  group: "hub argument",
  baseline: true,
  fn: () => void toHubJsonArgument(cipherUpdate),
});
Deno.bench({
  name: "toHubMessagePackArgument, cipher update",
  group: "hub argument",
  fn: () => void toHubMessagePackArgument(cipherUpdate),
});
Deno.bench({
  name: "toHubJsonArgument, notification",
  group: "hub argument",
  fn: () => void toHubJsonArgument(notification),
});
Deno.bench({
  name: "toHubMessagePackArgument, notification",
  group: "hub argument",
  fn: () => void toHubMessagePackArgument(notification),
});

const organizations = Array.from(
  { length: 10 },
  (_, i) => `0a000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
);
const browserClaims: HubClaims = {
  sub: REFERENCE_IDS.userId,
  device: "3c5e7a90-1b2d-4f60-8a9b-0c1d2e3f4a5b",
  devicetype: "ChromeBrowser",
  orguser: REFERENCE_IDS.organizationId,
};
const manyOrganizationsClaims: HubClaims = {
  sub: REFERENCE_IDS.userId,
  device: "3c5e7a90-1b2d-4f60-8a9b-0c1d2e3f4a5b",
  devicetype: "Android",
  orgowner: organizations.slice(0, 2),
  orgadmin: organizations.slice(2, 4),
  orguser: organizations.slice(4, 9),
  orgcustom: organizations[9],
};

Deno.bench({
  name: "browser, one organization",
  group: "groupsForConnection",
  baseline: true,
  fn: () => void groupsForConnection(browserClaims, null),
});
Deno.bench({
  name: "browser, one organization, installation id",
  group: "groupsForConnection",
  fn: () => void groupsForConnection(browserClaims, REFERENCE_IDS.installationId),
});
Deno.bench({
  name: "mobile, ten organizations over four claims",
  group: "groupsForConnection",
  fn: () => void groupsForConnection(manyOrganizationsClaims, REFERENCE_IDS.installationId),
});
