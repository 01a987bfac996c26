/**
 * Which hub protocols the target speaks, probed once per run: one MessagePack and one JSON
 * handshake on the main hub, in parallel. A protocol the target lacks makes every case on it
 * UNSUPPORTED with one reason (Vaultwarden answers only `{"protocol":"messagepack","version":1}`
 * and stays silent on any other handshake: dani-garcia/vaultwarden src/api/notifications.rs
 * @ 1.37.2 (46d71107f5094460dd5ecbe1dbac6e6c71e5189a), lines 170-177 and 341-344).
 *
 * A hub that answers neither protocol lacks nothing by this probe: it is broken, and its cases
 * run and FAIL (`hub/handshake/websocket-messagepack` first), rather than all being UNSUPPORTED.
 *
 * @module
 */

import { type CaseContext, CaseUnsupported, type ResolvedTarget } from "../types.ts";
import { HubClient, type HubProtocolName } from "./hub_client.ts";

/**
 * The server's handshake deadline: ASP.NET Core SignalR closes a connection without a complete
 * handshake after `HandshakeTimeout`, 15 s by default (dotnet/aspnetcore
 * src/SignalR/server/Core/src/HubOptionsSetup.cs @ cca91f243918df72a3228817436ab78291684d41,
 * `DefaultHandshakeTimeout`).
 */
export const HANDSHAKE_TIMEOUT_MS = 15_000;

/** The protocols a probe tries, in the order official clients prefer them. */
export const PROBED_PROTOCOLS: readonly HubProtocolName[] = ["messagepack", "json"];

/** What one handshake of the probe got. */
export interface ProtocolProbe {
  /** The protocol asked for. */
  readonly protocol: HubProtocolName;
  /**
   * `answered`: `{}` came back; `refused`: a handshake error, or the socket closed first;
   * `silent`: nothing came and the socket stayed open for the whole wait; `unreachable`: the
   * upgrade itself failed (not a protocol matter).
   */
  readonly outcome: "answered" | "refused" | "silent" | "unreachable";
  /** What was seen, for reasons and reports. */
  readonly detail: string;
}

/** The probe of one run. */
export interface ProtocolSupport {
  /** One probe per protocol of {@linkcode PROBED_PROTOCOLS}. */
  readonly probes: readonly ProtocolProbe[];
}

// One probe per resolved target object: the runner hands the same object to every case of a run.
const PROBES = new WeakMap<ResolvedTarget, Promise<ProtocolSupport>>();

/**
 * How long the probe waits for a handshake answer: the server's handshake timeout, or a third
 * of the case timeout when that is shorter (so the case that runs the probe keeps its budget);
 * {@linkcode AFTER_ANSWER_MS} after another protocol was answered at the latest.
 *
 * @param caseTimeoutMs The run's per-case timeout.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import { probeWaitMs } from "./protocol_support.ts";
 * console.assert(probeWaitMs(60_000) === 15_000);
 * console.assert(probeWaitMs(12_000) === 4_000);
 * ```
 */
export function probeWaitMs(caseTimeoutMs: number): number {
  return Math.max(1000, Math.min(HANDSHAKE_TIMEOUT_MS, Math.floor(caseTimeoutMs / 3)));
}

/**
 * Once one protocol was answered, how much longer the others get: a SignalR server answers a
 * handshake it supports in milliseconds, and the first case of the run waits for the probe.
 */
export const AFTER_ANSWER_MS = 5_000;

async function probeOne(
  ctx: CaseContext,
  protocol: HubProtocolName,
  token: string,
  cutoff: AbortController,
): Promise<ProtocolProbe> {
  const waitMs = probeWaitMs(ctx.timeoutMs);
  const started = performance.now();
  let client: HubClient;
  try {
    // Not the case's signal: the probe outlives the case that happens to start it.
    client = await HubClient.open(ctx.target.hubUrl, {
      name: `probe-${protocol}`,
      protocol,
      token,
      trace: ctx.trace,
      signal: cutoff.signal,
      timeoutMs: waitMs,
    });
  } catch (error) {
    return { protocol, outcome: "unreachable", detail: (error as Error).message };
  }
  try {
    const answer = await client.sendHandshake({ timeoutMs: waitMs });
    const waited = Math.round(performance.now() - started);
    if (answer?.error === undefined && answer !== undefined) {
      return { protocol, outcome: "answered", detail: `answered ${answer.text}` };
    }
    if (answer !== undefined) {
      return { protocol, outcome: "refused", detail: `handshake error ${answer.error}` };
    }
    // The cutoff closes the socket itself: that is silence, not a close by the server.
    const closed = cutoff.signal.aborted ? undefined : client.closeInfo;
    return closed
      ? { protocol, outcome: "refused", detail: `closed ${closed.code} without an answer` }
      : { protocol, outcome: "silent", detail: `no answer within ${waited} ms, socket left open` };
  } finally {
    await client.close();
  }
}

