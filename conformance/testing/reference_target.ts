/**
 * Targets for the suite's self-tests: the reference Notifications service started in-process on
 * a free port, trusting an {@linkcode ActingAuthority}, in `send` or `queue` mode, and the same
 * service built with exactly one realistic fault (broken targets). Test tree only: `server/`
 * never imports this.
 *
 * @module
 */

import { QueueClient } from "@azure/storage-queue";
import { ActingAuthority } from "../../testing/mod.ts";
import type { InjectMode, ResolvedTarget } from "../types.ts";
import { toHubMessagePackArgument } from "../../protocol/bitwarden/mod.ts";
import type { Envelope, HubClaims } from "../../protocol/bitwarden/mod.ts";
import { parseQueueMessage } from "../../protocol/bitwarden/mod.ts";
import {
  AuthError,
  type Backplane,
  type NotificationsOptions,
  type NotificationsTimers,
  serveNotifications,
  type TokenVerifier,
} from "../../server/notifications/mod.ts";
import { everyoneWhen, type RuleFault, withFaults } from "./rule_faults.ts";
import { type ProxyRules, type RunningProxy, startMutationProxy } from "./_mutation_proxy.ts";
import { linkedBackplanes } from "./_backplanes.ts";

/** The one fault a broken target has. */
export type Fault =
  | "org-to-everyone"
  | "ignores-signature"
  | "drops-context-id"
  | "pascal-case-json"
  | "never-pings"
  | "deletes-before-dispatch"
  | "anonymous-ignores-token";

/** Every fault. */
export const FAULTS: readonly Fault[] = [
  "org-to-everyone",
  "ignores-signature",
  "drops-context-id",
  "pascal-case-json",
  "never-pings",
  "deletes-before-dispatch",
  "anonymous-ignores-token",
];

/** Options of {@linkcode startTarget}. */
export interface TargetOptions {
  /** Injection mode (default `send`). */
  readonly inject?: InjectMode;
  /** Queue connection string (queue mode). */
  readonly queueConnectionString?: string;
  /** The fault to build in, if any. */
  readonly fault?: Fault;
  /** A mutant's fault (see `mutant_catalogue.ts`), built from the target's authority URL. */
  readonly mutation?: (context: MutationContext) => Mutation;
  /** `--grace` of the run, for mutations timed from it (default 300). */
  readonly graceMs?: number;
}

/** What a mutation can depend on. */
export interface MutationContext {
  /** URL of the authority the service trusts. */
  readonly authorityUrl: string;
  /** Timers the self-test targets use (short keep-alive and heartbeat). */
  readonly timers: NotificationsTimers;
  /** `--grace` of the run the target serves. */
  readonly graceMs: number;
}

/**
 * One fault expressed with the service's delivery rules or token verifier, its timers, a
 * backplane, or a thin proxy in front of it; never a change to `server/`.
 */
export interface Mutation {
  /** Delivery rules replaced over the defaults (and over a fault's). */
  readonly rules?: RuleFault;
  /** A token verifier used instead of the service's own (over a fault's). */
  readonly verifier?: TokenVerifier;
  /** Timer settings (merged over the self-test timers). */
  readonly timers?: NotificationsTimers;
  /** A backplane the service publishes to and subscribes from. */
  readonly backplane?: Backplane;
  /** A proxy in front of the service: the target URLs then point at it. */
  readonly proxy?: ProxyRules;
  /** Attempts the service's queue consumer makes per message (its `maxDequeueCount`). */
  readonly maxDequeueCount?: number;
  /**
   * A faulty consumer in place of the service's (queue mode): `before-dispatch` deletes each
   * message first, `never` dispatches and leaves it for its lease to end.
   */
  readonly consumerDeletes?: ConsumerDeletion;
  /**
   * Runs a second instance joined to the first by an in-memory backplane (the target then has
   * two hub URLs); `subscriber` wraps how the second instance handles what it receives.
   */
  readonly secondInstance?: {
    readonly subscriber?: (handle: (envelope: Envelope) => void) => (envelope: Envelope) => void;
  };
}

/** When a faulty queue consumer deletes a message. */
export type ConsumerDeletion = "before-dispatch" | "never";

