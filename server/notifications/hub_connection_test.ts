import assert from "node:assert/strict";
import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { frameBinary } from "../../protocol/signalr/mod.ts";
import { TransferFormat } from "../../protocol/signalr/mod.ts";
import { DEFAULT_CODECS } from "./_hub_codec.ts";
import {
  type CloseReason,
  HubConnection,
  type TransportCloseInfo,
  type TransportSink,
} from "./hub_connection.ts";
import type { OutgoingFrame } from "./outgoing_frame.ts";

class FakeSink implements TransportSink {
  readonly kind = "WebSockets" as const;
  readonly transferFormats = [TransferFormat.Text, TransferFormat.Binary];
  inherentKeepAlive = false;
  accept = true;
  readonly writes: { data: string | Uint8Array; format: TransferFormat }[] = [];
  closed: TransportCloseInfo | undefined;
  write(frame: OutgoingFrame): boolean {
    this.writes.push({
      data: frame.format === TransferFormat.Text ? frame.text : frame.bytes,
      format: frame.format,
    });
    return this.accept;
  }
  close(info: TransportCloseInfo): void {
    this.closed = info;
  }
  texts(): string[] {
    return this.writes.map((w) =>
      typeof w.data === "string" ? w.data : new TextDecoder().decode(w.data)
    );
  }
}

function setup(timers = { keepAliveMs: 100, clientTimeoutMs: 300, handshakeTimeoutMs: 200 }) {
  let now = 1_000;
  const sink = new FakeSink();
  const events: { connected: number; closed: [CloseReason, string][] } = {
    connected: 0,
    closed: [],
  };
  const connection = new HubConnection({
    id: "c1",
    hub: "main",
    identity: { userId: "u", deviceId: null, clientType: 0, groups: ["g"] },
    transport: sink,
    codecs: DEFAULT_CODECS,
    maxMessageSize: 64,
    timers,
    detailedErrors: false,
    now: () => now,
    onConnected: () => events.connected++,
    onClosed: (_c, reason, detail) => events.closed.push([reason, detail]),
  });
  return { connection, sink, events, advance: (ms: number) => (now += ms, connection.tick(now)) };
}

