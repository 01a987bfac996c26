/**
 * How the suite reaches a target, in one place: the `--header` values every HTTP request and
 * WebSocket upgrade carries (access proxies such as Cloudflare Access), and the private CA of
 * `--ca-cert` every TLS connection trusts besides the system's roots.
 *
 * A run registers its target's reach by origin ({@linkcode registerReach}); drivers look it up
 * by the URL they open ({@linkcode reachFor}), so every request to the deployment gets it and
 * no request elsewhere does, without threading the target through each call.
 *
 * @module
 */

import type { ResolvedTarget } from "../types.ts";

/** What a request to one origin of the target needs. */
export interface Reach {
  /** Headers to add (lowercase names). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extra trusted PEM certificates. */
  readonly caCerts?: readonly string[];
  /** HTTP client trusting `caCerts` (for fetch and WebSocket). */
  readonly client?: Deno.HttpClient;
}

const REACHES = new Map<string, Reach[]>();

function originOf(url: string | URL): string {
  const parsed = new URL(String(url).replace(/^ws(s?):/, "http$1:"));
  return parsed.origin;
}

function targetUrls(target: ResolvedTarget): string[] {
  return [
    target.hubUrl,
    ...target.extraHubUrls,
    target.anonymousHubUrl,
    target.sendUrl,
    target.apiUrl,
    target.identityUrl,
  ];
}

/**
 * Registers the reach of a run's target for each of its origins.
 *
 * @param target The resolved target.
 * @returns A function that removes it again (and closes its HTTP client).
 *
 * @example
 * ```ts
 * import { reachFor, registerReach } from "./reach.ts";
 * import { resolveTarget } from "../target.ts";
 * const release = registerReach(resolveTarget({ target: "http://127.0.0.1:9", header: ["X-A: 1"] }));
 * console.assert(reachFor("ws://127.0.0.1:9/notifications/hub")?.headers["x-a"] === "1");
 * release();
 * console.assert(reachFor("http://127.0.0.1:9/api") === undefined);
 * ```
 */
export function registerReach(target: ResolvedTarget): () => void {
  const headers = target.headers ?? {};
  const caCerts = target.caCertificates;
  if (Object.keys(headers).length === 0 && caCerts === undefined) return () => {};
  const reach: Reach = {
    headers,
    ...(caCerts === undefined ? {} : {
      caCerts,
      client: Deno.createHttpClient({ caCerts: [...caCerts] }),
    }),
  };
  const origins = [...new Set(targetUrls(target).map(originOf))];
  for (const origin of origins) REACHES.set(origin, [...(REACHES.get(origin) ?? []), reach]);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const origin of origins) {
      const left = (REACHES.get(origin) ?? []).filter((r) => r !== reach);
      if (left.length > 0) REACHES.set(origin, left);
      else REACHES.delete(origin);
    }
    reach.client?.close();
  };
}

/**
 * The reach registered for a URL's origin (the latest run's, when runs share one).
 *
 * @param url An http, https, ws or wss URL.
 * @returns The reach, or undefined for a URL of no registered target.
 */
export function reachFor(url: string | URL): Reach | undefined {
  return REACHES.get(originOf(url))?.at(-1);
}

/**
 * `fetch` with the target's reach: its headers under the request's own (a request's header of
 * the same name wins), and its CA.
 *
 * @param url The URL.
 * @param init Request options.
 * @returns The response.
 */
export function reachFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const reach = reachFor(url);
  if (!reach) return fetch(url, init);
  const headers = new Headers(reach.headers as Record<string, string>);
  new Headers(init.headers).forEach((value, name) => headers.set(name, value));
  return fetch(url, { ...init, headers, ...(reach.client ? { client: reach.client } : {}) });
}

/**
 * Opens a WebSocket with the target's reach (headers on the upgrade, its CA).
 *
 * @param url The ws or wss URL.
 * @param headers The connection's own upgrade headers.
 * @returns The socket.
 */
export function reachWebSocket(url: string, headers: Record<string, string> = {}): WebSocket {
  const reach = reachFor(url);
  const all = { ...(reach?.headers ?? {}), ...headers };
  // Deno's WebSocket takes non-standard `{ headers, client }` options in place of protocols.
  const options = { headers: all, ...(reach?.client ? { client: reach.client } : {}) };
  return new WebSocket(url, options as unknown as string[]);
}

/**
 * TLS options for a raw connection to the target (the upgrade probe speaks HTTP itself).
 *
 * @param url The URL.
 * @returns `caCerts` to pass to `Deno.connectTls`, if any.
 */
export function reachTls(url: string | URL): { caCerts?: string[] } {
  const caCerts = reachFor(url)?.caCerts;
  return caCerts === undefined ? {} : { caCerts: [...caCerts] };
}
