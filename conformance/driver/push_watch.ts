/**
 * Watches the hub connections of an end-to-end case: every device logged in through the
 * target's identity connects with its own token and hub protocol; a barrier makes sure the
 * pushes of the case's setup are out of the way; then one API change must reach exactly the
 * connections the producers table names, once each, with the argument the protocol layer's hub
 * projection gives for that protocol (method, type, re-sent payload, casing, ContextId), and
 * every other connection receives nothing within the grace period.
 *
 * Dates the server chose (`RevisionDate`, `CreationDate`, …) cannot be known in advance: the
 * expected value is taken from the received one when it is a well-formed date of the protocol's
 * encoding near the time of the change, and compared exactly otherwise.
 *
 * @module
 */

import { decodeTimestampToTimeSpec } from "@msgpack/msgpack";
import {
  dotnetDateFromJsDate,
  dotnetDateFromTimeSpec,
  type DotnetDateTime,
  formatDotnetDate,
  modelsForPushType,
  parseDotnetDate,
  type PayloadModel,
  PushType,
  pushTypeName,
} from "../../protocol/bitwarden/mod.ts";
import type { Envelope, JsonValue } from "../../protocol/bitwarden/mod.ts";
import type { InvocationMessage } from "../../protocol/signalr/mod.ts";
import { type CaseContext, CaseFailure } from "../types.ts";
import type { ApiSession } from "./api_client.ts";
import { checkDelivery } from "./compare.ts";
import { clientReadProblems, modelsClientReads, type Receiver } from "./client_reads.ts";
import { HubClient, type HubProtocolName } from "./hub_client.ts";
import { show } from "./_format.ts";

/** A device of the case: its API session, and the protocol its hub connection speaks. */
export interface WatchedDevice {
  /** Connection name (trace lifeline `client:<name>`). */
  readonly name: string;
  /** The logged-in device. */
  readonly session: ApiSession;
  /** Hub protocol of its connection. */
  readonly protocol: HubProtocolName;
}

/** What one change must deliver. */
export interface ExpectedPush {
  /** The push type. */
  readonly type: PushType;
  /**
   * The connections that must receive it, once each, with the exact current-Bitwarden forms it
   * may carry there (feature-flag variants; the first is the main form). What clients read is
   * checked at MUST against the closest of them; the exact form is a SHOULD.
   */
  readonly recipients: ReadonlyMap<string, readonly Envelope[]>;
  /** One line naming what was expected, for the failure message. */
  readonly requirement: string;
}

/** Dates further than this from the change are not taken as the server's choice. */
const DATE_TOLERANCE_MS = 10 * 60_000;

function field(record: unknown, name: string): unknown {
  if (record === null || typeof record !== "object") return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function typeOf(invocation: InvocationMessage): unknown {
  return field(invocation.arguments[0], "Type");
}

/** The received value as a .NET `DateTime`, or undefined when it is not a date of `protocol`. */
function receivedDate(value: unknown, protocol: HubProtocolName): DotnetDateTime | undefined {
  try {
    if (protocol === "json") return typeof value === "string" ? parseDotnetDate(value) : undefined;
    if (value instanceof Date) return dotnetDateFromJsDate(value);
    const ext = value as { type?: unknown; data?: unknown } | null;
    if (ext && typeof ext === "object" && ext.type === -1 && ext.data instanceof Uint8Array) {
      return dotnetDateFromTimeSpec(decodeTimestampToTimeSpec(ext.data));
    }
  } catch {
    // Out of range or malformed: not adopted, so the comparison reports it.
  }
  return undefined;
}

function adoptModel(
  expected: { readonly [key: string]: JsonValue },
  actual: unknown,
  model: PayloadModel,
  context: { protocol: HubProtocolName; path: string; problems: string[]; adopted: string[] },
): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = { ...expected };
  for (const spec of model.fields) {
    const want = expected[spec.name];
    if (want === undefined || want === null) continue;
    const got = field(actual, spec.name);
    const path = `${context.path}.${spec.name}`;
    if (spec.kind === "model" && spec.model && typeof want === "object" && !Array.isArray(want)) {
      out[spec.name] = adoptModel(want as { [key: string]: JsonValue }, got, spec.model, {
        ...context,
        path,
      });
    } else if (spec.kind === "date") {
      const date = receivedDate(got, context.protocol);
      if (date === undefined) continue;
      const text = formatDotnetDate({ ticks: date.ticks, kind: "Utc" });
      const ms = Date.parse(text);
      if (Math.abs(ms - Date.now()) > DATE_TOLERANCE_MS) {
        context.problems.push(`${path}: ${text} is not near the time of the change`);
        continue;
      }
      out[spec.name] = text;
      context.adopted.push(path);
    }
  }
  return out;
}

