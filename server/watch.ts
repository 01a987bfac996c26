/**
 * A tiny hub client: logs in as a user (or joins the anonymous hub of a login-with-device
 * request) with the official `@microsoft/signalr` client and MessagePack, and prints every
 * message it receives.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-env server/watch.ts --url http://127.0.0.1:8080 --user alice@example.com
 * deno run --allow-net --allow-read --allow-env server/watch.ts --url http://127.0.0.1:8080 --anonymous <authRequestId>
 * ```
 *
 * Flags: `--url` (base URL), `--user` (fixture e-mail) with `--password` (master password; default:
 * the fixture's), `--device-type` (default 8, LinuxDesktop), `--device-id` (default: the
 * fixture device of that type, else random), `--protocol messagepack|json`, `--anonymous ID`,
 * `--fixtures` (default fixtures/seed.json).
 *
 * @module
 */

import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { readFixtures } from "./api/fixtures.ts";
import { masterPasswordHash } from "../protocol/bitwarden/mod.ts";

/** Parsed flags of the watch command. */
export interface WatchOptions {
  /** Base URL of the deployment. */
  readonly url: string;
  /** User e-mail (main hub). */
  readonly user?: string;
  /** Master password. */
  readonly password?: string;
  /** DeviceType number. */
  readonly deviceType: number;
  /** Device identifier. */
  readonly deviceId?: string;
  /** Hub protocol. */
  readonly protocol: "messagepack" | "json";
  /** Auth-request id (anonymous hub). */
  readonly anonymous?: string;
  /** Seed file. */
  readonly fixtures: string;
}

/**
 * Parses the watch flags.
 *
 * @param args Command-line arguments.
 * @returns The options.
 * @throws {TypeError} Naming the flag.
 */
export function parseWatchArgs(args: readonly string[]): WatchOptions {
  const map = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (!flag.startsWith("--") || value === undefined) {
      throw new TypeError(`Invalid ${flag}: missing value`);
    }
    map.set(flag.slice(2), value);
  }
  const known = [
    "url",
    "user",
    "password",
    "device-type",
    "device-id",
    "protocol",
    "anonymous",
    "fixtures",
  ];
  for (const key of map.keys()) {
    if (!known.includes(key)) throw new TypeError(`Invalid --${key}: unknown flag`);
  }
  const protocol = map.get("protocol") ?? "messagepack";
  if (protocol !== "messagepack" && protocol !== "json") {
    throw new TypeError(`Invalid --protocol: expected messagepack or json, got ${protocol}`);
  }
  if (!map.has("user") && !map.has("anonymous")) {
    throw new TypeError("Invalid --user: give --user EMAIL or --anonymous ID");
  }
  const deviceType = Number(map.get("device-type") ?? "8");
  if (!Number.isInteger(deviceType)) {
    throw new TypeError("Invalid --device-type: expected a DeviceType number");
  }
  const get = (k: string) => map.get(k);
  return {
    url: (get("url") ?? "http://127.0.0.1:8080").replace(/\/+$/, ""),
    deviceType,
    protocol,
    fixtures: get("fixtures") ?? "fixtures/seed.json",
    ...(get("user") !== undefined ? { user: get("user")! } : {}),
    ...(get("password") !== undefined ? { password: get("password")! } : {}),
    ...(get("device-id") !== undefined ? { deviceId: get("device-id")! } : {}),
    ...(get("anonymous") !== undefined ? { anonymous: get("anonymous")! } : {}),
  };
}

async function login(options: WatchOptions): Promise<{ token: string; deviceId: string }> {
  const email = options.user!;
  const fixtures = await readFixtures(options.fixtures).catch(() => ({ users: [] as const }));
  const fixture = fixtures.users.find((u) => u.email.toLowerCase() === email.toLowerCase());
  const password = options.password ?? fixture?.masterPassword;
  if (password === undefined) {
    throw new TypeError(`Invalid --password: required for ${email} (not a fixture user)`);
  }
  const prelogin = await fetch(`${options.url}/identity/accounts/prelogin`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email }),
  });
  const kdf = await prelogin.json() as { kdf: number; kdfIterations: number };
  if (kdf.kdf !== 0) throw new Error("Only PBKDF2 accounts are supported by this watcher");
  const hash = await masterPasswordHash(password, email, kdf.kdfIterations);
  const deviceId = options.deviceId ??
    fixture?.devices?.find((d) => d.type === options.deviceType)?.identifier ?? crypto.randomUUID();
  const response = await fetch(`${options.url}/identity/connect/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "bitwarden-client-version": "2026.8.0",
      "device-type": String(options.deviceType),
    },
    body: new URLSearchParams({
      grant_type: "password",
      username: email,
      password: hash,
      scope: "api offline_access",
      client_id: "desktop",
      deviceType: String(options.deviceType),
      deviceIdentifier: deviceId,
      deviceName: "hubproof-watch",
    }),
  });
  const body = await response.json() as { access_token?: string };
  if (!response.ok || !body.access_token) {
    throw new Error(`Login failed: HTTP ${response.status}: ${JSON.stringify(body)}`);
  }
  return { token: body.access_token, deviceId };
}

async function main(): Promise<number> {
  let options: WatchOptions;
  try {
    options = parseWatchArgs(Deno.args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const builder = new signalR.HubConnectionBuilder().configureLogging(signalR.LogLevel.Warning);
  let label: string;
  if (options.anonymous !== undefined) {
    builder.withUrl(
      `${options.url}/notifications/anonymous-hub?Token=${encodeURIComponent(options.anonymous)}`,
      {
        skipNegotiation: true,
        transport: signalR.HttpTransportType.WebSockets,
      },
    );
    label = `anonymous hub, token ${options.anonymous}`;
  } else {
    const { token, deviceId } = await login(options);
    builder.withUrl(`${options.url}/notifications/hub`, {
      accessTokenFactory: () => token,
      skipNegotiation: true,
      transport: signalR.HttpTransportType.WebSockets,
    });
    label = `${options.user} on device ${deviceId} (type ${options.deviceType})`;
  }
  if (options.protocol === "messagepack") builder.withHubProtocol(new MessagePackHubProtocol());
  const connection = builder.build();
  const print = (method: string) => (message: unknown) => {
    console.log(
      `${new Date().toISOString()} ${method} ${
        JSON.stringify(message, (_k, v) => v instanceof Date ? v.toISOString() : v)
      }`,
    );
  };
  connection.on("ReceiveMessage", print("ReceiveMessage"));
  connection.on("AuthRequestResponseRecieved", print("AuthRequestResponseRecieved"));
  connection.on("Heartbeat", () => {});
  const closed = Promise.withResolvers<number>();
  connection.onclose((error) => {
    console.error(`Connection closed${error ? `: ${error.message}` : ""}`);
    closed.resolve(1);
  });
  await connection.start();
  console.error(`Watching ${label} (${options.protocol}); Ctrl-C to stop`);
  const stop = () => void connection.stop().then(() => closed.resolve(0));
  Deno.addSignalListener("SIGINT", stop);
  return await closed.promise;
}

if (import.meta.main) {
  Deno.exit(
    await main().catch((error: Error) => {
      console.error(`error: ${error.message}`);
      return 1;
    }),
  );
}
