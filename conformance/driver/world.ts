/**
 * Worlds of users, organizations and devices: connect every device to the hub, inject pushes,
 * and compare the set of (connection, message) deliveries with the oracle's, exactly.
 *
 * @module
 */

import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import type { InvocationMessage } from "../../protocol/signalr/mod.ts";
import { type CaseContext, CaseFailure } from "../types.ts";
import {
  HubClient,
  HubConnectError,
  type HubProtocolName,
  type TokenPlacement,
} from "./hub_client.ts";
import { deviceClaims, type DeviceIdentity, newGuid, requireAuthority } from "./identity.ts";
import { tokenClaims } from "./identity_world.ts";
import { type Endpoint, expectedRecipients } from "./oracle.ts";
import { envelopeKey, invocationKey } from "./compare.ts";
import { requireHubProtocol } from "./protocol_support.ts";

/** A connection to open. */
export type EndpointSpec =
  | {
    /** Unique name (trace lifeline `client:<name>`). */
    readonly name: string;
    /** Main hub. */
    readonly hub: "main";
    /** The device whose token is used. */
    readonly identity: DeviceIdentity;
    /**
     * A token the target's identity issued for this device (identity-backed worlds); the oracle
     * then routes by the token's own claims. Without it the harness authority mints one.
     */
    readonly token?: string;
    /** Hub URL override (scale-out: another instance). */
    readonly hubUrl?: string;
    /** Token placement (default query). */
    readonly tokenVia?: TokenPlacement;
  }
  | {
    /** Unique name. */
    readonly name: string;
    /** Anonymous hub. */
    readonly hub: "anonymous";
    /** `Token` query value. */
    readonly token: string;
    /** Hub URL override. */
    readonly hubUrl?: string;
  };

/** Name of the barrier connection every world gets. */
export const SENTINEL = "sentinel";

/** Methods that carry pushes (anything but these, such as `Heartbeat`, is not a delivery). */
const IGNORED_METHODS = new Set(["heartbeat"]);

/** Connected clients of a world. */
export interface ConnectedWorld {
  /** Client per endpoint name. */
  readonly clients: ReadonlyMap<string, HubClient>;
  /** Endpoints as the oracle sees them. */
  readonly endpoints: readonly Endpoint[];
  /** Hub protocol of every connection. */
  readonly protocol: HubProtocolName;
  /** User id of the sentinel. */
  readonly sentinelUserId: string;
  /** Names of the sentinel connections, one per instance (the first is {@linkcode SENTINEL}). */
  readonly sentinels: readonly string[];
  /** Closes every connection. */
  close(): Promise<void>;
}

/**
 * The anonymous hub URL that belongs to a main hub URL (`…/hub` -> `…/anonymous-hub`).
 *
 * @param hubUrl A main hub URL.
 * @returns The anonymous hub URL of the same instance.
 */
export function anonymousHubFor(hubUrl: string): string {
  return hubUrl.replace(/\/hub(\/?)(\?.*)?$/, "/anonymous-hub$1$2");
}

/** Options of {@linkcode connectWorld}. */
export interface ConnectWorldOptions {
  /** Hub protocol of every connection. */
  readonly protocol: HubProtocolName;
  /**
   * The barrier connection's user and token, issued by the target (identity-backed worlds).
   * Without it the harness authority mints a sentinel token.
   */
  readonly sentinel?: { readonly userId: string; readonly token: string };
  /**
   * Hub URLs that each get a sentinel connection (default: the target's main hub). With one per
   * instance of a scaled-out deployment, the barrier push passes through every instance, so a
   * late delivery on any of them comes before the observation ends.
   */
  readonly sentinelHubUrls?: readonly string[];
}

/**
 * Connects every endpoint plus a sentinel in parallel, with the tokens the specs carry (issued by
 * the target's identity) or minted by the harness authority, and waits a short settle time so
 * group joins done after the handshake are in place.
 *
 * @param ctx The case context.
 * @param specs Connections to open.
 * @param options Hub protocol for all connections, and the sentinel of identity-backed worlds.
 * @returns The connected world; close it in `finally`.
 * @throws {CaseUnsupported} When the target lacks the protocol (probed once per run), or a token
 * must be minted without `--act-as-authority`.
 */
