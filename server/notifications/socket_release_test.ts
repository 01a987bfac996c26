/**
 * Every way the server ends a WebSocket releases the TCP connection within a bounded time, also
 * when the peer never answers the Close: counted on the server's side of the sockets in
 * `/proc/net/tcp`, not trusted from the service's own bookkeeping.
 */

import assert from "node:assert/strict";
import {
  serverSocketStates,
  SilentPeer,
  type SilentPeerOptions,
  until,
} from "../../testing/mod.ts";
import { delay, type Fixture, largeNotification, withService } from "./_testing.ts";
import type { CloseReason } from "./hub_connection.ts";
import type { ServeNotificationsOptions } from "./service.ts";

const PEERS = 10;
const USER = "a0000000-0000-4000-8000-00000000000a";
const CLOSE_TIMEOUT_MS = 500;

const TIMERS = {
  keepAliveMs: 0,
  clientTimeoutMs: 0,
  handshakeTimeoutMs: 0,
  heartbeatMs: 0,
  negotiateTimeoutMs: 2_000,
  longPollTimeoutMs: 1_000,
  closeTimeoutMs: CLOSE_TIMEOUT_MS,
} as const;

function portOf(url: string): number {
  return Number(new URL(url).port);
}

interface ReleaseCase {
  /** The close reason the service must count for every peer. */
  readonly reason: CloseReason;
  /** Service options beyond the shared timers. */
  readonly options?: Partial<ServeNotificationsOptions>;
  /** How the peers start (handshake or not). */
  readonly peer?: Omit<SilentPeerOptions, "token">;
  /** What the peers send after that (then they fall silent). */
  readonly provoke?: (peer: SilentPeer) => Promise<void>;
  /** What the server side does to end the connections (default: nothing, timers do it). */
  readonly trigger?: (fixture: Fixture, peers: readonly SilentPeer[]) => Promise<void>;
  /** Upper bound from the trigger to released sockets (ms). */
  readonly boundMs: number;
  /** Whether the close had to be forced (the peer never answers). */
  readonly forced: boolean;
  /**
   * The server cannot release the socket before the peer exits: Deno's write of the frames
   * already queued for a peer that stopped reading never completes and holds the connection
   * (there is no API to abort it), so the guarantee is a forced close now and release as soon
   * as the peer's end goes away, without CLOSE-WAIT.
   */
  readonly heldUntilPeerExits?: boolean;
}

async function releaseCase(c: ReleaseCase): Promise<void> {
  await withService({
    ...c.options,
    timers: { ...TIMERS, ...c.options?.timers },
  }, async (f) => {
    const token = await f.userToken({ sub: USER });
    const port = portOf(f.url);
    const rssBefore = Deno.memoryUsage().rss;
    const peers: SilentPeer[] = [];
    try {
      for (let i = 0; i < PEERS; i++) {
        peers.push(await SilentPeer.open(f.url, { token, ...c.peer }));
      }
      const ports = new Set(peers.map((p) => p.port));
      const held = async () => {
        const states = await serverSocketStates(port, ports);
        return states.established + states.closeWait;
      };
      assert.equal(await held(), PEERS, "every upgraded peer holds a server socket");
      for (const peer of peers) await c.provoke?.(peer);
      // The service may already be shut down (shutdown case): read the counters directly.
      const metrics = f.served.service.metrics;
      let started = performance.now();
      await c.trigger?.(f, peers);
      if (c.heldUntilPeerExits) {
        await until(
          () => metrics.forcedCloses.get({ hub: "main", result: "aborted" }) === PEERS,
          `${c.reason} closes forced`,
          { timeoutMs: c.boundMs },
        );
        started = performance.now();
        for (const peer of peers) peer.close();
      }
      await until(async () => (await held()) === 0, `${c.reason} sockets released`, {
        timeoutMs: c.boundMs,
        intervalMs: 20,
      });
      const releasedMs = Math.round(performance.now() - started);
      assert.equal(metrics.connectionsClosed.get({ hub: "main", reason: c.reason }), PEERS);
      assert.equal(
        metrics.forcedCloses.get({ hub: "main", result: "aborted" }),
        c.forced ? PEERS : 0,
      );
      assert.equal(metrics.forcedCloses.get({ hub: "main", result: "unsupported" }), 0);
      for (const peer of peers) peer.close();
      await delay(100);
      const after = await serverSocketStates(port, ports);
      assert.deepEqual(
        after,
        { established: 0, closeWait: 0 },
        "nothing left after the peers exit",
      );
      const rssAfter = Deno.memoryUsage().rss;
      console.log(
        `[socket-release] ${c.reason}: ${PEERS} peers, server sockets ${PEERS} -> 0 in ${releasedMs} ms` +
          (c.heldUntilPeerExits ? " after the peers exit" : "") +
          ` (bound ${c.boundMs} ms); forced ${c.forced ? PEERS : 0}; after exit ESTABLISHED` +
          ` ${after.established}, CLOSE-WAIT ${after.closeWait}; test RSS` +
          ` ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB`,
      );
    } finally {
      for (const peer of peers) peer.close();
    }
  });
}

