/**
 * Text framing for SignalR: every message is followed by the ASCII record separator
 * `0x1E`. Used by the JSON hub protocol and by the handshake (which is always text).
 *
 * @module
 */

import { FramingError, ProtocolError } from "../errors.ts";
import { asBytes, concatBytes, EMPTY_BYTES, utf8Decode, utf8Encode } from "./_bytes.ts";

/** The record separator character (`\x1e`) that terminates every text message. */
export const RECORD_SEPARATOR = "\x1e";

/** The record separator as a byte value. */
export const RECORD_SEPARATOR_CODE = 0x1e;

/**
 * Appends the record separator to one message payload.
 *
 * @param payload The message text (must not itself contain `0x1E`).
 * @returns The framed text.
 *
 * @example
 * ```ts
 * import { formatTextMessage } from "./text_framing.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatTextMessage("{}"), "{}\x1e");
 * ```
 */
export function formatTextMessage(payload: string): string {
  return payload + RECORD_SEPARATOR;
}

/**
 * Splits a buffer that holds only complete text messages into their payloads, as the official
 * client does for each received frame.
 *
 * @param input Zero or more messages, each terminated by `0x1E`.
 * @returns The payloads without separators (`[]` for empty input).
 * @throws {FramingError} When the input does not end with a record separator.
 *
 * @example
 * ```ts
 * import { splitTextMessages } from "./text_framing.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitTextMessages('{"type":6}\x1e{}\x1e'), ['{"type":6}', "{}"]);
 * ```
 */
export function splitTextMessages(input: string): string[] {
  if (input.length === 0) return [];
  if (input[input.length - 1] !== RECORD_SEPARATOR) {
    throw new FramingError("Message is incomplete: missing the 0x1E record separator at the end");
  }
  const parts = input.split(RECORD_SEPARATOR);
  parts.pop();
  return parts;
}

/** Options for {@linkcode TextMessageParser}. */
export interface TextMessageParserOptions {
  /**
   * Largest accepted framed message in bytes (UTF-8 payload plus the separator), like the
   * server's `MaximumReceiveMessageSize`. Unlimited when absent.
   */
  readonly maxMessageSize?: number;
}

/**
 * Streaming splitter for `0x1E`-terminated text messages. Chunks may cut messages (and
 * multi-byte UTF-8 characters) anywhere: the unterminated tail is kept until its separator
 * arrives. Splitting happens on bytes, which is UTF-8 safe because `0x1E` never occurs
 * inside a multi-byte sequence.
 *
 * After a {@linkcode FramingError} the parser stays failed and rethrows on every push.
 *
 * @example
 * ```ts
 * import { TextMessageParser } from "./text_framing.ts";
 * import assert from "node:assert/strict";
 * const parser = new TextMessageParser();
 * assert.deepEqual(parser.push('{"type"'), []);
 * assert.deepEqual(parser.push(':6}\x1e{}\x1e'), ['{"type":6}', "{}"]);
 * ```
 */
export class TextMessageParser {
  #tail: Uint8Array = EMPTY_BYTES;
  #maxMessageSize: number;
  #failure: ProtocolError | undefined;

  /**
   * Creates a parser.
   *
   * @param options Optional size limit.
   */
  constructor(options: TextMessageParserOptions = {}) {
    this.#maxMessageSize = options.maxMessageSize ?? Infinity;
  }

  /** Number of buffered bytes of an incomplete message. */
  get bufferedBytes(): number {
    return this.#tail.length;
  }

  /**
   * Feeds a chunk and returns every message it completes.
   *
   * @param chunk Text or UTF-8 bytes.
   * @returns Complete payloads, separators removed, in order.
   * @throws {FramingError} When a message exceeds `maxMessageSize`.
   * @throws {ProtocolError} When a complete message is not valid UTF-8.
   */
  push(chunk: string | Uint8Array): string[] {
    if (this.#failure) throw this.#failure;
    try {
      return this.#split(typeof chunk === "string" ? utf8Encode(chunk) : asBytes(chunk));
    } catch (error) {
      this.#tail = EMPTY_BYTES;
      this.#failure = error instanceof ProtocolError
        ? error
        : new FramingError("Cannot split text messages", { cause: error });
      throw this.#failure;
    }
  }

  #split(bytes: Uint8Array): string[] {
    const scanFrom = this.#tail.length;
    // The common case (no buffered tail) needs no copy.
    const buffer = scanFrom === 0 ? bytes : concatBytes(this.#tail, bytes);
    const messages: string[] = [];
    let start = 0;
    // indexOf runs natively; a byte-by-byte JS loop made chunked input 100x slower.
    for (
      let i = buffer.indexOf(RECORD_SEPARATOR_CODE, scanFrom);
      i !== -1;
      i = buffer.indexOf(RECORD_SEPARATOR_CODE, i + 1)
    ) {
      this.#checkSize(i + 1 - start);
      messages.push(utf8Decode(buffer.subarray(start, i), "text message"));
      start = i + 1;
    }
    // A tail that cannot fit even with its separator is rejected now rather than buffered.
    if (start < buffer.length) this.#checkSize(buffer.length - start + 1);
    this.#tail = start === buffer.length ? EMPTY_BYTES : buffer.slice(start);
    return messages;
  }

  #checkSize(framedSize: number): void {
    if (framedSize > this.#maxMessageSize) {
      throw new FramingError(`The maximum message size of ${this.#maxMessageSize}B was exceeded`);
    }
  }
}
