/**
 * Byte helpers shared by the SignalR framing and protocol modules (private to this folder).
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const UTF8 = new TextEncoder();

/** Views any accepted binary input as a `Uint8Array` without copying. */
export function asBytes(input: ArrayBuffer | Uint8Array): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

/** Encodes text as UTF-8. */
export function utf8Encode(text: string): Uint8Array {
  return UTF8.encode(text);
}

/** Decodes strict UTF-8, turning malformed sequences into a `ProtocolError`. */
export function utf8Decode(bytes: Uint8Array, what: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new ProtocolError(`Invalid UTF-8 in ${what}`);
  }
}

/** Number of UTF-8 bytes `text` encodes to, without allocating. */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4;
        i++;
      } else length += 3;
    } else length += 3;
  }
  return length;
}

/**
 * The one empty byte array the parsers share: an idle connection's parser holds it instead of a
 * fresh zero-length copy (each costs a typed array and an ArrayBuffer, per connection and per
 * received message). Never written to: it has no elements.
 */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Concatenates two byte arrays into a fresh one. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
