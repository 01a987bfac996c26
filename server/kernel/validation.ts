/**
 * Request-model validation with the real server's texts (ASP.NET data annotations and
 * Bitwarden's `[EncryptedString]`), collected into one model-state error per request.
 *
 * @module
 */

import { field, type JsonObject, modelStateError, type ValidationErrors } from "./http.ts";
import { CUSTOM_PERMISSIONS, type CustomPermission } from "./store.ts";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const ENC_PARTS: Readonly<Record<number, number>> = {
  0: 2,
  1: 3,
  2: 3,
  3: 1,
  4: 1,
  5: 2,
  6: 2,
  7: 1,
};

/**
 * Whether a string is a hyphenated 36-character GUID.
 *
 * @param value The value.
 * @returns True for a GUID.
 */
export function isGuid(value: unknown): value is string {
  return typeof value === "string" && GUID.test(value);
}

function isBase64Part(part: string): boolean {
  return part.length > 0 && part.length % 4 === 0 && BASE64.test(part);
}

/**
 * Bitwarden's EncString check (research §0.5): optional `N.` header selecting the part count,
 * each part non-empty standard base64 with a length that is a multiple of 4.
 *
 * @example
 * ```ts
 * import { isEncString } from "./validation.ts";
 * console.assert(isEncString("2.AA==|AA==|AA=="));
 * console.assert(!isEncString("plain"));
 * ```
 * @param value The value.
 * @returns True when valid.
 */
export function isEncString(value: string): boolean {
  let body = value;
  let parts: number;
  const dot = value.indexOf(".");
  if (dot > 0 && /^\d+$/.test(value.slice(0, dot))) {
    const count = ENC_PARTS[Number(value.slice(0, dot))];
    if (count === undefined) return false;
    parts = count;
    body = value.slice(dot + 1);
  } else {
    parts = value.split("|").length === 3 ? 3 : 2;
  }
  const split = body.split("|");
  return split.length === parts && split.every(isBase64Part);
}

/** Options of {@linkcode ModelState.string}. */
export interface StringRule {
  /** `[Required]`: null, absent and `""` are refused. */
  readonly required?: boolean;
  /** `[StringLength(N)]`. */
  readonly max?: number;
  /** `[EncryptedString]`. */
  readonly encString?: boolean;
  /** `[EmailAddress]`. */
  readonly email?: boolean;
  /** Must be a GUID. */
  readonly guid?: boolean;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Collects validation errors of one request model; `throwIfInvalid` raises them together. */
export class ModelState {
  #errors: ValidationErrors = {};
  #body: JsonObject;

  /**
   * Creates a collector for a body.
   *
   * @param body The parsed request body.
   */
  constructor(body: JsonObject) {
    this.#body = body;
  }

