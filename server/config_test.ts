import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { ConfigError, parseServeConfig, SERVE_DEFAULTS } from "./config.ts";

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

Deno.test("parseServeConfig: close timeout and connection bounds from flags and environment", () => {
  const d = parseServeConfig([]);
  deepStrictEqual([d.closeTimeoutMs, d.limits], [5_000, {
    maxPendingPerIp: 256,
    maxPending: 2048,
    maxConnectionsPerUser: 128,
    maxConnections: 16_384,
  }]);
  deepStrictEqual(SERVE_DEFAULTS.limits, d.limits);
  const c = parseServeConfig([
    "--close-timeout",
    "0",
    "--max-pending-per-ip=20000",
    "--max-connections",
    "10",
  ], {
    HUBPROOF_CLOSE_TIMEOUT: "900",
    HUBPROOF_MAX_PENDING: "0",
    HUBPROOF_MAX_CONNECTIONS_PER_USER: "12000",
    HUBPROOF_MAX_CONNECTIONS: "99",
  });
  deepStrictEqual([c.closeTimeoutMs, c.limits], [0, {
    maxPendingPerIp: 20_000,
    maxPending: 0,
    maxConnectionsPerUser: 12_000,
    maxConnections: 10,
  }], "flags win over the environment, 0 is accepted (unbounded / wait for ever)");
  const e = parseServeConfig([], {
    HUBPROOF_CLOSE_TIMEOUT: "750",
    HUBPROOF_MAX_PENDING_PER_IP: "3",
  });
  deepStrictEqual([e.closeTimeoutMs, e.limits.maxPendingPerIp, e.limits.maxPending], [
    750,
    3,
    2048,
  ]);
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
    [["--close-timeout", "-1"], "--close-timeout", /integer 0\.\.2147483647, got -1/],
    [["--close-timeout", "5s"], "--close-timeout", /integer 0\.\.2147483647, got 5s/],
    [["--close-timeout", "2147483648"], "--close-timeout", /0\.\.2147483647/],
    [["--max-pending-per-ip", "1.5"], "--max-pending-per-ip", /integer of at least 0, got 1\.5/],
    [["--max-pending", "lots"], "--max-pending", /integer of at least 0, got lots/],
    [["--max-connections-per-user", "-3"], "--max-connections-per-user", /at least 0/],
    [["--max-connections"], "--max-connections", /missing value/],
    [["--max-connections", "1e4"], "--max-connections", /at least 0, got 1e4/],
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

Deno.test("parseServeConfig: a bad bound in the environment names its flag", () => {
  throws(
    () => parseServeConfig([], { HUBPROOF_MAX_CONNECTIONS: "-1" }),
    new ConfigError("--max-connections", "expected an integer of at least 0, got -1"),
  );
});
