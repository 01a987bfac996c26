import assert from "node:assert/strict";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { type Endpoint, expectedRecipients } from "./oracle.ts";

const ORG = "a1a1a1a1-0000-4000-8000-00000000000a";
const OTHER_ORG = "b2b2b2b2-0000-4000-8000-00000000000b";
const OWNER = "d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c";
const orgCipher: Envelope = {
  type: 1,
  payload: {
    Id: "e1a7a1c4-0000-4000-8000-000000000001",
    UserId: null,
    OrganizationId: ORG,
    CollectionIds: null,
    RevisionDate: "2026-01-01T00:00:00Z",
  },
  contextId: null,
};

function main(name: string, sub: string, extra: Partial<Extract<Endpoint, { hub: "main" }>> = {}) {
  return { name, hub: "main" as const, claims: { sub, ...extra.claims }, ...extra };
}

Deno.test("expectedRecipients follows the tokens: a claimed membership routes by the organization group", () => {
  const endpoints: Endpoint[] = [
    main("claimed", "u1", { claims: { sub: "u1", orguser: ORG } }),
    main("elsewhere", "u2", { claims: { sub: "u2", orguser: OTHER_ORG } }),
  ];
  assert.deepEqual(expectedRecipients(orgCipher, endpoints, null), ["claimed"]);
});

Deno.test("expectedRecipients: members whose tokens carry no organization claim are reached per member, once", () => {
  const endpoints: Endpoint[] = [
    // Vaultwarden: no org claims in tokens; the harness knows the membership.
    main("member-a", "u1", { memberships: [ORG] }),
    main("member-b", "u1", { memberships: [ORG.toUpperCase()] }),
    // Claimed and known: still once.
    main("both", "u3", { claims: { sub: "u3", orgowner: ORG }, memberships: [ORG] }),
    main("member-of-other", "u2", { memberships: [OTHER_ORG] }),
    main("stranger", "u4"),
    { name: "anon", hub: "anonymous", token: ORG },
  ];
  const recipients = expectedRecipients(orgCipher, endpoints, null);
  assert.deepEqual(recipients, ["member-a", "member-b", "both"]);
});

Deno.test("expectedRecipients: a user-routed push ignores memberships", () => {
  const personal: Envelope = {
    ...orgCipher,
    payload: { ...orgCipher.payload, UserId: OWNER, OrganizationId: null },
  };
  const endpoints: Endpoint[] = [
    main("member", "u1", { memberships: [ORG] }),
    main("owner", OWNER),
  ];
  assert.deepEqual(expectedRecipients(personal, endpoints, null), ["owner"]);
});
