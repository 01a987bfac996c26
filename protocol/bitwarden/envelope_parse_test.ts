import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { EnvelopeError } from "../errors.ts";
import {
  decodeQueueMessageText,
  isBlankMessage,
  parseQueueMessage,
  parseSendBody,
} from "./envelope_parse.ts";
import { QUEUE_LITERALS, REFERENCE_IDS, SEND_LITERALS } from "./reference_literals.ts";

const { userId, organizationId } = REFERENCE_IDS;
const MIN = "0001-01-01T00:00:00";
const EMPTY = "00000000-0000-0000-0000-000000000000";

function rejects(parse: (text: string) => unknown, text: string, field: string, message: RegExp) {
  throws(() => parse(text), (error: unknown) => {
    if (!(error instanceof EnvelopeError)) throw error;
    strictEqual(error.field, field, `field for ${text}`);
    if (!message.test(error.message)) throw new Error(`Unexpected message: ${error.message}`);
    return true;
  });
}

Deno.test("every test-anchored literal parses", async (t) => {
  for (const literal of [...QUEUE_LITERALS, ...SEND_LITERALS]) {
    await t.step(`${literal.form}: ${literal.name}`, () => {
      const envelope = literal.form === "queue"
        ? parseQueueMessage(literal.text)
        : parseSendBody(literal.text);
      strictEqual(envelope.type, JSON.parse(literal.text).Type ?? JSON.parse(literal.text).type);
    });
  }
});

Deno.test("parsed payloads are canonical and complete for the re-sent model", () => {
  deepStrictEqual(parseQueueMessage(QUEUE_LITERALS[0]!.text), {
    type: 11,
    payload: { UserId: userId, Reason: null },
    contextId: null,
  });
  deepStrictEqual(parseSendBody(SEND_LITERALS[2]!.text).payload, {
    Id: "cccccccc-cccc-cccc-cccc-cccccccccccc",
    Priority: 0,
    Global: false,
    ClientType: 0,
    UserId: null,
    OrganizationId: null,
    InstallationId: "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
    TaskId: null,
    Title: null,
    Body: null,
    CreationDate: MIN,
    RevisionDate: MIN,
    ReadDate: null,
    DeletedDate: null,
  });
});

Deno.test("keys match case-insensitively; the last occurrence wins", () => {
  const envelope = parseSendBody(
    `{"TYPE":18,"pAyLoAd":{"ORGANIZATIONID":"${organizationId.toUpperCase()}","enabled":false,"Enabled":true},"CONTEXTID":"x"}`,
  );
  deepStrictEqual(envelope, {
    type: 18,
    payload: { OrganizationId: organizationId, Enabled: true },
    contextId: "x",
  });
});

Deno.test("STJ defaults: missing Type is 0, missing fields take C# defaults", () => {
  const envelope = parseQueueMessage(`{"Payload":{"Id":"${userId}"}}`);
  strictEqual(envelope.type, 0);
  deepStrictEqual(envelope.payload, {
    Id: userId,
    UserId: null,
    OrganizationId: null,
    CollectionIds: null,
    RevisionDate: MIN,
  });
  deepStrictEqual(parseQueueMessage(`{"Type":3,"Payload":{}}`).payload, {
    Id: EMPTY,
    UserId: EMPTY,
    RevisionDate: MIN,
  });
});

Deno.test("types 4/5/6/10/17 read as LogOut, 19 as OrganizationStatus; declared fields are kept", () => {
  const sync = parseQueueMessage(
    `{"Type":4,"Payload":{"UserId":"${userId}","Date":"2024-05-01T10:00:00.1200000Z"}}`,
  );
  deepStrictEqual(sync.payload, { UserId: userId, Date: "2024-05-01T10:00:00.12Z", Reason: null });
  // The hub never reads Date for these types, so any value is accepted and kept as given.
  const odd = parseQueueMessage(`{"Type":5,"Payload":{"UserId":"${userId}","date":"garbage"}}`);
  deepStrictEqual(odd.payload, { UserId: userId, Date: "garbage", Reason: null });
  const collection = parseSendBody(
    `{"type":19,"payload":{"organizationId":"${organizationId}","limitCollectionCreation":true,"limitCollectionDeletion":false,"limitItemDeletion":true},"contextId":null}`,
  );
  deepStrictEqual(collection.payload, {
    OrganizationId: organizationId,
    LimitCollectionCreation: true,
    LimitCollectionDeletion: false,
    LimitItemDeletion: true,
    Enabled: false,
  });
});