export async function connectWorld(
  ctx: CaseContext,
  specs: readonly EndpointSpec[],
  options: ConnectWorldOptions,
): Promise<ConnectedWorld> {
  const needsMinting = options.sentinel === undefined ||
    specs.some((spec) => spec.hub === "main" && spec.token === undefined);
  const authority = needsMinting ? requireAuthority(ctx) : undefined;
  const sentinelUserId = options.sentinel?.userId ?? newGuid();
  const sentinelUrls = options.sentinelHubUrls ?? [ctx.target.hubUrl];
  const sentinels = sentinelUrls.map((_, i) => (i === 0 ? SENTINEL : `${SENTINEL}-${i}`));
  const all: EndpointSpec[] = [
    ...specs,
    ...sentinelUrls.map((hubUrl, i): EndpointSpec => ({
      name: sentinels[i]!,
      hub: "main",
      identity: {
        userId: sentinelUserId,
        deviceId: newGuid(),
        deviceType: DeviceType.LinuxDesktop,
        organizations: [],
      },
      hubUrl,
      ...(options.sentinel ? { token: options.sentinel.token } : {}),
    })),
  ];
  await requireHubProtocol(ctx, options.protocol, async () =>
    options.sentinel?.token ??
      await authority!.mint({
        claims: deviceClaims({
          userId: sentinelUserId,
          deviceId: newGuid(),
          deviceType: DeviceType.LinuxDesktop,
          organizations: [],
        }),
      }));
  const clients = new Map<string, HubClient>();
  const endpoints: Endpoint[] = [];
  const close = async () => {
    await Promise.all([...clients.values()].map((c) => c.close()));
  };
  try {
    // Settle every attempt before giving up: a connection still opening when another failed
    // would otherwise open after the clean-up and stay open.
    const attempts = await Promise.allSettled(all.map(async (spec) => {
      let client: HubClient;
      if (spec.hub === "main") {
        let token = spec.token;
        let claims;
        if (token === undefined) {
          claims = deviceClaims(spec.identity);
          token = await authority!.mint({ claims });
        } else {
          claims = tokenClaims(token);
        }
        // A target-issued token may lack memberships the harness made: the oracle follows it.
        const memberships = spec.token === undefined ? [] : spec.identity.organizations;
        endpoints.push({
          name: spec.name,
          hub: "main",
          claims,
          ...(memberships.length > 0 ? { memberships } : {}),
        });
        client = await HubClient.connect(spec.hubUrl ?? ctx.target.hubUrl, {
          name: spec.name,
          protocol: options.protocol,
          token,
          tokenVia: spec.tokenVia ?? "query",
          trace: ctx.trace,
          signal: ctx.signal,
        });
      } else {
        endpoints.push({ name: spec.name, hub: "anonymous", token: spec.token });
        client = await HubClient.connect(spec.hubUrl ?? ctx.target.anonymousHubUrl, {
          name: spec.name,
          protocol: options.protocol,
          query: { Token: spec.token },
          trace: ctx.trace,
          signal: ctx.signal,
        });
      }
      clients.set(spec.name, client);
    }));
    const failed = attempts.find((a) => a.status === "rejected");
    if (failed) throw failed.reason;
  } catch (error) {
    await close();
    if (error instanceof HubConnectError) {
      // Every connection of a world is valid (a trusted token, or a Token on the anonymous hub):
      // a refusal is the target's failure, not the harness's.
      throw new CaseFailure(
        "every connection of the world accepted (valid tokens; anonymous sockets need none)",
        `refused at the ${error.stage}: ${error.message}`,
      );
    }
    throw error;
  }
  await new Promise((resolve) => setTimeout(resolve, Math.min(300, ctx.graceMs)));
  return { clients, endpoints, protocol: options.protocol, sentinelUserId, sentinels, close };
}

/** One delivery seen on a connection. */
export interface Delivery {
  /** Connection name. */
  readonly endpoint: string;
  /** Identity key (see `pushKey`), or undefined when the invocation is not a push. */
  readonly key: string | undefined;
  /** The invocation. */
  readonly invocation: InvocationMessage;
}

/** What {@linkcode injectAndObserve} and {@linkcode observeActions} saw. */
export interface Observation {
  /** Expected recipients per push (actions' pushes in order, then the barrier). */
  readonly expected: ReadonlyMap<Envelope, readonly string[]>;
  /** Every delivery to every connection (sentinel included) after the start mark. */
  readonly deliveries: readonly Delivery[];
  /** Differences between the expected and observed delivery multisets. */
  readonly problems: readonly string[];
}

