import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Envelope,
  groupsForConnection,
  type HubClaims,
  routeEnvelope,
} from "../../protocol/bitwarden/mod.ts";
import { DELIVERY_RULES, modelDelivery, type ModelEndpoint } from "./delivery_model.ts";
import { adversarialIds } from "./adversarial_ids.ts";

/**
 * Who `protocol/bitwarden` (the reference server's routing) delivers an envelope to, read
 * through `routeEnvelope` and `groupsForConnection`: the other side of the cross-check.
 */
type Router = (envelope: Envelope) => ReturnType<typeof routeEnvelope>;
type Grouper = typeof groupsForConnection;

function protocolRecipients(
  envelope: Envelope,
  endpoints: readonly ModelEndpoint[],
  installationId: string | null,
  route: Router = routeEnvelope,
  groups: Grouper = groupsForConnection,
): string[] {
  let routed;
  try {
    routed = route(envelope);
  } catch {
    return []; // the real server fails to deserialize: nothing is sent
  }
  const out: string[] = [];
  for (const endpoint of endpoints) {
    if (endpoint.hub !== routed.hub) continue;
    let user: string | null = null;
    let joined: readonly string[];
    if (endpoint.hub === "main") {
      try {
        const connection = groups(endpoint.claims, installationId);
        user = connection.userId;
        joined = connection.groups;
      } catch {
        continue; // the connection fails in OnConnectedAsync
      }
    } else {
      joined = endpoint.token.trim() === "" ? [] : [endpoint.token];
    }
    const hit = routed.targets.some((t) =>
      t.kind === "user" ? user !== null && t.userId === user : joined.includes(t.group)
    );
    if (hit) out.push(endpoint.name);
  }
  return out;
}

const FAMILY = adversarialIds("d2ea5b72-6d47-4d20-b5a3-b7a6e89d8e7c");
/** Ids that differ only in letter case, in one hex digit, or share long prefixes and suffixes. */
const IDS = [
  FAMILY.base,
  FAMILY.upperCase,
  FAMILY.oneDigit,
  FAMILY.samePrefix,
  FAMILY.sameSuffix,
  "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
  "00000000-0000-0000-0000-000000000000",
];
const id = fc.constantFrom(...IDS);
/** Claim spellings a token may carry: D in either case, N, {B}, or not a GUID. */
const claimId = fc.tuple(id, fc.constantFrom("d", "n", "b", "junk")).map(([v, form]) =>
  form === "n" ? v.replaceAll("-", "") : form === "b" ? `{${v}}` : form === "junk" ? `x${v}` : v
);
const deviceType = fc.option(
  fc.oneof(
    fc.constantFrom(
      "ChromeBrowser",
      "ChromeExtension",
      "WindowsDesktop",
      "Android",
      "SDK",
      "LinuxCLI",
    ),
    fc.integer({ min: -1, max: 30 }).map(String),
  ),
  { nil: undefined },
);
const claims: fc.Arbitrary<HubClaims> = fc.record({
  sub: fc.option(fc.oneof(id, claimId), { nil: undefined }),
  devicetype: deviceType,
  orguser: fc.option(fc.oneof(claimId, fc.array(claimId, { maxLength: 2 })), { nil: undefined }),
  orgadmin: fc.option(claimId, { nil: undefined }),
  type: fc.option(fc.constantFrom("Send", "3", "User", "0"), { nil: undefined }),
}, { requiredKeys: [] }).map((c) =>
  Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined))
);
const endpoints: fc.Arbitrary<ModelEndpoint[]> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: claims.map((c) => ({ hub: "main" as const, claims: c })) },
    {
      weight: 1,
      arbitrary: fc.oneof(id, fc.constant(""), fc.constant("  ")).map((token) => ({
        hub: "anonymous" as const,
        token,
      })),
    },
  ),
  { maxLength: 8 },
).map((list) => list.map((e, i) => ({ ...e, name: `c${i}` }) as ModelEndpoint));
const payloadId = fc.option(fc.oneof(id, fc.constant("not-a-guid")), { nil: undefined });
const envelope: fc.Arbitrary<Envelope> = fc.record({
  // Notification (20, 21) has the most routing rules and 16 the only anonymous one: drawn as
  // often as all the others.
  type: fc.oneof(fc.integer({ min: 0, max: 29 }), fc.constantFrom(16, 20, 21)),
  UserId: fc.oneof(payloadId, fc.constant(null)),
  OrganizationId: fc.oneof(payloadId, fc.constant(null)),
  InstallationId: fc.oneof(payloadId, fc.constant(null)),
  Id: payloadId,
  AdminId: payloadId,
  ClientType: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
}).map(({ type, ...fields }) => ({
  type,
  payload: Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined),
  ) as Envelope["payload"],
  contextId: null,
}));
const installation = fc.option(id, { nil: null });