/** A running self-test target. */
export interface RunningTarget {
  /** The target description to give `runConformance`. */
  readonly target: ResolvedTarget;
  /** The authority the service trusts. */
  readonly authority: ActingAuthority;
  /** Stops the service, the broken consumer (if any) and the authority. */
  close(): Promise<void>;
}

/** Short timers so keep-alive and heartbeat cases finish in seconds. */
const TIMERS = { keepAliveMs: 1000, heartbeatMs: 3000, handshakeTimeoutMs: 5000 } as const;

/** Decodes a JWT payload without checking anything but typ, issuer and lifetime: the signature fault. */
function unverifiedClaims(issuer: string): (token: string) => Promise<HubClaims> {
  return (token) => {
    const [header, payload] = token.split(".");
    const decode = (part: string | undefined) =>
      JSON.parse(
        new TextDecoder().decode(
          Uint8Array.from(atob((part ?? "").replace(/-/g, "+").replace(/_/g, "/")), (c) =>
            c.charCodeAt(0)),
        ),
      );
    const fail = (message: string) =>
      Promise.reject(new AuthError(401, `Invalid token: ${message}`));
    try {
      const h = decode(header) as { typ?: string };
      const claims = decode(payload) as HubClaims & { iss?: string; exp?: number; nbf?: number };
      const now = Date.now() / 1000;
      if (h.typ !== "at+jwt") return fail("Wrong typ");
      if (claims.iss !== issuer) return fail("Wrong issuer");
      if ((claims.exp ?? 0) + 300 < now || (claims.nbf ?? 0) - 300 > now) return fail("Expired");
      return Promise.resolve(claims);
    } catch {
      return fail("Malformed token");
    }
  };
}

/** A built-in fault's delivery rules and verifier. */
function faultFor(
  fault: Fault | undefined,
  issuer: string,
): { readonly rules?: RuleFault; readonly verifier?: TokenVerifier } {
  switch (fault) {
    case "org-to-everyone":
      return {
        rules: everyoneWhen((route) =>
          route.targets.some((t) => t.kind === "group" && t.group.startsWith("Organization"))
        ),
      };
    case "ignores-signature":
      return { verifier: unverifiedClaims(issuer) };
    case "drops-context-id":
      return {
        rules: {
          messagePackArgument: (envelope: Envelope) => ({
            ...(toHubMessagePackArgument(envelope) as object),
            ContextId: null,
          }),
        },
      };
    case "pascal-case-json":
      return { rules: { jsonArgument: (envelope: Envelope) => toHubMessagePackPlain(envelope) } };
    case "anonymous-ignores-token":
      return { rules: { anonymousGroup: () => null } };
    default:
      return {};
  }
}

/** The MessagePack projection with ISO dates: PascalCase keys where JSON needs camelCase. */
function toHubMessagePackPlain(envelope: Envelope): unknown {
  return JSON.parse(
    JSON.stringify({
      Type: envelope.type,
      Payload: envelope.payload,
      ContextId: envelope.contextId,
    }),
  );
}

/**
 * A consumer that deletes each message as soon as it is received and only then dispatches it
 * (a failed dispatch loses the message: the `deletes-before-dispatch` fault), or that never
 * deletes (every message comes back when its lease ends).
 */
function startFaultyConsumer(
  connectionString: string,
  queueName: string,
  dispatch: (envelope: Envelope) => Promise<unknown>,
  deletes: ConsumerDeletion,
): () => Promise<void> {
  const client = new QueueClient(connectionString, queueName);
  const controller = new AbortController();
  const loop = (async () => {
    await client.createIfNotExists();
    while (!controller.signal.aborted) {
      let batch;
      try {
        batch = await client.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 2 });
      } catch {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (batch.receivedMessageItems.length === 0) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const message of batch.receivedMessageItems) {
        if (deletes === "before-dispatch") {
          await client.deleteMessage(message.messageId, message.popReceipt).catch(() => {});
        }
        try {
          await dispatch(parseQueueMessage(message.messageText));
        } catch {
          // The message is already gone, or stays for its lease: that is the fault.
        }
      }
    }
  })();
  return async () => {
    controller.abort();
    await loop;
  };
}

/**
 * Starts the reference Notifications service (optionally with one fault) behind a fresh acting
 * authority, on free loopback ports.
 *
 * @param options Mode, queue and fault.
 * @returns The target; `close()` it in `finally`.
 */
