import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { EnvelopeError } from "../errors.ts";
import { createEnvelope } from "./envelope_create.ts";
import { parseQueueMessage } from "./envelope_parse.ts";
import { writeQueueMessage, writeSendBody } from "./envelope_write.ts";
import { QUEUE_LITERALS, REFERENCE_IDS, SEND_LITERALS } from "./reference_literals.ts";

const { userId, organizationId, installationId, notificationId, authRequestId, deviceId } =
  REFERENCE_IDS;

// The envelopes the real engines were asked to push in AzureQueuePipelineTests / PostSendEndpointTests.
const LOG_OUT = createEnvelope(11, { UserId: userId });
const LOG_OUT_EXCLUDED = createEnvelope(11, { UserId: userId }, deviceId);
const STATUS = createEnvelope(18, { OrganizationId: organizationId, Enabled: true });
const STATUS_EXCLUDED = createEnvelope(
  18,
  { OrganizationId: organizationId, Enabled: true },
  deviceId,
);
const INSTALLATION_NOTIFICATION = createEnvelope(20, {
  Id: notificationId,
  InstallationId: installationId,
});
const AUTH_RESPONSE = createEnvelope(16, { Id: authRequestId, UserId: userId }, deviceId);

Deno.test("writeQueueMessage reproduces AzureQueuePushEngine's output byte for byte", () => {
  const expected = new Map(
    QUEUE_LITERALS.filter((l) => l.engineOutput).map((l) => [l.name, l.text]),
  );
  strictEqual(writeQueueMessage(LOG_OUT), expected.get("LogOut to a user"));
  strictEqual(
    writeQueueMessage(LOG_OUT_EXCLUDED),
    expected.get("LogOut to a user, excluding the current context"),
  );
  strictEqual(
    writeQueueMessage(STATUS),
    expected.get("SyncOrganizationStatusChanged to an organization"),
  );
  strictEqual(
    writeQueueMessage(INSTALLATION_NOTIFICATION),
    expected.get("Notification to an installation, all client types"),
  );
  strictEqual(
    writeQueueMessage(AUTH_RESPONSE),
    expected.get("AuthRequestResponse to the anonymous hub"),
  );
});

Deno.test("writeSendBody reproduces NotificationsApiPushEngine's output byte for byte", () => {
  const [logOut, status, notification, auth] = SEND_LITERALS.map((l) => l.text);
  strictEqual(writeSendBody(LOG_OUT), logOut);
  strictEqual(writeSendBody(STATUS_EXCLUDED), status);
  strictEqual(writeSendBody(INSTALLATION_NOTIFICATION), notification);
  strictEqual(writeSendBody(AUTH_RESPONSE), auth);
});

Deno.test("the declared model is written, not the re-sent one", () => {
  const date = new Date("2024-05-01T10:00:00.120Z");
  strictEqual(
    writeQueueMessage(createEnvelope(4, { UserId: userId, Date: date })),
    `{"Type":4,"Payload":{"UserId":"${userId}","Date":"2024-05-01T10:00:00.12Z"}}`,
  );
  strictEqual(
    writeSendBody(createEnvelope(19, { OrganizationId: organizationId, LimitItemDeletion: true })),
    `{"type":19,"payload":{"organizationId":"${organizationId}","limitCollectionCreation":false,"limitCollectionDeletion":false,"limitItemDeletion":true},"contextId":null}`,
  );
});

Deno.test("nulls are omitted recursively in the queue form and explicit in /send", () => {
  const policy = createEnvelope(25, {
    OrganizationId: organizationId,
    Policy: {
      Id: authRequestId,
      OrganizationId: organizationId,
      Type: 3,
      Data: null,
      Enabled: true,
    },
  });
  strictEqual(
    writeQueueMessage(policy),
    `{"Type":25,"Payload":{"OrganizationId":"${organizationId}","Policy":{"Id":"${authRequestId}","OrganizationId":"${organizationId}","Type":3,"Enabled":true,"CreationDate":"0001-01-01T00:00:00","RevisionDate":"0001-01-01T00:00:00"}}}`,
  );
  strictEqual(
    writeSendBody(policy),
    `{"type":25,"payload":{"organizationId":"${organizationId}","policy":{"id":"${authRequestId}","organizationId":"${organizationId}","type":3,"data":null,"enabled":true,"creationDate":"0001-01-01T00:00:00","revisionDate":"0001-01-01T00:00:00"}},"contextId":null}`,
  );
  strictEqual(
    writeQueueMessage(createEnvelope(0, { Id: notificationId, UserId: userId, CollectionIds: [] })),
    `{"Type":0,"Payload":{"Id":"${notificationId}","UserId":"${userId}","CollectionIds":[],"RevisionDate":"0001-01-01T00:00:00"}}`,
  );
});

