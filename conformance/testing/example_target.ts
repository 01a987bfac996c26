/**
 * A small HTTP target for the runner's self-tests: it answers on the self-hosted URL layout
 * (`/notifications/hub`, `/notifications/send`, `/api/alive`) and can be broken in named ways, so
 * the example cases reach every verdict against a real server.
 *
 * @module
 */

/** One deliberate defect of the example target. */
export type ExampleFault =
  /** The hub accepts requests without a token (200 instead of 401). */
  | "open-hub"
  /** `/send` accepts requests without a token. */
  | "open-send"
  /** `/api/alive` answers HTML instead of JSON. */
  | "html-alive"
  /** `POST /notifications/hub/negotiate` is missing (404). */
  | "no-negotiate";

/** A running example target. */
export interface ExampleTarget {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Requests received, as `METHOD /path`. */
  readonly requests: readonly string[];
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts the example target on 127.0.0.1 and a free port.
 *
 * @param options Faults to inject.
 * @returns The running target.
 */
export function startExampleTarget(
  options: { readonly faults?: readonly ExampleFault[] } = {},
): Promise<ExampleTarget> {
  const faults = new Set(options.faults ?? []);
  const requests: string[] = [];
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: (addr) =>
        resolve({
          url: `http://127.0.0.1:${addr.port}`,
          requests,
          close: () => server.shutdown(),
        }),
    }, async (request) => {
      const path = new URL(request.url).pathname;
      requests.push(`${request.method} ${path}`);
      const authorized = request.headers.get("authorization") === "Bearer good";
      switch (path) {
        case "/notifications/hub":
          return faults.has("open-hub") || authorized
            ? new Response("Connection ID required", { status: 400 })
            : Response.json({ message: "Unauthorized" }, { status: 401 });
        case "/notifications/hub/negotiate":
          return faults.has("no-negotiate")
            ? Response.json({ message: "Not found" }, { status: 404 })
            : Response.json({
              negotiateVersion: 1,
              connectionId: "c1",
              connectionToken: "t1",
              availableTransports: [{
                transport: "WebSockets",
                transferFormats: ["Text", "Binary"],
              }],
            });
        case "/notifications/send":
          if (request.method !== "POST") {
            return Response.json({ message: "Method not allowed" }, { status: 405 });
          }
          await request.body?.cancel();
          return faults.has("open-send") || authorized
            ? new Response(null, { status: 200 })
            : Response.json({ message: "Unauthorized" }, { status: 401 });
        case "/api/alive":
          return faults.has("html-alive")
            ? new Response("<html><script>alert('x')</script></html>", {
              headers: { "content-type": "text/html" },
            })
            : Response.json(new Date(0).toISOString());
        case "/slow":
          // Headers now, a body never: the client waits until it gives up (the case's timeout path).
          return new Response(new ReadableStream({ pull: () => new Promise<void>(() => {}) }));
        default:
          return Response.json({ message: `Not found: ${path}` }, { status: 404 });
      }
    });
  });
}
