import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { EnvelopeError } from "../errors.ts";
import { ClientType } from "./client_type.ts";
import { createEnvelope } from "./envelope_create.ts";
import { parseQueueMessage, parseSendBody } from "./envelope_parse.ts";
import { PUSH_TYPES } from "./push_type.ts";
import { QUEUE_LITERALS, REFERENCE_IDS, SEND_LITERALS } from "./reference_literals.ts";
import { routeEnvelope } from "./routing.ts";
import type { Route } from "./types.ts";

const { userId, organizationId, installationId, notificationId, authRequestId } = REFERENCE_IDS;
const OTHER = "99999999-9999-4999-8999-999999999999";
const POLICY = { Id: OTHER, OrganizationId: organizationId, Type: 0, Enabled: true };

const toUser = (id: string): Route => ({
  hub: "main",
  method: "ReceiveMessage",
  targets: [{ kind: "user", userId: id }],
});
const toGroup = (group: string): Route => ({
  hub: "main",
  method: "ReceiveMessage",
  targets: [{ kind: "group", group }],
});

// One row per push type: a realistic payload (every id field set) and where it must go.
const TABLE: [number, Record<string, unknown>, Route][] = [
  [0, { Id: OTHER, UserId: userId, OrganizationId: organizationId }, toUser(userId)],
  [1, { Id: OTHER, UserId: userId }, toUser(userId)],
  [2, { Id: OTHER, OrganizationId: organizationId }, toGroup(`Organization_${organizationId}`)],
  [3, { Id: OTHER, UserId: userId }, toUser(userId)],
  [4, { UserId: userId }, toUser(userId)],
  [5, { UserId: userId }, toUser(userId)],
  [6, { UserId: userId }, toUser(userId)],
  [7, { Id: OTHER, UserId: userId }, toUser(userId)],
  [8, { Id: OTHER, UserId: userId }, toUser(userId)],
  [9, { Id: OTHER, UserId: userId, OrganizationId: organizationId }, toUser(userId)],
  [10, { UserId: userId }, toUser(userId)],
  [11, { UserId: userId, Reason: 1 }, toUser(userId)],
  [12, { Id: OTHER, UserId: userId }, toUser(userId)],
  [13, { Id: OTHER, UserId: userId }, toUser(userId)],
  [14, { Id: OTHER, UserId: userId }, toUser(userId)],
  [15, { Id: authRequestId, UserId: userId }, toUser(userId)],
  [16, { Id: authRequestId, UserId: userId }, {
    hub: "anonymous",
    method: "AuthRequestResponseRecieved",
    targets: [{ kind: "group", group: authRequestId }],
  }],
  [17, { UserId: userId }, toUser(userId)],
  [
    18,
    { OrganizationId: organizationId, Enabled: true },
    toGroup(`Organization_${organizationId}`),
  ],
  [
    19,
    { OrganizationId: organizationId, LimitCollectionCreation: true },
    toGroup(`Organization_${organizationId}`),
  ],
  [20, {
    Id: notificationId,
    UserId: userId,
    OrganizationId: organizationId,
    ClientType: ClientType.Web,
  }, toGroup(`UserClientType_${userId}_Web`)],
  [
    21,
    { Id: notificationId, OrganizationId: organizationId, ClientType: ClientType.Desktop },
    toGroup(`OrganizationClientType_${organizationId}_Desktop`),
  ],
  [22, { UserId: userId }, toUser(userId)],
  [23, { OrganizationId: organizationId }, toGroup(`Organization_${organizationId}`)],
  [24, { ProviderId: OTHER, AdminId: userId }, toUser(userId)],
  [
    25,
    { OrganizationId: organizationId, Policy: POLICY },
    toGroup(`Organization_${organizationId}`),
  ],
  [26, {
    UserId: userId,
    OrganizationId: organizationId,
    TargetUserId: OTHER,
    TargetOrganizationUserId: OTHER,
  }, toUser(userId)],
  [27, { UserId: userId, Premium: true }, toUser(userId)],
];

Deno.test("all 28 push types route as HubHelpers does", async (t) => {
  deepStrictEqual(TABLE.map(([type]) => type), [...PUSH_TYPES]);
  for (const [type, payload, route] of TABLE) {
    await t.step(`type ${type}`, () => {
      deepStrictEqual(routeEnvelope(createEnvelope(type, payload)), route);
      // Case and form of the input do not matter.
      const upper = JSON.stringify({ Type: type, Payload: payload }).replace(
        /[0-9a-f]{8}-[0-9a-f-]{27}/g,
        (g) => g.toUpperCase(),
      );
      deepStrictEqual(routeEnvelope(parseQueueMessage(upper)), route);
    });
  }
});

Deno.test("every test-anchored literal routes to its documented target", async (t) => {
  for (const literal of [...QUEUE_LITERALS, ...SEND_LITERALS]) {
    await t.step(`${literal.form}: ${literal.name}`, () => {
      const envelope = literal.form === "queue"
        ? parseQueueMessage(literal.text)
        : parseSendBody(literal.text);
      deepStrictEqual(routeEnvelope(envelope), literal.route);
    });
  }
});

