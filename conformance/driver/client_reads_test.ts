import assert from "node:assert/strict";
import {
  dotnetDateFromJsDate,
  dotnetDateToMessagePack,
  type Envelope,
  toHubMessagePackArgument,
} from "../../protocol/bitwarden/mod.ts";
import { type InvocationMessage, MessageType } from "../../protocol/signalr/mod.ts";
import { clientField, clientReadProblems, revisionOrderProblems } from "./client_reads.ts";
import { gradeDelivery } from "./push_watch.ts";

const USER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const OTHER = "0b6e1c55-1f0e-4a57-9d1b-2a4e6b1c9f00";
const ORG = "a1a1a1a1-0000-4000-8000-00000000000a";
const COLLECTION = "c0c0c0c0-0000-4000-8000-00000000000c";
const ITEM = "e1a7a1c4-0000-4000-8000-000000000001";
const DEVICE = "d4a5b3c2-0000-4000-8000-000000000001";
const receiver = { userId: USER };

function now(): unknown {
  return dotnetDateToMessagePack(dotnetDateFromJsDate(new Date()));
}

function received(argument: unknown, target = "ReceiveMessage"): InvocationMessage {
  return { type: MessageType.Invocation, headers: {}, target, arguments: [argument] };
}

/** The exact MessagePack argument of an envelope, with changes applied to it. */
function exactWith(
  envelope: Envelope,
  change: (argument: Record<string, unknown>, payload: Record<string, unknown>) => void,
): InvocationMessage {
  const argument = toHubMessagePackArgument(envelope);
  const payload = { ...(argument.Payload as Record<string, unknown>) };
  const copy = { ...argument, Payload: payload };
  change(copy, payload);
  return received(copy);
}

const syncVault: Envelope = {
  type: 5,
  payload: { UserId: USER, Reason: null },
  contextId: null,
};
const sendCreate: Envelope = {
  type: 12,
  payload: { Id: ITEM, UserId: USER, RevisionDate: new Date().toISOString() },
  contextId: DEVICE,
};
const orgCreate = (userId: string | null, collections: string[] | null): Envelope => ({
  type: 1,
  payload: {
    Id: ITEM,
    UserId: userId,
    OrganizationId: ORG,
    CollectionIds: collections,
    RevisionDate: new Date().toISOString(),
  },
  contextId: DEVICE,
});

Deno.test("clientField finds a field the way BaseResponse.getResponseProperty does", () => {
  assert.equal(clientField({ UserId: "a", userId: "b" }, "UserId"), "a");
  assert.equal(clientField({ userId: "b" }, "UserId"), "b");
  assert.equal(clientField({ userid: "c" }, "UserId"), "c");
  assert.equal(clientField({ USERID: "d" }, "UserId"), undefined);
  assert.equal(clientField(null, "UserId"), undefined);
});

Deno.test("Vaultwarden's {UserId, Date} for types 4/5/6/10/17 serves clients; the exact form is a SHOULD naming Date and Reason", () => {
  const vaultwarden = received({
    ContextId: null,
    Type: 5,
    Payload: { UserId: USER, Date: now() },
  });
  assert.deepEqual(clientReadProblems(syncVault, vaultwarden, receiver), []);
  const grade = gradeDelivery([syncVault], vaultwarden, { protocol: "messagepack", receiver });
  assert.deepEqual(grade.must, []);
  assert.match(grade.should.join("; "), /Payload\.Reason: missing/);
  assert.match(grade.should.join("; "), /Payload\.Date: unexpected key/);
});

