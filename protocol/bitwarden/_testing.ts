/**
 * Private test support: fast-check arbitraries for envelopes of every push type, generated
 * from the payload model tables.
 *
 * @module
 */

import fc from "fast-check";
import { createEnvelope } from "./envelope_create.ts";
import { type FieldSpec, modelsForPushType, type PayloadModel } from "./payloads.ts";
import { PUSH_TYPES } from "./push_type.ts";
import type { Envelope } from "./types.ts";

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** GUIDs in D format, mixed case. */
export const guidArbitrary: fc.Arbitrary<string> = fc.tuple(fc.uuid(), fc.boolean())
  .map(([guid, upper]) => upper ? guid.toUpperCase() : guid);

/** Dates as producers give them: JS `Date`s or ISO text of every STJ shape and kind. */
export const dateArbitrary: fc.Arbitrary<Date | string> = fc.oneof(
  fc.date({
    min: new Date("0001-01-01T00:00:00Z"),
    max: new Date("9999-12-31T23:59:59.999Z"),
    noInvalidDate: true,
  }),
  fc.record({
    year: fc.integer({ min: 2, max: 9998 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.stringMatching(/^[0-9]{0,9}$/),
    suffix: fc.constantFrom("", "Z", "+02:00", "-05:30", "+14:00", "+01"),
  }).map((d) =>
    `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}T${pad(d.hour, 2)}:${pad(d.minute, 2)}:${
      pad(d.second, 2)
    }${d.fraction ? `.${d.fraction}` : ""}${d.suffix}`
  ),
);

/** Well-formed strings, including non-ASCII, HTML-sensitive and control characters. */
export const textArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("<script>&'\"+`</script>", "é\n\t\u0000\u007f😀", '{"a":[1,2]}'),
);

function valueArbitrary(field: FieldSpec): fc.Arbitrary<unknown> {
  const base: fc.Arbitrary<unknown> = (() => {
    switch (field.kind) {
      case "guid":
        return guidArbitrary;
      case "date":
        return dateArbitrary;
      case "bool":
        return fc.boolean();
      case "byte-enum":
        return fc.integer({ min: 0, max: 255 });
      case "string":
        return textArbitrary;
      case "json-string":
        return fc.oneof(fc.json(), textArbitrary);
      case "guid-array":
        return fc.array(guidArbitrary, { maxLength: 4 });
      case "model":
        return payloadArbitrary(field.model!);
    }
  })();
  return field.nullable && !field.required ? fc.option(base, { nil: null }) : base;
}

/**
 * Payload input for a model: each field present or absent (absent non-required fields take
 * their defaults), with a random key casing.
 */
export function payloadArbitrary(model: PayloadModel): fc.Arbitrary<Record<string, unknown>> {
  const entries = model.fields.map((field) =>
    fc.tuple(
      fc.constant(field),
      field.required ? fc.constant(true) : fc.boolean(),
      valueArbitrary(field),
      fc.constantFrom("declared", "camel", "lower"),
    )
  );
  return fc.tuple(...entries).map((items) => {
    const payload: Record<string, unknown> = {};
    for (const [field, present, value, casing] of items) {
      if (!present) continue;
      const key = casing === "declared"
        ? field.name
        : casing === "camel"
        ? field.camelName
        : field.name.toLowerCase();
      payload[key] = value;
    }
    return payload;
  });
}

/** Envelopes of a given push type, built through `createEnvelope`. */
export function envelopeArbitraryFor(type: number): fc.Arbitrary<Envelope> {
  const models = modelsForPushType(type)!;
  return fc.tuple(payloadArbitrary(models.declared), fc.option(textArbitrary, { nil: null }))
    .map(([payload, contextId]) => createEnvelope(type, payload, contextId));
}

/** Envelopes of every defined push type. */
export const envelopeArbitrary: fc.Arbitrary<Envelope> = fc.constantFrom(...PUSH_TYPES)
  .chain(envelopeArbitraryFor);