Deno.test("unknown keys are ignored for binding and kept for the record", () => {
  const envelope = parseQueueMessage(
    `{"Type":11,"Extra":1,"Payload":{"UserId":"${userId}","__proto__":{"x":1},"Other":[1]}}`,
  );
  deepStrictEqual(Object.keys(envelope.payload).sort(), ["Other", "Reason", "UserId", "__proto__"]);
  strictEqual(Object.getPrototypeOf(envelope.payload), Object.prototype);
});

Deno.test("undefined type numbers parse without payload checks", () => {
  deepStrictEqual(parseQueueMessage(`{"Type":200,"Payload":{"A":"b"}}`), {
    type: 200,
    payload: { A: "b" },
    contextId: null,
  });
  deepStrictEqual(parseQueueMessage(`{"Type":28,"Payload":[1,2]}`).payload, {});
  deepStrictEqual(parseQueueMessage(`{"Type":255}`).payload, {});
});

Deno.test("type 25 requires Policy and reads it into the Policy model", () => {
  const policy = {
    Id: "11111111-2222-3333-4444-555555555555",
    OrganizationId: organizationId,
    Type: 1,
    Data: '{"minComplexity":null}',
    Enabled: true,
    CreationDate: "2024-01-01T00:00:00Z",
    RevisionDate: "2024-01-02T00:00:00Z",
  };
  const envelope = parseQueueMessage(
    JSON.stringify({ Type: 25, Payload: { OrganizationId: organizationId, Policy: policy } }),
  );
  deepStrictEqual(envelope.payload.Policy, policy);
  rejects(
    parseQueueMessage,
    `{"Type":25,"Payload":{"OrganizationId":"${organizationId}"}}`,
    "Payload.Policy",
    /^Missing required property: SyncPolicyPushNotification\.Policy$/,
  );
  rejects(
    parseQueueMessage,
    `{"Type":25,"Payload":{"OrganizationId":"${organizationId}","Policy":{"Id":"abc"}}}`,
    "Payload.Policy.Id",
    /^Invalid GUID: "abc"$/,
  );
  // `required` checks presence only: an explicit null binds (and is re-sent as null).
  strictEqual(
    parseQueueMessage(`{"Type":25,"Payload":{"OrganizationId":"${organizationId}","Policy":null}}`)
      .payload.Policy,
    null,
  );
});

