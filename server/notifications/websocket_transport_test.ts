import assert from "node:assert/strict";
import { DEFAULT_CODECS } from "./_hub_codec.ts";
import { RawHubClient } from "./_testing.ts";
import { HubConnection } from "./hub_connection.ts";
import { acceptWebSocket, truncateCloseReason } from "./websocket_transport.ts";

Deno.test("an exception inside a socket handler closes that connection with 1011, not the process", async () => {
  const closed: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      acceptWebSocket(request, {
        sendBufferLimit: 65_536,
        createConnection: (sink) =>
          new HubConnection({
            id: "c1",
            hub: "main",
            identity: { userId: "u", deviceId: null, clientType: 0, groups: [] },
            transport: sink,
            codecs: DEFAULT_CODECS,
            maxMessageSize: 32_768,
            timers: { keepAliveMs: 0, clientTimeoutMs: 0, handshakeTimeoutMs: 0 },
            detailedErrors: false,
            now: () => Date.now(),
            onConnected: () => {
              throw new Error("registry exploded");
            },
            onClosed: (_c, reason, detail) => closed.push(`${reason}: ${detail}`),
          }),
      }),
  );
  const client = await RawHubClient.open(`http://127.0.0.1:${server.addr.port}`);
  try {
    assert.deepEqual(await client.handshake("json"), {});
    const event = await client.closed();
    assert.equal(event.code, 1011);
    assert.match(event.reason, /^Internal server error: registry exploded/);
    assert.deepEqual(client.messages, [{
      type: 7,
      error: "Connection closed with an error.",
      allowReconnect: true,
    }]);
    assert.deepEqual(closed, ["internal-error: Internal server error: registry exploded"]);
  } finally {
    await client.close();
    await server.shutdown();
  }
});

Deno.test("truncateCloseReason keeps close reasons within 123 UTF-8 bytes", () => {
  assert.equal(truncateCloseReason("short"), "short");
  const long = truncateCloseReason("é".repeat(100));
  assert.ok(new TextEncoder().encode(long).length <= 123);
  assert.ok(long.endsWith("..."));
});
