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
import { FlagError, invalid, parseFlags, parseInteger } from "../config/mod.ts";

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

const WATCH_FLAGS = {
  url: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  "device-type": { type: "string" },
  "device-id": { type: "string" },
  protocol: { type: "string" },
  anonymous: { type: "string" },
  fixtures: { type: "string" },
} as const;

/**
 * Parses the watch flags (`--flag value` or `--flag=value`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWatchArgs } from "./watch.ts";
 * const options = parseWatchArgs(["--user=alice@example.com", "--protocol", "json"]);
 * assert.equal(options.protocol, "json");
 * assert.equal(options.url, "http://127.0.0.1:8080");
 * assert.throws(() => parseWatchArgs(["--usr", "a"]), /Unknown flag --usr: expected one of --url, /);
 * ```
 * @param args Command-line arguments.
 * @returns The options.
 * @throws {FlagError} Naming the flag.
 */
export function parseWatchArgs(args: readonly string[]): WatchOptions {
  const flags = parseFlags(args, WATCH_FLAGS);
  const protocol = flags.protocol ?? "messagepack";
  if (protocol !== "messagepack" && protocol !== "json") {
    throw new FlagError("--protocol", invalid("--protocol", "messagepack or json", protocol));
  }
  if (flags.user === undefined && flags.anonymous === undefined) {
    throw new FlagError("--user", "Invalid --user: give --user EMAIL or --anonymous ID");
  }
  let deviceType: number;
  try {
    deviceType = parseInteger("--device-type", flags["device-type"] ?? "8", {
      expected: "a DeviceType number",
    });
  } catch (error) {
    throw new FlagError("--device-type", (error as Error).message);
  }
  return {
    url: (flags.url ?? "http://127.0.0.1:8080").replace(/\/+$/, ""),
    deviceType,
    protocol,
    fixtures: flags.fixtures ?? "fixtures/seed.json",
    ...(flags.user !== undefined ? { user: flags.user } : {}),
    ...(flags.password !== undefined ? { password: flags.password } : {}),
    ...(flags["device-id"] !== undefined ? { deviceId: flags["device-id"] } : {}),
    ...(flags.anonymous !== undefined ? { anonymous: flags.anonymous } : {}),
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
