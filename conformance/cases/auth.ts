/**
 * `hub/auth/*`: the main hub accepts only valid `at+jwt` access tokens of the trusted authority
 * with scope `api` and amr `Application`, from the `Authorization` header or the `access_token`
 * query (research bitwarden-server.md §4.1, clients-vaultwarden.md §4 item 1).
 *
 * @module
 */

import { TOKEN_FAULTS, type TokenFault } from "../../testing/mod.ts";
import { DeviceType } from "../../protocol/bitwarden/mod.ts";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure } from "../types.ts";
import {
  deviceClaims,
  type DeviceIdentity,
  mintDeviceToken,
  newGuid,
  requireAuthority,
} from "../driver/identity.ts";
import { probeUpgrade } from "../driver/upgrade_probe.ts";
import { HubClient, HubConnectError, type TokenPlacement } from "../driver/hub_client.ts";
import { createEnvelopeInjector } from "../driver/injectors.ts";
import { connectMain, ownPushes, sharedHubToken } from "./_common.ts";
import { attemptConnection, describeOutcome, isRefusal } from "./_refusal.ts";
import { aspnetcore, server, sources } from "./_sources.ts";

const SOURCE = sources(
  server(
    "src/SharedWeb/Utilities/ServiceCollectionExtensions.cs",
    "AddIdentityAuthenticationServices",
  ),
  server("src/Notifications/Startup.cs", "policy Application"),
);

const REFUSAL = "HTTP 401/403 on the upgrade, a handshake error, or a Close message with an error";

/**
 * Asserts that a connection is refused while the same connection with a valid token (same
 * placement, same hub) is accepted: the positive control keeps a hub that refuses everything,
 * never answers, or sits behind a failing proxy (502) from passing.
 */
async function expectAuthRefused(
  ctx: CaseContext,
  options: { token?: string; tokenVia?: TokenPlacement },
): Promise<string> {
  const valid = await sharedHubToken(ctx);
  const control = await attemptConnection(ctx, ctx.target.hubUrl, {
    name: "control",
    token: valid,
    ...(options.tokenVia ? { tokenVia: options.tokenVia } : {}),
  });
  if (control.kind !== "accepted") {
    throw new CaseFailure(
      "the same connection with a valid token accepted (positive control)",
      describeOutcome(control),
    );
  }
  const outcome = await attemptConnection(ctx, ctx.target.hubUrl, { name: "client", ...options });
  if (!isRefusal(outcome)) throw new CaseFailure(REFUSAL, describeOutcome(outcome));
  return `${describeOutcome(outcome)}; a valid token was accepted`;
}

function freshIdentity(organizations: string[] = []): DeviceIdentity {
  return {
    userId: newGuid(),
    deviceId: newGuid(),
    deviceType: DeviceType.ChromeBrowser,
    organizations,
  };
}

const FAULT_TEXT: Record<TokenFault, string> = {
  "expired": "an expired token (exp an hour ago)",
  "not-yet-valid": "a token not yet valid (nbf in an hour)",
  "bad-signature": "a token whose signature does not verify with the published key",
  "alg-none": "an unsigned token (alg none)",
  "wrong-typ": "a token with header typ JWT instead of at+jwt",
  "wrong-issuer": "a token from another issuer",
  "unknown-kid": "a token signed with a key that is not in the JWKS",
};

/**
 * The authentication cases.
 *
 * @returns The cases.
 */
