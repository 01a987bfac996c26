import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { ALICE, ENC, passwordForm, plain, startTestServe } from "./_test_helpers.ts";
import { ConfigError, parseServeConfig } from "./config.ts";
import { hasOpenssl, makeTestCert, postToken, until } from "../testing/mod.ts";

const OPENSSL = await hasOpenssl();
if (!OPENSSL) console.warn("server/tls_test.ts: skipped, openssl is not on PATH");

/**
 * A WebSocket constructor trusting the test CA, for the official SignalR client (which calls
 * it as `(url)` in browsers or `(url, undefined, { headers })` in Node-like runtimes).
 */
function webSocketTrusting(client: Deno.HttpClient): unknown {
  return class extends WebSocket {
    constructor(url: string | URL, _protocols?: undefined, node?: { headers?: HeadersInit }) {
      super(url, { client, ...(node?.headers !== undefined ? { headers: node.headers } : {}) });
    }
  };
}

Deno.test({
  name: "serve over TLS: https discovery, password grant, wss MessagePack hub push",
  ignore: !OPENSSL,
  fn: async () => {
    const cert = await makeTestCert();
    const client = Deno.createHttpClient({ caCerts: [cert.cert] });
    let connection: signalR.HubConnection | undefined;
    let serve: Awaited<ReturnType<typeof startTestServe>> | undefined;
    try {
      serve = await startTestServe(["--tls-cert", cert.certFile, "--tls-key", cert.keyFile]);
      const base = serve.url;
      strictEqual(base.startsWith("https://127.0.0.1:"), true, base);

      // Without the CA the certificate is not trusted: the server really speaks TLS.
      await rejects(fetch(`${base}/identity/.well-known/openid-configuration`));

      const discovery = await fetch(`${base}/identity/.well-known/openid-configuration`, {
        client,
      });
      strictEqual(discovery.status, 200);
      const document = await discovery.json() as Record<string, unknown>;
      strictEqual(document.issuer, `${base}/identity`);
      for (const field of ["jwks_uri", "token_endpoint"]) {
        strictEqual(
          String(document[field]).startsWith(`${base}/identity/`),
          true,
          `${field}: ${document[field]}`,
        );
      }

      const login = async (device: { id: string; type: number }) => {
        const response = await postToken(base, passwordForm(ALICE, device), { client });
        const body = await response.json() as Record<string, unknown>;
        strictEqual(response.status, 200, JSON.stringify(body));
        strictEqual(typeof body.access_token, "string");
        return body.access_token as string;
      };
      const webToken = await login({ id: ALICE.web, type: 9 });
      const desktopToken = await login({ id: ALICE.desktop, type: 8 });

      // Deno's WebSocket takes the HttpClient (custom CA), so the official client runs over wss
      // (it turns the https URL into wss://).
      connection = new signalR.HubConnectionBuilder()
        .withUrl(`${base}/notifications/hub`, {
          skipNegotiation: true,
          transport: signalR.HttpTransportType.WebSockets,
          accessTokenFactory: () => desktopToken,
          WebSocket: webSocketTrusting(client),
        } as signalR.IHttpConnectionOptions)
        .withHubProtocol(new MessagePackHubProtocol())
        .configureLogging(signalR.LogLevel.None)
        .build();
      const received: unknown[] = [];
      connection.on("ReceiveMessage", (message) => received.push(plain(message)));
      connection.on("Heartbeat", () => {});
      await connection.start();
      strictEqual(connection.state, signalR.HubConnectionState.Connected);

      const created = await fetch(`${base}/api/folders`, {
        method: "POST",
        client,
        headers: {
          authorization: `Bearer ${webToken}`,
          "content-type": "application/json; charset=utf-8",
        },
        body: JSON.stringify({ name: ENC }),
      });
      const folder = await created.json() as { id: string; revisionDate: string };
      strictEqual(created.status, 200, JSON.stringify(folder));
      await until(() => received.length >= 1, "the folder push over wss", { timeoutMs: 10_000 });
      deepStrictEqual(received, [{
        ContextId: ALICE.web,
        Type: 7,
        Payload: { Id: folder.id, UserId: ALICE.id, RevisionDate: folder.revisionDate },
      }]);
    } finally {
      await connection?.stop();
      await serve?.stop();
      client.close();
      await Deno.remove(cert.dir, { recursive: true });
    }
  },
});

Deno.test("serve over TLS: clear errors for unreadable certificate or key files", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "hubproof_tls_" });
  try {
    const missing = `${dir}/missing.pem`;
    const notPem = `${dir}/not.pem`;
    await Deno.writeTextFile(notPem, "not a certificate\n");
    const expectConfigError = async (args: string[], flag: string, message: RegExp) => {
      await rejects(startTestServe(args), (error: unknown) => {
        strictEqual(error instanceof ConfigError, true, String(error));
        strictEqual((error as ConfigError).flag, flag, (error as Error).message);
        strictEqual(message.test((error as Error).message), true, (error as Error).message);
        return true;
      });
    };
    await t.step("missing certificate file names --tls-cert", () =>
      expectConfigError(
        ["--tls-cert", missing, "--tls-key", notPem],
        "--tls-cert",
        /cannot read .*missing\.pem/,
      ));
    await t.step("missing key file names --tls-key", () =>
      expectConfigError(
        ["--tls-cert", notPem, "--tls-key", missing],
        "--tls-key",
        /cannot read .*missing\.pem/,
      ));
    await t.step(
      "a file that is not PEM names --tls-cert",
      () => expectConfigError(["--tls-cert", notPem, "--tls-key", notPem], "--tls-cert", /TLS/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve over TLS: a certificate without its key (or the reverse) names the missing flag", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [["--tls-key", "k.pem"], {}, "--tls-cert"],
    [[], { HUBPROOF_TLS_CERT: "c.pem" }, "--tls-key"],
    [["--tls-cert", "c.pem"], { HUBPROOF_TLS_CERT: "other.pem" }, "--tls-key"],
  ];
  for (const [args, env, flag] of cases) {
    throws(() => parseServeConfig(args, env), (error: unknown) => {
      strictEqual(error instanceof ConfigError, true, String(error));
      strictEqual((error as ConfigError).flag, flag, (error as Error).message);
      strictEqual(/--tls-cert and --tls-key go together/.test((error as Error).message), true);
      return true;
    });
  }
  deepStrictEqual(
    parseServeConfig([], { HUBPROOF_TLS_CERT: "c.pem", HUBPROOF_TLS_KEY: "k.pem" }).tls,
    { certFile: "c.pem", keyFile: "k.pem" },
  );
});