const PUSH = largeNotification(USER);

Deno.test("sockets are released after every kind of close, whether or not the peer answers", async (t) => {
  await t.step("handshake timeout: the peer never sends the handshake", () =>
    releaseCase({
      reason: "handshake-timeout",
      options: { timers: { ...TIMERS, handshakeTimeoutMs: 300 } },
      boundMs: 300 + CLOSE_TIMEOUT_MS + 1_500,
      forced: true,
    }));

  await t.step("client timeout: the peer goes quiet after one Ping", () =>
    releaseCase({
      reason: "client-timeout",
      options: { timers: { ...TIMERS, clientTimeoutMs: 300 } },
      peer: { handshake: true },
      provoke: (peer) => peer.sendText('{"type":6}\x1e'),
      boundMs: 300 + CLOSE_TIMEOUT_MS + 1_500,
      forced: true,
    }));

  await t.step("protocol error: the peer sends a frame that is no hub message", () =>
    releaseCase({
      reason: "protocol-error",
      peer: { handshake: true },
      provoke: (peer) => peer.sendText("not json\x1e"),
      boundMs: CLOSE_TIMEOUT_MS + 1_500,
      forced: true,
    }));

  await t.step(
    "message too large: the peer sends a message over maxMessageSize",
    () =>
      releaseCase({
        reason: "message-too-large",
        peer: { handshake: true },
        provoke: (peer) => peer.sendText(`${"x".repeat(40_000)}\x1e`),
        boundMs: CLOSE_TIMEOUT_MS + 1_500,
        forced: true,
      }),
  );

  await t.step("slow consumer: the peer never reads while pushes flow", () =>
    releaseCase({
      reason: "slow-consumer",
      options: { sendBufferLimit: 65_536 },
      peer: { handshake: true },
      trigger: async (f) => {
        const metrics = f.served.service.metrics;
        for (let sent = 0; metrics.slowConsumersDropped.get({ hub: "main" }) < PEERS; sent++) {
          assert.ok(sent < 2_000, "the silent peers were never dropped");
          assert.equal((await f.send(PUSH)).status, 200);
        }
      },
      boundMs: CLOSE_TIMEOUT_MS + 1_500,
      forced: true,
      heldUntilPeerExits: true,
    }));

  // The service's own shutdown, without the HTTP server's (which would drop every connection
  // itself): the release must not depend on who serves the service.
  await t.step("shutdown: the service stops while silent peers are connected", () =>
    releaseCase({
      reason: "shutdown",
      peer: { handshake: true },
      trigger: (f) => f.served.service.shutdown(),
      boundMs: CLOSE_TIMEOUT_MS + 1_500,
      forced: true,
    }));

  await t.step(
    "the peer exits first: the server closes its side too (no CLOSE-WAIT)",
    () =>
      releaseCase({
        reason: "transport-closed",
        trigger: (_f, peers) => {
          for (const peer of peers) peer.close();
          return Promise.resolve();
        },
        boundMs: 1_500,
        forced: false,
      }),
  );
});
