/**
 * Public contracts of the Notifications service shared with its collaborators: the backplane
 * (Redis scale-out), the queue consumer, the test tree's broken targets and the all-in-one
 * server.
 *
 * @module
 */

import type { ConnectionGroups, Envelope, HubClaims, Route } from "../../protocol/bitwarden/mod.ts";

/** Log sink; `fields` carries structured context. */
export type Logger = (
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** Where an envelope entered the service. */
export type MessageSource = "send" | "queue" | "backplane" | "local";

/**
 * Scale-out transport between service instances. `dispatch` publishes every envelope it did
 * not receive from the backplane; each instance delivers what it receives to its own
 * connections only.
 */
export interface Backplane {
  /** Publishes an envelope to every OTHER instance. */
  publish(envelope: Envelope): Promise<void>;
  /** Starts receiving envelopes published by other instances. */
  subscribe(handler: (envelope: Envelope) => void): Promise<void>;
  /** Stops receiving and releases connections. */
  close(): Promise<void>;
}

/** Outcome of one `dispatch`. */
export interface DispatchResult {
  /** Where the envelope was routed. */
  readonly route: Route;
  /** Connections of THIS instance the invocation was written to. */
  readonly delivered: number;
  /**
   * True when the backplane published the envelope or holds it for retry, false when it refused
   * it, null when not attempted.
   */
  readonly published: boolean | null;
  /** Why publishing failed, if it did. */
  readonly backplaneError?: string;
}

/** Sends envelopes to connections; what the queue consumer and `/send` call. */
export type DispatchFunction = (
  envelope: Envelope,
  source: MessageSource,
) => Promise<DispatchResult>;

/**
 * Collaborator hooks replacing one rule of the service each, so the test tree can build
 * deliberately broken targets for the conformance suite's self-tests. Production code never
 * sets them.
 */
export interface NotificationsOverrides {
  /** Replaces `routeEnvelope`. */
  readonly routeEnvelope?: (envelope: Envelope) => Route;
  /** Replaces `groupsForConnection`. */
  readonly groupsForConnection?: (
    claims: HubClaims,
    installationId: string | null,
  ) => ConnectionGroups;
  /** Replaces jose verification (the policies still apply to its claims). */
  readonly verifyAccessToken?: (token: string) => Promise<HubClaims>;
  /** Replaces the hub argument projection per protocol. */
  readonly hubArgument?: {
    readonly json?: (envelope: Envelope) => unknown;
    readonly messagepack?: (envelope: Envelope) => unknown;
  };
  /** Group joined on `/anonymous-hub` for a `Token` query value (default: the value itself). */
  readonly anonymousGroup?: (token: string | null) => string | null;
  /** True = deliver the routed message to every connection of that hub. */
  readonly deliverToAll?: (route: Route) => boolean;
}