Deno.test("HubConnection", async (t) => {
  await t.step("handshake byte by byte, then messages in the same chunk", () => {
    const { connection, sink, events } = setup();
    const text =
      '{"protocol":"json","version":1}\x1e{"type":1,"target":"X","arguments":[],"invocationId":"9"}\x1e';
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i < bytes.length - 70; i++) connection.receive(bytes.subarray(i, i + 1));
    assert.equal(events.connected, 0);
    connection.receive(bytes.subarray(bytes.length - 70));
    assert.equal(events.connected, 1);
    assert.equal(connection.protocol, "json");
    assert.deepEqual(sink.texts(), [
      "{}\x1e",
      '{"type":3,"invocationId":"9","error":"Unknown hub method \'X\'"}\x1e',
    ]);
  });

  await t.step("MessagePack: handshake response and Pings are binary frames", () => {
    const { connection, sink, advance } = setup();
    connection.receive('{"protocol":"messagepack","version":1}\x1e');
    assert.equal(sink.writes[0]!.format, TransferFormat.Binary);
    advance(100);
    assert.deepEqual([...(sink.writes[1]!.data as Uint8Array)], [0x02, 0x91, 0x06]);
  });

  await t.step("keep-alive only when nothing was sent for the interval", () => {
    const { connection, sink, advance } = setup();
    connection.receive('{"protocol":"json","version":1}\x1e');
    advance(50);
    connection.sendEncoded('{"type":1,"target":"ReceiveMessage","arguments":[1]}\x1e');
    advance(60);
    assert.equal(sink.writes.length, 2, "the send reset the keep-alive");
    advance(40);
    assert.equal(sink.texts()[2], '{"type":6}\x1e');
  });

  await t.step("client timeout starts with the first client message", () => {
    const { connection, sink, events, advance } = setup({
      keepAliveMs: 0,
      clientTimeoutMs: 300,
      handshakeTimeoutMs: 0,
    });
    connection.receive('{"protocol":"json","version":1}\x1e');
    advance(1_000);
    assert.equal(connection.state, "connected");
    connection.receive('{"type":6}\x1e');
    advance(299);
    assert.equal(connection.state, "connected");
    advance(1);
    assert.equal(connection.state, "closed");
    assert.equal(
      sink.texts().at(-1),
      '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}\x1e',
    );
    assert.deepEqual(events.closed[0]![0], "client-timeout");
  });

  await t.step("handshake timeout", () => {
    const { connection, sink, events, advance } = setup();
    advance(199);
    assert.equal(connection.state, "handshake");
    advance(1);
    assert.deepEqual(sink.texts(), ['{"error":"Handshake was canceled."}\x1e']);
    assert.equal(events.closed[0]![0], "handshake-timeout");
  });

  await t.step("a handshake without separator beyond the size limit is canceled", () => {
    const { connection, sink, events } = setup();
    connection.receive("{".repeat(65));
    assert.deepEqual(sink.texts(), ['{"error":"Handshake was canceled."}\x1e']);
    assert.equal(events.closed[0]![0], "handshake-failed");
  });

  await t.step("oversized message closes with message-too-large", () => {
    const { connection, sink, events } = setup();
    connection.receive('{"protocol":"json","version":1}\x1e');
    connection.receive(`{"type":1,"target":"${"x".repeat(80)}"}\x1e`);
    assert.equal(events.closed[0]![0], "message-too-large");
    assert.match(
      events.closed[0]![1],
      /The maximum message size of 64B was exceeded\. The message size can be configured in AddHubOptions\./,
    );
    assert.equal(sink.closed?.code, 1000);
  });

  await t.step("a refused write drops the connection as a slow consumer without recursion", () => {
    const { connection, sink, events } = setup();
    connection.receive('{"protocol":"json","version":1}\x1e');
    sink.accept = false;
    assert.equal(connection.sendEncoded("x"), false);
    assert.equal(events.closed.length, 1);
    assert.equal(events.closed[0]![0], "slow-consumer");
    assert.equal(sink.closed?.code, 1008);
    assert.equal(connection.sendEncoded("y"), false);
  });

  await t.step("data after close and a second close are ignored", () => {
    const { connection, events } = setup();
    connection.receive('{"protocol":"json","version":1}\x1e');
    connection.close({ reason: "shutdown", detail: "bye", allowReconnect: true });
    connection.close({ reason: "shutdown", detail: "again" });
    connection.receive('{"type":6}\x1e');
    connection.transportClosed("gone");
    assert.equal(events.closed.length, 1);
  });
});

Deno.test("HubConnection.receive never throws, whatever a client sends", () => {
  // receive() runs inside a socket event handler, where an escaping exception ends the process.
  const connected = (protocol: "json" | "messagepack") => {
    const { connection } = setup({ keepAliveMs: 0, clientTimeoutMs: 0, handshakeTimeoutMs: 0 });
    connection.receive(`{"protocol":"${protocol}","version":1}\x1e`);
    return connection;
  };
  const field = fc.anything({ withBigInt: false, maxDepth: 3 });
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 11 }), fc.array(field, { maxLength: 6 }), (t, rest) => {
      connected("messagepack").receive(frameBinary(encode([t, ...rest])));
      let text: string | undefined;
      try {
        text = JSON.stringify(Object.fromEntries(
          ["type", "invocationId", "target", "arguments", "headers", "error", "result"]
            .map((k, i) => [k, i === 0 ? t : rest[i - 1]]),
        ));
      } catch {
        return;
      }
      connected("json").receive(`${text}\x1e`);
    }),
    { numRuns: 1_500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, json) => {
      connected(json ? "json" : "messagepack").receive(bytes);
      setup().connection.receive(bytes);
    }),
    { numRuns: 1_500 },
  );
});
