/**
 * The Server-Sent Events transport (server -> client half; the client POSTs its data): a
 * `text/event-stream` response whose every write is one event, preceded by the `:\r\n`
 * preamble, with the headers ASP.NET Core sends. Text transfer format only.
 *
 * @module
 */

import { SSE_PREAMBLE, TransferFormat } from "../../protocol/signalr/mod.ts";
import type { TransportCloseInfo, TransportSink } from "./hub_connection.ts";
import type { OutgoingFrame } from "./outgoing_frame.ts";

const UTF8 = new TextEncoder();

/** An SSE response stream acting as a transport sink. */
export class SseSink implements TransportSink {
  /** Transport name. */
  readonly kind = "ServerSentEvents" as const;
  /** SSE carries text only. */
  readonly transferFormats: readonly TransferFormat[] = [TransferFormat.Text];
  /** The client pings over SSE like over WebSockets. */
  readonly inherentKeepAlive = false;
  /** The response to return to the HTTP server. */
  readonly response: Response;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  #onCancel: (() => void) | undefined;

  /**
   * Creates the sink and its streaming response.
   *
   * @param sendBufferLimit Bytes queued before the peer counts as a slow consumer.
   */
  constructor(sendBufferLimit: number) {
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        controller.enqueue(UTF8.encode(SSE_PREAMBLE));
      },
      cancel: () => {
        this.#closed = true;
        this.#onCancel?.();
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: sendBufferLimit }));
    this.response = new Response(stream, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache,no-store",
        "pragma": "no-cache",
        "content-encoding": "identity",
        "x-accel-buffering": "no",
      },
    });
  }

  /**
   * Registers the callback run when the client goes away.
   *
   * @param callback Called once when the response stream is cancelled.
   */
  onCancel(callback: () => void): void {
    this.#onCancel = callback;
  }

  /** True once closed by either side. */
  get closed(): boolean {
    return this.#closed;
  }

  write(frame: OutgoingFrame): boolean {
    if (this.#closed) return true;
    try {
      this.#controller.enqueue(frame.serverSentEvent);
    } catch {
      return true;
    }
    return (this.#controller.desiredSize ?? 0) >= 0;
  }

  close(_info: TransportCloseInfo): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#controller.close();
    } catch {
      // Already cancelled by the client.
    }
  }
}
