/**
 * Public contracts of the Notifications service shared with its collaborators: the backplane
 * (Redis scale-out), the queue consumer and the all-in-one server.
 *
 * @module
 */

import type { Envelope, Route } from "../../protocol/bitwarden/mod.ts";

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
