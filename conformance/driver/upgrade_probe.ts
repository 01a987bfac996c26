/**
 * Sends a bare WebSocket upgrade request over TCP (or TLS) and reads the status line, so a case
 * can tell "refused with 401" from "upgraded, then closed" — a browser-style WebSocket hides the
 * HTTP status of a refused upgrade.
 *
 * @module
 */

import { reachFor, reachTls } from "./reach.ts";

/** Result of {@linkcode probeUpgrade}. */
export interface UpgradeProbeResult {
  /** HTTP status of the answer. */
  readonly status: number;
  /** Response headers (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Options of {@linkcode probeUpgrade}. */
export interface UpgradeProbeOptions {
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Longest wait in milliseconds (default 10000). */
  readonly timeoutMs?: number;
}

/**
 * Requests a WebSocket upgrade of `url` and returns the status line and headers of the answer,
 * then closes the connection without speaking WebSocket.
 *
 * @param url The hub URL (`http`, `https`, `ws` or `wss`).
 * @param options Extra headers and a timeout.
 * @returns The answer's status and headers.
 * @throws {Error} When the server cannot be reached or the answer is not HTTP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeUpgrade } from "./upgrade_probe.ts";
 * import { serveNotifications } from "../../server/notifications/mod.ts";
 * // Any hub will do; here the reference service, which refuses an upgrade without a token.
 * const served = await serveNotifications({
 *   selfHosted: true,
 *   installationId: null,
 *   auth: { jwks: { keys: [] }, issuer: "http://127.0.0.1:8080/identity" },
 *   log: () => {},
 * });
 * try {
 *   const { status } = await probeUpgrade(`${served.url}/hub`);
 *   assert.equal(status, 401);
 * } finally {
 *   await served.close();
 * }
 * ```
 */
export async function probeUpgrade(
  url: string,
  options: UpgradeProbeOptions = {},
): Promise<UpgradeProbeResult> {
  const target = new URL(url.replace(/^ws/, "http"));
  const tls = target.protocol === "https:";
  const port = Number(target.port || (tls ? 443 : 80));
  const hostname = target.hostname.replace(/^\[|\]$/g, "");
  const conn = tls
    ? await Deno.connectTls({ hostname, port, ...reachTls(target) })
    : await Deno.connect({ hostname, port });
  const timer = setTimeout(() => conn.close(), options.timeoutMs ?? 10_000);
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET ${target.pathname}${target.search} HTTP/1.1`,
      `Host: ${target.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries({ ...reachFor(target)?.headers, ...options.headers }).map((
        [name, value],
      ) => `${name}: ${value}`),
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const decoder = new TextDecoder();
    let text = "";
    const buffer = new Uint8Array(4096);
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
      if (text.length > 65536) break;
    }
    const [statusLine = "", ...headerLines] = text.split("\r\n\r\n")[0]!.split("\r\n");
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) {
      throw new Error(`Upgrade answer is not HTTP: ${JSON.stringify(statusLine.slice(0, 80))}`);
    }
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
    return { status: Number(match[1]), headers };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timeout already.
    }
  }
}