const worlds = fc.tuple(envelope, endpoints, installation);

function disagreement(route?: Router, groups?: Grouper) {
  let found: string | undefined;
  fc.assert(
    fc.property(worlds, ([e, list, inst]) => {
      const model = [...modelDelivery(e, list, inst).recipients].sort();
      const server = protocolRecipients(e, list, inst, route, groups).sort();
      if (JSON.stringify(model) !== JSON.stringify(server)) {
        found = `type ${e.type}: model ${model}, protocol ${server}`;
        return false;
      }
      return true;
    }),
    { numRuns: 3000, seed: 7 },
  );
  return found;
}

Deno.test("the delivery model and protocol/bitwarden routing agree over generated worlds", () => {
  assert.equal(disagreement(), undefined);
  // Not vacuous: many generated worlds deliver, through each kind of audience.
  const audiences = new Map<string, number>();
  for (const [e, list, inst] of fc.sample(worlds, { numRuns: 3000, seed: 7 })) {
    const delivery = modelDelivery(e, list, inst);
    if (delivery.recipients.length === 0 || delivery.rule === null) continue;
    const key = `${delivery.rule.hub}:${delivery.rule.clientTypeFilter}`;
    audiences.set(key, (audiences.get(key) ?? 0) + 1);
  }
  for (const key of ["main:false", "main:true", "anonymous:false"]) {
    assert.ok((audiences.get(key) ?? 0) >= 10, `${key}: ${audiences.get(key) ?? 0} worlds deliver`);
  }
});

Deno.test("the cross-check catches a fault planted in protocol/bitwarden routing", () => {
  // Fault 1: the client-type filter of Notification pushes is dropped (every user connection).
  const noFilter: Router = (e) => {
    const route = routeEnvelope(e);
    return {
      ...route,
      targets: route.targets.map((t) =>
        t.kind === "group" && t.group.startsWith("UserClientType_")
          ? { kind: "user", userId: t.group.split("_")[1]! }
          : t
      ),
    };
  };
  assert.throws(() => disagreement(noFilter), /Property failed/);
  // Fault 2: two group names swapped (organization members join the installation group).
  const swapped: Grouper = (c, i) => {
    const joined = groupsForConnection(c, i);
    return {
      ...joined,
      groups: joined.groups.map((g) =>
        g.startsWith("Organization_")
          ? g.replace("Organization_", "Installation_")
          : g.startsWith("Installation_")
          ? g.replace("Installation_", "Organization_")
          : g
      ),
    };
  };
  assert.throws(() => disagreement(undefined, swapped), /Property failed/);
});

Deno.test("every row of the delivery table cites its upstream source", () => {
  for (const row of DELIVERY_RULES) {
    assert.match(row.source, /bitwarden\/server @ [0-9a-f]{40} src\//, row.name);
  }
  assert.deepEqual(DELIVERY_RULES.map((r) => r.type), [...Array(28).keys()]);
});
