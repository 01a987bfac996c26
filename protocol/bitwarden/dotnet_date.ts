/**
 * .NET `DateTime` as the real Notifications service reads and writes it: System.Text.Json
 * (STJ) ISO 8601 parsing and formatting, and the MessagePack timestamp extension
 * (type -1) that MessagePack-CSharp writes for the hub's MessagePack protocol.
 *
 * A `DateTime` is a tick count (100 ns units since 0001-01-01T00:00:00) plus a `Kind`:
 * - text ending in `Z` reads as `Utc`;
 * - text with a `+hh:mm` / `-hh:mm` offset reads as `Local`: STJ converts it to the host's
 *   local time. This module assumes the host runs in UTC (the Notifications container
 *   default), so the ticks are the UTC instant and STJ writes it back with `+00:00`;
 * - text without a suffix reads as `Unspecified` and is written back without one.
 *
 * @module
 */

import { encodeTimeSpecToTimestamp, ExtData } from "@msgpack/msgpack";

/** The `DateTime.Kind` values that matter on the wire. */
export type DateTimeKind = "Utc" | "Local" | "Unspecified";

/** A .NET `DateTime`: ticks since 0001-01-01T00:00:00 and a kind. */
export interface DotnetDateTime {
  /** 100-nanosecond ticks since 0001-01-01T00:00:00, `0n..DATETIME_MAX_TICKS`. */
  readonly ticks: bigint;
  /** The kind (`Local` ticks are UTC: the host is assumed to run in UTC). */
  readonly kind: DateTimeKind;
}

/** A MessagePack timestamp: whole seconds since the Unix epoch and nanoseconds `0..999999999`. */
export interface TimeSpec {
  /** Seconds since 1970-01-01T00:00:00Z (negative before 1970). */
  readonly sec: number;
  /** Nanoseconds, always non-negative. */
  readonly nsec: number;
}

/** Ticks of `DateTime.MaxValue` (9999-12-31T23:59:59.9999999). */
export const DATETIME_MAX_TICKS = 3_155_378_975_999_999_999n;

/** `DateTime.MinValue` (`default(DateTime)`): 0001-01-01T00:00:00, kind Unspecified. */
export const DATETIME_MIN_VALUE: DotnetDateTime = Object.freeze({
  ticks: 0n,
  kind: "Unspecified",
});

const TICKS_PER_SECOND = 10_000_000n;
const TICKS_PER_MINUTE = 60n * TICKS_PER_SECOND;
const TICKS_PER_DAY = 86_400n * TICKS_PER_SECOND;
const UNIX_EPOCH_TICKS = 621_355_968_000_000_000n;
const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
// STJ's accepted shapes: a date; or date, `T`, HH:mm, optional :ss, optional .fraction (1..16
// digits, only seven significant) after seconds, optional Z / +hh / +hh:mm. Upper-case T and Z only.
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,16}))?)?(Z|[+-]\d{2}(?::\d{2})?)?)?$/;

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  const days = DAYS_BEFORE_MONTH[month]! - DAYS_BEFORE_MONTH[month - 1]!;
  return month === 2 && isLeapYear(year) ? days + 1 : days;
}

function daysFromCivil(year: number, month: number, day: number): number {
  const y = year - 1;
  const leapDay = month > 2 && isLeapYear(year) ? 1 : 0;
  return y * 365 + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) +
    DAYS_BEFORE_MONTH[month - 1]! + leapDay + day - 1;
}

