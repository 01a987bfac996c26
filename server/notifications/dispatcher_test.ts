import assert from "node:assert/strict";
import type { Envelope, Route } from "../../protocol/bitwarden/mod.ts";
import { jsonCodec, messagePackCodec } from "./_hub_codec.ts";
import { ConnectionRegistry } from "./connection_registry.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { HubConnection } from "./hub_connection.ts";
import type { OutgoingFrame } from "./outgoing_frame.ts";
import { NotificationsMetrics, renderPrometheus } from "./metrics.ts";
import type { Backplane } from "./types.ts";

/** A stand-in with the registry fields and the two members the dispatcher uses. */
function fakeConnection(
  id: string,
  userId: string | null,
  groups: string[],
  protocol: "json" | "messagepack",
) {
  const frames: OutgoingFrame[] = [];
  const codec = protocol === "json" ? jsonCodec : messagePackCodec;
  const connection = {
    id,
    hub: "main" as const,
    userId,
    groups,
    codec,
    protocol,
    sendEncoded: (frame: OutgoingFrame) => (frames.push(frame), true),
  };
  return { connection: connection as unknown as HubConnection, frames };
}

const ENVELOPE: Envelope = { type: 11, payload: { UserId: "u1", Reason: null }, contextId: null };

function setup(route: Route, backplane?: Backplane) {
  const registry = new ConnectionRegistry<HubConnection>();
  const metrics = new NotificationsMetrics();
  const encoded: string[] = [];
  const dispatcher = new Dispatcher({
    registry,
    rules: {
      routeEnvelope: () => route,
      jsonArgument: (e) => (encoded.push("json"), { type: e.type }),
      messagePackArgument: (e) => (encoded.push("messagepack"), { Type: e.type }),
    },
    metrics,
    ...(backplane ? { backplane } : {}),
    log: () => {},
  });
  return { registry, metrics, dispatcher, encoded };
}

Deno.test("Dispatcher encodes once per protocol and writes the same frame to every recipient", async () => {
  const { registry, dispatcher, encoded, metrics } = setup({
    hub: "main",
    method: "ReceiveMessage",
    targets: [{ kind: "group", group: "g" }],
  });
  const conns = [
    fakeConnection("1", "u1", ["g"], "json"),
    fakeConnection("2", "u2", ["g"], "json"),
    fakeConnection("3", "u3", ["g"], "messagepack"),
    fakeConnection("4", "u4", ["g"], "messagepack"),
    fakeConnection("5", "u5", ["other"], "json"),
  ];
  for (const c of conns) registry.add(c.connection);
  const result = await dispatcher.dispatch(ENVELOPE, "send");
  assert.deepEqual(result, { route: result.route, delivered: 4, published: null });
  assert.deepEqual(encoded.sort(), ["json", "messagepack"]);
  assert.equal(conns[0]!.frames[0], conns[1]!.frames[0], "same frame object for JSON recipients");
  assert.equal(
    conns[2]!.frames[0],
    conns[3]!.frames[0],
    "same frame object for MessagePack recipients",
  );
  assert.equal(conns[4]!.frames.length, 0);
  assert.equal(
    conns[0]!.frames[0]!.text,
    '{"type":1,"target":"ReceiveMessage","arguments":[{"type":11}]}\x1e',
  );
  // Transport forms are derived once per message, whoever asks first.
  assert.equal(conns[0]!.frames[0]!.bytes, conns[1]!.frames[0]!.bytes);
  assert.equal(conns[0]!.frames[0]!.serverSentEvent, conns[1]!.frames[0]!.serverSentEvent);
  const text = renderPrometheus(metrics.counterFamilies());
  assert.match(text, /hubproof_notifications_deliveries_total\{hub="main",protocol="json"\} 2/);
  assert.match(text, /hubproof_notifications_messages_received_total\{source="send"\} 1/);
});

Deno.test("Dispatcher publishes to the backplane except what came from it", async () => {
  const published: Envelope[] = [];
  let fail = false;
  const backplane: Backplane = {
    publish: (e) =>
      fail ? Promise.reject(new Error("redis down")) : (published.push(e), Promise.resolve()),
    subscribe: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const { dispatcher, metrics } = setup(
    { hub: "main", method: "ReceiveMessage", targets: [] },
    backplane,
  );
  assert.equal((await dispatcher.dispatch(ENVELOPE, "queue")).published, true);
  assert.equal((await dispatcher.dispatch(ENVELOPE, "backplane")).published, null);
  assert.equal(published.length, 1);
  fail = true;
  const failed = await dispatcher.dispatch(ENVELOPE, "send");
  assert.equal(failed.published, false);
  assert.equal(failed.backplaneError, "redis down");
  assert.equal(metrics.backplanePublishFailures.get(), 1);
  assert.equal(metrics.messagesUnrouted.get(), 3);
});
