/**
 * Test fixtures for the notifications tests (private): a served service trusting an
 * {@linkcode ActingAuthority}, whose clients are the tests' one hub client
 * (`testing/raw_hub_client.ts`).
 *
 * @module
 */

import { ActingAuthority, type ConnectOptions, RawHubClient } from "../../testing/mod.ts";
import {
  type ServedNotifications,
  serveNotifications,
  type ServeNotificationsOptions,
} from "./service.ts";

/** Everything a service test needs. */
export interface Fixture {
  /** The served service. */
  readonly served: ServedNotifications;
  /** Its base URL (`http://127.0.0.1:port`). */
  readonly url: string;
  /** The authority it trusts. */
  readonly authority: ActingAuthority;
  /** Mints a hub token (amr Application, scope api) with extra claims. */
  userToken(claims: Record<string, unknown>): Promise<string>;
  /** A token with scope `internal` for `/send`. */
  readonly internalToken: string;
  /** POSTs an envelope to `/send` with the internal token; returns the response (body consumed). */
  send(body: unknown): Promise<Response>;
  /** Clients opened through {@linkcode Fixture.connect}, closed by the fixture. */
  readonly clients: RawHubClient[];
  /** Opens a raw WebSocket hub client (handshake done). */
  connect(options: ConnectOptions): Promise<RawHubClient>;
}

/** Short timers for tests. */
export const FAST_TIMERS = {
  keepAliveMs: 0,
  clientTimeoutMs: 0,
  handshakeTimeoutMs: 2_000,
  heartbeatMs: 0,
  negotiateTimeoutMs: 2_000,
  longPollTimeoutMs: 1_000,
} as const;

/**
 * Runs `body` with a fresh authority and service; everything is closed afterwards, also on
 * failure.
 *
 * @param options Service options (auth is filled in).
 * @param body The test body.
 */
export async function withService(
  options: Partial<ServeNotificationsOptions>,
  body: (fixture: Fixture) => Promise<void>,
): Promise<void> {
  const authority = await ActingAuthority.create();
  const authorityUrl = await authority.listen({ port: 0 });
  let served: ServedNotifications | undefined;
  const clients: RawHubClient[] = [];
  try {
    served = await serveNotifications({
      selfHosted: true,
      installationId: null,
      log: () => {},
      timers: FAST_TIMERS,
      ...options,
      auth: { authority: authorityUrl, ...options.auth },
    });
    const url = served.url;
    const internalToken = await authority.mint({
      claims: { sub: "internal.test", client_id: "internal.test", scope: ["internal"] },
    });
    const fixture: Fixture = {
      served,
      url,
      authority,
      internalToken,
      clients,
      userToken: (claims) =>
        authority.mint({
          claims: { amr: ["Application"], scope: ["api", "offline_access"], ...claims },
        }),
      send: async (payload) => {
        const response = await fetch(`${url}/send`, {
          method: "POST",
          headers: { authorization: `Bearer ${internalToken}`, "content-type": "application/json" },
          body: typeof payload === "string" ? payload : JSON.stringify(payload),
        });
        await response.arrayBuffer();
        return response;
      },
      connect: async (o) => {
        const client = await RawHubClient.open(url, o);
        clients.push(client);
        await client.handshake(o.protocol ?? "json");
        return client;
      },
    };
    await body(fixture);
  } finally {
    for (const client of clients) await client.close();
    await served?.close();
    await authority.close();
  }
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A Notification Center push (type 20) as `/send` takes it: every payload field with its
 * default (nobody targeted, dated 2024-05-01T12:00:00Z), then `fields` over them.
 *
 * @param fields Payload fields to set (camelCase).
 * @returns The `/send` body.
 */
export function notificationPush(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 20,
    payload: {
      id: "c0000000-0000-4000-8000-00000000000c",
      priority: 0,
      global: false,
      clientType: 0,
      userId: null,
      organizationId: null,
      installationId: null,
      taskId: null,
      title: null,
      body: null,
      creationDate: "2024-05-01T12:00:00Z",
      revisionDate: "2024-05-01T12:00:00Z",
      readDate: null,
      deletedDate: null,
      ...fields,
    },
    contextId: null,
  };
}

/**
 * A Notification to one user with a 60,000-character title: a few of these fill a
 * connection's send buffer, for slow-consumer and socket-release tests.
 *
 * @param userId The recipient.
 * @returns The `/send` body.
 */
export function largeNotification(userId: string): Record<string, unknown> {
  return notificationPush({ userId, title: "x".repeat(60_000) });
}