/**
 * The expected envelope with the server-chosen dates taken from what was received (see the
 * module notes), and the dates that were implausible.
 *
 * @param envelope The expected envelope (dates are estimates).
 * @param invocation What the connection received.
 * @param protocol The connection's hub protocol.
 * @returns The envelope to compare with, problems found on the way, and the adopted paths.
 */
export function adoptServerDates(
  envelope: Envelope,
  invocation: InvocationMessage,
  protocol: HubProtocolName,
): { envelope: Envelope; problems: string[]; adopted: string[] } {
  const models = modelsForPushType(envelope.type);
  if (!models) return { envelope, problems: [], adopted: [] };
  const problems: string[] = [];
  const adopted: string[] = [];
  const payload = adoptModel(
    envelope.payload,
    field(invocation.arguments[0], "Payload"),
    models.resent,
    { protocol, path: "Payload", problems, adopted },
  );
  return { envelope: { ...envelope, payload }, problems, adopted };
}

/**
 * Differences between a received invocation and the closest of the allowed envelopes (empty
 * when one matches exactly).
 *
 * @param alternatives Allowed envelopes (at least one).
 * @param invocation What the connection received.
 * @param protocol The connection's hub protocol.
 * @returns The differences to the best alternative.
 */
export function bestDeliveryMatch(
  alternatives: readonly Envelope[],
  invocation: InvocationMessage,
  protocol: HubProtocolName,
): string[] {
  let best: string[] | undefined;
  for (const alternative of alternatives) {
    const adopted = adoptServerDates(alternative, invocation, protocol);
    const problems = [
      ...adopted.problems,
      // A date the server chose matches at any precision (Vaultwarden sends nanoseconds, .NET
      // ticks of 100 ns): clients read milliseconds.
      ...checkDelivery(adopted.envelope, invocation, protocol, { anyDate: adopted.adopted }),
    ];
    if (best === undefined || problems.length < best.length) best = problems;
    if (problems.length === 0) break;
  }
  return best ?? ["no expected envelope"];
}

/** The two halves of a delivery check. */
export interface DeliveryGrade {
  /** What clients read that is wrong (MUST): empty when a real client is served. */
  readonly must: readonly string[];
  /** Differences from the exact current-Bitwarden form (SHOULD), when `must` is empty. */
  readonly should: readonly string[];
}

/**
 * Grades one received push: the MUST half is what Bitwarden clients read of it
 * ({@linkcode clientReadProblems}, best over the allowed envelopes), the SHOULD half its
 * differences from the closest exact form. Types whose client reads are not modelled are held
 * to the exact form at MUST.
 *
 * @param alternatives The exact current-Bitwarden forms (at least one; the first is the main one).
 * @param invocation What the connection received.
 * @param options The connection's protocol and the receiving account.
 * @returns Both halves.
 */