  /**
   * Records an error for a property.
   *
   * @param property PascalCase property name (`""` for class-level).
   * @param message The message.
   */
  add(property: string, message: string): void {
    (this.#errors[property] ??= []).push(message);
  }

  /**
   * Reads and validates a string property.
   *
   * @param name camelCase property name.
   * @param rule The rules.
   * @returns The string, or null when absent.
   */
  string(name: string, rule: StringRule = {}): string | null {
    const key = pascal(name);
    const value = field(this.#body, name);
    if (value === undefined || value === null || value === "") {
      if (rule.required) this.add(key, `The ${key} field is required.`);
      else if (value === "" && rule.encString) {
        this.add(key, `${key} is not a valid encrypted string.`);
      }
      return value === "" && !rule.encString && !rule.required ? "" : null;
    }
    if (typeof value !== "string") {
      this.add(key, `The JSON value could not be converted to System.String.`);
      return null;
    }
    if (rule.max !== undefined && value.length > rule.max) {
      this.add(key, `The field ${key} must be a string with a maximum length of ${rule.max}.`);
    }
    if (rule.encString && !isEncString(value)) {
      this.add(key, `${key} is not a valid encrypted string.`);
    }
    if (rule.email && !EMAIL.test(value)) {
      this.add(key, `The ${key} field is not a valid e-mail address.`);
    }
    if (rule.guid && !isGuid(value)) this.add(key, `The value '${value}' is not valid for ${key}.`);
    return value;
  }

  /**
   * Reads an integer (enums are JSON numbers).
   *
   * @param name camelCase property name.
   * @param options `required`, and the allowed values when an enum.
   * @returns The number, or null when absent.
   */
  int(
    name: string,
    options: { required?: boolean; allowed?: readonly number[] } = {},
  ): number | null {
    const key = pascal(name);
    const value = field(this.#body, name);
    if (value === undefined || value === null) {
      if (options.required) this.add(key, `The ${key} field is required.`);
      return null;
    }
    if (typeof value !== "number" || !Number.isInteger(value)) {
      this.add(key, `The JSON value could not be converted to ${key}.`);
      return null;
    }
    if (options.allowed && !options.allowed.includes(value)) {
      this.add(key, `The value '${value}' is not valid for ${key}.`);
      return null;
    }
    return value;
  }

  /**
   * Reads a boolean.
   *
   * @param name camelCase property name.
   * @param options `required`.
   * @returns The boolean, or null when absent.
   */
  bool(name: string, options: { required?: boolean } = {}): boolean | null {
    const key = pascal(name);
    const value = field(this.#body, name);
    if (value === undefined || value === null) {
      if (options.required) this.add(key, `The ${key} field is required.`);
      return null;
    }
    if (typeof value !== "boolean") {
      this.add(key, `The JSON value could not be converted to System.Boolean.`);
      return null;
    }
    return value;
  }

  /**
   * Reads an ISO 8601 date.
   *
   * @param name camelCase property name.
   * @param options `required`.
   * @returns The date, or null when absent.
   */
  date(name: string, options: { required?: boolean } = {}): Date | null {
    const key = pascal(name);
    const value = field(this.#body, name);
    if (value === undefined || value === null) {
      if (options.required) this.add(key, `The ${key} field is required.`);
      return null;
    }
    const date = typeof value === "string" ? new Date(value) : new Date(NaN);
    if (Number.isNaN(date.getTime())) {
      this.add(key, `The JSON value could not be converted to System.DateTime.`);
      return null;
    }
    return date;
  }

  /**
   * Reads a nested object.
   *
   * @param name camelCase property name.
   * @param options `required`.
   * @returns A nested collector over the object, or null when absent.
   */
  object(name: string, options: { required?: boolean } = {}): JsonObject | null {
    const key = pascal(name);
    const value = field(this.#body, name);
    if (value === undefined || value === null) {
      if (options.required) this.add(key, `The ${key} field is required.`);
      return null;
    }
    if (typeof value !== "object" || Array.isArray(value)) {
      this.add(key, `The JSON value could not be converted to ${key}.`);
      return null;
    }
    return value as JsonObject;
  }

  /**
   * Reads an array of GUID strings.
   *
   * @param name camelCase property name.
   * @param options `required`.
   * @returns The GUIDs (lowercased), or null when absent.
   */
  guids(name: string, options: { required?: boolean } = {}): string[] | null {
    const key = pascal(name);
    const value = field(this.#body, name);
    if (value === undefined || value === null) {
      if (options.required) this.add(key, `The ${key} field is required.`);
      return null;
    }
    if (!Array.isArray(value) || !value.every(isGuid)) {
      this.add(
        key,
        `The JSON value could not be converted to System.Collections.Generic.IEnumerable<System.Guid>.`,
      );
      return null;
    }
    return value.map((v) => v.toLowerCase());
  }

  /**
   * Reads a `Permissions` object: each known custom permission bound case-insensitively
   * (absent or null is false), unknown names ignored, as ASP.NET binds the model.
   *
   * @param name camelCase property name.
   * @returns Every known permission with its value, or null when absent.
   */
  permissions(name: string): Readonly<Record<CustomPermission, boolean>> | null {
    const object = this.object(name);
    if (object === null) return null;
    const result = {} as Record<CustomPermission, boolean>;
    for (const permission of CUSTOM_PERMISSIONS) {
      const value = field(object, permission);
      if (value === undefined || value === null) result[permission] = false;
      else if (typeof value === "boolean") result[permission] = value;
      else {
        this.add(
          `${pascal(name)}.${pascal(permission)}`,
          "The JSON value could not be converted to System.Boolean.",
        );
      }
    }
    return result;
  }

  /** Whether no error was recorded. */
  get valid(): boolean {
    return Object.keys(this.#errors).length === 0;
  }

  /**
   * Throws the collected errors as one 400 model-state error.
   *
   * @throws {HttpError} When any error was recorded.
   */
  throwIfInvalid(): void {
    if (!this.valid) throw modelStateError(this.#errors);
  }
}
