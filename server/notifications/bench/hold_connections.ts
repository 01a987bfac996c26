/**
 * Connection-holding benchmark (run by hand, not a test): starts the Notifications service in a
 * child process, opens N WebSocket hub connections (half JSON, half MessagePack), and reports
 * connections held, the service's resident memory per connection, and push latency (one user,
 * and a fan-out to every connection through one organization group).
 *
 * Run: deno run --allow-net --allow-read --allow-env --allow-sys --allow-run \
 *        server/notifications/bench/hold_connections.ts [connections=2000]
 *
 * @module
 */

import { ActingAuthority } from "../../../conformance/authority.ts";
import { writeHandshakeRequest } from "../../../protocol/signalr/mod.ts";

const COUNT = Number(Deno.args[0] ?? 2000);
const ORG = "0a000000-0000-4000-8000-0000000000a1";

/** Resident set size via `ps` (reading /proc needs --allow-all in Deno). */
function rssKiB(pid: number): number {
  const output = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).outputSync();
  return Number(new TextDecoder().decode(output.stdout).trim());
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const authority = await ActingAuthority.create();
const authorityUrl = await authority.listen({ port: 0 });
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    "--allow-sys",
    new URL("./_serve.ts", import.meta.url).pathname,
    authorityUrl,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const sockets: WebSocket[] = [];
try {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) line += (await reader.read()).value ?? "";
  const url = /LISTENING (\S+)/.exec(line)![1]!;
  void reader.cancel();

  const internal = await authority.mint({ claims: { scope: ["internal"] } });
  const send = (body: unknown) =>
    fetch(`${url}/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${internal}` },
      body: JSON.stringify(body),
    }).then((r) => r.arrayBuffer());
  // Warm up code paths before the baseline.
  await send({ type: 11, payload: { userId: ORG, reason: null }, contextId: null });
  await new Promise((r) => setTimeout(r, 500));
  const baseline = rssKiB(child.pid);

  const received = new Array<number>(COUNT).fill(0);
  let onReceive: (i: number) => void = () => {};
  const users: string[] = [];
  const started = performance.now();
  for (let batch = 0; batch < COUNT; batch += 100) {
    await Promise.all(Array.from({ length: Math.min(100, COUNT - batch) }, async (_, k) => {
      const i = batch + k;
      const user = `b0000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
      users[i] = user;
      const token = await authority.mint({
        claims: {
          sub: user,
          amr: ["Application"],
          scope: ["api"],
          devicetype: "ChromeBrowser",
          orguser: ORG,
        },
      });
      const protocol = i % 2 === 0 ? "json" : "messagepack";
      const socket = new WebSocket(`${url.replace("http", "ws")}/hub?access_token=${token}`);
      socket.binaryType = "arraybuffer";
      sockets[i] = socket;
      await new Promise<void>((resolve, reject) => {
        socket.onopen = () => socket.send(writeHandshakeRequest({ protocol, version: 1 }));
        socket.onerror = () => reject(new Error(`Connection ${i} failed`));
        let handshaken = false;
        socket.onmessage = () => {
          if (!handshaken) {
            handshaken = true;
            resolve();
            return;
          }
          received[i]!++;
          onReceive(i);
        };
      });
    }));
  }
  const connectMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 1000));
  const held = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  const loaded = rssKiB(child.pid);

  // One user at a time.
  const single: number[] = [];
  for (let n = 0; n < 50; n++) {
    const i = (n * 37) % COUNT;
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => onReceive = (j) => j === i && resolve());
    await send({ type: 11, payload: { userId: users[i], reason: null }, contextId: null });
    await got;
    single.push(performance.now() - t0);
  }
  // Fan-out to every connection through the organization group.
  const fanout: number[] = [];
  for (let n = 0; n < 5; n++) {
    let remaining = COUNT;
    const t0 = performance.now();
    const all = new Promise<void>((resolve) => onReceive = () => --remaining === 0 && resolve());
    await send({ type: 18, payload: { organizationId: ORG, enabled: true }, contextId: null });
    await all;
    fanout.push(performance.now() - t0);
  }
  const report = {
    connectionsRequested: COUNT,
    connectionsHeld: held,
    connectSeconds: +(connectMs / 1000).toFixed(2),
    serviceRssBaselineMiB: +(baseline / 1024).toFixed(1),
    serviceRssLoadedMiB: +(loaded / 1024).toFixed(1),
    rssPerConnectionKiB: +((loaded - baseline) / COUNT).toFixed(1),
    singleUserLatencyMs: {
      p50: +percentile(single, 50).toFixed(2),
      p95: +percentile(single, 95).toFixed(2),
      max: +Math.max(...single).toFixed(2),
    },
    fanoutAllConnectionsMs: {
      p50: +percentile(fanout, 50).toFixed(1),
      max: +Math.max(...fanout).toFixed(1),
    },
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  for (const s of sockets) s?.close();
  child.kill("SIGTERM");
  await child.status;
  await authority.close();
}