export function gradeDelivery(
  alternatives: readonly Envelope[],
  invocation: InvocationMessage,
  options: { readonly protocol: HubProtocolName; readonly receiver: Receiver },
): DeliveryGrade {
  const exact = bestDeliveryMatch(alternatives, invocation, options.protocol);
  if (!modelsClientReads(alternatives[0]?.type ?? -1)) return { must: exact, should: [] };
  let must: string[] | undefined;
  for (const alternative of alternatives) {
    const problems = clientReadProblems(alternative, invocation, options.receiver);
    if (must === undefined || problems.length < must.length) must = problems;
  }
  return must && must.length > 0 ? { must, should: [] } : { must: [], should: exact };
}

/**
 * The connected devices of one end-to-end case.
 *
 * @example
 * ```ts ignore
 * // Not run by `deno test --doc`: `ctx` is the CaseContext the runner builds against a deployment.
 * const watch = await PushWatch.connect(ctx, devices);
 * try {
 *   await watch.barrier();
 *   await owner.api("PUT", `/settings/domains`, body);
 *   await watch.check(expected);
 * } finally {
 *   await watch.close();
 * }
 * ```
 */
export class PushWatch {
  #ctx: CaseContext;
  #devices: readonly WatchedDevice[];
  #clients: ReadonlyMap<string, HubClient>;
  #offsets = new Map<string, number>();

  private constructor(
    ctx: CaseContext,
    devices: readonly WatchedDevice[],
    clients: ReadonlyMap<string, HubClient>,
  ) {
    this.#ctx = ctx;
    this.#devices = devices;
    this.#clients = clients;
  }

  /**
   * Connects every device to the main hub with its own token and protocol. A refused
   * connection fails the case: every token was just issued by the target itself.
   *
   * @param ctx The case context.
   * @param devices The devices (unique names).
   * @returns The watch; close it in `finally`.
   */
  static async connect(ctx: CaseContext, devices: readonly WatchedDevice[]): Promise<PushWatch> {
    const clients = new Map<string, HubClient>();
    const attempts = await Promise.allSettled(devices.map(async (device) => {
      const client = await HubClient.connect(ctx.target.hubUrl, {
        name: device.name,
        protocol: device.protocol,
        token: device.session.accessToken,
        trace: ctx.trace,
        signal: ctx.signal,
      });
      clients.set(device.name, client);
    }));
    const failed = attempts.find((a) => a.status === "rejected");
    if (failed) {
      await Promise.all([...clients.values()].map((c) => c.close()));
      throw new CaseFailure(
        "every device to connect to the hub with the token the target's identity issued",
        `refused: ${(failed.reason as Error).message}`,
      );
    }
    const watch = new PushWatch(ctx, devices, clients);
    // Group joins may complete after the handshake answer.
    await new Promise((resolve) => setTimeout(resolve, Math.min(300, ctx.graceMs)));
    return watch;
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
  }

  /**
   * Keeps the pushes of the setup (organization keys, created items) out of the check: each
   * user creates a folder from one of its devices, and once every connection of that user has
   * the folder's SyncFolderCreate, what arrived so far is ignored.
   *
   * @throws {CaseFailure} When a barrier push does not arrive.
   */
  async barrier(): Promise<void> {
    const users = new Map<string, WatchedDevice[]>();
    for (const device of this.#devices) {
      const list = users.get(device.session.userId) ?? [];
      list.push(device);
      users.set(device.session.userId, list);
    }
    const wait = Math.max(3000, Math.floor(this.#ctx.timeoutMs * 0.3));
    await Promise.all([...users.values()].map(async (list) => {
      const folderId = (await list[0]!.session.createFolder()).toLowerCase();
      await Promise.all(list.map(async (device) => {
        const client = this.#clients.get(device.name)!;
        const got = await client.waitFor(
          () =>
            client.invocations().find((m) =>
              typeOf(m) === PushType.SyncFolderCreate &&
              String(field(field(m.arguments[0], "Payload"), "Id")).toLowerCase() === folderId
            ),
          wait,
        );
        if (!got) {
          throw new CaseFailure(
            `the barrier push (SyncFolderCreate of folder ${folderId}) on ${device.name}`,
            `nothing within ${wait} ms`,
          );
        }
      }));
    }));
    for (const [name, client] of this.#clients) {
      this.#offsets.set(name, client.invocations().length);
    }
  }

  #received(name: string): InvocationMessage[] {
    const installationId = this.#ctx.target.installationId?.toLowerCase();
    return this.#clients.get(name)!.invocations().slice(this.#offsets.get(name) ?? 0).filter(
      (m) => {
        if (m.target.toLowerCase() === "heartbeat") return false;
        // Global notifications of concurrently running cases reach every connection.
        const installation = field(field(m.arguments[0], "Payload"), "InstallationId");
        return !(installationId && typeof installation === "string" &&
          installation.toLowerCase() === installationId);
      },
    );
  }

