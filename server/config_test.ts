import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { ConfigError, parseServeConfig } from "./config.ts";

Deno.test("parseServeConfig: defaults, flags, environment", () => {
  const d = parseServeConfig([]);
  deepStrictEqual([d.mode, [...d.roles], d.hostname, d.port, d.queueName], [
    "selfhosted",
    ["identity", "api", "notifications"],
    "127.0.0.1",
    8080,
    "notifications",
  ]);
  strictEqual(d.installationIdGenerated && d.internalKeyGenerated, true);
  strictEqual(d.maxBodyBytes, 30_000_000, "Kestrel's default MaxRequestBodySize");
  strictEqual(parseServeConfig([], { HUBPROOF_MAX_BODY_BYTES: "65536" }).maxBodyBytes, 65536);
  const c = parseServeConfig(["--mode=cloud", "--port", "0", "--redis", "redis://127.0.0.1:6379"], {
    HUBPROOF_INTERNAL_KEY: "from-the-environment",
    HUBPROOF_PORT: "9999",
  });
  deepStrictEqual([c.mode, c.port, c.internalKey, c.redisUrl], [
    "cloud",
    0,
    "from-the-environment",
    "redis://127.0.0.1:6379",
  ]);
  const split = parseServeConfig([
    "--role",
    "api",
    "--identity-url",
    "http://h/identity/",
    "--notifications-url",
    "http://h/notifications",
    "--internal-key",
    "12345678",
  ]);
  deepStrictEqual([[...split.roles], split.identityUrl], [["api"], "http://h/identity"]);
});

Deno.test("parseServeConfig: clear errors naming the flag", () => {
  const cases: [string[], string, RegExp][] = [
    [["--port", "70000"], "--port", /0\.\.65535/],
    [["--mode", "hybrid"], "--mode", /selfhosted or cloud/],
    [["--role", "billing"], "--role", /identity, api or notifications/],
    [["--bogus"], "--bogus", /unknown flag/],
    [["--port"], "--port", /missing value/],
    [["--tls-cert", "c.pem"], "--tls-key", /go together/],
    [["--installation-id", "nope"], "--installation-id", /GUID/],
    [["--role", "api", "--notifications-url", "http://n"], "--identity-url", /required/],
    [["--role", "identity", "--role", "api"], "--notifications-url", /required/],
    [
      ["--mode", "cloud", "--role", "identity", "--role", "api"],
      "--queue-connection-string",
      /separate processes/,
    ],
    [
      ["--queue-connection-string", "UseDevelopmentStorage=true"],
      "--queue-connection-string",
      /--mode cloud/,
    ],
    [["--redis", "http://x"], "--redis", /redis:\/\//],
    [["--identity-url", "ftp://x"], "--identity-url", /http or https/],
    [["--max-body-bytes", "10"], "--max-body-bytes", /at least 1024/],
    [["--max-body-bytes", "1e6"], "--max-body-bytes", /at least 1024/],
  ];
  for (const [args, flag, message] of cases) {
    throws(() => parseServeConfig(args), (error: unknown) => {
      strictEqual(error instanceof ConfigError, true, `${args.join(" ")} throws ConfigError`);
      strictEqual((error as ConfigError).flag, flag, `${args.join(" ")} names ${flag}`);
      strictEqual(message.test((error as Error).message), true, (error as Error).message);
      return true;
    });
  }
});
