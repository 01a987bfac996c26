import assert from "node:assert/strict";
import { CreatedData } from "./created_data.ts";

const ALICE = { email: "Alice@example.com", passwordHash: "old" };
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

Deno.test("the record follows creations, deletions, password and KDF changes and answered auth requests", () => {
  const data = new CreatedData();
  data.registered(ALICE);
  data.answered(ALICE, { method: "POST", path: "/ciphers/create" }, {
    object: "cipherDetails",
    id: id(1).toUpperCase(),
    organizationId: id(9),
  });
  data.answered(ALICE, { method: "POST", path: "/sends" }, { object: "send", id: id(2) });
  data.answered(ALICE, { method: "POST", path: "/organizations" }, {
    object: "organization",
    id: id(9),
  });
  // An update answers the same model: not a new object. A soft delete leaves it in the trash.
  data.answered(ALICE, { method: "PUT", path: `/sends/${id(2)}` }, { object: "send", id: id(2) });
  data.answered(ALICE, { method: "PUT", path: `/ciphers/${id(1)}/delete` }, undefined);
  assert.deepEqual(data.objects().map((o) => [o.kind, o.id, o.organizationId]), [
    ["cipher", id(1), id(9)],
    ["send", id(2), undefined],
    ["organization", id(9), undefined],
  ]);
  data.answered(ALICE, { method: "POST", path: `/sends/${id(2)}/delete` }, undefined);
  assert.deepEqual(data.objects().map((o) => o.id), [id(1), id(9)]);

  data.answered(ALICE, {
    method: "POST",
    path: "/accounts/password",
    body: {
      masterPasswordHash: "old",
      authenticationData: { masterPasswordAuthenticationHash: "new" },
    },
  }, undefined);
  assert.equal(data.registeredAccounts()[0]!.passwordHash, "new");
  data.answered(ALICE, {
    method: "POST",
    path: "/accounts/kdf",
    body: {
      masterPasswordHash: "new",
      authenticationData: { masterPasswordAuthenticationHash: "after-kdf" },
    },
  }, undefined);
  assert.equal(data.registeredAccounts()[0]!.passwordHash, "after-kdf");

  data.authRequested(ALICE, id(5));
  data.authRequested(ALICE, id(6));
  data.answered(ALICE, { method: "PUT", path: `/auth-requests/${id(5)}` }, { id: id(5) });
  assert.deepEqual(data.pendingAuthRequests().map((r) => r.id), [id(6)]);
});

Deno.test("objects made in given accounts are recorded, but only registered accounts are deleted", () => {
  const data = new CreatedData();
  const given = { email: "given@example.com", passwordHash: "h" };
  data.answered(given, { method: "POST", path: "/folders" }, { object: "folder", id: id(3) });
  assert.deepEqual(data.registeredAccounts(), []);
  assert.equal(data.objects()[0]!.owner.registered, false);
});
