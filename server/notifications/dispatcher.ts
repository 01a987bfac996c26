/**
 * Delivery of envelopes to connections: route, look up recipients through the registry's
 * indexes, encode the invocation once per hub protocol, write the same bytes to every
 * recipient, then publish to the backplane (unless the envelope came from it).
 *
 * @module
 */

import type { Envelope, HubName, Route } from "../../protocol/bitwarden/mod.ts";
import { type HubMessage, MessageType } from "../../protocol/signalr/mod.ts";
import type { ConnectionRegistry } from "./connection_registry.ts";
import type { DeliveryRules } from "./delivery_rules.ts";
import type { HubConnection } from "./hub_connection.ts";
import { OutgoingFrame } from "./outgoing_frame.ts";
import type { NotificationsMetrics } from "./metrics.ts";
import type { Backplane, DispatchResult, Logger, MessageSource } from "./types.ts";

/** Construction options of {@linkcode Dispatcher}. */
export interface DispatcherOptions {
  /** Live connections. */
  readonly registry: ConnectionRegistry<HubConnection>;
  /** Where an envelope goes and what each hub protocol carries (asked once per envelope). */
  readonly rules: Pick<DeliveryRules, "routeEnvelope" | "jsonArgument" | "messagePackArgument">;
  /** Counters. */
  readonly metrics: NotificationsMetrics;
  /** Scale-out, if configured. */
  readonly backplane?: Backplane;
  /** Log sink. */
  readonly log: Logger;
}

/**
 * Encodes one logical message at most once per protocol and hands the frame to each recipient.
 *
 * @param recipients Connections to write to (a snapshot: writes may close connections).
 * @param build Builds the message for a protocol name.
 * @returns Number of connections written to.
 */
function writeOnce(
  recipients: Iterable<HubConnection>,
  build: (protocol: string) => HubMessage,
  onDelivered: (connection: HubConnection) => void,
): number {
  const frames = new Map<string, OutgoingFrame>();
  let delivered = 0;
  for (const connection of recipients) {
    const codec = connection.codec;
    if (!codec) continue;
    let frame = frames.get(codec.name);
    if (frame === undefined) {
      frame = new OutgoingFrame(codec.encode(build(codec.name)), codec.transferFormat);
      frames.set(codec.name, frame);
    }
    if (connection.sendEncoded(frame)) {
      delivered++;
      onDelivered(connection);
    }
  }
  return delivered;
}

/** Routes and delivers envelopes. */
export class Dispatcher {
  #options: DispatcherOptions;

  /**
   * Creates a dispatcher.
   *
   * @param options Registry, delivery rules, metrics and backplane.
   */
  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  /**
   * Delivers to local connections only.
   *
   * @param envelope The envelope.
   * @returns The route and the number of local deliveries.
   */
  deliverLocal(envelope: Envelope): { route: Route; delivered: number } {
    const { registry, metrics } = this.#options;
    const rules = this.#options.rules;
    const route = rules.routeEnvelope(envelope);
    if (route.targets.length === 0) {
      metrics.messagesUnrouted.inc();
      return { route, delivered: 0 };
    }
    const recipients = registry.recipients(route.hub, route.targets);
    const delivered = writeOnce(
      recipients,
      (protocol) => ({
        type: MessageType.Invocation,
        target: route.method,
        arguments: [
          protocol === "messagepack"
            ? rules.messagePackArgument(envelope)
            : rules.jsonArgument(envelope),
        ],
      }),
      (connection) => metrics.deliveries.inc({ hub: route.hub, protocol: connection.protocol! }),
    );
    return { route, delivered };
  }

  /**
   * Delivers locally, then publishes to the backplane unless `source` is `backplane`.
   * A publish failure is reported in the result and counted, never thrown: local recipients
   * already got the message, and retrying would duplicate it.
   *
   * @param envelope The envelope.
   * @param source Where it came from.
   * @returns Route, local deliveries and the publish outcome.
   */
  async dispatch(envelope: Envelope, source: MessageSource): Promise<DispatchResult> {
    this.#options.metrics.messagesReceived.inc({ source });
    const { route, delivered } = this.deliverLocal(envelope);
    const backplane = this.#options.backplane;
    if (!backplane || source === "backplane") return { route, delivered, published: null };
    try {
      await backplane.publish(envelope);
      return { route, delivered, published: true };
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      this.#options.metrics.backplanePublishFailures.inc();
      this.#options.log("error", "Backplane publish failed", {
        error: message,
        type: envelope.type,
      });
      return { route, delivered, published: false, backplaneError: message };
    }
  }

  /**
   * Sends an argument-less invocation (the `Heartbeat`) to every connection of a hub,
   * encoded once per protocol.
   *
   * @param hub The hub.
   * @param target Client method name.
   * @returns Number of connections written to.
   */
  broadcast(hub: HubName, target: string): number {
    return writeOnce(
      [...this.#options.registry.all(hub)],
      () => ({ type: MessageType.Invocation, target, arguments: [] }),
      () => {},
    );
  }
}
