/**
 * The official `@microsoft/signalr` client (which nobody here wrote) against the service:
 * every transport, both hub protocols, token by factory (header) and by URL query, pushes
 * injected through real `POST /send`.
 */

import assert from "node:assert/strict";
import {
  HttpTransportType,
  type HubConnection,
  HubConnectionBuilder,
  type IHttpConnectionOptions,
  type ILogger,
  LogLevel,
} from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { withService } from "./_testing.ts";

const USER = "5e8d2a41-7a3b-4c2d-9e1f-0a1b2c3d4e5f";
const CIPHER = "7c1e9b2a-3d4f-4a5b-8c6d-7e8f9a0b1c2d";
const ORG = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";

const SYNC_CIPHER_UPDATE = {
  type: 0,
  payload: {
    id: CIPHER,
    userId: USER,
    organizationId: null,
    collectionIds: null,
    revisionDate: "2024-05-01T12:34:56.789Z",
  },
  contextId: null,
};

/** Collects client log lines so a failure shows what the client saw. */
class CollectingLogger implements ILogger {
  readonly lines: string[] = [];
  log(level: LogLevel, message: string): void {
    if (level >= LogLevel.Warning) this.lines.push(`${LogLevel[level]}: ${message}`);
  }
}

interface Case {
  readonly name: string;
  readonly protocol: "json" | "messagepack";
  readonly transport: HttpTransportType;
  readonly skipNegotiation?: boolean;
  readonly tokenInUrl?: boolean;
}

const CASES: readonly Case[] = [
  {
    name: "JSON, WebSockets with negotiate, token factory",
    protocol: "json",
    transport: HttpTransportType.WebSockets,
  },
  {
    name: "MessagePack, WebSockets skipNegotiation, token factory (the Bitwarden clients' setup)",
    protocol: "messagepack",
    transport: HttpTransportType.WebSockets,
    skipNegotiation: true,
  },
  {
    name: "JSON, WebSockets skipNegotiation, access_token in the URL",
    protocol: "json",
    transport: HttpTransportType.WebSockets,
    skipNegotiation: true,
    tokenInUrl: true,
  },
  {
    name: "MessagePack, WebSockets with negotiate, access_token in the URL",
    protocol: "messagepack",
    transport: HttpTransportType.WebSockets,
    tokenInUrl: true,
  },
  {
    name: "JSON, Server-Sent Events, token factory",
    protocol: "json",
    transport: HttpTransportType.ServerSentEvents,
  },
  {
    name: "JSON, Long Polling, token factory",
    protocol: "json",
    transport: HttpTransportType.LongPolling,
  },
  {
    name: "MessagePack, Long Polling, token factory",
    protocol: "messagepack",
    transport: HttpTransportType.LongPolling,
  },
];

function build(url: string, token: string, c: Case, logger: ILogger): HubConnection {
  const options: IHttpConnectionOptions = {
    transport: c.transport,
    logger,
    ...(c.skipNegotiation ? { skipNegotiation: true } : {}),
    ...(c.tokenInUrl ? {} : { accessTokenFactory: () => token }),
  };
  const hubUrl = c.tokenInUrl
    ? `${url}/hub?access_token=${encodeURIComponent(token)}`
    : `${url}/hub`;
  let builder = new HubConnectionBuilder().withUrl(hubUrl, options).configureLogging(logger);
  if (c.protocol === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
  return builder.build();
}

Deno.test("official @microsoft/signalr client receives /send pushes", async (t) => {
  await withService({}, async (f) => {
    const token = await f.userToken({ sub: USER, devicetype: "WindowsDesktop", orguser: ORG });
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const logger = new CollectingLogger();
        const connection = build(f.url, token, c, logger);
        const received: unknown[] = [];
        let notify: () => void = () => {};
        connection.on("ReceiveMessage", (arg: unknown) => {
          received.push(arg);
          notify();
        });
        connection.on("Heartbeat", () => {});
        try {
          await connection.start();
          const arrived = new Promise<void>((resolve) => notify = resolve);
          const response = await f.send(SYNC_CIPHER_UPDATE);
          assert.equal(response.status, 200);
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            arrived,
            new Promise((_, reject) =>
              timer = setTimeout(() => reject(new Error("No push within 3 s")), 3_000)
            ),
          ]).finally(() => clearTimeout(timer));
          assert.equal(received.length, 1);
          if (c.protocol === "json") {
            assert.deepEqual(received[0], SYNC_CIPHER_UPDATE);
          } else {
            assert.deepEqual(received[0], {
              ContextId: null,
              Type: 0,
              Payload: {
                Id: CIPHER,
                UserId: USER,
                OrganizationId: null,
                CollectionIds: null,
                RevisionDate: new Date("2024-05-01T12:34:56.789Z"),
              },
            });
          }
          // An unknown hub method invoked with an id gets the server's Completion error.
          await assert.rejects(() => connection.invoke("Nope", 1), /Unknown hub method 'Nope'/);
        } catch (error) {
          throw new Error(`${(error as Error).message}\nclient log:\n${logger.lines.join("\n")}`);
        } finally {
          await connection.stop();
        }
      });
    }
  });
});