Deno.test("invalid values are refused with the field named", async (t) => {
  const cases: [string, string, RegExp][] = [
    [`{"Type":11,"Payload":{"UserId":"abc"}}`, "Payload.UserId", /^Invalid GUID: "abc"$/],
    [
      `{"Type":11,"Payload":{"UserId":"${userId.replaceAll("-", "")}"}}`,
      "Payload.UserId",
      /^Invalid GUID/,
    ],
    [
      `{"Type":11,"Payload":{"UserId":null}}`,
      "Payload.UserId",
      /^Invalid null: guid field is not nullable$/,
    ],
    [`{"Type":11,"Payload":{"UserId":42}}`, "Payload.UserId", /^Expected a GUID string: got 42$/],
    [
      `{"Type":11,"Payload":{"UserId":"${userId}","Reason":1.0}}`,
      "Payload.Reason",
      /^Expected an integer 0\.\.255: got 1$/,
    ],
    [
      `{"Type":11,"Payload":{"UserId":"${userId}","Reason":256}}`,
      "Payload.Reason",
      /^Expected an integer/,
    ],
    [
      `{"Type":11,"Payload":{"UserId":"${userId}","Reason":"KdfChange"}}`,
      "Payload.Reason",
      /^Expected an integer/,
    ],
    [
      `{"Type":18,"Payload":{"Enabled":"true"}}`,
      "Payload.Enabled",
      /^Expected a boolean: got "true"$/,
    ],
    [`{"Type":18,"Payload":{"Enabled":null}}`, "Payload.Enabled", /^Invalid null/],
    [
      `{"Type":8,"Payload":{"RevisionDate":"2024-02-30T00:00:00Z"}}`,
      "Payload.RevisionDate",
      /^Invalid date: "2024-02-30T00:00:00Z"$/,
    ],
    [
      `{"Type":8,"Payload":{"RevisionDate":0}}`,
      "Payload.RevisionDate",
      /^Expected a date string: got 0$/,
    ],
    [
      `{"Type":0,"Payload":{"CollectionIds":["${userId}",null]}}`,
      "Payload.CollectionIds[1]",
      /^Invalid null/,
    ],
    [
      `{"Type":0,"Payload":{"CollectionIds":"${userId}"}}`,
      "Payload.CollectionIds",
      /^Expected an array of GUIDs/,
    ],
    [`{"Type":20,"Payload":{"Title":5}}`, "Payload.Title", /^Expected a string: got 5$/],
    [
      `{"Type":20,"Payload":{"Title":"\\ud800"}}`,
      "Payload.Title",
      /^Invalid string: not well-formed UTF-16$/,
    ],
    [`{"Type":20,"Payload":{"ClientType":-1}}`, "Payload.ClientType", /^Expected an integer/],
    [`{"Type":"LogOut","Payload":{}}`, "Type", /^Expected an integer 0\.\.255: got "LogOut"$/],
    [`{"Type":"11","Payload":{}}`, "Type", /^Expected an integer/],
    [`{"Type":11.5,"Payload":{}}`, "Type", /^Expected an integer/],
    [`{"Type":1e1,"Payload":{}}`, "Type", /^Expected an integer/],
    [`{"Type":256,"Payload":{}}`, "Type", /^Expected an integer/],
    [`{"Type":-1,"Payload":{}}`, "Type", /^Expected an integer/],
    [`{"Type":null,"Payload":{}}`, "Type", /^Expected an integer 0\.\.255: got null$/],
    [
      `{"Type":11,"Payload":{"UserId":"${userId}"},"ContextId":5}`,
      "ContextId",
      /^Expected a string or null: got 5$/,
    ],
    [`{"Type":11}`, "Payload", /^Missing payload: LogOut needs a LogOutPushNotification$/],
    [`{"Type":11,"Payload":null}`, "Payload", /^Missing payload/],
    [`{"Type":11,"Payload":"{}"}`, "Payload", /^Expected an object: got "\{\}"$/],
    [`[1]`, "", /^Expected a JSON object: got an array$/],
    [`null`, "", /^Expected a JSON object: got null$/],
    [`{"Type":11,`, "", /^Invalid JSON: /],
    [`{'Type':11}`, "", /^Invalid JSON: /],
    [`{"Type":11,"Payload":{}} // comment`, "", /^Invalid JSON: /],
    [`${"[".repeat(65)}${"]".repeat(65)}`, "", /^Invalid JSON: nesting deeper than 64 levels$/],
    [`   `, "", /^Empty message: blank text is never dispatched$/],
  ];
  for (const [text, field, message] of cases) {
    await t.step(`${field || "(whole)"}: ${text.slice(0, 60)}`, () => {
      rejects(parseQueueMessage, text, field, message);
      rejects(parseSendBody, text, field, message);
    });
  }
  await t.step("64 nested levels are still accepted", () => {
    const deep = `{"Type":200,"Payload":${"[".repeat(63)}${"]".repeat(63)}}`;
    strictEqual(parseQueueMessage(deep).type, 200);
  });
});

Deno.test("queue text: base64 first, then raw", async (t) => {
  const raw = QUEUE_LITERALS[1]!.text;
  const base64 = btoa(raw);
  await t.step("legacy base64 messages decode", () => {
    deepStrictEqual(parseQueueMessage(base64), parseQueueMessage(raw));
    deepStrictEqual(
      parseQueueMessage(`${base64.slice(0, 8)}\r\n${base64.slice(8)}`),
      parseQueueMessage(raw),
    );
  });
  await t.step("non-base64 and base64 of invalid UTF-8 stay raw", () => {
    strictEqual(decodeQueueMessageText(raw), raw);
    strictEqual(decodeQueueMessageText("/w=="), "/w==");
    strictEqual(decodeQueueMessageText("abc"), "abc");
    strictEqual(decodeQueueMessageText("  "), "  ");
    rejects(parseQueueMessage, "/w==", "", /^Invalid JSON/);
  });
  await t.step("/send bodies are never base64-decoded; a BOM is skipped", () => {
    rejects(parseSendBody, base64, "", /^Invalid JSON/);
    deepStrictEqual(
      parseSendBody(`\uFEFF${SEND_LITERALS[0]!.text}`),
      parseSendBody(SEND_LITERALS[0]!.text),
    );
  });
  await t.step("blank detection", () => {
    strictEqual(isBlankMessage(""), true);
    strictEqual(isBlankMessage("\t \r\n"), true);
    strictEqual(isBlankMessage("{}"), false);
  });
});
