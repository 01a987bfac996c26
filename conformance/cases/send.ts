/**
 * `send/*`: the self-hosted `POST /send` endpoint (research bitwarden-server.md §1.4).
 *
 * @module
 */

import { PushType } from "../../protocol/bitwarden/mod.ts";
import { writeSendBody } from "../../protocol/bitwarden/mod.ts";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, type CaseDefinition, CaseFailure } from "../types.ts";
import { internalToken, postSend } from "../driver/send_injector.ts";
import { connectMain, ownPushes, validHubToken } from "./_common.ts";
import type { HubClient } from "../driver/hub_client.ts";
import { server, sources } from "./_sources.ts";

const SOURCE = sources(
  server("src/Notifications/Controllers/SendController.cs"),
  server("src/Notifications/Startup.cs", "policy Internal"),
);

async function listener(ctx: CaseContext): Promise<{ client: HubClient; userId: string }> {
  const { identity, token } = await validHubToken(ctx);
  return { client: await connectMain(ctx, "user", { token }), userId: identity.userId };
}

function logOut(userId: string): Envelope {
  return { type: PushType.LogOut, payload: { UserId: userId, Reason: null }, contextId: null };
}

async function expectDelivered(ctx: CaseContext, client: HubClient, what: string): Promise<void> {
  const got = await client.waitFor(
    () => ownPushes(ctx, client)[0],
    ctx.timeoutMs / 2,
  );
  if (!got) throw new CaseFailure(`${what} to be delivered`, "nothing arrived");
}

/**
 * Posts a LogOut for a listening user with the token `pick` chooses, and checks the answer is
 * `status` and that nothing reached the listener.
 */
async function expectRefused(
  ctx: CaseContext,
  status: number,
  pick: (hubToken: string) => string | undefined,
): Promise<void> {
  const { identity, token } = await validHubToken(ctx);
  const client = await connectMain(ctx, "user", { token });
  try {
    const sendToken = pick(token);
    const answer = await postSend(ctx.target.sendUrl, writeSendBody(logOut(identity.userId)), {
      ...(sendToken === undefined ? {} : { token: sendToken }),
      trace: ctx.trace,
    });
    if (answer.status !== status) {
      throw new CaseFailure(`HTTP ${status}`, `HTTP ${answer.status}`);
    }
    await client.quiet(ctx.graceMs);
    if (ownPushes(ctx, client).length > 0) {
      throw new CaseFailure("nothing delivered", "the push was delivered");
    }
  } finally {
    await client.close();
  }
}

/**
 * The `/send` cases.
 *
 * @returns The cases.
 */
