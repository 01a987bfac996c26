/**
 * One encoded hub message on its way out, in every form a transport may need. The dispatcher
 * builds one per hub protocol per message and hands the same object to every recipient, so the
 * UTF-8 bytes (long polling, binary WebSocket frames) and the Server-Sent Events framing are
 * computed at most once per message, not once per connection.
 *
 * @module
 */

import { formatServerSentEvent } from "../../protocol/signalr/mod.ts";
import type { TransferFormat } from "../../protocol/signalr/mod.ts";

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

/** An encoded message with lazily derived, memoised transport forms. */
export class OutgoingFrame {
  /** Transfer format of the hub protocol that encoded it (Text for JSON, Binary for MessagePack). */
  readonly format: TransferFormat;
  #text: string | undefined;
  #bytes: Uint8Array | undefined;
  #serverSentEvent: Uint8Array | undefined;

  /**
   * Wraps an encoded message.
   *
   * @param data The hub protocol's output: a string (text protocols) or bytes (binary ones).
   * @param format The protocol's transfer format.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TransferFormat } from "../../protocol/signalr/mod.ts";
   * import { OutgoingFrame } from "./outgoing_frame.ts";
   * const frame = new OutgoingFrame('{"type":6}\x1e', TransferFormat.Text);
   * assert.equal(frame.bytes, frame.bytes); // encoded once, then shared
   * assert.equal(frame.bytes.length, 11);
   * ```
   */
  constructor(data: string | Uint8Array, format: TransferFormat) {
    this.format = format;
    if (typeof data === "string") this.#text = data;
    else this.#bytes = data;
  }

  /** The message as text (Text WebSocket frames). */
  get text(): string {
    return this.#text ??= UTF8_DECODER.decode(this.#bytes!);
  }

  /** The message as bytes (binary WebSocket frames, long-polling bodies). */
  get bytes(): Uint8Array {
    return this.#bytes ??= UTF8_ENCODER.encode(this.#text!);
  }

  /** The message as one Server-Sent Event (`data:` lines), UTF-8 encoded. */
  get serverSentEvent(): Uint8Array {
    return this.#serverSentEvent ??= UTF8_ENCODER.encode(formatServerSentEvent(this.text));
  }
}
