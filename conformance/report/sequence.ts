/**
 * Draws a case's trace as an SVG sequence diagram: one lifeline per participant (harness,
 * `client:*`, identity, API, queue or /send, hub) and one arrow per event in time order, labelled
 * with its time and summary, so a failure can be seen as well as read.
 *
 * @module
 */

import type { TraceEvent } from "../types.ts";
import { escapeMarkup as x, truncate } from "./_escape.ts";

/** Options of {@linkcode renderSequenceDiagram}. */
export interface SequenceOptions {
  /** Unique suffix for element ids when several diagrams share a page. */
  readonly idSuffix?: string;
  /** Most events drawn (default 150); the rest are counted in a final note. */
  readonly maxEvents?: number;
}

// Left to right as the push travels: the initiator, identity and API, the transport, the hub,
// then the receiving clients.
const ORDER = ["harness", "identity", "api", "queue", "send", "hub", "client:"];
const COLUMN = 170;
const ROW = 30;
const TOP = 46;
const LEFT = 64;

const COLORS: Readonly<Record<TraceEvent["kind"], string>> = {
  register: "#3565b8",
  login: "#3565b8",
  connect: "#6a4fb3",
  update: "#c46a00",
  inject: "#c46a00",
  receive: "#1d7f3a",
  frame: "#666666",
  close: "#b3261e",
  note: "#8a6d00",
};

function rank(name: string): number {
  const i = ORDER.findIndex((p) => (p.endsWith(":") ? name.startsWith(p) : name === p));
  return i < 0 ? ORDER.length : i;
}

/**
 * Orders the lifelines a trace uses: harness, identity, API, queue, send, hub, clients (in order
 * of first appearance), then anything else.
 *
 * @param events Trace events.
 * @returns Lifeline names, left to right.
 */
export function lifelines(events: readonly TraceEvent[]): string[] {
  const first = new Map<string, number>();
  events.forEach((e, i) => {
    for (const name of [e.from, e.to]) if (!first.has(name)) first.set(name, i);
  });
  return [...first.keys()].sort((a, b) => rank(a) - rank(b) || first.get(a)! - first.get(b)!);
}

/**
 * Renders the SVG.
 *
 * @param events Trace events in recording order.
 * @param options Id suffix and event cap.
 * @returns An `<svg>` element (escaped text only), or a short note when the trace is empty.
 *
 * @example
 * ```ts
 * import { renderSequenceDiagram } from "./sequence.ts";
 * const svg = renderSequenceDiagram([
 *   { t: 1, from: "harness", to: "send", kind: "inject", summary: "POST /send SyncVault" },
 *   { t: 9, from: "hub", to: "client:alice", kind: "receive", summary: "ReceiveMessage type 5" },
 * ]);
 * svg.startsWith("<svg"); // true
 * ```
 */
export function renderSequenceDiagram(
  events: readonly TraceEvent[],
  options: SequenceOptions = {},
): string {
  if (events.length === 0) return `<p class="empty">No trace events recorded.</p>`;
  const max = options.maxEvents ?? 150;
  // Handshake and ping frames drown the register -> update -> receive story; they stay in the
  // case JSON, and are drawn only when the trace has nothing else (handshake cases).
  const story = events.filter((e) => e.kind !== "frame");
  const hidden = story.length > 0 ? events.length - story.length : 0;
  const drawn = story.length > 0 ? story : events;
  const shown = [...drawn].sort((a, b) => a.t - b.t).slice(0, max);
  const lines = lifelines(shown);
  const suffix = (options.idSuffix ?? "0").replace(/[^A-Za-z0-9_-]/g, "_");
  const xOf = (name: string) => LEFT + lines.indexOf(name) * COLUMN + COLUMN / 2;
  const omitted = drawn.length - shown.length;
  const rows = shown.length + (omitted > 0 || hidden > 0 ? 1 : 0);
  const width = LEFT + lines.length * COLUMN;
  const height = TOP + rows * ROW + 20;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Sequence diagram">`,
  );
  parts.push(
    `<defs>${
      Object.entries(COLORS).map(([kind, color]) =>
        `<marker id="arrow-${kind}-${suffix}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${color}"/></marker>`
      ).join("")
    }</defs>`,
  );
  for (const name of lines) {
    const cx = xOf(name);
    parts.push(
      `<rect x="${cx - COLUMN / 2 + 8}" y="6" width="${
        COLUMN - 16
      }" height="24" rx="4" class="head"/>` +
        `<text x="${cx}" y="22" text-anchor="middle" class="head-text">${
          x(truncate(name, 22))
        }<title>${x(name)}</title></text>` +
        `<line x1="${cx}" y1="30" x2="${cx}" y2="${height - 6}" class="lifeline"/>`,
    );
  }
  shown.forEach((e, i) => {
    const y = TOP + i * ROW + ROW / 2;
    const color = COLORS[e.kind] ?? "#666666";
    const title = `<title>${x(`+${e.t} ms ${e.kind} ${e.from} → ${e.to}: ${e.summary}`)}</title>`;
    parts.push(`<text x="4" y="${y + 4}" class="time">+${x(String(e.t))}</text>`);
    const x1 = xOf(e.from);
    const x2 = xOf(e.to);
    if (e.kind === "note" || x1 === x2) {
      const label = truncate(`${e.kind}: ${e.summary}`, 40);
      parts.push(
        `<g>${title}<rect x="${x1 - COLUMN / 2 + 4}" y="${y - 10}" width="${
          COLUMN - 8
        }" height="20" rx="3" fill="#fff8dc" stroke="${color}"/>` +
          `<text x="${x1}" y="${y + 4}" text-anchor="middle" class="label">${x(label)}</text></g>`,
      );
      return;
    }
    const chars = Math.max(16, Math.floor(Math.abs(x2 - x1) / 6.2));
    parts.push(
      `<g>${title}<line x1="${x1}" y1="${y + 4}" x2="${x2}" y2="${
        y + 4
      }" stroke="${color}" stroke-width="1.6" marker-end="url(#arrow-${e.kind}-${suffix})"/>` +
        `<text x="${(x1 + x2) / 2}" y="${
          y - 1
        }" text-anchor="middle" class="label" fill="${color}">${
          x(truncate(`${e.kind}: ${e.summary}`, chars))
        }</text></g>`,
    );
  });
  if (omitted > 0 || hidden > 0) {
    const notes = [
      omitted > 0 ? `${omitted} more events` : "",
      hidden > 0 ? `${hidden} protocol frames (handshakes, pings) not drawn` : "",
    ].filter(Boolean).join("; ");
    parts.push(
      `<text x="${LEFT}" y="${TOP + shown.length * ROW + ROW / 2}" class="label">${
        x(notes)
      }: see the case JSON file</text>`,
    );
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}