  /**
   * Waits until every recipient has a push of the expected type (or the wait ends), then the
   * grace period, and checks every connection: recipients exactly one push of that type that
   * clients read correctly and nothing else; everyone else nothing (MUST). When that holds but a
   * push differs from every exact form its recipient allows, that is a SHOULD failure naming the
   * differences.
   *
   * @param expected The expected push.
   * @throws {CaseFailure} Listing every difference, per connection (level SHOULD for form-only ones).
   */
  async check(expected: ExpectedPush): Promise<void> {
    const ctx = this.#ctx;
    const wait = Math.max(3000, Math.floor(ctx.timeoutMs * 0.5));
    await Promise.all([...expected.recipients.keys()].map((name) => {
      const client = this.#clients.get(name)!;
      return client.waitFor(
        () => this.#received(name).some((m) => typeOf(m) === expected.type) ? true : undefined,
        wait,
      );
    }));
    await new Promise((resolve) => setTimeout(resolve, ctx.graceMs));
    const label = `${pushTypeName(expected.type) ?? "type"} (${expected.type})`;
    const problems: string[] = [];
    const differences: string[] = [];
    for (const device of this.#devices) {
      const got = this.#received(device.name);
      const alternatives = expected.recipients.get(device.name);
      if (!alternatives) {
        if (got.length > 0) {
          problems.push(
            `${device.name}: unexpected ${got.length} message(s), first ${got[0]!.target} ${
              show(got[0]!.arguments[0], 240)
            }`,
          );
        }
        continue;
      }
      const ofType = got.filter((m) => typeOf(m) === expected.type);
      const others = got.filter((m) => typeOf(m) !== expected.type);
      if (ofType.length === 0) {
        problems.push(`${device.name}: no ${label} within ${wait} ms`);
      } else {
        if (ofType.length > 1) problems.push(`${device.name}: ${ofType.length} copies of ${label}`);
        const grade = gradeDelivery(alternatives, ofType[0]!, {
          protocol: device.protocol,
          receiver: { userId: device.session.userId },
        });
        if (grade.must.length > 0) {
          problems.push(`${device.name} (${device.protocol}): ${grade.must.join("; ")}`);
        }
        if (grade.should.length > 0) {
          differences.push(`${device.name} (${device.protocol}): ${grade.should.join("; ")}`);
        }
      }
      for (const other of others) {
        problems.push(
          `${device.name}: unexpected ${other.target} ${show(other.arguments[0], 240)}`,
        );
      }
    }
    if (problems.length > 0) throw new CaseFailure(expected.requirement, summarise(problems));
    if (differences.length > 0) {
      throw new CaseFailure(
        `${expected.requirement}, in the exact form current Bitwarden sends (SHOULD: clients read what arrived correctly)`,
        summarise(differences),
        undefined,
        { level: "SHOULD" },
      );
    }
  }
}

function summarise(problems: readonly string[]): string {
  return problems.slice(0, 12).join("; ") + (problems.length > 12 ? "; …" : "");
}