Deno.test("Notification / NotificationStatus precedence (HubHelpersTest, pipeline tests)", async (t) => {
  const CLIENT_TYPES = [
    ClientType.Web,
    ClientType.Browser,
    ClientType.Desktop,
    ClientType.Mobile,
    ClientType.Cli,
  ];
  for (const type of [20, 21]) {
    await t.step(`type ${type}: Global without installation sends nothing`, () => {
      const route = routeEnvelope(createEnvelope(type, { Id: notificationId, Global: true }));
      deepStrictEqual(route.targets, []);
      strictEqual(route.reason, "Global notification without InstallationId: nothing is sent");
      strictEqual(routeEnvelope(createEnvelope(type, { Id: notificationId })).targets.length, 0);
    });
    await t.step(`type ${type}: installation wins over user and organization`, () => {
      const all = {
        Id: notificationId,
        Global: true,
        InstallationId: installationId,
        UserId: userId,
        OrganizationId: organizationId,
      };
      deepStrictEqual(
        routeEnvelope(createEnvelope(type, all)),
        toGroup(`Installation_${installationId}`),
      );
      for (const ct of CLIENT_TYPES) {
        const name = ClientType[ct];
        deepStrictEqual(
          routeEnvelope(createEnvelope(type, { ...all, ClientType: ct })),
          toGroup(`Installation_ClientType_${installationId}_${name}`),
        );
      }
    });
    await t.step(`type ${type}: user (All -> the user, with or without organization)`, () => {
      deepStrictEqual(
        routeEnvelope(createEnvelope(type, { Id: notificationId, UserId: userId })),
        toUser(userId),
      );
      deepStrictEqual(
        routeEnvelope(
          createEnvelope(type, {
            Id: notificationId,
            UserId: userId,
            OrganizationId: organizationId,
          }),
        ),
        toUser(userId),
      );
      for (const ct of CLIENT_TYPES) {
        deepStrictEqual(
          routeEnvelope(
            createEnvelope(type, {
              Id: notificationId,
              UserId: userId,
              OrganizationId: organizationId,
              ClientType: ct,
            }),
          ),
          toGroup(`UserClientType_${userId}_${ClientType[ct]}`),
        );
      }
    });
    await t.step(`type ${type}: organization`, () => {
      deepStrictEqual(
        routeEnvelope(createEnvelope(type, { Id: notificationId, OrganizationId: organizationId })),
        toGroup(`Organization_${organizationId}`),
      );
      for (const ct of CLIENT_TYPES) {
        deepStrictEqual(
          routeEnvelope(
            createEnvelope(type, {
              Id: notificationId,
              OrganizationId: organizationId,
              ClientType: ct,
            }),
          ),
          toGroup(`OrganizationClientType_${organizationId}_${ClientType[ct]}`),
        );
      }
    });
  }
  await t.step("PostSendEndpointTests: Mobile to each target", () => {
    const mobile = (extra: Record<string, unknown>) =>
      routeEnvelope(
        parseSendBody(
          JSON.stringify({
            type: 20,
            payload: { id: notificationId, clientType: 4, ...extra },
            contextId: null,
          }),
        ),
      );
    deepStrictEqual(mobile({ userId }), toGroup(`UserClientType_${userId}_Mobile`));
    deepStrictEqual(
      mobile({ organizationId }),
      toGroup(`OrganizationClientType_${organizationId}_Mobile`),
    );
    deepStrictEqual(
      mobile({ installationId }),
      toGroup(`Installation_ClientType_${installationId}_Mobile`),
    );
  });
});

Deno.test("cipher types fall back from user to organization to nothing", () => {
  for (const type of [0, 1, 2, 9]) {
    deepStrictEqual(
      routeEnvelope(createEnvelope(type, { Id: OTHER, OrganizationId: organizationId })),
      toGroup(`Organization_${organizationId}`),
    );
    const none = routeEnvelope(createEnvelope(type, { Id: OTHER }));
    deepStrictEqual(none.targets, []);
    strictEqual(none.hub, "main");
  }
});

Deno.test("missing non-nullable ids route to Guid.Empty, as the real server does", () => {
  deepStrictEqual(
    routeEnvelope(parseQueueMessage(`{"Type":5,"Payload":{}}`)),
    toUser("00000000-0000-0000-0000-000000000000"),
  );
});

Deno.test("undefined types route nowhere, with the reason", () => {
  const route = routeEnvelope(parseQueueMessage(`{"Type":28,"Payload":{"UserId":"${userId}"}}`));
  deepStrictEqual(route, {
    hub: "main",
    method: "ReceiveMessage",
    targets: [],
    reason: "Notification type '28' is not registered in HubHelpers: nothing is sent",
  });
});

Deno.test("hand-built envelopes with bad ids are refused, naming the field", () => {
  throws(
    () => routeEnvelope({ type: 11, payload: { UserId: "nope" }, contextId: null }),
    (e: unknown) =>
      e instanceof EnvelopeError && e.field === "Payload.UserId" &&
      e.message === 'Invalid GUID: "nope"',
  );
  throws(() => routeEnvelope({ type: 16, payload: { Id: null }, contextId: null }), EnvelopeError);
});