Deno.test("a user push naming another user, or the wrong ContextId, fails what clients read", () => {
  const otherUser = received({ ContextId: null, Type: 5, Payload: { UserId: OTHER, Date: now() } });
  assert.match(clientReadProblems(syncVault, otherUser, receiver).join(), /is not the receiving/);
  const wrongContext = received({ ContextId: DEVICE, Type: 5, Payload: { UserId: USER } });
  assert.match(clientReadProblems(syncVault, wrongContext, receiver).join(), /ContextId/);
  const wrongType = received({ ContextId: null, Type: 4, Payload: { UserId: USER } });
  assert.match(clientReadProblems(syncVault, wrongType, receiver).join(), /Type: clients need 5/);
  const grade = gradeDelivery([syncVault], otherUser, { protocol: "messagepack", receiver });
  assert.equal(grade.should.length, 0, "a MUST failure is not also reported as a SHOULD");
  assert.ok(grade.must.length > 0);
});

Deno.test("a Send pushed with a null ContextId serves clients; the exact form is a SHOULD naming ContextId", () => {
  const vaultwarden = exactWith(sendCreate, (a) => (a.ContextId = null));
  assert.deepEqual(clientReadProblems(sendCreate, vaultwarden, receiver), []);
  const grade = gradeDelivery([sendCreate], vaultwarden, { protocol: "messagepack", receiver });
  assert.deepEqual(grade.must, []);
  assert.match(grade.should.join(), /ContextId: expected/);
});

Deno.test("a Send without the account's UserId, or with an unreadable RevisionDate, fails clients", () => {
  const noUser = exactWith(sendCreate, (_, p) => (p.UserId = null));
  assert.match(clientReadProblems(sendCreate, noUser, receiver).join(), /apply this type only/);
  const textDate = exactWith(sendCreate, (_, p) => (p.RevisionDate = "yesterday"));
  assert.match(clientReadProblems(sendCreate, textDate, receiver).join(), /not a date/);
  const oldDate = exactWith(sendCreate, (_, p) => (p.RevisionDate = "2001-01-01T00:00:00Z"));
  assert.match(clientReadProblems(sendCreate, oldDate, receiver).join(), /not near/);
});

Deno.test("a LogOut carrying KdfChange where none was given fails clients (they may skip the logout)", () => {
  const logOut: Envelope = { type: 11, payload: { UserId: USER, Reason: null }, contextId: null };
  const vaultwarden = received({
    ContextId: null,
    Type: 11,
    Payload: { UserId: USER, Date: now() },
  });
  assert.deepEqual(clientReadProblems(logOut, vaultwarden, receiver), []);
  const kdf = received({ ContextId: null, Type: 11, Payload: { UserId: USER, Reason: 0 } });
  assert.match(clientReadProblems(logOut, kdf, receiver).join(), /Payload\.Reason/);
});

Deno.test("organization cipher: Vaultwarden's form (UserId nil, CollectionIds) serves clients and differs from both Bitwarden forms", () => {
  const forms = [orgCreate(null, null), orgCreate(USER, [COLLECTION])];
  const vaultwarden = exactWith(orgCreate(null, [COLLECTION]), () => {});
  const grade = gradeDelivery(forms, vaultwarden, { protocol: "messagepack", receiver });
  assert.deepEqual(grade.must, []);
  assert.ok(grade.should.length > 0);
  // A Bitwarden form is exact.
  const bitwarden = exactWith(forms[1]!, () => {});
  assert.deepEqual(gradeDelivery(forms, bitwarden, { protocol: "messagepack", receiver }), {
    must: [],
    should: [],
  });
});

Deno.test("organization cipher create: an empty CollectionIds, a wrong organization or casing-blind Id fails clients", () => {
  const forms = [orgCreate(null, [COLLECTION])];
  const empty = exactWith(forms[0]!, (_, p) => (p.CollectionIds = []));
  assert.match(clientReadProblems(forms[0]!, empty, receiver).join(), /skip the create/);
  const elsewhere = exactWith(forms[0]!, (_, p) => (p.CollectionIds = [OTHER]));
  assert.match(clientReadProblems(forms[0]!, elsewhere, receiver).join(), /skip the create/);
  const otherOrg = exactWith(forms[0]!, (_, p) => (p.OrganizationId = OTHER));
  assert.match(clientReadProblems(forms[0]!, otherOrg, receiver).join(), /OrganizationId/);
  const upper = exactWith(forms[0]!, (_, p) => (p.Id = ITEM.toUpperCase()));
  assert.match(clientReadProblems(forms[0]!, upper, receiver).join(), /Payload\.Id/);
});

