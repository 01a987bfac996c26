import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decodeTimestampToTimeSpec, encode } from "@msgpack/msgpack";
import fc from "fast-check";
import {
  DATETIME_MAX_TICKS,
  DATETIME_MIN_VALUE,
  dotnetDateFromJsDate,
  dotnetDateFromTimeSpec,
  type DotnetDateTime,
  dotnetDateToMessagePack,
  dotnetDateToTimeSpec,
  formatDotnetDate,
  parseDotnetDate,
} from "./dotnet_date.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

Deno.test("parseDotnetDate reads STJ's ISO 8601 profile", async (t) => {
  await t.step("kinds: Z is Utc, offsets are Local (converted), no suffix is Unspecified", () => {
    deepStrictEqual(parseDotnetDate("1970-01-01T00:00:00Z"), {
      ticks: 621_355_968_000_000_000n,
      kind: "Utc",
    });
    deepStrictEqual(parseDotnetDate("1970-01-01T02:00:00+02:00"), {
      ticks: 621_355_968_000_000_000n,
      kind: "Local",
    });
    deepStrictEqual(parseDotnetDate("1969-12-31T19:30:00-04:30"), {
      ticks: 621_355_968_000_000_000n,
      kind: "Local",
    });
    deepStrictEqual(parseDotnetDate("0001-01-01T00:00:00"), DATETIME_MIN_VALUE);
  });
  await t.step("shorter forms and fractions", () => {
    strictEqual(formatDotnetDate(parseDotnetDate("2024-02-29")!), "2024-02-29T00:00:00");
    strictEqual(formatDotnetDate(parseDotnetDate("2024-02-29T13:45")!), "2024-02-29T13:45:00");
    strictEqual(formatDotnetDate(parseDotnetDate("2024-02-29T13:45Z")!), "2024-02-29T13:45:00Z");
    strictEqual(
      formatDotnetDate(parseDotnetDate("2024-02-29T13:45:01+01")!),
      "2024-02-29T12:45:01+00:00",
    );
    strictEqual(
      formatDotnetDate(parseDotnetDate("2024-01-01T00:00:00.1234567Z")!),
      "2024-01-01T00:00:00.1234567Z",
    );
    // Up to 16 digits, only seven significant (the rest truncated).
    strictEqual(
      formatDotnetDate(parseDotnetDate("2024-01-01T00:00:00.1234567899999999Z")!),
      "2024-01-01T00:00:00.1234567Z",
    );
    strictEqual(
      formatDotnetDate(parseDotnetDate("2024-01-01T00:00:00.5000000")!),
      "2024-01-01T00:00:00.5",
    );
    strictEqual(
      formatDotnetDate(parseDotnetDate("2024-01-01T00:00:00.0000000Z")!),
      "2024-01-01T00:00:00Z",
    );
    strictEqual(
      formatDotnetDate(parseDotnetDate("9999-12-31T23:59:59.9999999")!),
      "9999-12-31T23:59:59.9999999",
    );
  });
  await t.step("invalid text is refused", () => {
    for (
      const text of [
        "",
        "abc",
        "2024-1-01",
        "0000-01-01T00:00:00",
        "2023-02-29T00:00:00",
        "2024-13-01T00:00:00",
        "2024-01-01T24:00:00",
        "2024-01-01T23:60:00",
        "2024-01-01T23:59:60",
        "2024-01-01t00:00:00",
        "2024-01-01T00:00:00z",
        "2024-01-01 00:00:00",
        "2024-01-01T00",
        "2024-01-01Z",
        "2024-01-01T00:00:00.",
        "2024-01-01T00:00:00.12345678901234567Z",
        "2024-01-01T00:00:00+15:00",
        "2024-01-01T00:00:00+14:30",
        "2024-01-01T00:00:00+01:60",
        "2024-01-01T00:00:00+0100",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        " 2024-01-01T00:00:00",
      ]
    ) strictEqual(parseDotnetDate(text), undefined, text);
  });
});

Deno.test("formatDotnetDate matches JavaScript's calendar for every instant", () => {
  fc.assert(
    fc.property(
      fc.date({
        min: new Date("0001-01-01T00:00:00.000Z"),
        max: new Date("9999-12-31T23:59:59.999Z"),
        noInvalidDate: true,
      }),
      (date) => {
        const iso = date.toISOString();
        const expected = iso.replace(
          /\.(\d*?)0*Z$/,
          (_, digits: string) => digits ? `.${digits}Z` : "Z",
        );
        const value = dotnetDateFromJsDate(date);
        strictEqual(formatDotnetDate(value), expected);
        deepStrictEqual(parseDotnetDate(expected), value);
        const ms = date.getTime();
        deepStrictEqual(dotnetDateToTimeSpec(value), {
          sec: Math.floor(ms / 1000),
          nsec: (((ms % 1000) + 1000) % 1000) * 1_000_000,
        });
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("format -> parse round trips every tick and kind", () => {
  const kinds = ["Utc", "Local", "Unspecified"] as const;
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: DATETIME_MAX_TICKS }),
      fc.constantFrom(...kinds),
      (ticks, kind) => {
        const value: DotnetDateTime = { ticks, kind };
        deepStrictEqual(parseDotnetDate(formatDotnetDate(value)), value);
        const spec = dotnetDateToTimeSpec(value);
        deepStrictEqual(dotnetDateFromTimeSpec(spec).ticks, ticks);
        deepStrictEqual(
          decodeTimestampToTimeSpec(dotnetDateToMessagePack(value).data as Uint8Array),
          spec,
        );
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("MessagePack timestamps use the 32, 64 and 96-bit forms", () => {
  // DateTime.MinValue is before 1970: timestamp96 (c7 0c ff), nanoseconds 0, seconds -62135596800.
  strictEqual(
    hex(encode(dotnetDateToMessagePack(DATETIME_MIN_VALUE))),
    "c7 0c ff 00 00 00 00 ff ff ff f1 88 6e 09 00",
  );
  // Whole seconds after 1970 fit timestamp32 (d6 ff).
  strictEqual(
    hex(encode(dotnetDateToMessagePack(parseDotnetDate("1970-01-01T00:00:01Z")!))),
    "d6 ff 00 00 00 01",
  );
  // A fraction needs timestamp64 (d7 ff): 30-bit nanoseconds, 34-bit seconds.
  strictEqual(
    hex(encode(dotnetDateToMessagePack(parseDotnetDate("1970-01-01T00:00:01.5")!))),
    "d7 ff 77 35 94 00 00 00 00 01",
  );
  deepStrictEqual(dotnetDateToTimeSpec(parseDotnetDate("1969-12-31T23:59:59.9999999Z")!), {
    sec: -1,
    nsec: 999_999_900,
  });
});

Deno.test("out-of-range conversions are refused", () => {
  throws(() => dotnetDateFromJsDate(new Date(NaN)), RangeError);
  throws(() => dotnetDateFromJsDate(new Date("+010000-01-01T00:00:00Z")), RangeError);
  throws(() => dotnetDateFromTimeSpec({ sec: -62135596801, nsec: 0 }), RangeError);
});
