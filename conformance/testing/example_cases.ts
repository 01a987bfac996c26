/**
 * Example cases for the runner's self-tests. They talk HTTP to a real target (see
 * `example_target.ts`) and between them reach every verdict: PASS, FAIL (MUST), NON-STRICT
 * (SHOULD), INFORMATIONAL and UNSUPPORTED (MAY probe), UNSUPPORTED (unmet needs), ERROR (a
 * malformed answer, a case that hangs), and FAIL through the timeout path.
 *
 * @module
 */

import { type CaseContext, type CaseDefinition, CaseFailure, CaseUnsupported } from "../types.ts";

async function request(
  ctx: CaseContext,
  method: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const path = new URL(url).pathname;
  ctx.trace.record({
    from: "harness",
    to: "hub",
    kind: "frame",
    summary: `${method} ${path}`,
    data: { headers },
  });
  const response = await fetch(url, { method, headers, signal: ctx.signal });
  ctx.trace.record({
    from: "hub",
    to: "harness",
    kind: "frame",
    summary: `HTTP ${response.status}`,
  });
  return response;
}

function base(ctx: CaseContext): string {
  if (ctx.target.baseUrl === undefined) throw new Error("Example cases need --target");
  return ctx.target.baseUrl;
}

/** `example/hub/requires-token` (MUST): PASS, or FAIL with the `open-hub` fault. */
export const requiresToken: CaseDefinition = {
  id: "example/hub/requires-token",
  level: "MUST",
  requirement: "The hub MUST answer 401 to a request without an access token",
  source:
    'bitwarden/server src/Notifications/NotificationsHub.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd ([Authorize("Application")])',
  needs: [],
  async run(ctx) {
    const response = await request(ctx, "GET", ctx.target.hubUrl);
    await response.body?.cancel();
    if (response.status !== 401) throw new CaseFailure("HTTP 401", `HTTP ${response.status}`);
  },
};

/** `example/send/requires-internal-token` (SHOULD): PASS, or NON-STRICT with `open-send`. */
export const sendRequiresToken: CaseDefinition = {
  id: "example/send/requires-internal-token",
  level: "SHOULD",
  requirement: "POST /send SHOULD answer 401 without an internal token",
  needs: [],
  async run(ctx) {
    const response = await request(ctx, "POST", ctx.target.sendUrl, {
      "content-type": "application/json",
    });
    await response.body?.cancel();
    if (response.status !== 401) {
      ctx.log(`POST /send answered ${response.status}`);
      throw new CaseFailure("HTTP 401", `HTTP ${response.status}`);
    }
  },
};

/** `example/hub/negotiate` (MAY): INFORMATIONAL when offered, UNSUPPORTED with `no-negotiate`. */
export const negotiateProbe: CaseDefinition = {
  id: "example/hub/negotiate",
  level: "MAY",
  requirement: "The hub MAY offer POST /negotiate",
  needs: [],
  async run(ctx) {
    const response = await request(
      ctx,
      "POST",
      `${ctx.target.hubUrl}/negotiate?negotiateVersion=1`,
    );
    if (response.status === 404) {
      await response.body?.cancel();
      throw new CaseUnsupported("POST /negotiate answered 404");
    }
    const body = await response.json() as { availableTransports?: { transport: string }[] };
    const transports = (body.availableTransports ?? []).map((t) => t.transport).join(", ");
    return { verdict: "INFORMATIONAL", detail: `Negotiate offers: ${transports}` };
  },
};

/** `example/api/alive-json` (MUST): PASS, or ERROR (a JSON parse error) with `html-alive`. */
export const aliveJson: CaseDefinition = {
  id: "example/api/alive-json",
  level: "MUST",
  requirement: "GET /api/alive MUST answer a JSON date",
  needs: [],
  async run(ctx) {
    const response = await request(ctx, "GET", `${ctx.target.apiUrl}/alive`);
    const text = await response.text();
    ctx.trace.record({
      from: "api",
      to: "harness",
      kind: "receive",
      summary: `Body ${text}`,
      data: text,
    });
    // A non-JSON body throws SyntaxError here: graded ERROR, the target broke the harness's assumptions.
    const value: unknown = JSON.parse(text);
    if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
      throw new CaseFailure("a JSON date string", JSON.stringify(value));
    }
  },
};

/** `example/queue/accepts-raw` (MUST): needs `inject:queue`, so UNSUPPORTED in other modes. */
export const needsQueue: CaseDefinition = {
  id: "example/queue/accepts-raw",
  level: "MUST",
  requirement: "The consumer MUST accept raw JSON queue messages",
  needs: ["inject:queue"],
  run() {
    return Promise.reject(new Error("Must not run without inject:queue"));
  },
};

/** `example/slow/answers` (MUST): waits on `/slow`; on timeout reports CaseFailure, graded FAIL. */
export const slowAnswer: CaseDefinition = {
  id: "example/slow/answers",
  level: "MUST",
  requirement: "The target MUST answer GET /slow within the case timeout",
  needs: [],
  async run(ctx) {
    try {
      const response = await request(ctx, "GET", `${base(ctx)}/slow`);
      await response.text();
    } catch (error) {
      if (ctx.signal.aborted) {
        throw new CaseFailure("an answer to GET /slow", `no answer within ${ctx.timeoutMs} ms`);
      }
      throw error;
    }
  },
};

/** `example/harness/hang` (MUST): a driver bug that never settles; abandoned and graded ERROR. */
export const hangs: CaseDefinition = {
  id: "example/harness/hang",
  level: "MUST",
  requirement: "The harness MUST finish every case (this one never does)",
  needs: [],
  run(ctx) {
    ctx.trace.record({
      from: "harness",
      to: "harness",
      kind: "note",
      summary: "Waiting for a callback that never comes",
    });
    return new Promise(() => {});
  },
};

/**
 * Every example case, in catalogue order.
 *
 * @returns The example cases.
 */
export function exampleCases(): CaseDefinition[] {
  return [
    requiresToken,
    sendRequiresToken,
    negotiateProbe,
    aliveJson,
    needsQueue,
    slowAnswer,
    hangs,
  ];
}