export async function startTarget(options: TargetOptions = {}): Promise<RunningTarget> {
  const inject = options.inject ?? "send";
  const authority = await ActingAuthority.create();
  const authorityUrl = await authority.listen({ port: 0 });
  const installationId = crypto.randomUUID();
  const queueName = `notifications${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const fault = options.fault;
  const mutation = options.mutation?.({
    authorityUrl,
    timers: TIMERS,
    graceMs: options.graceMs ?? 300,
  });
  const faultyConsumer: ConsumerDeletion | undefined = fault === "deletes-before-dispatch"
    ? "before-dispatch"
    : mutation?.consumerDeletes;
  const useOwnConsumer = faultyConsumer !== undefined;
  const links = mutation?.secondInstance ? linkedBackplanes(2) : undefined;
  const timers = fault === "never-pings"
    ? { ...TIMERS, keepAliveMs: 0, heartbeatMs: 120_000 }
    : TIMERS;
  const built = faultFor(fault, authorityUrl);
  const verifier = mutation?.verifier ?? built.verifier;
  const serviceOptions: NotificationsOptions = {
    selfHosted: inject !== "queue",
    installationId,
    auth: { authority: authorityUrl },
    timers: { ...timers, ...mutation?.timers },
    rules: withFaults(built.rules, mutation?.rules),
    ...(verifier ? { verifier } : {}),
    ...(mutation?.backplane ? { backplane: mutation.backplane } : {}),
    ...(links ? { backplane: links[0]! } : {}),
    log: () => {},
    ...(inject === "queue" && options.queueConnectionString && !useOwnConsumer
      ? {
        queue: {
          connectionString: options.queueConnectionString,
          queueName,
          poisonQueueName: `${queueName}-poison`,
          visibilityTimeoutSeconds: 2,
          ...(mutation?.maxDequeueCount ? { maxDequeueCount: mutation.maxDequeueCount } : {}),
          idleWait: { minMs: 50, maxMs: 200 },
          log: () => {},
        },
      }
      : {}),
  };
  let served: Awaited<ReturnType<typeof serveNotifications>>;
  let second: typeof served | undefined;
  try {
    served = await serveNotifications(serviceOptions);
    if (links) {
      const wrap = mutation?.secondInstance?.subscriber ?? ((handle) => handle);
      const link = links[1]!;
      const { queue: _queue, ...rest } = serviceOptions;
      second = await serveNotifications({
        ...rest,
        backplane: { ...link, subscribe: (handle) => link.subscribe(wrap(handle)) },
      }).catch(async (error) => {
        await served.close();
        throw error;
      });
    }
  } catch (error) {
    await authority.close();
    throw error;
  }
  let stopConsumer: (() => Promise<void>) | undefined;
  if (faultyConsumer && options.queueConnectionString) {
    const service = served.service;
    stopConsumer = startFaultyConsumer(
      options.queueConnectionString,
      queueName,
      (e) => service.dispatch(e, "queue"),
      faultyConsumer,
    );
  } else if (inject === "queue" && options.queueConnectionString) {
    await new QueueClient(options.queueConnectionString, queueName).createIfNotExists();
  }
  let proxy: RunningProxy | undefined;
  if (mutation?.proxy) {
    proxy = startMutationProxy(served.service, { upstreamUrl: served.url, rules: mutation.proxy });
  }
  const url = proxy?.url ?? served.url;
  const target: ResolvedTarget = {
    baseUrl: url,
    hubUrl: `${url}/hub`,
    extraHubUrls: second ? [`${second.url}/hub`] : [],
    anonymousHubUrl: `${url}/anonymous-hub`,
    sendUrl: `${url}/send`,
    apiUrl: `${url}/api`,
    identityUrl: `${url}/identity`,
    inject,
    queueName,
    ...(options.queueConnectionString
      ? { queueConnectionString: options.queueConnectionString }
      : {}),
    installationId,
    actAsAuthorityPort: Number(new URL(authorityUrl).port),
    protocols: ["messagepack", "json"],
  };
  return {
    target,
    authority,
    async close() {
      await stopConsumer?.();
      // The service first: it closes every socket, including those the proxy upgraded for it,
      // which the proxy's server would otherwise wait for.
      await served.close();
      await second?.close();
      await proxy?.close();
      await authority.close();
    },
  };
}
