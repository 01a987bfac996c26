/**
 * `deno task serve`: runs the hubproof reference server (identity, API, Notifications) with
 * the configuration of `server/config.ts`, prints how to use it, and shuts down on SIGINT or
 * SIGTERM.
 *
 * @module
 */

import { readFixtures } from "./api/fixtures.ts";
import { ConfigError, parseServeConfig, SERVE_USAGE, type ServeConfig } from "./config.ts";
import { type RunningServe, startServe } from "./serve.ts";

/**
 * The text printed once the server is up: URLs, fixture users, a curl example and a watch
 * command.
 *
 * @param running The running deployment.
 * @param users Fixture users (e-mail, password, hash, first device).
 * @returns The banner.
 */
export function banner(
  running: RunningServe,
  users: readonly {
    email: string;
    masterPassword?: string;
    masterPasswordHash: string;
    devices?: readonly { identifier: string; type: number }[];
  }[],
): string {
  const c: ServeConfig = running.config;
  const lines = [
    `hubproof reference server: ${c.mode === "cloud" ? "cloud" : "self-hosted"} mode, roles: ${
      [...c.roles].join(", ")
    }`,
    "",
    `  base            ${running.url}`,
  ];
  if (running.urls.identity) lines.push(`  identity        ${running.urls.identity}`);
  if (running.urls.api) lines.push(`  api             ${running.urls.api}`);
  if (running.urls.notifications) {
    lines.push(
      `  notifications   ${running.urls.notifications}  (hub: /hub, anonymous: /anonymous-hub, /send)`,
    );
  }
  lines.push(
    `  installation id ${c.installationId}${
      c.installationIdGenerated ? " (generated; fix it with --installation-id)" : ""
    }`,
    `  internal key    ${c.internalKey}${
      c.internalKeyGenerated ? " (generated; fix it with --internal-key)" : ""
    }`,
  );
  if (c.mode === "cloud") {
    lines.push(
      `  queue           ${c.queueName} @ ${running.queueConnectionString ?? "(external)"}`,
    );
  }
  lines.push("", "Vault data lives in memory only: a restart starts again from the fixtures.");
  if (users.length > 0 && running.store) {
    lines.push("", "Fixture users (master password -> the hash clients send as password):");
    for (const u of users) {
      lines.push(
        `  ${u.email.padEnd(20)} ${
          JSON.stringify(u.masterPassword ?? "?")
        } -> ${u.masterPasswordHash}`,
      );
    }
  }
  const alice = users[0];
  if (alice && running.urls.identity && running.urls.api) {
    const device = alice.devices?.[0]?.identifier ?? crypto.randomUUID();
    lines.push(
      "",
      `Try it (as ${alice.email} on a web-vault device):`,
      `  TOKEN=$(curl -s ${running.urls.identity}/connect/token \\`,
      `    -H 'Bitwarden-Client-Version: 2026.8.0' -H 'Device-Type: 9' \\`,
      `    --data-urlencode grant_type=password --data-urlencode username=${alice.email} \\`,
      `    --data-urlencode 'password=${alice.masterPasswordHash}' \\`,
      `    --data-urlencode 'scope=api offline_access' --data-urlencode client_id=web \\`,
      `    --data-urlencode deviceType=9 --data-urlencode deviceIdentifier=${device} \\`,
      `    --data-urlencode deviceName=chrome | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
      `  curl -s ${running.urls.api}/folders -H "Authorization: Bearer $TOKEN" \\`,
      `    -H 'Content-Type: application/json' -d '{"name":"2.AA==|AA==|AA=="}'`,
      "",
      `Watch ${alice.email}'s hub (desktop device) in another terminal:`,
      `  deno run --allow-net --allow-read --allow-env server/watch.ts --url ${running.url} --user ${alice.email}`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  let config: ServeConfig;
  try {
    config = parseServeConfig(Deno.args, Deno.env.toObject());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`error: ${error.message}\n\n${SERVE_USAGE}`);
      return 2;
    }
    throw error;
  }
  if (config.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  let running: RunningServe;
  try {
    running = await startServe(config);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return error instanceof ConfigError ? 2 : 1;
  }
  const users = running.store ? (await readFixtures(config.fixturesFile)).users : [];
  console.log(banner(running, users));
  const { promise, resolve } = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => resolve(name);
  const handlers: [Deno.Signal, () => void][] = [["SIGINT", onSignal("SIGINT")], [
    "SIGTERM",
    onSignal("SIGTERM"),
  ]];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  const signal = await promise;
  console.error(`\n${signal}: shutting down`);
  for (const [s, handler] of handlers) Deno.removeSignalListener(s, handler);
  await running.stop();
  console.error("Stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main());
