/**
 * Private test helpers of the server tests: start a deployment on a free port, log fixture
 * users in as real clients do, and watch hubs with the tests' one hub client (`testing/`).
 *
 * @module
 */

import { MessageType } from "../protocol/signalr/mod.ts";
import { RawHubClient } from "../testing/mod.ts";
import { parseServeConfig } from "./config.ts";
import { type RunningServe, startServe, type StartServeOptions } from "./serve.ts";

// The tests' one password-grant helper lives in testing/ (shared with the suite's self-tests).
export { passwordForm, passwordLogin as login, tokenRequest } from "../testing/mod.ts";

/** Fixture accounts (see fixtures/seed.json). */
export const ALICE = {
  id: "a11ce000-0000-4000-8000-000000000001",
  email: "alice@example.com",
  hash: "4Aa46Fc7qpSyhQZ1PBBTSDpBMGrkvVsIOK5CG+1yzBE=",
  web: "a11ce000-0000-4000-8000-0000000000a1",
  extension: "a11ce000-0000-4000-8000-0000000000a2",
  desktop: "a11ce000-0000-4000-8000-0000000000a3",
} as const;
/** Bob. */
export const BOB = {
  id: "b0b00000-0000-4000-8000-000000000002",
  email: "bob@example.com",
  hash: "P9aDgNMuJprmlar7TSpuR6ANwpc2O64PpDVUBwDP7Gw=",
  web: "b0b00000-0000-4000-8000-0000000000b1",
  desktop: "b0b00000-0000-4000-8000-0000000000b2",
} as const;
/** Carol. */
export const CAROL = {
  id: "ca201000-0000-4000-8000-000000000003",
  email: "carol@example.com",
  hash: "yLqJVAm0CHiJXlXzpzrQj5gvd7w9lHIrbLOl1M9xgjE=",
  cli: "ca201000-0000-4000-8000-0000000000c1",
} as const;
/** Acme (alice owner, bob user). */
export const ACME = "0acbe000-0000-4000-8000-00000000000a";
/** Acme's collection. */
export const ACME_COLLECTION = "0acbe000-0000-4000-8000-0000000c0001";
/** Globex (bob owner, carol admin, alice custom). */
export const GLOBEX = "610be000-0000-4000-8000-00000000000b";
/** A valid EncString. */
export const ENC = "2.AA==|AA==|AA==";

/**
 * Starts a deployment on a free port with fast timers.
 *
 * @param args Extra serve flags.
 * @param options Start options.
 * @returns The running deployment.
 */
export function startTestServe(
  args: string[] = [],
  options: StartServeOptions = {},
): Promise<RunningServe> {
  const config = parseServeConfig(["--port", "0", "--internal-key", "test-internal-key", ...args]);
  return startServe(config, {
    log: () => {},
    secretIterations: 1000,
    backoff: { minMs: 20, maxMs: 200 },
    queueIdleWait: { minMs: 20, maxMs: 100 },
    ...options,
  });
}

/**
 * Calls the API.
 *
 * @param base Base URL.
 * @param method Method.
 * @param path Path under `/api`.
 * @param options Token, JSON body, headers.
 * @returns Status, JSON body (or null) and headers.
 */
export async function api(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json; charset=utf-8";
  const response = await fetch(`${base}/api${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === "" ? null : JSON.parse(text),
    headers: response.headers,
  };
}

/** A hub connection recording what it receives. */
export interface Watcher {
  /** Label for messages. */
  readonly name: string;
  /** Received `[method, message]` pairs, in arrival order. */
  readonly received: readonly { method: string; message: Record<string, unknown> }[];
  /** Stops the connection. */
  stop(): Promise<void>;
}

/** The client methods a watcher records. */
const WATCHED = new Set(["ReceiveMessage", "AuthRequestResponseRecieved"]);

/**
 * Connects to `/hub` (token) or `/anonymous-hub` (auth request id) with the tests' one hub
 * client, MessagePack timestamps decoded to `Date` as the official client does.
 *
 * @param base Base URL.
 * @param name Label.
 * @param auth `{ token }` or `{ anonymous }`.
 * @param protocol Hub protocol.
 * @returns The watcher.
 */
export async function watch(
  base: string,
  name: string,
  auth: { token: string } | { anonymous: string },
  protocol: "messagepack" | "json" = "messagepack",
): Promise<Watcher> {
  const client = await RawHubClient.open(`${base}/notifications`, {
    ...("token" in auth ? { path: "/hub", token: auth.token } : {
      path: "/anonymous-hub",
      query: new URLSearchParams({ Token: auth.anonymous }).toString(),
    }),
    timestamps: "date",
  });
  const answer = await client.handshake(protocol);
  if (answer.error) {
    await client.close();
    throw new Error(`${name}: handshake refused: ${answer.error}`);
  }
  return {
    name,
    get received() {
      return client.messages.flatMap((m) =>
        m.type === MessageType.Invocation && WATCHED.has(m.target)
          ? [{ method: m.target, message: m.arguments[0] as Record<string, unknown> }]
          : []
      );
    },
    stop: () => client.close(),
  };
}

/**
 * Normalizes a received message for comparison (MessagePack dates become ISO strings).
 *
 * @param message The message.
 * @returns A plain JSON value.
 */
export function plain(message: unknown): unknown {
  return JSON.parse(JSON.stringify(message, (_k, v) => (v instanceof Date ? v.toISOString() : v)));
}

/**
 * The `Payload.Id` of every message the watchers received, in arrival order (duplicates kept):
 * what the burst tests count deliveries, losses and duplicates from.
 *
 * @param watchers The watchers.
 * @returns The ids.
 */
export function receivedIds(...watchers: Watcher[]): string[] {
  return watchers.flatMap((w) =>
    w.received.map((r) => (plain(r.message) as { Payload: { Id: string } }).Payload.Id)
  );
}
