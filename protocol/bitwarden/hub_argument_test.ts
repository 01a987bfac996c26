import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decode, encode, type ExtData } from "@msgpack/msgpack";
import { EnvelopeError } from "../errors.ts";
import { createEnvelope } from "./envelope_create.ts";
import { parseQueueMessage, parseSendBody } from "./envelope_parse.ts";
import { toHubJsonArgument, toHubMessagePackArgument } from "./hub_argument.ts";
import { QUEUE_LITERALS, REFERENCE_IDS } from "./reference_literals.ts";

const { userId, organizationId, installationId, notificationId, authRequestId, deviceId } =
  REFERENCE_IDS;
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
const asciiHex = (text: string) => hex(new TextEncoder().encode(text));

Deno.test("JSON hub argument: camelCase, explicit nulls, re-sent model", async (t) => {
  await t.step("LogOut literal", () => {
    deepStrictEqual(toHubJsonArgument(parseQueueMessage(QUEUE_LITERALS[1]!.text)), {
      type: 11,
      payload: { userId, reason: null },
      contextId: deviceId,
    });
  });
  await t.step("types 4/5/6/10/17 lose Date, gain Reason", () => {
    for (const type of [4, 5, 6, 10, 17]) {
      const envelope = parseQueueMessage(
        `{"Type":${type},"Payload":{"UserId":"${userId}","Date":"2024-01-01T00:00:00Z"}}`,
      );
      deepStrictEqual(toHubJsonArgument(envelope), {
        type,
        payload: { userId, reason: null },
        contextId: null,
      });
    }
  });
  await t.step("type 19 is re-sent as {organizationId, enabled:false}", () => {
    const envelope = createEnvelope(19, {
      OrganizationId: organizationId,
      LimitCollectionCreation: true,
      LimitCollectionDeletion: true,
      LimitItemDeletion: true,
    });
    deepStrictEqual(toHubJsonArgument(envelope), {
      type: 19,
      payload: { organizationId, enabled: false },
      contextId: null,
    });
  });
  await t.step("unknown keys dropped, missing fields defaulted, dates re-written", () => {
    const envelope = parseSendBody(
      `{"type":8,"payload":{"id":"${notificationId.toUpperCase()}","extra":true,"revisionDate":"2024-03-01T10:00:00.5000000+01:00"},"contextId":null}`,
    );
    deepStrictEqual(toHubJsonArgument(envelope), {
      type: 8,
      payload: {
        id: notificationId,
        userId: "00000000-0000-0000-0000-000000000000",
        revisionDate: "2024-03-01T09:00:00.5+00:00",
      },
      contextId: null,
    });
  });
  await t.step("PolicyChanged keeps the policy (dates forwarded as given)", () => {
    const envelope = createEnvelope(25, {
      OrganizationId: organizationId,
      Policy: {
        Id: authRequestId,
        OrganizationId: organizationId,
        Type: 0,
        Enabled: true,
        Data: '{"a":1}',
        CreationDate: "2024-01-01T00:00:00Z",
      },
    });
    deepStrictEqual(toHubJsonArgument(envelope), {
      type: 25,
      payload: {
        organizationId,
        policy: {
          id: authRequestId,
          organizationId,
          type: 0,
          data: '{"a":1}',
          enabled: true,
          creationDate: "2024-01-01T00:00:00Z",
          revisionDate: "0001-01-01T00:00:00",
        },
      },
      contextId: null,
    });
  });
  await t.step("PolicyChanged with an explicit null policy is re-sent with null", () => {
    const envelope = parseQueueMessage(
      `{"Type":25,"Payload":{"OrganizationId":"${organizationId}","Policy":null}}`,
    );
    deepStrictEqual(toHubJsonArgument(envelope).payload, { organizationId, policy: null });
    deepStrictEqual(
      (toHubMessagePackArgument(envelope).Payload as Record<string, unknown>).Policy,
      null,
    );
  });
  await t.step("PremiumStatusChanged", () => {
    deepStrictEqual(
      toHubJsonArgument(createEnvelope(27, { UserId: userId, Premium: true })).payload,
      { userId, premium: true },
    );
  });
  await t.step("undefined types are never projected", () => {
    throws(
      () => toHubJsonArgument(parseQueueMessage(`{"Type":99}`)),
      (e: unknown) => e instanceof EnvelopeError && e.field === "Type",
    );
    throws(() => toHubMessagePackArgument(parseQueueMessage(`{"Type":99}`)), EnvelopeError);
  });
});

Deno.test("MessagePack hub argument: PascalCase map, nils, GUID strings, timestamps", async (t) => {
  const folder = createEnvelope(8, {
    Id: notificationId,
    UserId: userId,
    RevisionDate: "2024-05-01T10:00:00.25Z",
  });
  await t.step("declaration order and types", () => {
    const argument = toHubMessagePackArgument(folder);
    deepStrictEqual(Object.keys(argument), ["Type", "Payload", "ContextId"]);
    const payload = argument.Payload as Record<string, unknown>;
    deepStrictEqual(Object.keys(payload), ["Id", "UserId", "RevisionDate"]);
    strictEqual(payload.Id, notificationId);
    strictEqual(argument.ContextId, null);
    strictEqual((payload.RevisionDate as ExtData).type, -1);
  });
  await t.step(
    "bytes: GUID as str8 (d9 24), fractional date as timestamp64 (d7 ff), nil context",
    () => {
      const bytes = hex(encode(toHubMessagePackArgument(folder)));
      const guid = `d9 24 ${asciiHex(userId)}`;
      strictEqual(bytes.includes(`${asciiHex("UserId")} ${guid}`), true, bytes);
      strictEqual(bytes.includes(`${asciiHex("RevisionDate")} d7 ff`), true, bytes);
      strictEqual(
        bytes.startsWith(`83 a4 ${asciiHex("Type")} 08 a7 ${asciiHex("Payload")} 83`),
        true,
        bytes,
      );
      strictEqual(bytes.endsWith(`a9 ${asciiHex("ContextId")} c0`), true, bytes);
    },
  );
  await t.step("DateTime.MinValue needs timestamp96 (c7 0c ff)", () => {
    const bytes = hex(encode(toHubMessagePackArgument(parseQueueMessage(QUEUE_LITERALS[3]!.text))));
    strictEqual(
      bytes.includes(`${asciiHex("CreationDate")} c7 0c ff 00 00 00 00 ff ff ff f1 88 6e 09 00`),
      true,
      bytes,
    );
    // Nullable fields are present as nil.
    strictEqual(bytes.includes(`${asciiHex("ReadDate")} c0`), true);
    strictEqual(bytes.includes(`${asciiHex("Title")} c0`), true);
  });
  await t.step("decodes to the same values as the JSON argument", () => {
    const decoded = decode(
      encode(toHubMessagePackArgument(parseQueueMessage(QUEUE_LITERALS[3]!.text))),
    ) as Record<string, unknown>;
    const payload = decoded.Payload as Record<string, unknown>;
    strictEqual(decoded.Type, 20);
    strictEqual(payload.InstallationId, installationId);
    strictEqual(payload.UserId, null);
    strictEqual((payload.CreationDate as Date).toISOString(), "0001-01-01T00:00:00.000Z");
  });
  await t.step("the AuthRequest model keeps UserId before Id", () => {
    const argument = toHubMessagePackArgument(
      createEnvelope(16, { Id: authRequestId, UserId: userId }, deviceId),
    );
    deepStrictEqual(argument, {
      Type: 16,
      Payload: { UserId: userId, Id: authRequestId },
      ContextId: deviceId,
    });
  });
});
