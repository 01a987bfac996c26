/**
 * Mutants for the suite's mutation audit: realistic faults a Notifications implementation (or a
 * Vaultwarden-like server) could have, each built in the test tree from the reference service's
 * delivery rules or token verifier, its timers, a backplane, or a thin proxy in front of it. Each names the
 * cases that must FAIL (or be NON-STRICT, for SHOULD requirements) against it, and the fast
 * `--only` subset the CI self-test runs it with.
 *
 * @module
 */

import {
  dotnetDateFromTimeSpec,
  dotnetDateToMessagePack,
  formatDotnetDate,
  groupsForConnection,
  parseDotnetDate,
  parseSendBody,
  PushType,
  pushTypeName,
  routeEnvelope,
  toHubJsonArgument,
  toHubMessagePackArgument,
} from "../../protocol/bitwarden/mod.ts";
import type { Envelope, HubClaims, Route, RouteTarget } from "../../protocol/bitwarden/mod.ts";
import { createTokenVerifier } from "../../server/auth/mod.ts";
import { argumentsWith, everyoneWhen, groupsWith, routeWith } from "./rule_faults.ts";
import { decodeTimestampToTimeSpec, ExtData } from "@msgpack/msgpack";
import type { Mutation, MutationContext } from "./reference_target.ts";
import { echoBackplane } from "./_backplanes.ts";
import type { RoutePushRule } from "./_route_push_rules.ts";

/** One mutant. */
export interface Mutant {
  /** Stable id. */
  readonly id: string;
  /** The fault, in one line. */
  readonly fault: string;
  /** Why it is plausible (where such a bug is seen, or which rule it breaks). */
  readonly realism: string;
  /** How updates reach the mutant (default `send`). */
  readonly inject?: "send" | "queue";
  /** Builds the fault for one target (a Notifications-side fault). */
  readonly mutation?: (context: MutationContext) => Mutation;
  /**
   * A producer fault instead: the reference API's routes that push wrongly, run as a full
   * deployment with `--inject api` (`producer_fault_target.ts`).
   */
  readonly producer?: readonly RoutePushRule[];
  /** Case patterns that must FAIL (MUST) or be NON-STRICT (SHOULD) against it. */
  readonly killers: readonly string[];
  /** The fast subset for CI: the killers plus a few cases that must keep passing. */
  readonly only: readonly string[];
  /**
   * Set when the suite legitimately lets the mutant pass: why the behaviour is not required or
   * not observable. Such a mutant has no killers.
   */
  readonly survives?: string;
  /** Per-case timeout for its run (default 10000; keep-alive waits need more than 30 s). */
  readonly timeoutMs?: number;
  /** `--grace` of its run (default 300). */
  readonly graceMs?: number;
}

const CIPHER_TYPES = [0, 1, 2, 9];
const RESENT_AS_LOGOUT = [4, 5, 6, 10, 17];
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ORGANIZATION_CLAIMS = ["orgowner", "orgadmin", "orguser", "orgcustom"];

/** Applies `change` to every value of a JSON-like tree (ExtData and bytes are leaves). */
function mapTree(value: unknown, change: (leaf: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => mapTree(v, change));
  if (
    value !== null && typeof value === "object" && !(value instanceof ExtData) &&
    !(value instanceof Uint8Array)
  ) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mapTree(v, change)]),
    );
  }
  return change(value);
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]),
    );
  }
  return value;
}

function isoOfTimestamp(leaf: unknown): unknown {
  if (leaf instanceof ExtData && leaf.type === -1) {
    const spec = decodeTimestampToTimeSpec(leaf.data as Uint8Array);
    return formatDotnetDate(dotnetDateFromTimeSpec(spec));
  }
  return leaf;
}

function upperGuid(leaf: unknown): unknown {
  return typeof leaf === "string" && GUID.test(leaf) ? leaf.toUpperCase() : leaf;
}

/** Both projections through the same change. */
function bothProtocols(change: (argument: unknown, envelope: Envelope) => unknown): Mutation {
  return { rules: argumentsWith(change) };
}

/** Replaces the payload of the types re-sent as another model with the declared model. */
function declaredPayload(
  types: readonly number[],
  build: (envelope: Envelope, camel: boolean) => Record<string, unknown>,
): Mutation {
  return bothProtocols((argument, envelope) => {
    if (!types.includes(envelope.type)) return argument;
    const record = argument as Record<string, unknown>;
    const camel = "payload" in record;
    return camel
      ? { ...record, payload: build(envelope, true) }
      : { ...record, Payload: build(envelope, false) };
  });
}

function withoutGroups(prefix: string): Mutation {
  return {
    rules: groupsWith((g) => ({ ...g, groups: g.groups.filter((n) => !n.startsWith(prefix)) })),
  };
}

function mapUserTargets(route: Route, to: (userId: string) => RouteTarget[]): Route {
  return {
    ...route,
    targets: route.targets.flatMap((t) => (t.kind === "user" ? to(t.userId) : [t])),
  };
}

const ANY_GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Main-hub connections indexed by `key` of every GUID in their user id and group names, and
 * routes looked up the same way: a hub keyed on part of an id, or on a normalised one.
 */