/**
 * One change of a case: it performs something (injects an envelope, calls the API) and returns
 * the pushes that change must produce.
 */
export interface WorldAction {
  /** Lifeline the change goes to (`send`, `queue`, `api`). */
  readonly via: string;
  /** Performs the change. */
  perform(): Promise<readonly Envelope[]>;
}

/** Options of {@linkcode observeActions}. */
export interface ObserveOptions {
  /**
   * Makes the barrier push to the sentinel connection (an envelope injection, or an API change
   * of the sentinel user) and returns it.
   */
  readonly barrier: WorldAction;
  /**
   * Also raise a barrier before the actions and ignore everything that arrived until it did:
   * pushes of the world's setup (organization keys) or of an earlier lease of the same users.
   */
  readonly startBarrier?: boolean;
}

async function raiseBarrier(
  ctx: CaseContext,
  world: ConnectedWorld,
  barrier: WorldAction,
): Promise<Envelope> {
  const [envelope] = await barrier.perform();
  if (!envelope) throw new Error("The barrier action produced no push");
  const key = envelopeKey(envelope);
  const missing: string[] = [];
  await Promise.all(world.sentinels.map(async (name) => {
    const sentinel = world.clients.get(name)!;
    const got = await sentinel.waitFor(
      () => sentinel.invocations().find((m) => invocationKey(m) === key),
      Math.max(2000, Math.floor(ctx.timeoutMs * 0.3)),
    );
    if (!got) missing.push(name);
  }));
  if (missing.length > 0) {
    throw new CaseFailure(
      "the start barrier push to reach every sentinel connection",
      `nothing arrived on ${missing.sort().join(", ")}`,
    );
  }
  return envelope;
}

/**
 * Performs the actions in order, then a barrier push to the sentinel connections (once it
 * arrives on each, the earlier pushes were dispatched there), waits for every expected delivery
 * (the barrier's on every sentinel included), then a grace
 * period for unexpected ones, and compares delivery multisets with the oracle's exactly.
 *
 * @param ctx The case context.
 * @param world The connected world.
 * @param actions Changes to make; their pushes carry fresh GUIDs.
 * @param options The barrier, and whether to raise one before the actions too.
 * @returns The observation.
 */