Deno.test("strings are escaped as STJ's default encoder does", () => {
  const envelope = createEnvelope(20, {
    Id: notificationId,
    UserId: userId,
    Title: `<a href='x'>"Tom & Jerry"</a>+\``,
    Body: "é\n\u0001😀\\/",
  });
  const text = writeQueueMessage(envelope);
  strictEqual(
    text.slice(text.indexOf('"Title"'), text.indexOf(',"CreationDate"')),
    String
      .raw`"Title":"\u003Ca href=\u0027x\u0027\u003E\u0022Tom \u0026 Jerry\u0022\u003C/a\u003E\u002B\u0060","Body":"\u00E9\n\u0001\uD83D\uDE00\\/"`,
  );
  deepStrictEqual(parseQueueMessage(text), envelope);
});

Deno.test("writers refuse envelopes whose declared fields are invalid", () => {
  const broken = {
    type: 4,
    payload: { UserId: userId, Date: "garbage", Reason: null },
    contextId: null,
  };
  throws(
    () => writeQueueMessage(broken),
    (e: unknown) => e instanceof EnvelopeError && e.field === "Payload.Date",
  );
  throws(
    () => writeSendBody({ ...LOG_OUT, type: 300 }),
    (e: unknown) => e instanceof EnvelopeError && e.field === "Type",
  );
});

Deno.test("undefined types are written as given", () => {
  const envelope = parseQueueMessage(`{"Type":99,"Payload":{"A":null,"B":{"C":null,"D":1}}}`);
  strictEqual(writeQueueMessage(envelope), `{"Type":99,"Payload":{"B":{"D":1}}}`);
  strictEqual(
    writeSendBody(envelope),
    `{"type":99,"payload":{"A":null,"B":{"C":null,"D":1}},"contextId":null}`,
  );
});

Deno.test("createEnvelope refuses what a producer must never send", () => {
  const field = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      if (error instanceof EnvelopeError) return `${error.field}: ${error.message}`;
      throw error;
    }
    return "no error";
  };
  strictEqual(field(() => createEnvelope(28, {})), "Type: Unknown push type: 28");
  strictEqual(
    field(() => createEnvelope(11, { UserID: userId, Reasons: 1 })),
    "Payload.Reasons: Unknown property: LogOutPushNotification has no Reasons",
  );
  strictEqual(
    field(() => createEnvelope(11, { UserId: "abc" })),
    'Payload.UserId: Invalid GUID: "abc"',
  );
  strictEqual(
    field(() => createEnvelope(11, { UserId: userId, Reason: 1.5 })),
    "Payload.Reason: Expected an integer 0..255: got 1.5",
  );
  strictEqual(
    field(() => createEnvelope(8, { RevisionDate: new Date(NaN) })),
    "Payload.RevisionDate: Invalid date: NaN",
  );
  strictEqual(
    field(() => createEnvelope(25, { OrganizationId: organizationId })),
    "Payload.Policy: Missing required property: SyncPolicyPushNotification.Policy",
  );
  strictEqual(
    field(() => createEnvelope(25, { OrganizationId: organizationId, Policy: null })),
    "Payload.Policy: Invalid null: Policy is required",
  );
  strictEqual(
    field(() => createEnvelope(11, { UserId: userId }, 5 as unknown as string)),
    "ContextId: Expected a string or null: got 5",
  );
  strictEqual(
    field(() => createEnvelope(8, { RevisionDate: new Date("+010000-01-01T00:00:00Z") })),
    "Payload.RevisionDate: Invalid date: +010000-01-01T00:00:00.000Z",
  );
  // undefined values mean "absent", as with an object initializer.
  deepStrictEqual(createEnvelope(11, { UserId: userId, Reason: undefined }).payload, {
    UserId: userId,
    Reason: null,
  });
});
