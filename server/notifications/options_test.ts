import assert from "node:assert/strict";
import { defaultDeliveryRules } from "./delivery_rules.ts";
import { resolveNotificationsOptions } from "./options.ts";

const BASE = { selfHosted: true, installationId: null, auth: {} } as const;

Deno.test("resolveNotificationsOptions fills every default in one place", () => {
  const resolved = resolveNotificationsOptions(BASE);
  assert.deepEqual(resolved.timers, {
    keepAliveMs: 15_000,
    clientTimeoutMs: 30_000,
    handshakeTimeoutMs: 15_000,
    heartbeatMs: 120_000,
    negotiateTimeoutMs: 15_000,
    longPollTimeoutMs: 90_000,
    closeTimeoutMs: 5_000,
  });
  assert.equal(resolved.maxMessageSize, 32_768);
  assert.equal(resolved.sendBufferLimit, 1_048_576);
  assert.equal(resolved.maxSendBodyBytes, 1_048_576);
  assert.equal(resolved.rules, defaultDeliveryRules);
  assert.deepEqual(resolved.corsOrigins, ["file://", "bw-desktop-file://bundle"]);
  assert.deepEqual(resolveNotificationsOptions({ ...BASE, selfHosted: false }).corsOrigins, [
    "file://",
    "bw-desktop-file://bundle",
    "https://bitwarden.com",
  ]);
});

Deno.test("resolveNotificationsOptions names the option in the toolkit's format", () => {
  const cases: [Parameters<typeof resolveNotificationsOptions>[0], string][] = [
    [
      { ...BASE, timers: { keepAliveMs: -1 } },
      "Invalid option timers.keepAliveMs: expected a non-negative number, got -1",
    ],
    [
      { ...BASE, timers: { closeTimeoutMs: Number.NaN } },
      "Invalid option timers.closeTimeoutMs: expected a non-negative number, got NaN",
    ],
    [
      { ...BASE, maxSendBodyBytes: -5 },
      "Invalid option maxSendBodyBytes: expected a non-negative number, got -5",
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => resolveNotificationsOptions(options), new RangeError(message));
  }
});

Deno.test("a log sink that throws loses the line, not the caller", () => {
  const resolved = resolveNotificationsOptions({
    ...BASE,
    log: () => {
      throw new Error("sink down");
    },
  });
  resolved.log("error", "still fine");
});