export async function observeActions(
  ctx: CaseContext,
  world: ConnectedWorld,
  actions: readonly WorldAction[],
  options: ObserveOptions,
): Promise<Observation> {
  const installationId = ctx.target.installationId ?? null;
  const offsets = new Map<string, number>();
  if (options.startBarrier) {
    await raiseBarrier(ctx, world, options.barrier);
    for (const [name, client] of world.clients) offsets.set(name, client.invocations().length);
  }
  const all: Envelope[] = [];
  const expected = new Map<Envelope, string[]>();
  const wanted = new Map<string, Map<string, number>>();
  const expect = (envelope: Envelope) => {
    all.push(envelope);
    const recipients = expectedRecipients(envelope, world.endpoints, installationId);
    expected.set(envelope, recipients);
    for (const name of recipients) {
      const perKey = wanted.get(name) ?? new Map<string, number>();
      const key = envelopeKey(envelope);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      wanted.set(name, perKey);
    }
    return recipients;
  };
  for (const action of [...actions, options.barrier]) {
    const envelopes = await action.perform();
    for (const envelope of envelopes) {
      const recipients = expect(envelope);
      ctx.trace.record({
        from: "harness",
        to: action.via,
        kind: "update",
        summary: `push Type ${envelope.type} -> ${recipients.join(", ") || "nobody"}`,
      });
    }
  }
  const received = (name: string) =>
    world.clients.get(name)!.invocations().slice(offsets.get(name) ?? 0).filter((m) =>
      !IGNORED_METHODS.has(m.target.toLowerCase())
    );
  const deadline = Math.max(2000, Math.floor(ctx.timeoutMs * 0.6));
  await Promise.all([...world.clients.entries()].map(([name, client]) => {
    const count = [...(wanted.get(name)?.values() ?? [])].reduce((a, b) => a + b, 0);
    return count === 0 ? Promise.resolve() : client.waitFor(
      () => (received(name).length >= count ? true : undefined),
      deadline,
    );
  }));
  await new Promise((resolve) => setTimeout(resolve, ctx.graceMs));
  const deliveries: Delivery[] = [];
  const problems: string[] = [];
  const ours = new Set(all.map(envelopeKey));
  for (const [name] of world.clients) {
    // Installation broadcasts of concurrently running cases reach every connection legitimately.
    const got = received(name).filter((m) =>
      ours.has(invocationKey(m) ?? "") || !isInstallationBroadcast(m, installationId)
    );
    const counts = new Map<string, number>();
    for (const invocation of got) {
      const key = invocationKey(invocation);
      deliveries.push({ endpoint: name, key, invocation });
      const k = key ?? `unrecognised ${invocation.target}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const want = wanted.get(name) ?? new Map<string, number>();
    for (const [key, count] of want) {
      const have = counts.get(key) ?? 0;
      if (have < count) {
        problems.push(
          `${name}: missing ${describeKey(key, all)}${count > 1 ? ` (${have}/${count})` : ""}`,
        );
      }
      if (have > count) {
        problems.push(`${name}: ${have} copies of ${describeKey(key, all)} (expected ${count})`);
      }
    }
    for (const [key, have] of counts) {
      if (!want.has(key)) {
        problems.push(`${name}: unexpected ${describeKey(key, all)}${have > 1 ? ` x${have}` : ""}`);
      }
    }
  }
  return { expected, deliveries, problems };
}

/**
 * Injects the envelopes in order, then a sentinel push to the sentinel connection as the
 * barrier, and compares deliveries with the oracle's exactly (see {@linkcode observeActions}).
 *
 * @param ctx The case context.
 * @param world The connected world.
 * @param envelopes Pushes to inject, each with unique GUIDs.
 * @param inject How to inject one envelope.
 * @param options `startBarrier` for identity-backed worlds (see {@linkcode ObserveOptions}).
 * @returns The observation.
 */
export async function injectAndObserve(
  ctx: CaseContext,
  world: ConnectedWorld,
  envelopes: readonly Envelope[],
  inject: (envelope: Envelope) => Promise<unknown>,
  options: { readonly startBarrier?: boolean } = {},
): Promise<Observation> {
  const via = ctx.target.inject === "queue" ? "queue" : "send";
  const injectOne = (envelope: Envelope): WorldAction => ({
    via,
    perform: async () => {
      await inject(envelope);
      return [envelope];
    },
  });
  return await observeActions(ctx, world, envelopes.map(injectOne), {
    barrier: {
      via,
      perform: () =>
        injectOne({
          type: 5,
          payload: { UserId: world.sentinelUserId, Date: new Date().toISOString() },
          contextId: null,
        }).perform(),
    },
    ...(options.startBarrier ? { startBarrier: true } : {}),
  });
}

/**
 * Whether an invocation is a Notification Center push to the whole installation: every
 * connection of the installation receives those legitimately, including connections of other
 * cases running at the same time.
 *
 * @param invocation A received invocation.
 * @param installationId The target's installation id, or null when unknown.
 * @returns True when its payload's InstallationId is the target's.
 */
export function isInstallationBroadcast(
  invocation: InvocationMessage,
  installationId: string | null,
): boolean {
  if (installationId === null) return false;
  const argument = invocation.arguments[0] as Record<string, unknown> | undefined;
  const payload = (argument?.Payload ?? argument?.payload) as Record<string, unknown> | undefined;
  const value = payload?.InstallationId ?? payload?.installationId;
  return typeof value === "string" && value.toLowerCase() === installationId.toLowerCase();
}

function describeKey(key: string, envelopes: readonly Envelope[]): string {
  const index = envelopes.findIndex((e) => envelopeKey(e) === key);
  const type = key.split(":")[0];
  if (index === envelopes.length - 1) return "sentinel push";
  return index >= 0 ? `push #${index + 1} (Type ${type})` : `message ${key.slice(0, 60)}`;
}

/**
 * Throws a {@linkcode CaseFailure} when an observation's deliveries differ from the expected set.
 *
 * @param observation The observation.
 * @param requirement Short text of what was expected.
 */
export function assertExactDeliveries(observation: Observation, requirement: string): void {
  if (observation.problems.length === 0) return;
  const expected = [...observation.expected.entries()].map(([envelope, names], i) =>
    `#${i + 1} Type ${envelope.type} -> {${names.join(", ")}}`
  ).join("; ");
  throw new CaseFailure(
    `${requirement}: ${expected}`,
    observation.problems.slice(0, 12).join("; ") + (observation.problems.length > 12 ? "; …" : ""),
  );
}
