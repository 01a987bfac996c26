/**
 * Property tests over generated envelopes of every push type and over arbitrary input.
 * Run counts are set per property (see `numRuns`).
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import fc from "fast-check";
import { ProtocolError } from "../errors.ts";
import { groupsForConnection } from "./connection_groups.ts";
import { parseQueueMessage, parseSendBody } from "./envelope_parse.ts";
import { writeQueueMessage, writeSendBody } from "./envelope_write.ts";
import { toHubJsonArgument, toHubMessagePackArgument } from "./hub_argument.ts";
import { modelsForPushType } from "./payloads.ts";
import { PUSH_TYPES } from "./push_type.ts";
import { QUEUE_LITERALS, SEND_LITERALS } from "./reference_literals.ts";
import { routeEnvelope } from "./routing.ts";
import { envelopeArbitrary, envelopeArbitraryFor, guidArbitrary } from "./_testing.ts";
import type { Envelope } from "./types.ts";

const ROUND_TRIP_RUNS_PER_TYPE = 100;
const FUZZ_RUNS = 2000;

function hasNull(value: unknown): boolean {
  if (value === null) return true;
  return typeof value === "object" && Object.values(value as object).some(hasNull);
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

Deno.test("write -> parse round trips for every push type", async (t) => {
  for (const type of PUSH_TYPES) {
    await t.step(`type ${type} (${ROUND_TRIP_RUNS_PER_TYPE} runs)`, () => {
      fc.assert(
        fc.property(envelopeArbitraryFor(type), (envelope) => {
          const queue = writeQueueMessage(envelope);
          deepStrictEqual(parseQueueMessage(queue), envelope);
          deepStrictEqual(parseQueueMessage(base64(queue)), envelope);
          const send = writeSendBody(envelope);
          deepStrictEqual(parseSendBody(send), envelope);
          // Writing is a fixed point.
          strictEqual(writeQueueMessage(parseQueueMessage(queue)), queue);
          strictEqual(writeSendBody(parseSendBody(send)), send);
          // The queue form omits nulls; /send has every declared field.
          strictEqual(hasNull(JSON.parse(queue)), false);
          const declared = modelsForPushType(type)!.declared.fields.map((f) => f.camelName);
          deepStrictEqual(Object.keys(JSON.parse(send).payload), declared);
        }),
        { numRuns: ROUND_TRIP_RUNS_PER_TYPE },
      );
    });
  }
});

Deno.test("hub projections are stable across transports and re-projection (1000 runs)", () => {
  fc.assert(
    fc.property(envelopeArbitrary, (envelope) => {
      const json = toHubJsonArgument(envelope);
      const msgpack = encode(toHubMessagePackArgument(envelope));
      for (
        const copy of [
          parseQueueMessage(writeQueueMessage(envelope)),
          parseSendBody(writeSendBody(envelope)),
        ]
      ) {
        deepStrictEqual(toHubJsonArgument(copy), json);
        deepStrictEqual(encode(toHubMessagePackArgument(copy)), msgpack);
        deepStrictEqual(routeEnvelope(copy), routeEnvelope(envelope));
      }
      // The JSON argument, read back as a camelCase body, projects to itself.
      const again = parseSendBody(JSON.stringify(json));
      deepStrictEqual(toHubJsonArgument(again), json);
      deepStrictEqual(encode(toHubMessagePackArgument(again)), msgpack);
      // Both hub forms carry exactly the re-sent model's fields, in order.
      const resent = modelsForPushType(envelope.type)!.resent.fields;
      deepStrictEqual(Object.keys(json.payload as object), resent.map((f) => f.camelName));
      deepStrictEqual(
        Object.keys(toHubMessagePackArgument(envelope).Payload as object),
        resent.map((f) => f.name),
      );
    }),
    { numRuns: 1000 },
  );
});

function onlyProtocolErrors(parse: (text: string) => Envelope, text: string): void {
  let envelope: Envelope;
  try {
    envelope = parse(text);
  } catch (error) {
    if (error instanceof ProtocolError) return;
    throw error;
  }
  // Whatever parses must route and, for a defined type, project and write without error.
  routeEnvelope(envelope);
  if (modelsForPushType(envelope.type) !== undefined) {
    toHubJsonArgument(envelope);
    encode(toHubMessagePackArgument(envelope));
  }
}

const LITERAL_OBJECTS = [...QUEUE_LITERALS, ...SEND_LITERALS].map((l) =>
  JSON.parse(l.text) as Record<string, unknown>
);

/** A valid literal with one key of the envelope or payload replaced by arbitrary JSON. */
const mutatedLiteral = fc.tuple(
  fc.constantFrom(...LITERAL_OBJECTS),
  fc.nat(),
  fc.jsonValue(),
  fc.boolean(),
).map(([literal, index, value, inPayload]) => {
  const copy = structuredClone(literal);
  const payloadKey = Object.keys(copy).find((k) => k.toLowerCase() === "payload")!;
  const target = inPayload ? copy[payloadKey] as Record<string, unknown> : copy;
  const keys = Object.keys(target);
  target[keys[index % keys.length]!] = value;
  return JSON.stringify(copy);
});

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({
    Type: fc.oneof(fc.integer({ min: -5, max: 300 }), fc.jsonValue()),
    Payload: fc.jsonValue(),
    ContextId: fc.jsonValue(),
  }, { requiredKeys: [] })
    .map((v) => JSON.stringify(v)),
  mutatedLiteral,
  mutatedLiteral.map(base64),
);

Deno.test(`arbitrary text into the parsers only ever throws ProtocolError (${FUZZ_RUNS} runs each)`, async (t) => {
  await t.step("parseQueueMessage", () => {
    fc.assert(fc.property(anyText, (text) => onlyProtocolErrors(parseQueueMessage, text)), {
      numRuns: FUZZ_RUNS,
    });
  });
  await t.step("parseSendBody", () => {
    fc.assert(fc.property(anyText, (text) => onlyProtocolErrors(parseSendBody, text)), {
      numRuns: FUZZ_RUNS,
    });
  });
});

const claimValue = fc.oneof(
  guidArbitrary,
  guidArbitrary.map((g) => `{${g}}`),
  fc.string(),
  fc.constantFrom("Send", "3", "User", "ChromeBrowser", "9", "Android, iOS", ""),
  fc.anything(),
);

const claimsArbitrary = fc.oneof(
  fc.dictionary(
    fc.constantFrom(
      "sub",
      "type",
      "device",
      "devicetype",
      "orgowner",
      "orgadmin",
      "orguser",
      "orgcustom",
      "other",
      "__proto__",
      "constructor",
    ),
    fc.oneof(claimValue, fc.array(claimValue, { maxLength: 3 })),
  ),
  fc.object(),
  fc.anything(),
);

Deno.test(`groupsForConnection only ever throws ProtocolError (${FUZZ_RUNS} runs)`, () => {
  fc.assert(
    fc.property(
      claimsArbitrary,
      fc.option(guidArbitrary, { nil: null }),
      (claims, installationId) => {
        try {
          const result = groupsForConnection(claims as Record<string, unknown>, installationId);
          strictEqual(new Set(result.groups).size, result.groups.length);
          // Every GUID in a group name is in Guid.ToString() form.
          for (const group of result.groups) {
            for (
              const [guid] of group.matchAll(
                /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
              )
            ) {
              strictEqual(guid, guid.toLowerCase(), group);
            }
          }
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
        }
      },
    ),
    { numRuns: FUZZ_RUNS },
  );
});
