/**
 * Counters and gauges of the Notifications service and their Prometheus text exposition
 * (format 0.0.4). The real service only logs a connection count every 30 minutes; operators of a
 * push service want rates, drops and queue health.
 *
 * @module
 */

/** One labelled value of a metric family. */
export interface MetricSample {
  /** Label set (may be empty). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The value. */
  readonly value: number;
}

/** A Prometheus metric family. */
export interface MetricFamily {
  /** Metric name, e.g. `hubproof_notifications_connections`. */
  readonly name: string;
  /** One-line help text. */
  readonly help: string;
  /** Prometheus type. */
  readonly type: "counter" | "gauge";
  /** Samples. */
  readonly samples: readonly MetricSample[];
}

/** Something that contributes metric families to `/metrics` (e.g. the queue consumer). */
export interface MetricsProvider {
  /** Current values. */
  metricFamilies(): readonly MetricFamily[];
}

/**
 * The map key of a label set, independent of key order. Counters are bumped on every connect and
 * every `/send`: a plain concatenation costs a fraction of `JSON.stringify` of sorted entries.
 * Separators are control characters no label name contains.
 */
function labelKey(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = "";
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

/** A counter keyed by a label set. */
export class LabelledCounter {
  #values = new Map<string, { labels: Record<string, string>; value: number }>();
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;

  /**
   * Creates a counter.
   *
   * @param name Metric name.
   * @param help Help text.
   */
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  /**
   * Adds to the counter for a label set.
   *
   * @param labels Labels.
   * @param amount Increment (default 1).
   */
  inc(labels: Record<string, string> = {}, amount = 1): void {
    const key = labelKey(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += amount;
    else this.#values.set(key, { labels: { ...labels }, value: amount });
  }

  /**
   * Reads the value for a label set (0 when never incremented).
   *
   * @param labels Labels.
   * @returns The value.
   */
  get(labels: Record<string, string> = {}): number {
    return this.#values.get(labelKey(labels))?.value ?? 0;
  }

  /**
   * The counter as a metric family.
   *
   * @returns The family.
   */
  family(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: "counter",
      samples: [...this.#values.values()].map((v) => ({ labels: v.labels, value: v.value })),
    };
  }
}

/** The service's own counters. Gauges (connections) are read from the registry at scrape time. */
export class NotificationsMetrics {
  /** Connections opened, by hub and transport. */
  readonly connectionsOpened = new LabelledCounter(
    "hubproof_notifications_connections_opened_total",
    "Hub connections that completed the handshake, by hub, transport and protocol",
  );
  /** Connections closed, by hub and reason. */
  readonly connectionsClosed = new LabelledCounter(
    "hubproof_notifications_connections_closed_total",
    "Hub connections closed, by hub and reason",
  );
  /** Envelopes received, by source. */
  readonly messagesReceived = new LabelledCounter(
    "hubproof_notifications_messages_received_total",
    "Push envelopes received, by source (send, queue, backplane, local)",
  );
  /** Envelopes that matched no route target. */
  readonly messagesUnrouted = new LabelledCounter(
    "hubproof_notifications_messages_unrouted_total",
    "Push envelopes routed to nobody (unknown type, no target id, global without installation)",
  );
  /** Messages written to connections, by hub and protocol. */
  readonly deliveries = new LabelledCounter(
    "hubproof_notifications_deliveries_total",
    "Hub invocations written to connections, by hub and protocol",
  );
  /** Slow consumers dropped. */
  readonly slowConsumersDropped = new LabelledCounter(
    "hubproof_notifications_slow_consumers_dropped_total",
    "Connections closed because their send buffer exceeded the limit, by hub",
  );
  /** WebSocket closes the peer never answered, closed under it after the close timeout. */
  readonly forcedCloses = new LabelledCounter(
    "hubproof_notifications_forced_closes_total",
    "WebSocket closes whose Close the peer did not answer within the close timeout, by hub and result (aborted: connection released; unsupported: this runtime cannot release it)",
  );
  /** Refused requests, by endpoint and status. */
  readonly authFailures = new LabelledCounter(
    "hubproof_notifications_auth_failures_total",
    "Requests refused by authentication or authorization, by endpoint and HTTP status",
  );
  /** Backplane publish failures. */
  readonly backplanePublishFailures = new LabelledCounter(
    "hubproof_notifications_backplane_publish_failures_total",
    "Envelopes that could not be published to the backplane",
  );
  /** Bad `/send` bodies. */
  readonly sendRejected = new LabelledCounter(
    "hubproof_notifications_send_rejected_total",
    "POST /send requests rejected, by reason",
  );

  /**
   * Every counter family of this object.
   *
   * @returns The families.
   */
  counterFamilies(): MetricFamily[] {
    return [
      this.connectionsOpened,
      this.connectionsClosed,
      this.messagesReceived,
      this.messagesUnrouted,
      this.deliveries,
      this.slowConsumersDropped,
      this.forcedCloses,
      this.authFailures,
      this.backplanePublishFailures,
      this.sendRejected,
    ].map((c) => c.family());
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Renders metric families in the Prometheus text exposition format.
 *
 * @example
 * ```ts
 * import { renderPrometheus } from "./metrics.ts";
 * const text = renderPrometheus([{ name: "x_total", help: "X", type: "counter", samples: [{ value: 2 }] }]);
 * console.assert(text.includes("x_total 2"));
 * ```
 * @param families The families.
 * @returns The exposition text, ending with a newline.
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {});
      const labelText = labels.length === 0
        ? ""
        : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      lines.push(`${family.name}${labelText} ${formatValue(sample.value)}`);
    }
  }
  return lines.join("\n") + "\n";
}