function keyedOn(key: (guid: string) => string): Mutation {
  const rekey = (text: string) => text.replace(ANY_GUID, key);
  return {
    rules: {
      ...groupsWith((g) => ({
        ...g,
        userId: g.userId === null ? null : rekey(g.userId),
        groups: g.groups.map(rekey),
      })),
      ...routeWith((r) =>
        r.hub === "anonymous" ? r : {
          ...r,
          targets: r.targets.map((t) =>
            t.kind === "user" ? { ...t, userId: rekey(t.userId) } : { ...t, group: rekey(t.group) }
          ),
        }
      ),
    },
  };
}

/** `Organization…_` and `Installation…_` group names exchanged (one family for the other). */
function swapOrganizationAndInstallation(group: string): string {
  const swaps: readonly [string, string][] = [
    ["OrganizationClientType_", "Installation_ClientType_"],
    ["Organization_", "Installation_"],
  ];
  for (const [organization, installation] of swaps) {
    if (group.startsWith(organization)) return installation + group.slice(organization.length);
    if (group.startsWith(installation)) return organization + group.slice(installation.length);
  }
  return group;
}

/** Each connection is its own SignalR user; a user push reaches only the newest one. */
function latestConnectionWins(): Mutation {
  const latest = new Map<string, number>();
  let counter = 0;
  return {
    rules: {
      ...groupsWith((g) => {
        if (g.userId === null) return g;
        latest.set(g.userId, ++counter);
        return { ...g, userId: `${g.userId}#${counter}` };
      }),
      ...routeWith((route) =>
        mapUserTargets(route, (u) => [{ kind: "user", userId: `${u}#${latest.get(u) ?? 0}` }])
      ),
    },
  };
}

/** The anonymous hub keeps one socket per Token: the newest requester socket takes the push. */
function latestAnonymousSocketWins(): Mutation {
  const latest = new Map<string, number>();
  let counter = 0;
  return {
    rules: {
      anonymousGroup: (t) => {
        if (t === null || t.trim() === "") return null;
        latest.set(t, ++counter);
        return `${t}#${counter}`;
      },
      ...routeWith((r) =>
        r.hub === "anonymous"
          ? {
            ...r,
            targets: r.targets.map((t) =>
              t.kind === "group" ? { ...t, group: `${t.group}#${latest.get(t.group) ?? 0}` } : t
            ),
          }
          : r
      ),
    },
  };
}

/**
 * One socket per (user, client type): each connection is its own SignalR user, and a user push
 * reaches only the newest connection of each client type the user has.
 */
function latestPerClientType(): Mutation {
  const latest = new Map<string, Map<number, number>>();
  let counter = 0;
  return {
    rules: {
      ...groupsWith((g) => {
        if (g.userId === null) return g;
        const perType = latest.get(g.userId) ?? new Map<number, number>();
        perType.set(g.clientType, ++counter);
        latest.set(g.userId, perType);
        return { ...g, userId: `${g.userId}#${counter}` };
      }),
      ...routeWith((route) =>
        mapUserTargets(
          route,
          (u) =>
            [...(latest.get(u)?.values() ?? [])].map((n) => ({
              kind: "user" as const,
              userId: `${u}#${n}`,
            })),
        )
      ),
    },
  };
}

/** A user push skips the connection of the device named in ContextId. */
function excludesActingDevice(): Mutation {
  const devices = new Map<string, Set<string>>();
  return {
    rules: {
      ...groupsWith((g) => {
        if (g.userId === null) return g;
        const device = g.deviceId ?? "";
        devices.set(g.userId, (devices.get(g.userId) ?? new Set()).add(device));
        return { ...g, userId: `${g.userId}|${device}` };
      }),
      ...routeWith((route, envelope) =>
        mapUserTargets(
          route,
          (u) =>
            [...(devices.get(u) ?? [])].filter((d) => d !== envelope.contextId).map((d) => ({
              kind: "user" as const,
              userId: `${u}|${d}`,
            })),
        )
      ),
    },
  };
}

function lazyVerifier(
  authorityUrl: string,
  options: { clockSkewSeconds?: number },
): (token: string) => Promise<HubClaims> {
  let verifier: Promise<(token: string) => Promise<HubClaims>> | undefined;
  return async (token) => {
    verifier ??= createTokenVerifier({ authority: authorityUrl, ...options });
    return await (await verifier)(token);
  };
}

function scopes(claims: HubClaims): string[] {
  const scope = claims.scope;
  return Array.isArray(scope) ? scope.map(String) : typeof scope === "string" ? [scope] : [];
}

