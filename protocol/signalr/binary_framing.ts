/**
 * Binary framing for SignalR (MessagePack hub protocol): every message body is preceded by
 * its length as a VarInt — 7 bits per byte, least-significant group first, high bit set on
 * every byte but the last, at most 5 bytes, so at most 2 GiB - 1 (`ff ff ff ff 07`).
 *
 * @module
 */

import { FramingError, ProtocolError } from "../errors.ts";
import { asBytes, concatBytes, EMPTY_BYTES } from "./_bytes.ts";

/** Largest body length a VarInt prefix may announce: 2 GiB - 1. */
export const MAX_BINARY_MESSAGE_LENGTH = 0x7fffffff;

const MAX_PREFIX_BYTES = 5;
const TOO_BIG = "Messages over 2GB in size are not supported";

/**
 * Encodes a body length as a VarInt prefix.
 *
 * @param length Body length in bytes, an integer from 0 to 2^31 - 1.
 * @returns The 1 to 5 prefix bytes.
 * @throws {RangeError} When `length` is not an integer in range.
 *
 * @example
 * ```ts
 * import { writeVarIntLength } from "./binary_framing.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...writeVarIntLength(128)], [0x80, 0x01]);
 * ```
 */
export function writeVarIntLength(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_BINARY_MESSAGE_LENGTH) {
    throw new RangeError(
      `Cannot encode message length: ${length} is not an integer from 0 to 2^31-1`,
    );
  }
  const out: number[] = [];
  let rest = length;
  do {
    let group = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest > 0) group |= 0x80;
    out.push(group);
  } while (rest > 0);
  return new Uint8Array(out);
}

/** A decoded VarInt length prefix. */
export interface VarIntLength {
  /** The announced body length in bytes. */
  readonly length: number;
  /** How many bytes the prefix itself took (1 to 5). */
  readonly prefixBytes: number;
}

/**
 * Reads a VarInt length prefix at `offset`.
 *
 * @param bytes The buffer.
 * @param offset Where the prefix starts (default 0).
 * @returns The length and prefix size, or `undefined` when the prefix is not complete yet.
 * @throws {FramingError} When the prefix announces more than 2 GiB - 1 or runs past 5 bytes.
 *
 * @example
 * ```ts
 * import { readVarIntLength } from "./binary_framing.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(readVarIntLength(new Uint8Array([0x80, 0x01])), { length: 128, prefixBytes: 2 });
 * assert.equal(readVarIntLength(new Uint8Array([0x80])), undefined);
 * ```
 */
export function readVarIntLength(bytes: Uint8Array, offset = 0): VarIntLength | undefined {
  let length = 0;
  let scale = 1;
  for (let i = 0; i < MAX_PREFIX_BYTES; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    if (i === MAX_PREFIX_BYTES - 1 && byte > 0x07) throw new FramingError(TOO_BIG);
    length += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { length, prefixBytes: i + 1 };
  }
  // Unreachable: the fifth byte either ends the prefix or was rejected above.
  throw new FramingError(TOO_BIG);
}

/**
 * Prefixes a message body with its VarInt length.
 *
 * @param body The MessagePack-encoded message.
 * @returns A fresh array (its `buffer` spans exactly the framed bytes).
 *
 * @example
 * ```ts
 * import { frameBinary } from "./binary_framing.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...frameBinary(new Uint8Array([0x91, 0x06]))], [0x02, 0x91, 0x06]);
 * ```
 */
