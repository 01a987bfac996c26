/**
 * Helpers shared by case modules (private to `cases/`).
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/client_type.ts";
import { type CaseContext, CaseFailure, CaseUnsupported } from "../types.ts";
import { HubClient, type HubClientOptions, type HubProtocolName } from "../driver/hub_client.ts";
import {
  type ContextWithAuthority,
  type DeviceIdentity,
  mintDeviceToken,
  newGuid,
} from "../driver/identity.ts";
import { ApiSession } from "../driver/api_client.ts";

/**
 * Throws {@linkcode CaseUnsupported} when the run does not exercise a hub protocol.
 *
 * @param ctx The case context.
 * @param protocol The protocol.
 */
export function requireProtocol(ctx: CaseContext, protocol: HubProtocolName): void {
  if (!ctx.target.protocols.includes(protocol)) {
    throw new CaseUnsupported(
      `The run does not exercise the ${protocol} hub protocol (--protocols)`,
    );
  }
}

/**
 * Sleeps, ending early when the case is aborted.
 *
 * @param ms Milliseconds.
 * @param signal Abort signal.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A device with a valid access token. */
export interface TokenHolder {
  /** Who. */
  readonly identity: DeviceIdentity;
  /** Access token for the hub. */
  readonly token: string;
}

/**
 * A valid hub token for a fresh user and device: minted by the harness authority, or in
 * `--inject api` runs obtained by registering and logging in through the target's identity.
 *
 * @param ctx The case context.
 * @param options Device type and organizations (authority only).
 * @returns The identity and token.
 * @throws {CaseUnsupported} When neither an authority nor the API is available.
 */
export async function validHubToken(
  ctx: CaseContext,
  options: { deviceType?: DeviceType; organizations?: string[] } = {},
): Promise<TokenHolder> {
  const authority = (ctx as ContextWithAuthority).authority;
  const deviceType = options.deviceType ?? DeviceType.ChromeBrowser;
  if (authority) {
    const identity: DeviceIdentity = {
      userId: newGuid(),
      deviceId: newGuid(),
      deviceType,
      organizations: options.organizations ?? [],
    };
    return { identity, token: await mintDeviceToken(authority, identity) };
  }
  if (ctx.target.inject === "api") {
    const session = await ApiSession.registerAndLogin(ctx, { deviceType });
    return {
      identity: {
        userId: session.userId,
        deviceId: session.deviceId,
        deviceType,
        organizations: [],
      },
      token: session.accessToken,
    };
  }
  throw new CaseUnsupported("Needs a valid token: run with --act-as-authority or --inject api");
}

/**
 * Connects a client with a valid token to the main hub.
 *
 * @param ctx The case context.
 * @param name Client name.
 * @param options Client options (protocol, token placement) and the token to use.
 * @returns The connected client.
 */
export async function connectMain(
  ctx: CaseContext,
  name: string,
  options: Partial<HubClientOptions> & { token: string },
): Promise<HubClient> {
  return await HubClient.connect(options.negotiate ? ctx.target.hubUrl : ctx.target.hubUrl, {
    name,
    trace: ctx.trace,
    signal: ctx.signal,
    ...options,
  });
}

/**
 * Asserts that opening a hub connection is refused: the upgrade or the handshake fails, or the
 * server closes the socket right away. A connection still open after a short wait fails.
 *
 * @param ctx The case context.
 * @param options Client options.
 * @returns What the refusal looked like.
 */
export async function expectRefused(ctx: CaseContext, options: HubClientOptions): Promise<string> {
  let client: HubClient;
  try {
    client = await HubClient.connect(ctx.target.hubUrl, {
      trace: ctx.trace,
      signal: ctx.signal,
      ...options,
    });
  } catch (error) {
    return (error as Error).message;
  }
  try {
    const closed = await client.waitFor(() => client.closeInfo, Math.min(1000, ctx.graceMs * 2));
    if (closed) return `accepted, then closed with ${closed.code}`;
    throw new CaseFailure(
      "the connection to be refused (HTTP 401 before the upgrade)",
      "the upgrade and the handshake succeeded and the connection stayed open",
    );
  } finally {
    await client.close();
  }
}