/** The mutants, in audit order. */
export const MUTANTS: readonly Mutant[] = [
  {
    id: "method-spelling-corrected",
    fault:
      "AuthRequestResponse (16) invoked as AuthRequestResponseReceived (the misspelling fixed)",
    realism: "A re-implementation 'fixes' the typo; clients listen for the misspelled name only",
    mutation: () => ({
      rules: routeWith((r) =>
        r.method === "AuthRequestResponseRecieved"
          ? { ...r, method: "AuthRequestResponseReceived" as Route["method"] }
          : r
      ),
    }),
    killers: ["route/AuthRequestResponse/**", "anon/only-requester"],
    only: ["route/AuthRequestResponse", "anon/only-requester", "route/LogOut/user"],
  },
  {
    id: "json-omits-nulls",
    fault: "The JSON hub protocol omits null properties (DefaultIgnoreCondition WhenWritingNull)",
    realism: "A common serializer default; ASP.NET's JsonHubProtocol writes nulls",
    mutation: () => ({
      rules: { jsonArgument: (e) => withoutNulls(toHubJsonArgument(e)) },
    }),
    killers: [
      "route/LogOut/null-context/json",
      "route/SyncCipherCreate/user/json",
      "route/Notification/user/json",
    ],
    only: ["route/LogOut/null-context", "route/SyncCipherCreate/user", "route/Notification/user"],
  },
  {
    id: "messagepack-iso-dates",
    fault: "MessagePack dates sent as ISO strings instead of timestamp extension -1",
    realism:
      "Vaultwarden-style serializers that format dates as text (clients§1.8 revision-date rules)",
    mutation: () => ({
      rules: {
        messagePackArgument: (e) => mapTree(toHubMessagePackArgument(e), isoOfTimestamp),
      },
    }),
    killers: ["route/SyncFolderCreate/user/messagepack", "route/SyncSendCreate/user/messagepack"],
    only: ["route/SyncFolderCreate/user", "route/SyncSendCreate/user"],
  },
  {
    id: "upper-case-guids",
    fault: "GUIDs in the hub argument written upper-case",
    realism: '.NET Guid.ToString("D").ToUpper() or a language default; clients compare userId',
    mutation: () => bothProtocols((a) => mapTree(a, upperGuid)),
    killers: ["route/SyncFolderCreate/user/*", "route/LogOut/user/*"],
    only: ["route/SyncFolderCreate/user", "route/LogOut/user"],
  },
  {
    id: "no-organization-client-type-groups",
    fault: "Connections never join OrganizationClientType_{org}_{ct}",
    realism: "Client-type targeting added to users but forgotten for organizations",
    mutation: () => withoutGroups("OrganizationClientType_"),
    killers: [
      "route/Notification/organization-client-type/*",
      "route/NotificationStatus/organization-client-type/*",
    ],
    only: [
      "route/Notification/organization-client-type",
      "route/NotificationStatus/organization-client-type",
      "route/Notification/organization",
    ],
  },
  {
    id: "no-installation-groups",
    fault: "Connections never join Installation_{id} groups",
    realism: "Installation id not configured or not read (self-hosted installs)",
    mutation: () => withoutGroups("Installation_"),
    killers: [
      "route/Notification/installation/*",
      "route/Notification/installation-client-type/*",
      "route/Notification/precedence/*",
      "route/NotificationStatus/installation/*",
      "route/NotificationStatus/installation-client-type/*",
      "route/NotificationStatus/precedence/*",
    ],
    only: ["route/Notification", "route/NotificationStatus/installation"],
  },
  {
    id: "no-user-client-type-groups",
    fault: "Connections never join UserClientType_{user}_{ct}",
    realism: "Only SignalR users are indexed, client-type groups forgotten",
    mutation: () => withoutGroups("UserClientType_"),
    killers: [
      "route/Notification/user-client-type/*",
      "route/NotificationStatus/user-client-type/*",
    ],
    only: [
      "route/Notification/user-client-type",
      "route/NotificationStatus/user-client-type",
      "route/Notification/user",
    ],
  },
  {
    id: "user-before-installation",
    fault: "Notification (20/21) routed by UserId before InstallationId",
    realism: "Precedence of the Notification Center targets misread",
    mutation: () => ({
      rules: {
        routeEnvelope: (e) =>
          (e.type === 20 || e.type === 21) && e.payload.UserId
            ? routeEnvelope({ ...e, payload: { ...e.payload, InstallationId: null } })
            : routeEnvelope(e),
      },
    }),
    killers: ["route/Notification/precedence/*", "route/NotificationStatus/precedence/*"],
    only: [
      "route/Notification/precedence",
      "route/NotificationStatus/precedence",
      "route/Notification/installation",
    ],
  },
  {
    id: "global-to-everyone",
    fault: "A Global notification without InstallationId is broadcast to every connection",
    realism: "'Global' read as 'everyone'; Bitwarden sends nothing (HubHelpersTest)",
    mutation: () => ({
      rules: everyoneWhen((r) => r.targets.length === 0 && /^Global/.test(r.reason ?? "")),
    }),
    killers: [
      "route/Notification/global-without-installation/*",
      "route/NotificationStatus/global-without-installation/*",
    ],
    only: [
      "route/Notification/global-without-installation",
      "route/NotificationStatus/global-without-installation",
    ],
  },
  {
    id: "user-types-keep-date",
    fault: "Types 4/5/6/10/17 re-sent as {UserId, Date} instead of {UserId, Reason}",
    realism: "Bitwarden before commit 6324f692b8, and servers that forward the declared model",
    mutation: () =>
      declaredPayload(RESENT_AS_LOGOUT, (e, camel) => {
        const date = parseDotnetDate(String(e.payload.Date));
        return camel
          ? { userId: e.payload.UserId, date: e.payload.Date }
          : { UserId: e.payload.UserId, Date: date ? dotnetDateToMessagePack(date) : null };
      }),
    killers: [
      "route/SyncCiphers/user/*",
      "route/SyncVault/user/*",
      "route/SyncOrgKeys/user/*",
      "route/SyncSettings/user/*",
      "route/SyncOrganizations/user/*",
    ],
    only: [
      "route/SyncCiphers/user",
      "route/SyncVault/user",
      "route/SyncOrgKeys/user",
      "route/SyncSettings/user",
      "route/SyncOrganizations/user",
    ],
  },
  {
    id: "collection-settings-keep-limits",
    fault: "Type 19 re-sent with its Limit* fields instead of {OrganizationId, Enabled:false}",
    realism:
      "Forwarding the producer's model; Bitwarden re-sends OrganizationStatusPushNotification",
    mutation: () =>
      declaredPayload([19], (e, camel) => {
        const p = e.payload;
        return camel
          ? {
            organizationId: p.OrganizationId,
            limitCollectionCreation: p.LimitCollectionCreation ?? false,
            limitCollectionDeletion: p.LimitCollectionDeletion ?? false,
            limitItemDeletion: p.LimitItemDeletion ?? false,
          }
          : {
            OrganizationId: p.OrganizationId,
            LimitCollectionCreation: p.LimitCollectionCreation ?? false,
            LimitCollectionDeletion: p.LimitCollectionDeletion ?? false,
            LimitItemDeletion: p.LimitItemDeletion ?? false,
          };
      }),
    killers: ["route/SyncOrganizationCollectionSettingChanged/organization/*"],
    only: ["route/SyncOrganizationCollectionSettingChanged", "route/SyncOrganizationStatusChanged"],
  },
  {
    id: "backplane-echo-delivers-twice",
    fault: "Every message delivered twice: the backplane hands an instance its own publications",
    realism: "Scale-out backplanes that do not filter their own instance id",
    mutation: () => ({ backplane: echoBackplane(5) }),
    killers: ["route/**", "anon/only-requester", "isolation/deliveries-equal-oracle"],
    only: ["route/LogOut", "route/SyncFolderCreate", "anon/only-requester", "isolation"],
  },
  {
    id: "late-duplicate",
    fault: "Every message delivered a second time, 0.8 x --grace after the first",
    realism:
      "A retry or redelivery that re-sends what was already delivered (a backplane replaying its own publications late); a fixed 500 ms duplicate window misses it with --grace above 625 ms",
    mutation: ({ graceMs }) => ({ backplane: echoBackplane(Math.round(0.8 * graceMs)) }),
    killers: ["route/**", "anon/only-requester", "isolation/deliveries-equal-oracle"],
    only: ["route/LogOut", "route/SyncFolderCreate", "anon/only-requester", "isolation"],
    // Above the old fixed 500 ms window: every exactly-once check waits at least --grace.
    graceMs: 1000,
    timeoutMs: 15_000,
  },
  {
    id: "queue-never-deletes",
    fault: "The queue consumer dispatches each message and never deletes it",
    realism:
      "A missing DeleteMessageAsync after the dispatch (or a delete whose failure is swallowed): every message comes back when its lease ends",
    inject: "queue",
    mutation: () => ({ consumerDeletes: "never" }),
    killers: [
      "queue/raw",
      "queue/base64",
      "queue/poison-does-not-block",
      "queue/unknown-type-ignored",
      "queue/slow/poison-removed",
      "queue/slow/no-redelivery-after-lease",
    ],
    only: ["queue"],
    timeoutMs: 20_000,
  },
  {
    id: "queue-retries-poison-forever",
    fault: "A message whose dispatch always fails is retried for ever, never deleted",
    realism:
      "The DequeueCount > 2 delete left out of the error branch (AzureQueueHostedService deletes there)",
    inject: "queue",
    mutation: () => ({ maxDequeueCount: 1000 }),
    killers: ["queue/slow/poison-removed"],
    only: ["queue"],
    timeoutMs: 20_000,
  },
  {
    id: "second-instance-late-redelivery",
    fault:
      "Instance B delivers each push it gets from the backplane to its local sockets, then again 3 x grace later, before taking the next",
    realism:
      "A backplane subscriber that retries a delivery it could not confirm while holding its message lane; with the barrier watched on instance A only, B's late copies come after the observation ends",
    mutation: ({ graceMs }) => ({
      secondInstance: {
        subscriber: (handle) => {
          let lane = Promise.resolve();
          return (envelope) => {
            lane = lane.then(async () => {
              handle(envelope);
              await new Promise((resolve) => setTimeout(resolve, 3 * graceMs));
              handle(envelope);
            });
          };
        },
      },
    }),
    killers: ["scaleout/user-every-instance", "scaleout/anonymous-every-instance"],
    only: ["scaleout", "route/LogOut/user"],
  },
  {
    id: "routing-client-type-filter-dropped",
    fault:
      "protocol/bitwarden routing ignores Payload.ClientType of Notification (20) and NotificationStatus (21)",
    realism:
      "The client-type branch of HubHelpers' Notification routing left out; planted in the routing the reference server runs (through its delivery rules), which the suite's oracle does not share",
    mutation: () => ({
      rules: {
        routeEnvelope: (e) =>
          routeEnvelope(
            e.type === 20 || e.type === 21 ? { ...e, payload: { ...e.payload, ClientType: 0 } } : e,
          ),
      },
    }),
    killers: [
      "route/Notification/*-client-type/*",
      "route/NotificationStatus/*-client-type/*",
    ],
    only: ["route/Notification", "route/NotificationStatus", "route/LogOut/user"],
  },
  {
    id: "routing-organization-installation-groups-swapped",
    fault:
      "protocol/bitwarden routing names the installation group for an organization target and the organization group for an installation target",
    realism:
      "Two group-name helpers of the same shape called the wrong way round; planted in the routing the reference server runs, which the suite's oracle does not share",
    mutation: () => ({
      rules: routeWith((route) => ({
        ...route,
        targets: route.targets.map((t) =>
          t.kind === "group" ? { ...t, group: swapOrganizationAndInstallation(t.group) } : t
        ),
      })),
    }),
    killers: [
      "route/*/organization/*",
      "route/*/organization-client-type/*",
      "route/*/installation/*",
      "route/*/installation-client-type/*",
      "route/*/precedence/*",
      "isolation/deliveries-equal-oracle",
    ],
    only: [
      "route/Notification",
      "route/SyncOrganizationStatusChanged",
      "route/LogOut/user",
      "isolation/deliveries-equal-oracle",
    ],
  },
  {
    id: "latest-connection-wins",
    fault: "A user push reaches only the user's newest connection",
    realism: "One socket per user in a map (bitwarden/clients#3096: some clients never get pushes)",
    mutation: latestConnectionWins,
    killers: [
      "route/LogOut/user/*",
      "route/SyncFolderCreate/user/*",
      "isolation/deliveries-equal-oracle",
    ],
    only: ["route/LogOut/user", "route/SyncFolderCreate/user", "isolation"],
  },
  {
    id: "latest-connection-per-client-type-wins",
    fault: "A user push reaches only the newest connection of each client type of the user",
    realism:
      "De-duplication per (user, client type), as the UserClientType_ groups invite; a user with two browsers loses one",
    mutation: latestPerClientType,
    killers: ["isolation/deliveries-equal-oracle"],
    only: ["isolation/deliveries-equal-oracle", "route/LogOut/user"],
  },
  {
    id: "excludes-acting-device",
    fault: "The server drops the push for the device named in ContextId",
    realism:
      "ExcludeCurrentContext applied server-side; Bitwarden sends to every connection and clients filter",
    mutation: excludesActingDevice,
    killers: ["route/LogOut/user/*", "route/SyncFolderCreate/user/*"],
    only: ["route/LogOut/user", "route/SyncFolderCreate/user", "route/LogOut/null-context"],
  },
  {
    id: "organization-wins-over-user",
    fault: "A cipher push with both UserId and OrganizationId goes to the whole organization",
    realism: "OrgCipherPushFanout sends one push per member with both ids; routing must use UserId",
    mutation: () => ({
      rules: {
        routeEnvelope: (e) =>
          CIPHER_TYPES.includes(e.type) && e.payload.OrganizationId
            ? routeEnvelope({ ...e, payload: { ...e.payload, UserId: null } })
            : routeEnvelope(e),
      },
    }),
    killers: [
      "route/SyncCipherUpdate/user-in-organization/*",
      "route/SyncCipherCreate/user-in-organization/*",
      "route/SyncLoginDelete/user-in-organization/*",
      "route/SyncCipherDelete/user-in-organization/*",
    ],
    only: ["route/SyncCipherUpdate", "route/SyncCipherCreate/user-in-organization"],
  },
  {
    id: "anonymous-token-case-insensitive",
    fault: "Anonymous-hub Token matched case-insensitively",
    realism: "Normalising GUID text; Bitwarden joins a group named exactly the Token (ordinal)",
    mutation: () => ({
      rules: {
        anonymousGroup: (t) => (t !== null && t.trim() !== "" ? t.toLowerCase() : null),
        ...routeWith((r) =>
          r.hub === "anonymous"
            ? {
              ...r,
              targets: r.targets.map((t) =>
                t.kind === "group" ? { ...t, group: t.group.toLowerCase() } : t
              ),
            }
            : r
        ),
      },
    }),
    killers: ["anon/only-requester"],
    only: ["anon/only-requester", "route/AuthRequestResponse"],
  },
  {
    id: "anonymous-latest-socket-wins",
    fault: "Two anonymous sockets with one Token: only the newest gets the AuthRequestResponse",
    realism:
      "A map from Token to one socket instead of a SignalR group (Bitwarden: Groups.AddToGroupAsync per connection)",
    mutation: latestAnonymousSocketWins,
    killers: ["anon/only-requester"],
    only: ["anon/only-requester", "anon/missing-token"],
  },
  {
    id: "user-case-insensitive",
    fault: "User targeting compares the sub claim case-insensitively",
    realism:
      "Normalising GUID text before indexing connections; OIDC's sub is a case-sensitive string and SignalR matches users ordinally, so a token whose sub is another user's id upper-cased is somebody else",
    mutation: () => keyedOn((guid) => guid.toLowerCase()),
    killers: [
      "route/*/user/*",
      "route/*/user-in-organization/*",
      "route/LogOut/null-context/*",
      "route/ProviderBankAccountVerified/admin/*",
      "isolation/deliveries-equal-oracle",
    ],
    only: ["route", "isolation/deliveries-equal-oracle"],
  },
  {
    id: "key-truncated-to-8-hex",
    fault: "Connections and routes keyed on the first 8 hex digits of each id",
    realism: "A short key (a prefix, or a hash of few bits) to save memory in the connection index",
    mutation: () => keyedOn((guid) => guid.slice(0, 8)),
    killers: [
      "route/*/user/*",
      "route/*/user-in-organization/*",
      "route/LogOut/null-context/*",
      "route/ProviderBankAccountVerified/admin/*",
      "isolation/deliveries-equal-oracle",
      "route/*/organization/*",
    ],
    only: ["route", "isolation/deliveries-equal-oracle"],
  },
  {
    id: "ping-every-60s",
    fault: "Server Ping every 60 s (and the 120 s Heartbeat): idle clients hear nothing for 30 s",
    realism: "KeepAliveInterval raised above the clients' 30 s server timeout (vaultwarden#3880)",
    mutation: () => ({ timers: { keepAliveMs: 60_000, heartbeatMs: 120_000 } }),
    killers: ["keepalive/server-ping", "keepalive/pinging-client-hears-server"],
    only: ["keepalive", "route/LogOut/user"],
    timeoutMs: 40_000,
  },
  {
    id: "provider-push-to-provider-id",
    fault: "ProviderBankAccountVerified (24) sent to ProviderId instead of AdminId",
    realism: "The payload's first GUID taken as the user",
    mutation: () => ({
      rules: routeWith((r, e) =>
        e.type === 24 && typeof e.payload.ProviderId === "string"
          ? { ...r, targets: [{ kind: "user", userId: e.payload.ProviderId }] }
          : r
      ),
    }),
    killers: ["route/ProviderBankAccountVerified/admin/*"],
    only: ["route/ProviderBankAccountVerified", "route/AutoConfirm"],
  },
  {
    id: "accepts-expired-tokens",
    fault: "Token lifetime not validated (clock skew of days)",
    realism: "ClockSkew set huge or ValidateLifetime off to 'fix' clock drift",
    mutation: ({ authorityUrl }) => ({
      verifier: lazyVerifier(authorityUrl, { clockSkewSeconds: 10 * 86_400 }),
    }),
    killers: ["hub/auth/expired", "hub/auth/not-yet-valid"],
    only: ["hub/auth"],
  },
  {
    id: "send-accepts-no-token",
    fault: "POST /send without a token is dispatched",
    realism: "An [AllowAnonymous] or a proxy route that skips the Internal policy",
    mutation: () => ({
      proxy: {
        http: async (request, service) => {
          if (
            request.method !== "POST" || !new URL(request.url).pathname.endsWith("/send") ||
            request.headers.has("authorization")
          ) return undefined;
          const text = await request.text();
          if (text.trim() === "") return new Response(null, { status: 200 });
          try {
            await service.dispatch(parseSendBody(text), "send");
          } catch (error) {
            return Response.json({ message: (error as Error).message }, { status: 400 });
          }
          return new Response(null, { status: 200 });
        },
      },
    }),
    killers: ["send/no-token"],
    only: ["send"],
  },
  {
    id: "send-accepts-user-token",
    fault: "POST /send accepts any valid token (scope internal not required)",
    realism: "Authorization policy checks authentication only",
    mutation: ({ authorityUrl }) => {
      const verify = lazyVerifier(authorityUrl, {});
      return {
        verifier: async (token) => {
          const claims = await verify(token);
          const scope = scopes(claims);
          return scope.includes("api") ? { ...claims, scope: [...scope, "internal"] } : claims;
        },
      };
    },
    killers: ["send/non-internal-token"],
    only: ["send", "hub/auth/wrong-scope"],
  },
  {
    id: "unknown-type-crashes-send",
    fault: "An undefined push type makes dispatch throw: /send answers 500",
    realism: "A switch without a default branch; new push types reach older Notifications services",
    mutation: () => ({
      rules: {
        routeEnvelope: (e) => {
          if (pushTypeName(e.type) === undefined) {
            throw new Error(`Unhandled push type ${e.type}`);
          }
          return routeEnvelope(e);
        },
      },
    }),
    killers: ["send/unknown-type-ignored"],
    only: ["send"],
  },
  {
    id: "header-token-ignored",
    fault: "The hub reads the token only from access_token, not from Authorization: Bearer",
    realism: "vaultwarden#3776: third-party clients send the header",
    mutation: () => ({ proxy: { sockets: { "/hub": { forwardAuthorization: false } } } }),
    killers: ["hub/auth/token-via-header"],
    only: ["hub/auth/token-via-header", "hub/auth/token-via-query", "hub/auth/missing"],
  },
  {
    id: "anonymous-hub-requires-token",
    fault: "The anonymous hub refuses connections without an access token",
    realism: "Auth middleware applied to every hub path (clients-vaultwarden §3 #3)",
    mutation: () => ({
      proxy: {
        http: (request) => {
          const url = new URL(request.url);
          if (
            !url.pathname.startsWith("/anonymous-hub") || url.searchParams.has("access_token") ||
            request.headers.has("authorization")
          ) return Promise.resolve(undefined);
          return Promise.resolve(
            Response.json({ message: "Missing access token" }, { status: 401 }),
          );
        },
      },
    }),
    killers: ["anon/no-auth", "anon/only-requester", "anon/missing-token"],
    only: ["anon"],
  },
  {
    id: "anonymous-missing-token-inherits-group",
    fault: "An anonymous socket without a Token joins the group of the last Token seen",
    realism:
      "The Token kept in a field shared by connections (a singleton hub or a static) instead of read per request",
    mutation: () => {
      let last: string | null = null;
      return {
        rules: {
          anonymousGroup: (token) => {
            if (token) last = token;
            return token || last;
          },
        },
      };
    },
    killers: ["anon/missing-token"],
    // Alone: the fault's "last Token" is shared by every socket of the target, so a concurrent
    // case's Token would take the strays instead of this case's request id.
    only: ["anon/missing-token"],
  },
  {
    id: "silent-on-bad-handshakes",
    fault: "A bad handshake (unknown protocol, version 99, no version) gets no answer and no close",
    realism:
      "Vaultwarden answers only the exact MessagePack version-1 handshake (src/api/notifications.rs @ 1.37.2, lines 170-177) and ignores every other text frame",
    mutation: () => ({ proxy: { sockets: { "/hub": { silentHandshakeErrors: true } } } }),
    killers: [
      "hub/handshake/unknown-protocol",
      "hub/handshake/unsupported-version",
      "hub/handshake/malformed",
      "hub/handshake/message-before-handshake",
      "hub/handshake/*-text",
    ],
    only: ["hub/handshake", "route/LogOut/user"],
    // Silence counts only once the 15 s handshake timeout has passed.
    timeoutMs: 20_000,
  },
  {
    id: "bad-gateway-without-token",
    fault: "An upgrade without a token is answered 502 by a front proxy instead of 401",
    realism:
      "A reverse proxy whose upstream check fails on anonymous requests; a 502 is not a refusal clients recognise",
    mutation: () => ({
      proxy: {
        http: (request) => {
          const url = new URL(request.url);
          const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
          if (
            !upgrade || url.pathname !== "/hub" || url.searchParams.has("access_token") ||
            request.headers.has("authorization")
          ) return Promise.resolve(undefined);
          return Promise.resolve(new Response("Bad gateway", { status: 502 }));
        },
      },
    }),
    killers: ["hub/auth/missing", "hub/auth/missing-401"],
    only: ["hub/auth"],
  },
  {
    id: "handshake-error-texts-differ",
    fault: "Handshake errors answered with a server-specific text",
    realism: "Hand-written SignalR servers (ASP.NET texts are what clients log)",
    mutation: () => ({
      proxy: {
        sockets: {
          "/hub": {
            handshakeAnswer: (text) =>
              text.includes('"error"') ? JSON.stringify({ error: "Handshake failed" }) : text,
          },
        },
      },
    }),
    killers: [
      "hub/handshake/unknown-protocol-text",
      "hub/handshake/unsupported-version-text",
      "hub/handshake/malformed-text",
    ],
    only: ["hub/handshake/*-text", "hub/handshake/unknown-protocol"],
  },
  {
    id: "heartbeat-on-anonymous-hub",
    fault: "Heartbeat is sent on the anonymous hub too",
    realism:
      "Clients.All on both hubs; Bitwarden's HeartbeatHostedService serves NotificationsHub only",
    mutation: ({ timers }) => ({
      proxy: {
        sockets: {
          "/anonymous-hub": {
            extraInvocation: { target: "Heartbeat", everyMs: timers.heartbeatMs ?? 3000 },
          },
        },
      },
    }),
    killers: ["anon/no-heartbeat"],
    only: ["anon"],
  },
  {
    id: "organization-claims-orguser-only",
    fault:
      "Only the orguser claim makes organization memberships (orgowner/orgadmin/orgcustom ignored)",
    realism: "Reading one claim name of four; owners and admins then miss organization pushes",
    mutation: () => ({
      rules: {
        groupsForConnection: (claims, inst) =>
          groupsForConnection(
            Object.fromEntries(
              Object.entries(claims).filter(([k]) =>
                !ORGANIZATION_CLAIMS.includes(k) || k === "orguser"
              ),
            ),
            inst,
          ),
      },
    }),
    killers: [
      "route/SyncOrganizationStatusChanged/organization/*",
      "route/PolicyChanged/organization/*",
    ],
    only: ["route/SyncOrganizationStatusChanged", "route/PolicyChanged"],
  },
  {
    id: "organization-claim-first-value-only",
    fault: "A multi-valued organization claim yields only its first organization",
    realism: "Reading a JWT array claim as a single string (FindFirst instead of FindAll)",
    mutation: () => ({
      rules: {
        groupsForConnection: (claims, inst) =>
          groupsForConnection(
            Object.fromEntries(
              Object.entries(claims).map(([k, v]) =>
                ORGANIZATION_CLAIMS.includes(k) && Array.isArray(v) ? [k, v[0]] : [k, v]
              ),
            ),
            inst,
          ),
      },
    }),
    killers: [
      "route/SyncOrganizationStatusChanged/organization/*",
      "route/PolicyChanged/organization/*",
    ],
    only: ["route/SyncOrganizationStatusChanged", "route/PolicyChanged"],
  },
  {
    id: "negotiate-ignores-version",
    fault:
      "Negotiate answers the version-1 shape (a connectionToken) whatever negotiateVersion says",
    realism:
      "A hand-written negotiate endpoint that always writes one JSON shape; HttpConnectionDispatcher writes connectionToken only from version 1",
    mutation: () => ({
      proxy: {
        http: async (request, service) => {
          const url = new URL(request.url);
          if (request.method !== "POST" || !url.pathname.endsWith("/negotiate")) return undefined;
          const answer = await service.fetch(request, url.pathname);
          const body = await answer.json();
          if (body.connectionId && !body.connectionToken) body.connectionToken = body.connectionId;
          return Response.json(body, { status: answer.status });
        },
      },
    }),
    killers: ["hub/handshake/negotiate-versions"],
    only: ["hub/handshake/negotiate*"],
  },
  {
    id: "handshake-version-1-only",
    fault: "A version-2 handshake is refused as unsupported",
    realism:
      "IsVersionSupported written as version == 1 (ASP.NET Core before 8 had version 1 only; Vaultwarden compares the whole handshake with version 1)",
    mutation: () => ({ proxy: { sockets: { "/hub": { maxHandshakeVersion: 1 } } } }),
    killers: ["hub/handshake/version-2"],
    only: ["hub/handshake/version-2", "hub/handshake/websocket-messagepack"],
  },
  {
    id: "oversized-messages-dropped",
    fault: "A client message over 32 KB is silently dropped instead of closing the connection",
    realism:
      "A WebSocket layer with a frame limit that discards instead of failing; Vaultwarden accepts and echoes any size",
    mutation: () => ({ proxy: { sockets: { "/hub": { dropClientFramesOver: 32 * 1024 } } } }),
    killers: ["hub/protocol/message-too-large"],
    only: ["hub/protocol", "keepalive/close-with-reason"],
  },
  {
    id: "unparseable-json-ignored",
    fault:
      "A JSON-protocol record that does not parse is ignored instead of closing the connection",
    realism:
      "Lenient parsers that skip what they cannot read (Vaultwarden ignores unknown text frames)",
    mutation: () => ({ proxy: { sockets: { "/hub": { dropUnparseableText: true } } } }),
    killers: ["hub/protocol/json-parse-error"],
    only: ["hub/protocol", "hub/handshake/json-protocol"],
  },
  {
    id: "close-without-allow-reconnect",
    fault: "The Close after a protocol error leaves out allowReconnect",
    realism:
      "Writing Close with the error only; ASP.NET Core passes the connection's AllowReconnect (true unless the transport aborted)",
    mutation: () => ({ proxy: { sockets: { "/hub": { closeWithoutAllowReconnect: true } } } }),
    killers: ["hub/protocol/close-allow-reconnect"],
    only: ["hub/protocol", "keepalive/close-with-reason"],
  },
  ...producerMutants(),
];