export function authCases(): CaseDefinition[] {
  return [
    {
      id: "hub/auth/missing",
      level: "MUST",
      requirement: "The hub MUST refuse a connection without an access token",
      source: SOURCE,
      needs: [],
      async run(ctx) {
        return { detail: await expectAuthRefused(ctx, {}) };
      },
    },
    {
      id: "hub/auth/missing-401",
      level: "SHOULD",
      requirement:
        "The hub SHOULD refuse the upgrade without a token with HTTP 401 before switching protocols",
      source: sources(
        server("src/Notifications/NotificationsHub.cs", '[Authorize("Application")]'),
        server(
          "src/Notifications/Startup.cs",
          "UseAuthentication, UseAuthorization before the hubs",
        ),
      ),
      needs: [],
      async run(ctx) {
        const { status } = await probeUpgrade(ctx.target.hubUrl);
        ctx.trace.record({
          from: "hub",
          to: "harness",
          kind: "note",
          summary: `upgrade answered ${status}`,
        });
        if (status !== 401) throw new CaseFailure("HTTP 401", `HTTP ${status}`);
      },
    },
    ...TOKEN_FAULTS.map((fault): CaseDefinition => ({
      id: `hub/auth/${fault}`,
      level: "MUST",
      requirement: `The hub MUST refuse ${FAULT_TEXT[fault]}`,
      source: SOURCE,
      needs: ["authority"],
      async run(ctx) {
        const token = await mintDeviceToken(requireAuthority(ctx), freshIdentity(), { fault });
        return { detail: await expectAuthRefused(ctx, { token }) };
      },
    })),
    {
      id: "hub/auth/wrong-scope",
      level: "MUST",
      requirement: "The hub MUST refuse a token without scope api (an internal token)",
      source: SOURCE,
      needs: ["authority"],
      async run(ctx) {
        const token = await mintDeviceToken(requireAuthority(ctx), freshIdentity(), {
          claims: { scope: ["internal"] },
        });
        return { detail: await expectAuthRefused(ctx, { token }) };
      },
    },
    {
      id: "hub/auth/wrong-amr",
      level: "MUST",
      requirement: "The hub MUST refuse a token whose amr is neither Application nor external",
      source: SOURCE,
      needs: ["authority"],
      async run(ctx) {
        const token = await mintDeviceToken(requireAuthority(ctx), freshIdentity(), {
          claims: { amr: ["pwd"] },
        });
        return { detail: await expectAuthRefused(ctx, { token }) };
      },
    },
    {
      id: "hub/auth/forged-organization",
      level: "MUST",
      requirement:
        "The hub MUST NOT deliver organization pushes to a connection whose organization claim comes from a token signed by another key",
      source: SOURCE,
      needs: ["authority", "inject:envelope"],
      async run(ctx) {
        const authority = requireAuthority(ctx);
        const org = newGuid();
        const member = freshIdentity([org]);
        const forger = freshIdentity([org]);
        const memberClient = await HubClient.connect(ctx.target.hubUrl, {
          name: "member",
          token: await mintDeviceToken(authority, member),
          trace: ctx.trace,
          signal: ctx.signal,
        });
        let forged: HubClient | undefined;
        const injector = await createEnvelopeInjector(ctx);
        try {
          const forgedToken = await mintDeviceToken(authority, forger, { fault: "bad-signature" });
          const outcome = await attemptConnection(ctx, ctx.target.hubUrl, {
            name: "forger",
            token: forgedToken,
          });
          if (isRefusal(outcome)) {
            return { detail: `forged token refused: ${describeOutcome(outcome)}` };
          }
          if (outcome.kind !== "accepted") {
            throw new CaseFailure(
              `the forged connection refused (${REFUSAL}) or accepted and sent nothing`,
              describeOutcome(outcome),
            );
          }
          forged = await HubClient.connect(ctx.target.hubUrl, {
            name: "forger",
            token: forgedToken,
            trace: ctx.trace,
            signal: ctx.signal,
          });
          await new Promise((r) => setTimeout(r, Math.min(300, ctx.graceMs)));
          await injector.inject({
            type: PushType.SyncOrganizationStatusChanged,
            payload: { OrganizationId: org, Enabled: false },
            contextId: null,
          });
          await memberClient.waitFor(
            () => ownPushes(ctx, memberClient)[0],
            ctx.timeoutMs / 2,
          );
          await forged.quiet(ctx.graceMs);
          const leaked = ownPushes(ctx, forged).length;
          if (leaked > 0) {
            throw new CaseFailure(
              "the forged connection to be refused or to receive nothing",
              `it received ${leaked} organization push(es)`,
            );
          }
          return {
            detail: "forged connection accepted but received nothing (see hub/auth/bad-signature)",
          };
        } finally {
          await Promise.all([memberClient.close(), forged?.close(), injector.close()]);
        }
      },
    },
    ...(["query", "header"] as const).map((via): CaseDefinition => ({
      id: `hub/auth/token-via-${via}`,
      level: "MUST",
      requirement: via === "query"
        ? "The hub MUST accept the access token in the access_token query parameter (browsers)"
        : "The hub MUST accept the access token in the Authorization: Bearer header (Node clients)",
      source: sources(
        server("src/Core/Auth/IdentityServer/TokenRetrieval.cs"),
        aspnetcore(
          "src/SignalR/clients/ts/signalr/src/WebSocketTransport.ts",
          "9c542c98a235343297e24974878e5ef6ec59b8f2",
          "access_token query",
        ),
      ),
      needs: [],
      async run(ctx) {
        const token = await sharedHubToken(ctx);
        let client;
        try {
          client = await connectMain(ctx, "client", { token, tokenVia: via });
        } catch (error) {
          if (!(error instanceof HubConnectError)) throw error;
          throw new CaseFailure(
            `a valid token sent ${
              via === "query" ? "as ?access_token=" : "as Authorization: Bearer"
            } accepted (handshake answered {})`,
            `refused at the ${error.stage}: ${error.message}`,
          );
        }
        await client.close();
      },
    })),
    {
      id: "hub/auth/header-wins",
      level: "SHOULD",
      requirement:
        "The hub SHOULD take the Authorization header over the access_token query when both are sent",
      source: server(
        "src/Core/Auth/IdentityServer/TokenRetrieval.cs",
        "FromAuthorizationHeaderOrQueryString",
      ),
      needs: ["authority"],
      async run(ctx) {
        const authority = requireAuthority(ctx);
        const bad = await mintDeviceToken(authority, freshIdentity(), { fault: "bad-signature" });
        const good = await authority.mint({ claims: deviceClaims(freshIdentity()) });
        const client = await HubClient.connect(ctx.target.hubUrl, {
          name: "client",
          token: good,
          tokenVia: "header",
          query: { access_token: bad },
          trace: ctx.trace,
          signal: ctx.signal,
        }).catch((error: Error) => {
          throw new CaseFailure(
            "a valid header token to win over a bad query token",
            error.message,
          );
        });
        await client.close();
      },
    },
  ];
}