export function frameBinary(body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = writeVarIntLength(body.length);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

/**
 * Splits a buffer holding only complete length-prefixed messages into their bodies, as the
 * official client does for each received frame.
 *
 * @param input Zero or more framed messages.
 * @returns The bodies (views into `input`).
 * @throws {FramingError} When the last message is incomplete or a prefix is invalid.
 *
 * @example
 * ```ts
 * import { splitBinaryMessages } from "./binary_framing.ts";
 * import assert from "node:assert/strict";
 * const bodies = splitBinaryMessages(new Uint8Array([0x02, 0x91, 0x06, 0x00]));
 * assert.deepEqual(bodies.map((b) => [...b]), [[0x91, 0x06], []]);
 * ```
 */
export function splitBinaryMessages(input: ArrayBuffer | Uint8Array): Uint8Array[] {
  const bytes = asBytes(input);
  const bodies: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const prefix = readVarIntLength(bytes, offset);
    if (prefix === undefined) throw new FramingError("Incomplete message: truncated length prefix");
    const start = offset + prefix.prefixBytes;
    const end = start + prefix.length;
    if (end > bytes.length) {
      throw new FramingError(
        `Incomplete message: expected ${prefix.length} bytes, got ${bytes.length - start}`,
      );
    }
    bodies.push(bytes.subarray(start, end));
    offset = end;
  }
  return bodies;
}

/** Options for {@linkcode BinaryMessageParser}. */
export interface BinaryMessageParserOptions {
  /**
   * Largest accepted framed message in bytes (prefix plus body), like the server's
   * `MaximumReceiveMessageSize`. Unlimited (2 GiB - 1 body) when absent.
   */
  readonly maxMessageSize?: number;
}

/**
 * Streaming splitter for VarInt length-prefixed messages. A partial prefix or body is kept
 * until the rest arrives; an oversized announcement fails as soon as its prefix is read.
 * After an error the parser stays failed and rethrows on every push.
 *
 * @example
 * ```ts
 * import { BinaryMessageParser } from "./binary_framing.ts";
 * import assert from "node:assert/strict";
 * const parser = new BinaryMessageParser();
 * assert.deepEqual(parser.push(new Uint8Array([0x02, 0x91])), []);
 * assert.deepEqual(parser.push(new Uint8Array([0x06])).map((b) => [...b]), [[0x91, 0x06]]);
 * ```
 */
export class BinaryMessageParser {
  #tail: Uint8Array = EMPTY_BYTES;
  #maxMessageSize: number;
  #failure: ProtocolError | undefined;

  /**
   * Creates a parser.
   *
   * @param options Optional size limit.
   */
  constructor(options: BinaryMessageParserOptions = {}) {
    this.#maxMessageSize = options.maxMessageSize ?? Infinity;
  }

  /** Number of buffered bytes of an incomplete message. */
  get bufferedBytes(): number {
    return this.#tail.length;
  }

  /**
   * Feeds a chunk and returns the bodies of every message it completes.
   *
   * @param chunk The next bytes from the transport.
   * @returns Complete message bodies (fresh copies), in order.
   * @throws {FramingError} On an invalid prefix or a message over `maxMessageSize`.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failure) throw this.#failure;
    try {
      return this.#split(asBytes(chunk));
    } catch (error) {
      this.#tail = EMPTY_BYTES;
      this.#failure = error instanceof ProtocolError
        ? error
        : new FramingError("Cannot split binary messages", { cause: error });
      throw this.#failure;
    }
  }

  #split(chunk: Uint8Array): Uint8Array[] {
    const buffer = concatBytes(this.#tail, chunk);
    const bodies: Uint8Array[] = [];
    let offset = 0;
    while (offset < buffer.length) {
      const prefix = readVarIntLength(buffer, offset);
      if (prefix === undefined) break;
      if (prefix.prefixBytes + prefix.length > this.#maxMessageSize) {
        throw new FramingError(`The maximum message size of ${this.#maxMessageSize}B was exceeded`);
      }
      const start = offset + prefix.prefixBytes;
      const end = start + prefix.length;
      if (end > buffer.length) break;
      bodies.push(buffer.slice(start, end));
      offset = end;
    }
    this.#tail = offset === buffer.length ? EMPTY_BYTES : buffer.slice(offset);
    return bodies;
  }
}
