/**
 * Preflight: before any case runs, probe the parts of the target the run will use, so an
 * unreachable or mistyped target is one clear message (exit 2) instead of a wall of ERRORs.
 *
 * @module
 */

import { QueueClient } from "@azure/storage-queue";
import { PreflightError } from "./errors.ts";
import type { ResolvedTarget } from "./types.ts";
import { reachFetch } from "./driver/reach.ts";

/** Options of {@linkcode preflight}. */
export interface PreflightOptions {
  /** Time allowed per probe in milliseconds (default 5000). */
  readonly timeoutMs?: number;
  /** Cancels the probes. */
  readonly signal?: AbortSignal;
}

interface Probe {
  readonly what: string;
  readonly url: string;
  readonly method: "GET" | "POST";
  /** A 404 means the URL is wrong (hub, /send), not just an unknown path under a live service. */
  readonly notFoundIsFatal: boolean;
  readonly hint: string;
}

/**
 * Finds the queue service endpoint in an Azure Storage connection string.
 *
 * @param connectionString `QueueEndpoint=…`, `AccountName=…;EndpointSuffix=…`, or `UseDevelopmentStorage=true`.
 * @returns The endpoint URL without a trailing slash.
 * @throws {PreflightError} When no endpoint can be derived.
 *
 * @example
 * ```ts
 * import { queueEndpoint } from "./preflight.ts";
 * queueEndpoint("UseDevelopmentStorage=true"); // "http://127.0.0.1:10001/devstoreaccount1"
 * ```
 */
export function queueEndpoint(connectionString: string): string {
  const parts = new Map<string, string>();
  for (const part of connectionString.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) parts.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const explicit = parts.get("queueendpoint");
  if (explicit) return explicit.replace(/\/+$/, "");
  if (parts.get("usedevelopmentstorage")?.toLowerCase() === "true") {
    return "http://127.0.0.1:10001/devstoreaccount1";
  }
  const account = parts.get("accountname");
  if (account) {
    const protocol = parts.get("defaultendpointsprotocol") ?? "https";
    const suffix = parts.get("endpointsuffix") ?? "core.windows.net";
    return `${protocol}://${account}.queue.${suffix}`;
  }
  throw new PreflightError(
    "Invalid --queue-connection-string: no QueueEndpoint, AccountName or UseDevelopmentStorage in it",
  );
}

function probesFor(target: ResolvedTarget): Probe[] {
  const hubs = [target.hubUrl, ...target.extraHubUrls].map((url) => ({
    what: "hub",
    url: url.replace(/^ws/, "http"),
    method: "GET" as const,
    notFoundIsFatal: true,
    hint: "check --target or --hub-url",
  }));
  switch (target.inject) {
    case "send":
      return [...hubs, {
        what: "/send",
        url: target.sendUrl,
        method: "POST",
        notFoundIsFatal: true,
        hint: "the target has no /send (e.g. Vaultwarden): use --inject api, or check --send-url",
      }];
    case "queue":
      return [...hubs, {
        what: "queue",
        url: `${
          queueEndpoint(target.queueConnectionString ?? "")
        }/${target.queueName}?comp=metadata`,
        method: "GET",
        notFoundIsFatal: false,
        hint: "check --queue-connection-string",
      }];
    case "api":
      return [
        ...hubs,
        {
          what: "API",
          url: target.apiUrl,
          method: "GET",
          notFoundIsFatal: false,
          hint: "check --target or --api-url",
        },
        ...(target.actAsAuthorityPort === undefined
          ? [{
            what: "identity",
            url: target.identityUrl,
            method: "GET" as const,
            notFoundIsFatal: false,
            hint: "check --target or --identity-url",
          }]
          : []),
      ];
  }
}

async function runProbe(probe: Probe, options: PreflightOptions): Promise<string | undefined> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  try {
    const response = await reachFetch(probe.url, {
      method: probe.method,
      redirect: "manual",
      signal: AbortSignal.any(signals),
      ...(probe.method === "POST"
        ? { body: "", headers: { "content-type": "application/json" } }
        : {}),
    });
    await response.body?.cancel();
    if (response.status === 404 && probe.notFoundIsFatal) {
      return `Target ${probe.what} not found: ${probe.url} answered HTTP 404 (${probe.hint})`;
    }
    return undefined;
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : error instanceof Error
      ? error.message.split("\n")[0]
      : String(error);
    return `Target ${probe.what} unreachable: ${probe.url}: ${reason} (${probe.hint})`;
  }
}

/**
 * Checks that the queue of `--inject queue` exists, creating it with `--create-queue`. The suite
 * never creates it silently: a real Bitwarden never does either (its API only sends to the
 * queue and its Notifications service only reads it), so a missing one is a deployment fault.
 *
 * @param target The resolved target (inject queue).
 * @param options Probe timeout and cancel signal.
 * @throws {PreflightError} Naming the queue and how to create it, or why it cannot be read.
 */
export async function checkQueue(
  target: ResolvedTarget,
  options: PreflightOptions = {},
): Promise<void> {
  const name = target.queueName;
  const endpoint = queueEndpoint(target.queueConnectionString ?? "");
  const signals = [
    AbortSignal.timeout(options.timeoutMs ?? 5000),
    ...(options.signal ? [options.signal] : []),
  ];
  const client = new QueueClient(target.queueConnectionString ?? "", name);
  try {
    if (await client.exists({ abortSignal: AbortSignal.any(signals) })) return;
    if (target.createQueue) {
      await client.create({ abortSignal: AbortSignal.any(signals) });
      return;
    }
  } catch (error) {
    throw new PreflightError(
      `Target queue ${name} on ${endpoint} cannot be checked: ${
        (error as Error).message.split("\n")[0]
      } (check --queue-connection-string and --queue-name)`,
    );
  }
  throw new PreflightError(
    `Target queue ${name} does not exist on ${endpoint} (--queue-name): create it as the deployment's setup does (e.g. az storage queue create --name ${name} --connection-string …), or run with --create-queue`,
  );
}

/**
 * Probes the hub(s) and, by inject mode, `/send`, the API and identity, or the queue (which must
 * exist, see {@linkcode checkQueue}). Any HTTP answer counts as reachable, except a 404 from a
 * hub or `/send` (a wrong URL).
 *
 * @param target The resolved target.
 * @param options Probe timeout and cancel signal.
 * @throws {PreflightError} With every problem found, separated by `; `.
 */
export async function preflight(
  target: ResolvedTarget,
  options: PreflightOptions = {},
): Promise<void> {
  const problems = (await Promise.all(probesFor(target).map((p) => runProbe(p, options))))
    .filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new PreflightError(problems.join("; "));
  if (target.inject === "queue") await checkQueue(target, options);
}
