/**
 * One load process of the hub benchmark (`bench/hub_vs_bare.ts` spawns several, so no process
 * holds more sockets than the open-file limit allows). It opens its share of the hub connections
 * with the lean client of `_hub_client.ts`, then checks every delivery of each phase against the
 * pushes the parent announces: a push to the wrong connection, a second copy, a wrong payload or
 * a push nobody announced is counted, never ignored. Receipt times are absolute
 * (`performance.timeOrigin + performance.now()`) so the parent can compare them with its send
 * times.
 *
 * Speaks JSON lines: commands on stdin, answers on stdout.
 * - `{"op":"connect","url","conns":[{"t":token,"u":userId,"o":orgId}],"concurrency"}` →
 *   `{"op":"connected","handshakeMs":[…],"startAt","endAt"}`
 * - `{"op":"expect","pushes":[[seq,"u"|"o",targetId],…],"record"}` → `{"op":"ready","expected"}`,
 *   later `{"op":"complete","lastAt"}` once every expected delivery arrived
 * - `{"op":"report"}` → `{"op":"report","received","missing","duplicates","misrouted",
 *   "badPayload","unknown","lost","lastAt","samples":[seq,at,seq,at,…]}`
 * - `{"op":"close"}` → `{"op":"closed"}`, then exits
 *
 * Usage: deno run --allow-net bench/_load_worker.ts
 *
 * @module
 */

import { connectHubClient, type HubClient } from "./_hub_client.ts";

/** One connection this worker opens. */
interface ConnectionSpec {
  /** Access token. */
  readonly t: string;
  /** User id (`sub`). */
  readonly u: string;
  /** Organization id (`orguser`). */
  readonly o: string;
}

/** A push of the current phase: sequence number, target kind, target id. */
type PushSpec = [number, "u" | "o", string];

/** The cipher id that carries a push's sequence number (see `cipherIdOf` in hub_vs_bare.ts). */
const CIPHER_PREFIX = "c0000000-0000-4000-8000-";

const now = () => performance.timeOrigin + performance.now();

function reply(message: Record<string, unknown>): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`${JSON.stringify(message)}\n`));
}

let specs: ConnectionSpec[] = [];
const clients: HubClient[] = [];
let lost = 0;
let pushes = new Map<number, { kind: "u" | "o"; id: string }>();
let seen: Set<number>[] = [];
let expected = 0;
let received = 0;
let duplicates = 0;
let misrouted = 0;
let badPayload = 0;
let unknown = 0;
let lastAt = 0;
let record = false;
let samples: number[] = [];

function onReceive(index: number, argument: unknown, at: number): void {
  const spec = specs[index]!;
  const { Type, Payload } = argument as {
    Type?: unknown;
    Payload?: { Id?: unknown; UserId?: unknown; OrganizationId?: unknown };
  };
  const id = Payload?.Id;
  if (typeof id !== "string" || !id.startsWith(CIPHER_PREFIX)) {
    unknown++;
    return;
  }
  const seq = parseInt(id.slice(CIPHER_PREFIX.length), 16);
  const push = pushes.get(seq);
  if (push === undefined) {
    unknown++;
    return;
  }
  if (push.kind === "u" ? push.id !== spec.u : push.id !== spec.o) {
    misrouted++;
    return;
  }
  const payloadRight = Type === 0 &&
    (push.kind === "u"
      ? Payload!.UserId === spec.u && Payload!.OrganizationId === null
      : Payload!.OrganizationId === spec.o && Payload!.UserId === null);
  if (!payloadRight) {
    badPayload++;
    return;
  }
  const mine = seen[index]!;
  if (mine.has(seq)) {
    duplicates++;
    return;
  }
  mine.add(seq);
  received++;
  lastAt = at;
  if (record) samples.push(seq, at);
  if (received === expected) reply({ op: "complete", lastAt });
}

async function connect(url: string, conns: ConnectionSpec[], concurrency: number) {
  specs = conns;
  seen = conns.map(() => new Set());
  const handshakeMs = new Array<number>(conns.length);
  const startAt = now();
  let next = 0;
  const lane = async () => {
    while (next < conns.length) {
      const index = next++;
      const begun = performance.now();
      const client = await connectHubClient(url, conns[index]!.t, {
        onReceive: (argument) => onReceive(index, argument, now()),
        onLost: () => lost++,
      });
      handshakeMs[index] = performance.now() - begun;
      clients.push(client);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, conns.length) }, lane));
  reply({ op: "connected", handshakeMs, startAt, endAt: now() });
}

function expect(list: PushSpec[], recordSamples: boolean): void {
  pushes = new Map(list.map(([seq, kind, id]) => [seq, { kind, id }]));
  seen = specs.map(() => new Set());
  received =
    duplicates =
    misrouted =
    badPayload =
    unknown =
      0;
  lastAt = 0;
  record = recordSamples;
  samples = [];
  const byUser = new Map<string, number>();
  const byOrg = new Map<string, number>();
  for (const spec of specs) {
    byUser.set(spec.u, (byUser.get(spec.u) ?? 0) + 1);
    byOrg.set(spec.o, (byOrg.get(spec.o) ?? 0) + 1);
  }
  expected = 0;
  for (const [, kind, id] of list) expected += (kind === "u" ? byUser : byOrg).get(id) ?? 0;
  reply({ op: "ready", expected });
  if (expected === 0) reply({ op: "complete", lastAt: now() });
}

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffered = "";
for await (const chunk of lines) {
  buffered += chunk;
  let end: number;
  while ((end = buffered.indexOf("\n")) >= 0) {
    const command = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    try {
      switch (command.op) {
        case "connect":
          await connect(command.url, command.conns, command.concurrency);
          break;
        case "expect":
          expect(command.pushes, command.record === true);
          break;
        case "report":
          reply({
            op: "report",
            received,
            missing: expected - received,
            duplicates,
            misrouted,
            badPayload,
            unknown,
            lost,
            lastAt,
            samples,
          });
          break;
        case "close":
          await Promise.all(clients.map((client) => client.close()));
          reply({ op: "closed" });
          Deno.exit(0);
          break;
        default:
          reply({ op: "error", message: `Unknown command: ${command.op}` });
      }
    } catch (error) {
      reply({ op: "error", message: (error as Error).message });
    }
  }
}