function civilFromDays(days: number): [number, number, number] {
  let n = days;
  const y400 = Math.floor(n / 146_097);
  n -= y400 * 146_097;
  const y100 = Math.min(Math.floor(n / 36_524), 3);
  n -= y100 * 36_524;
  const y4 = Math.floor(n / 1_461);
  n -= y4 * 1_461;
  const y1 = Math.min(Math.floor(n / 365), 3);
  n -= y1 * 365;
  const year = y400 * 400 + y100 * 100 + y4 * 4 + y1 + 1;
  const leap = isLeapYear(year) ? 1 : 0;
  let month = 1;
  while (month < 12 && n >= DAYS_BEFORE_MONTH[month]! + (month >= 2 ? leap : 0)) month++;
  const day = n - DAYS_BEFORE_MONTH[month - 1]! - (month > 2 ? leap : 0) + 1;
  return [year, month, day];
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/**
 * Parses ISO 8601 text the way System.Text.Json reads a `DateTime`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseDotnetDate } from "./dotnet_date.ts";
 * deepStrictEqual(parseDotnetDate("0001-01-01T00:00:00"), { ticks: 0n, kind: "Unspecified" });
 * deepStrictEqual(parseDotnetDate("2024-02-30T00:00:00Z"), undefined);
 * ```
 * @param text The JSON string value (already unescaped).
 * @returns The `DateTime`, or undefined when STJ would throw.
 */
export function parseDotnetDate(text: string): DotnetDateTime | undefined {
  const match = ISO_PATTERN.exec(text);
  if (match === null) return undefined;
  const [, ys, mos, ds, hs, mis, ss, fraction, offset] = match;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs ?? 0);
  const minute = Number(mis ?? 0);
  const second = Number(ss ?? 0);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined;
  }
  // STJ rejects 24:00 and leap seconds.
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const fractionTicks = fraction === undefined ? 0n : BigInt(fraction.slice(0, 7).padEnd(7, "0"));
  const ticks = BigInt(daysFromCivil(year, month, day)) * TICKS_PER_DAY +
    BigInt(hour * 3600 + minute * 60 + second) * TICKS_PER_SECOND + fractionTicks;
  if (offset === undefined) return { ticks, kind: "Unspecified" };
  if (offset === "Z") return { ticks, kind: "Utc" };
  const offsetHours = Number(offset.slice(1, 3));
  const offsetMinutes = offset.length > 3 ? Number(offset.slice(4, 6)) : 0;
  if (offsetHours > 14 || offsetMinutes > 59 || (offsetHours === 14 && offsetMinutes !== 0)) {
    return undefined;
  }
  const offsetTicks = BigInt(offsetHours * 60 + offsetMinutes) * TICKS_PER_MINUTE;
  const utcTicks = offset[0] === "+" ? ticks - offsetTicks : ticks + offsetTicks;
  if (utcTicks < 0n || utcTicks > DATETIME_MAX_TICKS) return undefined;
  return { ticks: utcTicks, kind: "Local" };
}

/**
 * Formats a `DateTime` as System.Text.Json writes it: round-trip (`O`) format with trailing
 * fractional zeros trimmed, `Z` for Utc, `+00:00` for Local (host assumed UTC), nothing for
 * Unspecified.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { formatDotnetDate, parseDotnetDate } from "./dotnet_date.ts";
 * strictEqual(formatDotnetDate(parseDotnetDate("2024-05-01T10:00:00.1200000Z")!), "2024-05-01T10:00:00.12Z");
 * ```
 * @param value The `DateTime`.
 * @returns The ISO 8601 text.
 */
export function formatDotnetDate(value: DotnetDateTime): string {
  const days = Number(value.ticks / TICKS_PER_DAY);
  const dayTicks = value.ticks % TICKS_PER_DAY;
  const seconds = Number(dayTicks / TICKS_PER_SECOND);
  const fractionTicks = Number(dayTicks % TICKS_PER_SECOND);
  const [year, month, day] = civilFromDays(days);
  let text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${
    pad(Math.floor(seconds / 3600), 2)
  }:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
  if (fractionTicks !== 0) text += `.${pad(fractionTicks, 7).replace(/0+$/, "")}`;
  if (value.kind === "Utc") return `${text}Z`;
  return value.kind === "Local" ? `${text}+00:00` : text;
}

