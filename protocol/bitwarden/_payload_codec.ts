/**
 * Private: reading payload objects into a model (validation plus canonical values) and
 * projecting them back out of a model for each wire form.
 *
 * Canonical values: GUIDs lowercase `D`; dates as STJ writes them; enums as integers.
 *
 * @module
 */

import { EnvelopeError } from "../errors.ts";
import {
  dotnetDateFromJsDate,
  dotnetDateToMessagePack,
  formatDotnetDate,
  parseDotnetDate,
} from "./dotnet_date.ts";
import { parseJsonGuid } from "./guid.ts";
import type { FieldSpec, PayloadModel } from "./payloads.ts";
import type { JsonValue } from "./types.ts";
import {
  asciiLower,
  describeValue,
  isJsonObject,
  type JsonDocument,
  trustedDocument,
} from "./_json_read.ts";

/** A mutable canonical payload object. */
export type PayloadObject = Record<string, JsonValue>;

/**
 * How to read: `hub` is what `HubHelpers` accepts (unknown keys kept for the record, never
 * validated); `producer` is what `createEnvelope` accepts (unknown keys refused, JS `Date`
 * allowed for dates, `undefined` means absent).
 */
export interface ReadContext {
  /** The parsed document (number source forms). */
  readonly doc: JsonDocument;
  /** Reading mode. */
  readonly mode: "hub" | "producer";
}

const GUID_FIELD: FieldSpec = Object.freeze({
  name: "",
  camelName: "",
  kind: "guid",
  nullable: false,
  defaultValue: null,
  required: false,
  internalSetter: false,
});

const fieldIndexCache = new WeakMap<PayloadModel, Map<string, FieldSpec>>();

/**
 * Finds a model field by ASCII case-insensitive name (STJ `PropertyNameCaseInsensitive`).
 *
 * @param model The model.
 * @param key A JSON key.
 * @returns The field, or undefined.
 */
export function findField(model: PayloadModel, key: string): FieldSpec | undefined {
  let index = fieldIndexCache.get(model);
  if (index === undefined) {
    index = new Map(model.fields.map((f) => [asciiLower(f.name), f]));
    fieldIndexCache.set(model, index);
  }
  return index.get(asciiLower(key));
}

/** Defines an own enumerable property even for keys such as `__proto__`. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function fail(path: string, message: string): never {
  throw new EnvelopeError(path, message);
}

/**
 * Reads one field value, returning its canonical form.
 *
 * @param holder Object or array that holds the value (for number source checks).
 * @param key Key of the value in `holder`.
 * @param field The field spec.
 * @param path Dotted path for errors.
 * @param ctx Reading context.
 * @returns The canonical value.
 */
export function readField(
  holder: object,
  key: string,
  field: FieldSpec,
  path: string,
  ctx: ReadContext,
): JsonValue {
  const value = (holder as Record<string, unknown>)[key];
  if (value === null) {
    // STJ binds null to a `required` reference (NRT is not enforced), but the queue form
    // would then omit the key and the hub would refuse it: producers may not send it.
    if (field.required && ctx.mode === "producer") {
      fail(path, `Invalid null: ${field.name} is required`);
    }
    return field.nullable ? null : fail(path, `Invalid null: ${field.kind} field is not nullable`);
  }
  switch (field.kind) {
    case "guid": {
      if (typeof value !== "string") {
        fail(path, `Expected a GUID string: got ${describeValue(value)}`);
      }
      return parseJsonGuid(value) ?? fail(path, `Invalid GUID: ${describeValue(value)}`);
    }
    case "date": {
      if (ctx.mode === "producer" && value instanceof Date) {
        try {
          return formatDotnetDate(dotnetDateFromJsDate(value));
        } catch {
          const time = value.getTime();
          return fail(path, `Invalid date: ${Number.isNaN(time) ? "NaN" : value.toISOString()}`);
        }
      }
      if (typeof value !== "string") {
        fail(path, `Expected a date string: got ${describeValue(value)}`);
      }
      const date = parseDotnetDate(value);
      return date ? formatDotnetDate(date) : fail(path, `Invalid date: ${describeValue(value)}`);
    }
    case "bool":
      return typeof value === "boolean"
        ? value
        : fail(path, `Expected a boolean: got ${describeValue(value)}`);
    case "byte-enum":
      return typeof value === "number" && value <= 255 && ctx.doc.isPlainInteger(holder, key)
        ? value
        : fail(path, `Expected an integer 0..255: got ${describeValue(value)}`);
    case "string":
    case "json-string":
      if (typeof value !== "string") fail(path, `Expected a string: got ${describeValue(value)}`);
      return value.isWellFormed() ? value : fail(path, "Invalid string: not well-formed UTF-16");
    case "guid-array": {
      if (!Array.isArray(value)) {
        fail(path, `Expected an array of GUIDs: got ${describeValue(value)}`);
      }
      return value.map((_, i) => readField(value, String(i), GUID_FIELD, `${path}[${i}]`, ctx));
    }
    case "model": {
      if (!isJsonObject(value)) fail(path, `Expected an object: got ${describeValue(value)}`);
      return readModel(value, field.model!, path, ctx);
    }
  }
}

