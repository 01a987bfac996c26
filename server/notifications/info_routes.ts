/**
 * `GET /alive`, `GET /now` (the current UTC time as a JSON string, like the real
 * `InfoController`) and `GET /metrics` (Prometheus text).
 *
 * @module
 */

import { type MetricFamily, renderPrometheus } from "./metrics.ts";

/**
 * The `/alive` and `/now` handler.
 *
 * @example
 * ```ts
 * import { infoResponse } from "./info_routes.ts";
 * const response = infoResponse(new Date(0));
 * console.assert((await response.json()) === "1970-01-01T00:00:00.000Z");
 * ```
 * @param now The current time.
 * @returns 200 with a JSON date string.
 */
export function infoResponse(now: Date): Response {
  return Response.json(now.toISOString());
}

/**
 * The `/metrics` handler.
 *
 * @param families Metric families to expose.
 * @returns 200 with the Prometheus text exposition format.
 */
export function metricsResponse(families: readonly MetricFamily[]): Response {
  return new Response(renderPrometheus(families), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}