/**
 * Converts a `DateTime` to the instant MessagePack-CSharp writes: Local converted to UTC
 * (a no-op under the UTC-host assumption), Unspecified taken as UTC.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { DATETIME_MIN_VALUE, dotnetDateToTimeSpec } from "./dotnet_date.ts";
 * deepStrictEqual(dotnetDateToTimeSpec(DATETIME_MIN_VALUE), { sec: -62135596800, nsec: 0 });
 * ```
 * @param value The `DateTime`.
 * @returns Seconds and nanoseconds since the Unix epoch.
 */
export function dotnetDateToTimeSpec(value: DotnetDateTime): TimeSpec {
  const delta = value.ticks - UNIX_EPOCH_TICKS;
  let sec = delta / TICKS_PER_SECOND;
  let rest = delta % TICKS_PER_SECOND;
  // bigint division truncates toward zero; timestamps need floor and a non-negative remainder.
  if (rest < 0n) {
    sec -= 1n;
    rest += TICKS_PER_SECOND;
  }
  return { sec: Number(sec), nsec: Number(rest) * 100 };
}

/**
 * Builds the `DateTime` (kind Utc) for a MessagePack timestamp, the inverse of
 * {@linkcode dotnetDateToTimeSpec} for UTC values.
 *
 * @param spec Seconds and nanoseconds since the Unix epoch.
 * @returns The `DateTime`, with nanoseconds truncated to ticks.
 * @throws {RangeError} When the instant is outside `DateTime`'s range.
 */
export function dotnetDateFromTimeSpec(spec: TimeSpec): DotnetDateTime {
  if (!Number.isSafeInteger(spec.sec) || !Number.isInteger(spec.nsec)) {
    throw new RangeError(`Invalid timestamp: ${spec.sec}s ${spec.nsec}ns`);
  }
  const ticks = UNIX_EPOCH_TICKS + BigInt(spec.sec) * TICKS_PER_SECOND +
    BigInt(Math.floor(spec.nsec / 100));
  if (ticks < 0n || ticks > DATETIME_MAX_TICKS) {
    throw new RangeError(`Timestamp outside the DateTime range: ${spec.sec}s`);
  }
  return { ticks, kind: "Utc" };
}

/**
 * Builds the `DateTime` (kind Utc) for a JavaScript `Date`, as `DateTime.UtcNow` would be.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { dotnetDateFromJsDate, formatDotnetDate } from "./dotnet_date.ts";
 * strictEqual(formatDotnetDate(dotnetDateFromJsDate(new Date("2024-05-01T10:00:00.500Z"))), "2024-05-01T10:00:00.5Z");
 * ```
 * @param date The JavaScript date.
 * @returns The `DateTime`.
 * @throws {RangeError} For an invalid date or one outside `DateTime`'s range.
 */
export function dotnetDateFromJsDate(date: Date): DotnetDateTime {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError("Invalid date: NaN");
  const ticks = UNIX_EPOCH_TICKS + BigInt(ms) * 10_000n;
  if (ticks < 0n || ticks > DATETIME_MAX_TICKS) {
    throw new RangeError(`Date outside the DateTime range: ${date.toISOString()}`);
  }
  return { ticks, kind: "Utc" };
}

/**
 * Encodes a `DateTime` as MessagePack-CSharp does: the timestamp extension (type -1), in its
 * 32, 64 or 96-bit form (`DateTime.MinValue` needs the 96-bit form).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { DATETIME_MIN_VALUE, dotnetDateToMessagePack } from "./dotnet_date.ts";
 * const ext = dotnetDateToMessagePack(DATETIME_MIN_VALUE);
 * strictEqual(ext.type, -1);
 * strictEqual((ext.data as Uint8Array).length, 12);
 * ```
 * @param value The `DateTime`.
 * @returns The extension value, ready for `@msgpack/msgpack`'s `encode`.
 */
export function dotnetDateToMessagePack(value: DotnetDateTime): ExtData {
  return new ExtData(-1, encodeTimeSpecToTimestamp(dotnetDateToTimeSpec(value)));
}
