/**
 * `--header` and `--ca-cert` reach every part of the suite that talks to the target: a TLS
 * listener with a certificate no system trusts, which answers only requests carrying the proxy
 * header, serves identity, the API, the hub's WebSocket upgrade and a raw upgrade probe.
 */
import assert from "node:assert/strict";
import { resolveTarget } from "../target.ts";
import { RecordingTrace } from "../trace.ts";
import type { CaseContext } from "../types.ts";
import { ApiSession } from "./api_client.ts";
import { HubClient } from "./hub_client.ts";
import { reachFetch, registerReach } from "./reach.ts";
import { probeUpgrade } from "./upgrade_probe.ts";
import { hasOpenssl, makeTestCert } from "../../testing/mod.ts";

const PROXY_HEADER = "cf-access-client-id";

Deno.test({
  name: "--header and --ca-cert apply to identity, API, hub WebSocket and upgrade probe",
  ignore: !(await hasOpenssl()),
  async fn() {
    const made = await makeTestCert();
    await Deno.remove(made.dir, { recursive: true });
    const { cert, key } = made;
    const seen: string[] = [];
    const json = (value: unknown, status = 200) =>
      new Response(JSON.stringify(value), {
        status,
        headers: { "content-type": "application/json" },
      });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert, key, onListen() {} },
      (req) => {
        const path = new URL(req.url).pathname;
        seen.push(`${req.headers.get(PROXY_HEADER) ?? "-"} ${path}`);
        if (req.headers.get(PROXY_HEADER) !== "conformance") return json({ message: "proxy" }, 403);
        if (path === "/identity/connect/token") {
          const body = btoa(JSON.stringify({ sub: "u1" })).replace(/=+$/, "");
          return json({ access_token: `e30.${body}.x`, expires_in: 3600 });
        }
        if (path === "/api/folders") return json({ id: "f1" });
        if (path === "/notifications/hub") {
          const { socket, response } = Deno.upgradeWebSocket(req);
          socket.onmessage = () => socket.send("{}\x1e");
          return response;
        }
        return json({ message: "no" }, 404);
      },
    );
    const target = resolveTarget(
      {
        target: `https://127.0.0.1:${server.addr.port}`,
        header: ["CF-Access-Client-Id: conformance"],
      },
      {},
      { caCertificates: [cert] },
    );
    const release = registerReach(target);
    try {
      const ctx: CaseContext = {
        target,
        trace: new RecordingTrace(),
        signal: new AbortController().signal,
        timeoutMs: 10_000,
        graceMs: 100,
        seed: 1,
        runs: 1,
        log() {},
      };
      const session = await ApiSession.login(ctx, { email: "a@x.org", passwordHash: "h" });
      assert.equal(await session.createFolder(), "f1");
      const client = await HubClient.connect(target.hubUrl, {
        name: "hub",
        protocol: "json",
        token: session.accessToken,
        timeoutMs: 5000,
      });
      await client.close();
      const probe = await probeUpgrade(target.hubUrl);
      assert.equal(probe.status, 101);
      assert.deepEqual(seen.map((s) => s.split(" ")[1]), [
        "/identity/connect/token",
        "/api/folders",
        "/notifications/hub",
        "/notifications/hub",
      ]);
      assert.deepEqual(seen.filter((s) => !s.startsWith("conformance ")), []);
    } finally {
      release();
    }
    // Without the run's reach the same target is untrusted TLS.
    await assert.rejects(reachFetch(`${target.apiUrl}/folders`), TypeError);
    await server.shutdown();
  },
});
