/**
 * Socket-release measurement (not a test, not CI): the issue 12 probe. Starts the Notifications
 * service in a child process with its default timers (handshake 15 s, close timeout 5 s), opens
 * N WebSocket upgrades with a valid token that never send the handshake, never read and never
 * answer the Close, and samples the service's ESTABLISHED / CLOSE-WAIT sockets (from
 * `/proc/net/tcp`) and resident memory until the sockets are gone, then again after the peers
 * exit. With the default bounds one IP gets at most `limits.maxPendingPerIp` (256) upgrades past
 * the door while they are pending: the rest are refused with 429 and counted here.
 *
 * Usage: deno run --allow-net --allow-read --allow-env --allow-sys --allow-run \
 *          bench/socket_release.ts [--peers 2000]
 *
 * @module
 */

import { parseFlags, parseInteger, parseOrExit } from "../config/mod.ts";
import { ActingAuthority, serverSocketStates, SilentPeer } from "../testing/mod.ts";
import { rssKiB, startServiceProcess } from "./_measure.ts";

const count = parseOrExit(() => {
  const flags = parseFlags(Deno.args, { peers: { type: "string" } });
  return parseInteger("--peers", flags.peers ?? "2000", { min: 1 });
});

const authority = await ActingAuthority.create();
const authorityUrl = await authority.listen({ port: 0 });
const service = await startServiceProcess(authorityUrl);
const peers: SilentPeer[] = [];
try {
  const port = Number(new URL(service.url).port);
  // One user per peer, so the per-user bound (128) is not what refuses them.
  const token = (i: number) =>
    authority.mint({
      claims: {
        sub: `e0000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
        amr: ["Application"],
        scope: ["api"],
      },
    });
  let refused = 0;
  const sample = async (label: string, t0: number) => {
    const s = await serverSocketStates(port);
    const rss = await rssKiB(service.pid);
    console.log(
      `${label.padEnd(22)} t=${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s ` +
        `ESTABLISHED ${String(s.established).padStart(5)}  CLOSE-WAIT ${s.closeWait}  ` +
        `RSS ${(rss / 1024).toFixed(1)} MiB`,
    );
    return s;
  };
  const t0 = performance.now();
  await sample("baseline", t0);
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, async (_, k) => {
        try {
          return await SilentPeer.open(service.url, { token: await token(i + k) });
        } catch (error) {
          if (!/Upgrade refused: HTTP\/1.1 429/.test((error as Error).message)) throw error;
          refused++;
          return null;
        }
      }),
    );
    peers.push(...batch.filter((p): p is SilentPeer => p !== null));
  }
  console.log(`${count} upgrades: ${peers.length} admitted, ${refused} refused with 429`);
  await sample(`${peers.length} silent peers`, t0);
  // Handshake timeout (15 s) + close timeout (5 s) + the 1 s tick: gone by about 21 s.
  while (performance.now() - t0 < 40_000) {
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const s = await sample("waiting", t0);
    if (s.established + s.closeWait === 0) break;
  }
  for (const peer of peers) peer.close();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await sample("after the peers exit", t0);
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  for (const line of metrics.split("\n")) {
    if (/^hubproof_notifications_(connections_closed_total|forced_closes_total)/.test(line)) {
      console.log(line);
    }
  }
} finally {
  for (const peer of peers) peer.close();
  await service.stop();
  await authority.close();
}
