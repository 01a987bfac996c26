/**
 * KDF settings in request bodies: reading `KdfRequestModel` and Bitwarden's allowed ranges, shared
 * by registration (identity) and the KDF change (API).
 *
 * @module
 */

import { field, type JsonObject } from "./http.ts";
import type { KdfSettings } from "./store.ts";
import type { ModelState } from "./validation.ts";

/**
 * Validates KDF settings with `KdfSettingsValidator`'s ranges (bitwarden/server
 * src/Core/KeyManagement/Utilities/KdfSettingsValidator.cs @
 * ac309aa19ed351406a56032d5f26a7a9a99f4abd).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelState } from "./validation.ts";
 * import { validateKdf } from "./kdf.ts";
 * const state = new ModelState({});
 * validateKdf(state, { kdf: 0, iterations: 5000, memory: null, parallelism: null });
 * assert.equal(state.valid, false);
 * ```
 * @param state Where errors go.
 * @param kdf The settings.
 */
export function validateKdf(state: ModelState, kdf: KdfSettings): void {
  if (kdf.kdf === 0) {
    if (kdf.iterations < 600_000 || kdf.iterations > 2_000_000) {
      state.add("KdfIterations", "KDF iterations must be between 600000 and 2000000.");
    }
  } else {
    if (kdf.iterations < 2 || kdf.iterations > 10) {
      state.add("KdfIterations", "Argon2 iterations must be between 2 and 10.");
    }
    if (kdf.memory === null || kdf.memory < 15 || kdf.memory > 1024) {
      state.add("KdfMemory", "Argon2 memory must be between 15mb and 1024mb.");
    }
    if (kdf.parallelism === null || kdf.parallelism < 1 || kdf.parallelism > 16) {
      state.add("KdfParallelism", "Argon2 parallelism must be between 1 and 16.");
    }
  }
}

/**
 * Reads a `KdfRequestModel` object (`{kdfType, iterations, memory?, parallelism?}`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readKdfObject } from "./kdf.ts";
 * assert.deepEqual(readKdfObject({ kdfType: 0, iterations: 600000 }), {
 *   kdf: 0,
 *   iterations: 600000,
 *   memory: null,
 *   parallelism: null,
 * });
 * assert.equal(readKdfObject({ kdfType: 7, iterations: 1 }), null);
 * ```
 * @param value The JSON value.
 * @returns The settings, or null when it is not such an object.
 */
export function readKdfObject(value: unknown): KdfSettings | null {
  if (typeof value !== "object" || value === null) return null;
  const o = value as JsonObject;
  const type = field(o, "kdfType");
  const iterations = field(o, "iterations");
  if ((type !== 0 && type !== 1) || typeof iterations !== "number") return null;
  const memory = field(o, "memory");
  const parallelism = field(o, "parallelism");
  return {
    kdf: type,
    iterations,
    memory: typeof memory === "number" ? memory : null,
    parallelism: typeof parallelism === "number" ? parallelism : null,
  };
}
