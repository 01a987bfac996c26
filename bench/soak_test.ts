import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  expectedDeliveries,
  isRecipient,
  pushBody,
  pushTarget,
  seqOfCipherId,
  soakOrganizationId,
  type SoakPlan,
  soakUserId,
} from "./_soak_plan.ts";
import { openFilesSpreadBound, parseSoakArgs, type SoakSample, soakVerdict } from "./soak.ts";

Deno.test("soak plan: the closed-form count equals counting push by push", () => {
  const plans: SoakPlan[] = [
    { connections: 10, organizations: 3, devicesPerUser: 2 },
    { connections: 7, organizations: 7, devicesPerUser: 1 },
    { connections: 101, organizations: 100, devicesPerUser: 2 },
  ];
  for (const plan of plans) {
    for (let connection = 0; connection < plan.connections; connection++) {
      let counted = 0;
      for (let sent = 0; sent <= 450; sent++) {
        strictEqual(
          expectedDeliveries(connection, sent, plan),
          counted,
          `connection ${connection} after ${sent} pushes of ${JSON.stringify(plan)}`,
        );
        if (isRecipient(sent, connection, plan)) counted++;
      }
    }
  }
});

Deno.test("soak plan: half the pushes to an organization, half to a user, ids carry the number", () => {
  const plan: SoakPlan = { connections: 10_000, organizations: 100, devicesPerUser: 2 };
  const org = JSON.parse(pushBody(200, plan, Date.UTC(2026, 11, 4)));
  deepStrictEqual(org.type, 0);
  deepStrictEqual(org.payload.organizationId, soakOrganizationId(pushTarget(200, plan).index));
  strictEqual(seqOfCipherId(org.payload.id), 200);
  strictEqual(org.payload.revisionDate, "2026-12-04T00:00:00.000Z");
  const user = JSON.parse(pushBody(201, plan, 0));
  deepStrictEqual([user.type, user.payload.userId, user.payload.organizationId], [
    1,
    soakUserId(100),
    null,
  ]);
  // User 100 has two devices: connections 200 and 201.
  deepStrictEqual([199, 200, 201, 202].map((c) => isRecipient(201, c, plan)), [
    false,
    true,
    true,
    false,
  ]);
  strictEqual(seqOfCipherId("c0000000-0000-4000-8000-00000000000g"), undefined);
  strictEqual(seqOfCipherId(42), undefined);
});

Deno.test("parseSoakArgs: errors name the flag", () => {
  for (
    const [args, message] of [
      [["--connections", "0"], /Invalid --connections: expected an integer 1..15000, got 0/],
      [["--minutes", "1"], /Invalid --minutes: expected an integer 2..120, got 1/],
      [["--push-rate", "2.5"], /Invalid --push-rate: .*got 2\.5/],
      [["--ping-interval"], /Invalid --ping-interval: expected a value, got nothing/],
      [["--ping-interval", "30"], /Invalid --ping-interval: expected an integer 1..25/],
      [["--conections", "5"], /Unknown flag --conections: expected one of --connections/],
    ] as const
  ) {
    throws(() => parseSoakArgs(args), message);
  }
  deepStrictEqual(parseSoakArgs([]), {
    connections: 10_000,
    minutes: 30,
    pushRate: 20,
    pingIntervalSeconds: 15,
  });
});

function samples(minutes: number, shape: (minute: number) => Partial<SoakSample>): SoakSample[] {
  return Array.from({ length: minutes + 1 }, (_, minute) => ({
    minute,
    rssMiB: 300,
    openFiles: minute === 0 ? 10_020 : 10_060,
    serverConnections: 10_000,
    clientConnections: 10_000,
    pushesSent: minute * 1200,
    expected: minute * 60_000,
    delivered: minute * 60_000,
    missing: 0,
    duplicate: 0,
    misrouted: 0,
    latencyP50Ms: 3,
    latencyP99Ms: 20,
    aliveMs: 1,
    clientLagMs: 10,
    ...shape(minute),
  }));
}

const CLEAN = { connections: 10_000, failedToOpen: 0, lost: 0, sendFailures: 0 };

Deno.test("soakVerdict: the last 20 minutes of pushes, RSS slope and open-file spread", () => {
  const steady = soakVerdict(samples(30, (m) => ({ rssMiB: 300 + (m % 3) * 4 })), CLEAN);
  deepStrictEqual([steady.flat, steady.complete, steady.window, steady.problems], [
    true,
    true,
    [11, 30],
    [],
  ]);
  // An early climb (warm-up) outside the window does not count.
  strictEqual(
    soakVerdict(samples(30, (m) => ({ rssMiB: m < 10 ? 100 + 20 * m : 300 })), CLEAN).flat,
    true,
  );
  const leak = soakVerdict(samples(30, (m) => ({ rssMiB: 300 + 1.5 * m })), CLEAN);
  deepStrictEqual([leak.flat, leak.rssSlopeMiBPerMinute.toFixed(2)], [false, "1.50"]);
  const fds = soakVerdict(samples(30, (m) => ({ openFiles: 10_040 + m })), CLEAN);
  strictEqual(openFilesSpreadBound(10_000), 26);
  deepStrictEqual([fds.flat, fds.openFilesSpread], [true, 19], "within the bound");
  const climbing = soakVerdict(samples(30, (m) => ({ openFiles: 10_040 + 2 * m })), CLEAN);
  deepStrictEqual([climbing.flat, climbing.problems], [false, [
    "Open files vary by 38 (bound 26)",
  ]]);
  const short = soakVerdict(samples(3, () => ({})), CLEAN);
  deepStrictEqual(short.window, [2, 3]);
  throws(() => soakVerdict(samples(1, () => ({})), CLEAN), RangeError);
});

Deno.test("soakVerdict: a lost delivery, a duplicate or a lost socket fails the run", () => {
  const missing = soakVerdict(samples(5, (m) => ({ missing: m === 5 ? 3 : 0 })), CLEAN);
  deepStrictEqual([missing.flat, missing.complete, missing.problems], [true, false, [
    "3 deliveries missing",
  ]]);
  const dup = soakVerdict(samples(5, (m) => ({ duplicate: m === 5 ? 1 : 0 })), CLEAN);
  strictEqual(dup.complete, false);
  const lost = soakVerdict(samples(5, () => ({ openFiles: 9_999 })), { ...CLEAN, lost: 2 });
  deepStrictEqual([lost.flat, lost.complete, lost.problems], [true, false, ["2 connections lost"]]);
  const gone = soakVerdict(samples(5, () => ({ openFiles: 9_000 })), CLEAN);
  deepStrictEqual(gone.problems, ["Fewer open files (9000) than connections held (10000)"]);
});