/** A member route (`/organizations/{id}/users/{id}/VERB`) that pushes nothing. */
function silentMemberRoute(verb: string): RoutePushRule {
  return {
    method: "PUT",
    path: new RegExp(`^/organizations/[^/]+/users/[^/]+/${verb}$`, "i"),
    push: () => null,
  };
}

/** Faults of the reference API's producers: a route that pushes nothing or the wrong thing. */
function producerMutants(): Mutant[] {
  return [
    {
      id: "revoke-pushes-nothing",
      fault: "PUT /api/organizations/{id}/users/{id}/revoke revokes but pushes no SyncOrgKeys",
      realism:
        "Vaultwarden 1.37.2's revoke_member_impl (src/api/core/organizations.rs:2315-2356): the revoked user's clients keep the organization's keys until their next sync",
      producer: [silentMemberRoute("revoke")],
      killers: ["e2e/org-member-revoke"],
      only: ["e2e/org-member-revoke", "e2e/org-member-restore", "e2e/org-member-remove"],
      timeoutMs: 15_000,
    },
    {
      id: "restore-pushes-nothing",
      fault: "PUT /api/organizations/{id}/users/{id}/restore restores but pushes no SyncOrgKeys",
      realism:
        "Vaultwarden 1.37.2's restore_member_impl (src/api/core/organizations.rs:2415-2454): the restored user sees the organization only after a manual sync",
      producer: [silentMemberRoute("restore")],
      killers: ["e2e/org-member-restore"],
      only: ["e2e/org-member-revoke", "e2e/org-member-restore", "e2e/org-member-remove"],
      timeoutMs: 15_000,
    },
    {
      id: "revoke-pushes-logout",
      fault: "The revoke pushes LogOut to the revoked member instead of SyncOrgKeys",
      realism:
        "Ending the revoked user's sessions (as a security-stamp change does) instead of refreshing their organization keys; their other vaults are then logged out for nothing",
      producer: [{
        ...silentMemberRoute("revoke"),
        push: (n) => ({
          ...n,
          type: PushType.LogOut,
          payload: { UserId: n.payload.UserId ?? null, Reason: null },
        }),
      }],
      killers: ["e2e/org-member-revoke"],
      only: ["e2e/org-member-revoke", "e2e/org-member-restore"],
      timeoutMs: 15_000,
    },
    {
      id: "kdf-change-pushes-nothing",
      fault: "POST /api/accounts/kdf changes the KDF but pushes no LogOut",
      realism:
        "Relying on the refreshed security stamp alone: the other devices keep unlocking with the old KDF until their token expires",
      producer: [{ method: "POST", path: /^\/accounts\/kdf$/i, push: () => null }],
      killers: ["e2e/kdf-change"],
      only: ["e2e/kdf-change", "e2e/password-change"],
      timeoutMs: 15_000,
    },
    {
      id: "kdf-change-excludes-acting-device",
      fault:
        "The KDF change's LogOut carries the acting device as ContextId (that device drops it)",
      realism:
        "Vaultwarden 1.37.2's post_kdf (send_logout with Some(&headers.device), src/api/core/accounts.rs:702-734); the password change does exclude it",
      producer: [{
        method: "POST",
        path: /^\/accounts\/kdf$/i,
        push: (n) => ({ ...n, excludeCurrentContext: true }),
      }],
      killers: ["e2e/kdf-change"],
      only: ["e2e/kdf-change", "e2e/password-change"],
      timeoutMs: 15_000,
    },
    {
      id: "collections-change-pushes-nothing",
      fault: "PUT /api/ciphers/{id}/collections re-files the cipher but pushes nothing",
      realism:
        "Only the collection links change, not the cipher row, so a push keyed on cipher saves never fires; members see the new filing after their next full sync",
      producer: [{ method: "PUT", path: /^\/ciphers\/[^/]+\/collections$/i, push: () => null }],
      killers: ["e2e/cipher-collections"],
      only: ["e2e/cipher-collections", "e2e/org-cipher-update"],
      timeoutMs: 15_000,
    },
  ];
}
