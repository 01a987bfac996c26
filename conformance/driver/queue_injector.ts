/**
 * The cloud injection path: messages enqueued on the target's Azure Storage queue, as
 * `AzureQueuePushEngine` writes them (raw PascalCase JSON), or base64-encoded as legacy
 * producers did.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { QueueClient } from "@azure/storage-queue";
import type { Envelope } from "../../protocol/bitwarden/mod.ts";
import { writeQueueMessage } from "../../protocol/bitwarden/mod.ts";
import { type CaseContext, CaseUnsupported, type Trace } from "../types.ts";
import type { EnvelopeInjectorLike } from "./send_injector.ts";

/** A message this harness enqueued: enough to probe for it later. */
export interface EnqueuedMessage {
  /** Queue message id. */
  readonly messageId: string;
  /** Pop receipt (renewed by {@linkcode QueueInjector.probe} while nobody received it). */
  popReceipt: string;
}

/** A message seen with `peek`. */
export interface PeekedMessage {
  /** The stored text. */
  readonly text: string;
  /** How often it was dequeued. */
  readonly dequeueCount: number;
}

/**
 * Enqueues raw text and envelopes on one queue, and peeks at it.
 *
 * @example
 * ```ts ignore
 * // Not run by `deno test --doc`: `ctx` is the CaseContext the runner builds against a deployment.
 * const queue = QueueInjector.fromContext(ctx);
 * await queue.inject(envelope, { encoding: "base64" });
 * ```
 */
export class QueueInjector implements EnvelopeInjectorLike {
  #connectionString: string;
  #queueName: string;
  /** Transport used. */
  readonly mode = "queue" as const;
  #client: QueueClient;
  #trace: Trace | undefined;

  /**
   * Creates an injector.
   *
   * @param connectionString Azure Storage connection string.
   * @param queueName Queue name.
   * @param trace Trace to record enqueues into.
   */
  constructor(connectionString: string, queueName: string, trace?: Trace) {
    this.#client = new QueueClient(connectionString, queueName);
    this.#connectionString = connectionString;
    this.#queueName = queueName;
    this.#trace = trace;
  }

  /**
   * Creates an injector for a case's target.
   *
   * @param ctx The case context.
   * @returns The injector.
   * @throws {CaseUnsupported} When no queue connection string was given.
   */
  static fromContext(ctx: CaseContext): QueueInjector {
    if (!ctx.target.queueConnectionString) {
      throw new CaseUnsupported("Needs --queue-connection-string");
    }
    return new QueueInjector(ctx.target.queueConnectionString, ctx.target.queueName, ctx.trace);
  }

  /**
   * Enqueues a text exactly as given.
   *
   * @param text Message text.
   * @param summary Trace summary.
   */
  async enqueue(text: string, summary = "enqueue"): Promise<EnqueuedMessage> {
    this.#trace?.record({
      from: "harness",
      to: "queue",
      kind: "inject",
      summary,
      data: text.slice(0, 2000),
    });
    const sent = await this.#client.sendMessage(text);
    return { messageId: sent.messageId, popReceipt: sent.popReceipt };
  }

  /**
   * Tells, without changing anything a consumer could see, whether a message this injector
   * enqueued is still in the queue. The pop receipt from the enqueue is valid until a consumer
   * receives the message: Azure then answers an update with 400 `PopReceiptMismatch` while the
   * message exists and 404 `MessageNotFound` once it was deleted.
   *
   * @param message What {@linkcode QueueInjector.enqueue} returned; its receipt is renewed when
   *   the message was never received.
   * @returns `received` (dequeued and still there), `deleted`, or `waiting` (not received yet).
   */
  async probe(message: EnqueuedMessage): Promise<"received" | "deleted" | "waiting"> {
    try {
      // Visibility 0 keeps an unreceived message exactly as available as it was.
      const updated = await this.#client.updateMessage(
        message.messageId,
        message.popReceipt,
        undefined,
        0,
      );
      if (updated.popReceipt) message.popReceipt = updated.popReceipt;
      return "waiting";
    } catch (error) {
      const { statusCode, code } = error as { statusCode?: number; code?: string };
      if (statusCode === 400 && code === "PopReceiptMismatch") return "received";
      if (statusCode === 404) return "deleted";
      throw error;
    }
  }

  /**
   * Enqueues an envelope as the producer writes it.
   *
   * @param envelope The envelope.
   * @param options `raw` JSON (default) or `base64` of that JSON.
   * @returns The enqueued message, to {@linkcode QueueInjector.probe} for later.
   */
  inject(
    envelope: Envelope,
    options: { encoding?: "raw" | "base64" } = {},
  ): Promise<EnqueuedMessage> {
    const json = writeQueueMessage(envelope);
    return options.encoding === "base64"
      ? this.enqueue(
        Buffer.from(json, "utf8").toString("base64"),
        `enqueue base64 Type ${envelope.type}`,
      )
      : this.enqueue(json, `enqueue Type ${envelope.type}`);
  }

  /**
   * An injector for this queue's dead-letter queue (`<queue>-poison`), for peeking.
   *
   * @returns The injector (no trace: nothing is enqueued through it).
   */
  deadLetterQueue(): QueueInjector {
    return new QueueInjector(this.#connectionString, `${this.#queueName}-poison`);
  }

  /**
   * Peeks at up to 32 visible messages at the front of the queue.
   *
   * @returns The messages.
   */
  async peek(): Promise<PeekedMessage[]> {
    const answer = await this.#client.peekMessages({ numberOfMessages: 32 });
    return answer.peekedMessageItems.map((m) => ({
      text: m.messageText,
      dequeueCount: m.dequeueCount,
    }));
  }

  /**
   * Approximate number of messages in the queue, invisible ones included.
   *
   * @returns The count.
   */
  async approximateCount(): Promise<number> {
    const properties = await this.#client.getProperties();
    return properties.approximateMessagesCount ?? 0;
  }

  /** Nothing to release (the SDK keeps no open handles between calls). */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