/**
 * Reads an object into a model: keys matched case-insensitively (last occurrence wins),
 * values validated and made canonical, absent fields set to their defaults, `required`
 * fields enforced. In `hub` mode, keys outside the model are kept: those of `extra` (the
 * declared model, when the hub reads another one) under their declared name and canonical
 * when valid, others as given. In `producer` mode they are refused.
 *
 * @param source The JSON object.
 * @param model The model to read into.
 * @param path Dotted path of the object, for errors.
 * @param ctx Reading context.
 * @param extra The declared model, when different from `model`.
 * @returns The canonical payload object.
 */
export function readModel(
  source: Record<string, unknown>,
  model: PayloadModel,
  path: string,
  ctx: ReadContext,
  extra?: PayloadModel,
): PayloadObject {
  const result: PayloadObject = {};
  for (const key of Object.keys(source)) {
    if (ctx.mode === "producer" && source[key] === undefined) continue;
    const field = findField(model, key);
    if (field !== undefined) {
      result[field.name] = readField(source, key, field, `${path}.${field.name}`, ctx);
      continue;
    }
    if (ctx.mode === "producer") {
      fail(`${path}.${key}`, `Unknown property: ${model.name} has no ${key}`);
    }
    const other = extra === undefined ? undefined : findField(extra, key);
    if (other !== undefined) {
      try {
        result[other.name] = readField(source, key, other, `${path}.${other.name}`, ctx);
      } catch {
        // The hub never reads this field, so the real server accepts any value here.
        result[other.name] = source[key] as JsonValue;
      }
      continue;
    }
    setOwn(result, key, source[key]);
  }
  for (const field of model.fields) {
    if (Object.hasOwn(result, field.name)) continue;
    if (field.required) {
      fail(`${path}.${field.name}`, `Missing required property: ${model.name}.${field.name}`);
    }
    result[field.name] = field.defaultValue;
  }
  return result;
}

/** How {@linkcode projectModel} writes. */
export interface ProjectOptions {
  /** Key names: declared PascalCase or camelCase. */
  readonly naming: "pascal" | "camel";
  /** Leave null fields out (`JsonIgnoreCondition.WhenWritingNull`). */
  readonly omitNulls: boolean;
  /** Dates as ISO text or as MessagePack timestamp extensions. */
  readonly dates: "text" | "msgpack";
}

/**
 * Projects a payload through a model, as serializing the typed C# object does: only the
 * model's fields, in declaration order, absent ones at their defaults, values re-validated.
 *
 * @param payload The (canonical) payload object.
 * @param model The model to write.
 * @param path Dotted path, for errors.
 * @param options Output form.
 * @returns A fresh object ready for the serializer.
 */
export function projectModel(
  payload: Readonly<Record<string, unknown>>,
  model: PayloadModel,
  path: string,
  options: ProjectOptions,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ctx: ReadContext = { doc: trustedDocument(payload), mode: "producer" };
  for (const field of model.fields) {
    const holder = Object.hasOwn(payload, field.name) && payload[field.name] !== undefined
      ? payload
      : { [field.name]: field.defaultValue };
    const fieldPath = `${path}.${field.name}`;
    const raw = (holder as Record<string, unknown>)[field.name];
    // Nested models are projected, not re-read, so that keys the hub kept are dropped here.
    const value = field.kind !== "model" || !(isJsonObject(raw) || raw === null)
      ? readField(holder, field.name, field, fieldPath, ctx)
      : raw === null
      ? null
      : projectModel(raw, field.model!, fieldPath, options) as JsonValue;
    if (value === null && options.omitNulls) continue;
    const key = options.naming === "pascal" ? field.name : field.camelName;
    if (value !== null && field.kind === "date" && options.dates === "msgpack") {
      out[key] = dotnetDateToMessagePack(parseDotnetDate(value as string)!);
    } else {
      out[key] = value;
    }
  }
  return out;
}