/**
 * Probes the target's hub protocols, once per run (later calls share the first probe).
 *
 * @param ctx The case context (its trace records the probe of the case that runs it).
 * @param token Gives a valid main-hub token, called only when the run has not probed yet.
 * @returns The probe.
 */
export function hubProtocolSupport(
  ctx: CaseContext,
  token: () => Promise<string>,
): Promise<ProtocolSupport> {
  let probe = PROBES.get(ctx.target);
  if (!probe) {
    probe = (async () => {
      const value = await token();
      const cutoffs = PROBED_PROTOCOLS.map(() => new AbortController());
      const timers: ReturnType<typeof setTimeout>[] = [];
      const probes = await Promise.all(PROBED_PROTOCOLS.map(async (p, i) => {
        const probe = await probeOne(ctx, p, value, cutoffs[i]!);
        if (probe.outcome === "answered") {
          for (const [j, other] of cutoffs.entries()) {
            if (j !== i) timers.push(setTimeout(() => other.abort(), AFTER_ANSWER_MS));
          }
        }
        return probe;
      }));
      for (const timer of timers) clearTimeout(timer);
      return { probes };
    })();
    // A token that could not be had says nothing about the target's protocols: try again later.
    probe.catch(() => PROBES.delete(ctx.target));
    PROBES.set(ctx.target, probe);
  }
  return probe;
}

/**
 * Why a protocol counts as lacking: its handshake was refused or met silence while another
 * protocol's was answered. A hub that answers no protocol lacks none (it is broken instead).
 *
 * @param support The run's probe.
 * @param protocol The protocol.
 * @returns The reason, or undefined when the protocol is not known to be lacking.
 *
 * @example
 * ```ts
 * import { lackingReason } from "./protocol_support.ts";
 * const support = {
 *   probes: [
 *     { protocol: "messagepack", outcome: "answered", detail: "answered {}" },
 *     { protocol: "json", outcome: "silent", detail: "no answer" },
 *   ],
 * } as const;
 * console.assert(lackingReason(support, "json")?.includes("JSON") === true);
 * console.assert(lackingReason(support, "messagepack") === undefined);
 * ```
 */
export function lackingReason(
  support: ProtocolSupport,
  protocol: HubProtocolName,
): string | undefined {
  const own = support.probes.find((p) => p.protocol === protocol);
  const answered = support.probes.find((p) => p.outcome === "answered");
  if (!own || !answered || own.outcome === "answered" || own.outcome === "unreachable") {
    return undefined;
  }
  return `The target does not speak the ${
    protocol === "json" ? "JSON" : "MessagePack"
  } hub protocol: its handshake got ${own.detail}, while the ${answered.protocol} handshake was ${answered.detail} (probed once per run)`;
}

/**
 * Throws {@linkcode CaseUnsupported} when the run's probe found the protocol lacking.
 *
 * @param ctx The case context.
 * @param protocol The protocol a case is about to use.
 * @param token Gives a valid main-hub token (only for the first probe of the run).
 * @throws {CaseUnsupported} When the target lacks the protocol.
 */
export async function requireHubProtocol(
  ctx: CaseContext,
  protocol: HubProtocolName,
  token: () => Promise<string>,
): Promise<void> {
  const reason = lackingReason(await hubProtocolSupport(ctx, token), protocol);
  if (reason !== undefined) throw new CaseUnsupported(reason);
}

/**
 * The protocols of the run (`--protocols`) the target speaks, in order; all of them when the
 * probe found none lacking. Never empty.
 *
 * @param ctx The case context.
 * @param token Gives a valid main-hub token (only for the first probe of the run).
 * @returns The usable protocols.
 */
export async function usableProtocols(
  ctx: CaseContext,
  token: () => Promise<string>,
): Promise<HubProtocolName[]> {
  const wanted: HubProtocolName[] = ctx.target.protocols.length > 0
    ? [...ctx.target.protocols]
    : ["messagepack"];
  const support = await hubProtocolSupport(ctx, token);
  const usable = wanted.filter((p) => lackingReason(support, p) === undefined);
  return usable.length > 0 ? usable : wanted;
}
