import assert from "node:assert/strict";
import { RawHubClient, SilentPeer } from "../../testing/mod.ts";
import { DEFAULT_CODECS } from "./_hub_codec.ts";
import { withService } from "./_testing.ts";
import { HubConnection } from "./hub_connection.ts";
import { acceptWebSocket, truncateCloseReason } from "./websocket_transport.ts";

Deno.test("an exception inside a socket handler closes that connection with 1011, not the process", async () => {
  const closed: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      acceptWebSocket(request, {
        sendBufferLimit: 65_536,
        closeTimeoutMs: 5_000,
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

const BIG_USER = "b0000000-0000-4000-8000-00000000000b";
const TEN_MB = 10 * 1024 * 1024;

Deno.test("a 10 MB frame closes with message-too-large: reason in the Close and in metrics", async (t) => {
  await withService({}, async (f) => {
    const token = await f.userToken({ sub: BIG_USER });
    const metrics = f.served.service.metrics;
    const cases: [string, "json" | "messagepack", string | Uint8Array][] = [
      ["JSON text frame", "json", `${"x".repeat(TEN_MB)}\x1e`],
      ["JSON without a record separator", "json", "x".repeat(TEN_MB)],
      // A MessagePack length prefix of 10 MiB (varint 0x80 0x80 0x80 0x05), then the body.
      [
        "MessagePack binary frame",
        "messagepack",
        (() => {
          const frame = new Uint8Array(4 + TEN_MB);
          frame.set([0x80, 0x80, 0x80, 0x05]);
          return frame;
        })(),
      ],
    ];
    let expected = 0;
    for (const [name, protocol, frame] of cases) {
      await t.step(name, async () => {
        const client = await f.connect({ token, protocol });
        if (typeof frame === "string") client.sendText(frame);
        else client.sendBinary(frame);
        const closed = await client.closed(10_000);
        assert.match(closed.reason, /^The maximum message size of 32768B was exceeded/);
        assert.deepEqual(client.messages.filter((m) => m.type === 7), [{
          type: 7,
          error: "Connection closed with an error.",
          allowReconnect: true,
        }]);
        expected++;
        assert.equal(
          metrics.connectionsClosed.get({ hub: "main", reason: "message-too-large" }),
          expected,
        );
        assert.equal(metrics.connectionsClosed.get({ hub: "main", reason: "transport-closed" }), 0);
      });
    }
    await t.step("a frame over Deno's own 64 MiB limit, refused before any hub code", async () => {
      const peer = await SilentPeer.open(f.url, { token, handshake: true });
      try {
        // Deno refuses on the announced length and drops the connection: no Close can be sent,
        // but the reason is still counted as what it is.
        await peer.sendFrameHeader(65 * 1024 * 1024);
        const deadline = Date.now() + 5_000;
        while (
          metrics.connectionsClosed.get({ hub: "main", reason: "message-too-large" }) === expected
        ) {
          assert.ok(Date.now() < deadline, "the oversized frame never closed the connection");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(
          metrics.connectionsClosed.get({ hub: "main", reason: "message-too-large" }),
          expected + 1,
        );
        assert.equal(metrics.connectionsClosed.get({ hub: "main", reason: "transport-closed" }), 0);
      } finally {
        peer.close();
      }
    });
  });
});
