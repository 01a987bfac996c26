/**
 * Helpers shared by case modules (private to `cases/`).
 *
 * @module
 */

import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, CaseUnsupported, type ResolvedTarget } from "../types.ts";
import type { InvocationMessage } from "../../protocol/signalr/mod.ts";
import { HubClient, type HubClientOptions, type HubProtocolName } from "../driver/hub_client.ts";
import {
  type ContextWithAuthority,
  type DeviceIdentity,
  mintDeviceToken,
  newGuid,
} from "../driver/identity.ts";
import {
  leaseAccounts,
  loginDevice,
  missingOrganizationClaims,
  registerAccount,
  setUpOrganizations,
} from "../driver/identity_world.ts";
import { type EndpointSpec, isInstallationBroadcast, SENTINEL } from "../driver/world.ts";
import { requireHubProtocol } from "../driver/protocol_support.ts";

/**
 * Throws {@linkcode CaseUnsupported} when the run does not exercise a hub protocol, or the
 * target does not speak it (probed once per run, see `driver/protocol_support.ts`).
 *
 * @param ctx The case context.
 * @param protocol The protocol.
 */
export async function requireProtocol(ctx: CaseContext, protocol: HubProtocolName): Promise<void> {
  if (!ctx.target.protocols.includes(protocol)) {
    throw new CaseUnsupported(
      `The run does not exercise the ${protocol} hub protocol (--protocols)`,
    );
  }
  await requireHubProtocol(ctx, protocol, () => sharedHubToken(ctx));
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

/**
 * The `ReceiveMessage` pushes a case's connection received, without installation broadcasts:
 * those reach every connection of the installation, so concurrent `route/*` cases send them to
 * this one too, and counting them would fail a correct target.
 *
 * @param ctx The case context.
 * @param client The case's connection.
 * @returns Its own pushes, in arrival order.
 */
export function ownPushes(ctx: CaseContext, client: HubClient): InvocationMessage[] {
  const installationId = ctx.target.installationId ?? null;
  return client.invocations("ReceiveMessage").filter((m) =>
    !isInstallationBroadcast(m, installationId)
  );
}

/** A device with a valid access token. */
export interface TokenHolder {
  /** Who. */
  readonly identity: DeviceIdentity;
  /** Access token for the hub. */
  readonly token: string;
}

/**
 * A valid hub token for a user and device no other running case uses: minted by the harness
 * authority, or, without one, obtained through the target's identity (a pooled account leased
 * until the case ends, logged in with a fresh device of the given type).
 *
 * @param ctx The case context.
 * @param options Device type and organizations (authority only).
 * @returns The identity and token.
 * @throws {CaseUnsupported} When there is no authority and the target cannot register users.
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
  const lease = await leaseAccounts(ctx, "token-holder", 1);
  // The runner aborts a case's signal once the case is graded: the account is free again then.
  if (ctx.signal.aborted) lease.release();
  else ctx.signal.addEventListener("abort", () => lease.release(), { once: true });
  const device = await loginDevice(ctx, lease.value[0]!, { deviceType, name: "user" });
  return {
    identity: {
      userId: device.session.userId,
      deviceId: device.session.deviceId,
      deviceType,
      organizations: [],
    },
    token: device.session.accessToken,
  };
}

// One login per run for the cases that need just a connection: they receive no pushes they
// grade, and a new login per case spends Vaultwarden's login budget (10, then 1 a minute).
const SHARED_TOKENS = new WeakMap<ResolvedTarget, Promise<string>>();

/**
 * A valid main-hub token for cases that need a connection but no user of their own (handshake,
 * keep-alive, the positive controls of refusals): minted fresh by the harness authority, or,
 * without one, one login of one registered account shared by the whole run.
 *
 * @param ctx The case context.
 * @returns The token.
 * @throws {CaseUnsupported} When there is no authority and the target cannot register users.
 */
export async function sharedHubToken(ctx: CaseContext): Promise<string> {
  if ((ctx as ContextWithAuthority).authority) return (await validHubToken(ctx)).token;
  let token = SHARED_TOKENS.get(ctx.target);
  if (!token) {
    token = (async () => {
      const account = await registerAccount(ctx, `hub-token-${crypto.randomUUID().slice(0, 4)}`);
      const device = await loginDevice(ctx, account, {
        deviceType: DeviceType.ChromeBrowser,
        name: "hub-token",
      });
      return device.session.accessToken;
    })();
    // A failed login says nothing about later ones (a 429 passes): let the next case try again.
    token.catch(() => SHARED_TOKENS.delete(ctx.target));
    SHARED_TOKENS.set(ctx.target, token);
  }
  return await token;
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
  await requireHubProtocol(
    ctx,
    options.protocol ?? "messagepack",
    () => Promise.resolve(options.token),
  );
  return await HubClient.connect(ctx.target.hubUrl, {
    name,
    trace: ctx.trace,
    signal: ctx.signal,
    ...options,
  });
}

/** A connection of a {@linkcode leaseTokenWorld}. */
export interface TokenWorldDevice {
  /** Connection name. */
  readonly name: string;
  /** Index of its user. */
  readonly user: number;
  /** Device type of its login. */
  readonly deviceType: DeviceType;
  /** Hub URL override (scale-out). */
  readonly hubUrl?: string;
}

/** Users and main-hub connection specs for a world, with tokens the cases can use. */
export interface TokenWorld {
  /** One spec per device, in the order asked. */
  readonly specs: EndpointSpec[];
  /** User ids by index. */
  readonly userIds: readonly string[];
  /** Organization ids by index. */
  readonly organizationIds: readonly string[];
  /** Why organization routes cannot be checked with this target, if they cannot. */
  readonly organizationProblem?: string;
  /** The sentinel of identity-backed worlds (for `connectWorld`). */
  readonly sentinel?: { readonly userId: string; readonly token: string };
  /** Gives pooled accounts back. */
  release(): void;
}

/**
 * Users, organizations and devices for a world: fresh identities whose tokens the harness
 * authority mints, or, without one, pooled accounts of the target with organizations created
 * through its API and one fresh login per device (claims issued by the target).
 *
 * @param ctx The case context.
 * @param devices The connections (user index, device type).
 * @param options Number of users, and organizations as member indices (first = owner).
 * @returns The world; release it in `finally`.
 */
export async function leaseTokenWorld(
  ctx: CaseContext,
  devices: readonly TokenWorldDevice[],
  options: { users: number; organizations?: readonly (readonly number[])[] },
): Promise<TokenWorld> {
  const organizations = options.organizations ?? [];
  const membersOf = (user: number, ids: readonly string[]) =>
    organizations.flatMap((members, i) => (members.includes(user) ? [ids[i]!] : []));
  const spec = (
    device: TokenWorldDevice,
    identity: DeviceIdentity,
    token?: string,
  ): EndpointSpec => ({
    name: device.name,
    hub: "main",
    identity,
    ...(device.hubUrl ? { hubUrl: device.hubUrl } : {}),
    ...(token ? { token } : {}),
  });
  if ((ctx as ContextWithAuthority).authority) {
    const userIds = Array.from({ length: options.users }, () => newGuid());
    const organizationIds = organizations.map(() => newGuid());
    return {
      specs: devices.map((d) =>
        spec(d, {
          userId: userIds[d.user]!,
          deviceId: newGuid(),
          deviceType: d.deviceType,
          organizations: membersOf(d.user, organizationIds),
        })
      ),
      userIds,
      organizationIds,
      release: () => {},
    };
  }
  const lease = await leaseAccounts(ctx, "world", options.users + 1);
  try {
    const accounts = lease.value;
    let organizationIds: string[];
    let organizationProblem: string | undefined;
    try {
      organizationIds = await setUpOrganizations(ctx, accounts, organizations);
    } catch (error) {
      if (!(error instanceof CaseUnsupported)) throw error;
      organizationIds = organizations.map(() => newGuid());
      organizationProblem = error.message;
    }
    const sentinelAccount = accounts[options.users]!;
    const [sentinel, ...logged] = await Promise.all([
      loginDevice(ctx, sentinelAccount, { deviceType: DeviceType.LinuxDesktop, name: SENTINEL }),
      ...devices.map((d) =>
        loginDevice(ctx, accounts[d.user]!, { deviceType: d.deviceType, name: d.name })
      ),
    ]);
    const userIds = Array.from({ length: options.users }, (_, i) => {
      const index = devices.findIndex((d) => d.user === i);
      return index >= 0 ? logged[index]!.session.userId : newGuid();
    });
    for (const [i, device] of logged.entries()) {
      organizationProblem ??= missingOrganizationClaims(
        device,
        membersOf(devices[i]!.user, organizationIds),
      );
    }
    return {
      specs: devices.map((d, i) =>
        spec(d, {
          userId: logged[i]!.session.userId,
          deviceId: logged[i]!.session.deviceId,
          deviceType: d.deviceType,
          organizations: membersOf(d.user, organizationIds),
        }, logged[i]!.session.accessToken)
      ),
      userIds,
      organizationIds,
      ...(organizationProblem === undefined ? {} : { organizationProblem }),
      sentinel: { userId: sentinel!.session.userId, token: sentinel!.session.accessToken },
      release: lease.release,
    };
  } catch (error) {
    lease.release();
    throw error;
  }
}
