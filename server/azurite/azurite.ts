/**
 * A real Azurite queue service (in memory, loopback only) as a subprocess of the process that
 * needs it (`serve --mode cloud` without a connection string, or a test): `npm:azurite@3.35.0/azurite-queue` run by the same Deno binary as the test.
 *
 * @module
 */

import { spawnManaged } from "../../testing/mod.ts";

/** The Azurite package and bin run by {@linkcode startAzurite}. */
export const AZURITE_SPECIFIER = "npm:azurite@3.35.0/azurite-queue";

/** Azurite's well-known development account name. */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";

/** Azurite's well-known development account key (public, documented in Azurite's README). */
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const LISTENING = /Azurite Queue service successfully listens on http:\/\/127\.0\.0\.1:(\d+)/;

/** Options of {@linkcode startAzurite}. */
export interface AzuriteOptions {
  /** Port to listen on; 0 (default) lets the OS pick one (Azurite prints the chosen port). */
  readonly port?: number;
  /**
   * How long to wait for Azurite to listen, in ms (default 120,000: the first run on a machine
   * downloads about 300 npm packages into the Deno cache; warm starts take under a second).
   */
  readonly readyTimeoutMs?: number;
}

/** A running Azurite queue service. */
export interface AzuriteQueue {
  /** Connection string for `@azure/storage-queue` (`QueueServiceClient.fromConnectionString`). */
  readonly connectionString: string;
  /** Port it listens on (127.0.0.1). */
  readonly port: number;
  /** OS process id. */
  readonly pid: number;
  /** Time from spawn to listening, in ms. */
  readonly startMs: number;
  /** Kills the process by PID, awaits its exit and removes its working directory. */
  stop(): Promise<void>;
}

/**
 * Builds the queue connection string for an Azurite listening on `127.0.0.1:port`.
 *
 * @param port The queue port.
 * @returns A connection string with the development account and an explicit queue endpoint.
 *
 * @example
 * ```ts
 * import { azuriteConnectionString } from "./azurite.ts";
 *
 * const text = azuriteConnectionString(10001);
 * if (!text.includes("QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;")) {
 *   throw new Error("Unexpected connection string: " + text);
 * }
 * ```
 */
export function azuriteConnectionString(port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
    `AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `QueueEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME};`;
}

/**
 * Starts an in-memory Azurite queue service on loopback and waits until it listens. The process
 * gets network access to 127.0.0.1 only and write access to its own temporary directory only.
 * Always `stop()` it (in a `finally`).
 *
 * @param options Port and readiness timeout.
 * @returns The running service.
 * @throws {Error} When Azurite exits or does not listen in time; the message carries its output.
 *
 * @example
 * ```ts
 * import { startAzurite } from "./azurite.ts";
 *
 * const azurite = await startAzurite();
 * try {
 *   console.log(azurite.connectionString);
 * } finally {
 *   await azurite.stop();
 * }
 * ```
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteQueue> {
  const workDir = await Deno.makeTempDir({ prefix: "hubproof-azurite-" });
  const started = performance.now();
  // `--no-config` keeps the project's deno.json and lock file out of Azurite's resolution.
  const child = spawnManaged(Deno.execPath(), {
    name: "Azurite",
    cwd: workDir,
    args: [
      "run",
      "--no-config",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-read",
      `--allow-write=${workDir}`,
      "--allow-env",
      "--allow-sys",
      AZURITE_SPECIFIER,
      "--queueHost",
      "127.0.0.1",
      "--queuePort",
      String(options.port ?? 0),
      "--inMemoryPersistence",
      "--skipApiVersionCheck",
      "--disableTelemetry",
      "--silent",
    ],
  });
  const cleanup = async () => {
    await child.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  };
  let port: number;
  try {
    const match = await child.waitFor(LISTENING, options.readyTimeoutMs ?? 120_000);
    port = Number(match[1]);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    connectionString: azuriteConnectionString(port),
    port,
    pid: child.pid,
    startMs: Math.round(performance.now() - started),
    stop: cleanup,
  };
}