Deno.test("camelCase keys on MessagePack serve clients; the exact form names the casing", () => {
  const camel = received({
    contextId: DEVICE,
    type: 12,
    payload: { id: ITEM, userId: USER, revisionDate: now() },
  });
  const grade = gradeDelivery([sendCreate], camel, { protocol: "messagepack", receiver });
  assert.deepEqual(grade.must, []);
  assert.match(grade.should.join(), /wrong casing/);
});

Deno.test("types whose client reads are not modelled are held to the exact form at MUST", () => {
  const policy: Envelope = {
    type: 18,
    payload: { OrganizationId: ORG, Enabled: true },
    contextId: null,
  };
  const wrong = exactWith(policy, (_, p) => (p.Enabled = false));
  const grade = gradeDelivery([policy], wrong, { protocol: "messagepack", receiver });
  assert.match(grade.must.join(), /Enabled/);
});

Deno.test("a server-chosen date matches at any precision; a non-date there is still a difference", () => {
  const nanos = new Uint8Array(8);
  // timestamp64: 649885141 ns (not a multiple of .NET's 100 ns tick), seconds = now.
  const seconds = Math.floor(Date.now() / 1000);
  const view = new DataView(nanos.buffer);
  view.setUint32(0, (649885141 << 2) >>> 0);
  view.setUint32(4, seconds);
  const folder: Envelope = {
    type: 7,
    payload: { Id: ITEM, UserId: USER, RevisionDate: new Date().toISOString() },
    contextId: DEVICE,
  };
  const exact = exactWith(folder, (_, p) => (p.RevisionDate = { type: -1, data: nanos }));
  assert.deepEqual(gradeDelivery([folder], exact, { protocol: "messagepack", receiver }), {
    must: [],
    should: [],
  });
  const text = exactWith(folder, (_, p) => (p.RevisionDate = new Date().toISOString()));
  const grade = gradeDelivery([folder], text, { protocol: "messagepack", receiver });
  assert.deepEqual(grade.must, []);
  assert.match(grade.should.join(), /timestamp/);
});

Deno.test("revisionOrderProblems: successive upserts of one item must carry increasing dates, per connection", () => {
  const push = (endpoint: string, type: number, date: unknown, id = ITEM) => ({
    endpoint,
    invocation: received({
      ContextId: null,
      Type: type,
      Payload: { Id: id, UserId: USER, RevisionDate: date },
    }),
  });
  const t1 = "2026-01-01T00:00:01.000Z";
  const t2 = "2026-01-01T00:00:02.000Z";
  assert.deepEqual(
    revisionOrderProblems([push("a", 7, t1), push("a", 8, t2), push("b", 8, t1)]),
    [],
  );
  // A delete's date is not read; another item is separate.
  assert.deepEqual(
    revisionOrderProblems([push("a", 8, t2), push("a", 3, t1), push("a", 8, t1, OTHER)]),
    [],
  );
  const same = revisionOrderProblems([push("a", 7, t2), push("a", 8, t2)]);
  assert.equal(same.length, 1);
  assert.match(same[0]!, /^a: folder .* not after the previous/);
  // Sub-millisecond increases are invisible to clients (JS dates).
  const nanos = (ns: number) => {
    const data = new Uint8Array(8);
    const view = new DataView(data.buffer);
    view.setUint32(0, (ns << 2) >>> 0);
    view.setUint32(4, 1767225601);
    return { type: -1, data };
  };
  assert.equal(
    revisionOrderProblems([push("a", 1, nanos(100)), push("a", 0, nanos(900))]).length,
    1,
  );
});