export function sendCases(): CaseDefinition[] {
  return [
    {
      id: "send/no-token",
      level: "MUST",
      requirement: "POST /send MUST answer 401 without a token and deliver nothing",
      source: SOURCE,
      needs: ["inject:send"],
      run: (ctx) => expectRefused(ctx, 401, () => undefined),
    },
    {
      id: "send/non-internal-token",
      level: "MUST",
      requirement:
        "POST /send MUST answer 403 to a valid token without scope internal and deliver nothing",
      source: SOURCE,
      needs: ["inject:send"],
      // The listener's own hub token: valid, but scope api, not internal.
      run: (ctx) => expectRefused(ctx, 403, (hubToken) => hubToken),
    },
    {
      id: "send/ok",
      level: "MUST",
      requirement:
        "POST /send with an internal token MUST answer 200 with an empty body and deliver the push",
      source: SOURCE,
      needs: ["inject:send"],
      async run(ctx) {
        const token = await internalToken(ctx);
        const { client, userId } = await listener(ctx);
        try {
          const answer = await postSend(ctx.target.sendUrl, writeSendBody(logOut(userId)), {
            token,
            trace: ctx.trace,
          });
          if (answer.status !== 200 || answer.body !== "") {
            throw new CaseFailure(
              "HTTP 200 with an empty body",
              `HTTP ${answer.status} ${JSON.stringify(answer.body.slice(0, 200))}`,
            );
          }
          await expectDelivered(ctx, client, "the push");
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "send/bad-body",
      level: "MUST",
      requirement:
        "POST /send MUST reject a malformed body without a 2xx and keep serving later pushes",
      source: SOURCE,
      needs: ["inject:send"],
      async run(ctx) {
        const token = await internalToken(ctx);
        const { client, userId } = await listener(ctx);
        try {
          const statuses: number[] = [];
          for (
            const body of ['{"type":11,"payload":', '{"type":"LogOut","payload":{}}', "[1,2,3]"]
          ) {
            statuses.push(
              (await postSend(ctx.target.sendUrl, body, { token, trace: ctx.trace })).status,
            );
          }
          if (statuses.some((s) => s >= 200 && s < 300)) {
            throw new CaseFailure(
              "non-2xx answers to malformed bodies",
              `HTTP ${statuses.join(", ")}`,
            );
          }
          const answer = await postSend(ctx.target.sendUrl, writeSendBody(logOut(userId)), {
            token,
            trace: ctx.trace,
          });
          if (answer.status !== 200) {
            throw new CaseFailure("HTTP 200 for the following valid push", `HTTP ${answer.status}`);
          }
          await expectDelivered(ctx, client, "the following valid push");
          return { detail: `malformed bodies answered ${statuses.join(", ")}` };
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "send/unknown-type-ignored",
      level: "MUST",
      requirement:
        "POST /send MUST answer a push of an undefined type with 200, deliver nothing, and keep serving later pushes",
      source: sources(
        server("src/Notifications/HubHelpers.cs", "default branch"),
        server("src/Notifications/Controllers/SendController.cs"),
      ),
      needs: ["inject:send"],
      async run(ctx) {
        const token = await internalToken(ctx);
        const { client, userId } = await listener(ctx);
        try {
          // A type from a newer server: Bitwarden's HubHelpers logs a warning and sends nothing.
          const unknown = JSON.stringify({
            type: 200,
            payload: { userId, id: crypto.randomUUID() },
            contextId: null,
          });
          const answer = await postSend(ctx.target.sendUrl, unknown, { token, trace: ctx.trace });
          if (answer.status !== 200) {
            throw new CaseFailure(
              "HTTP 200 for push type 200 (ignored, as the default branch of HubHelpers does)",
              `HTTP ${answer.status} ${answer.body.slice(0, 200)}`,
            );
          }
          const next = await postSend(ctx.target.sendUrl, writeSendBody(logOut(userId)), {
            token,
            trace: ctx.trace,
          });
          if (next.status !== 200) {
            throw new CaseFailure("HTTP 200 for the following valid push", `HTTP ${next.status}`);
          }
          await expectDelivered(ctx, client, "the following valid push");
          await client.quiet(ctx.graceMs);
          const got = ownPushes(ctx, client);
          const types = got.map((m) => (m.arguments[0] as { Type?: unknown } | undefined)?.Type);
          if (got.length !== 1 || types[0] !== PushType.LogOut) {
            throw new CaseFailure(
              "exactly one delivery: the following LogOut (nothing for type 200)",
              `${got.length} deliveries, Type ${types.join(", ")}`,
            );
          }
        } finally {
          await client.close();
        }
      },
    },
    {
      id: "send/bad-body-400",
      level: "SHOULD",
      requirement:
        "POST /send SHOULD answer a malformed body with 400 and a JSON {message} (Bitwarden answers 500)",
      source: SOURCE,
      needs: ["inject:send"],
      async run(ctx) {
        const token = await internalToken(ctx);
        const answer = await postSend(ctx.target.sendUrl, '{"type":11,"payload":', {
          token,
          trace: ctx.trace,
        });
        let message: unknown;
        try {
          message = (JSON.parse(answer.body) as { message?: unknown }).message;
        } catch {
          message = undefined;
        }
        if (answer.status !== 400 || typeof message !== "string") {
          throw new CaseFailure(
            'HTTP 400 {"message":…}',
            `HTTP ${answer.status} ${answer.body.slice(0, 200)}`,
          );
        }
      },
    },
    {
      id: "send/blank-body",
      level: "SHOULD",
      requirement: "POST /send SHOULD answer a blank body with 200 and do nothing",
      source: SOURCE,
      needs: ["inject:send"],
      async run(ctx) {
        const token = await internalToken(ctx);
        const answer = await postSend(ctx.target.sendUrl, "", { token, trace: ctx.trace });
        if (answer.status !== 200) throw new CaseFailure("HTTP 200", `HTTP ${answer.status}`);
      },
    },
  ];
}
