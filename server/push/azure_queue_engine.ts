/**
 * `AzureQueuePushEngine`: writes each push to the Azure Storage queue `notifications` as the
 * real cloud API does: `{Type, Payload, ContextId}` in PascalCase, nulls omitted, plain text
 * (not base64) - research bitwarden-server.md §1.3.
 *
 * @module
 */

import { consoleLogger, type Logger } from "../kernel/mod.ts";
import { QueueClient } from "@azure/storage-queue";
import { createEnvelope, writeQueueMessage } from "../../protocol/bitwarden/mod.ts";
import { contextIdOf, type PushEngine, type PushNotification } from "./types.ts";

/** Options of {@linkcode AzureQueuePushEngine}. */
export interface AzureQueuePushEngineOptions {
  /** Storage connection string. */
  readonly connectionString: string;
  /** Queue name (default `notifications`). */
  readonly queueName?: string;
  /** Logger. */
  readonly log?: Logger;
}

/** Pushes through an Azure Storage queue. */
export class AzureQueuePushEngine implements PushEngine {
  #client: QueueClient;
  #ready: Promise<void> | undefined;
  #log: Logger;
  #sent = 0;
  #failed = 0;

  /**
   * Creates the engine (no I/O until the first push or `ensureQueue`).
   *
   * @param options Connection string, queue name, logger.
   */
  constructor(options: AzureQueuePushEngineOptions) {
    this.#client = new QueueClient(options.connectionString, options.queueName ?? "notifications");
    this.#log = options.log ?? consoleLogger("push");
  }

  /** Messages enqueued and failures so far. */
  get stats(): { readonly sent: number; readonly failed: number } {
    return { sent: this.#sent, failed: this.#failed };
  }

  /**
   * Creates the queue if missing (the real deployment provisions it; a fresh Azurite has none).
   * Rejects when the storage account is unreachable, so startup can fail with a clear error.
   */
  ensureQueue(): Promise<void> {
    if (!this.#ready) {
      const attempt = this.#client.createIfNotExists().then(() => undefined);
      this.#ready = attempt;
      attempt.catch(() => {
        if (this.#ready === attempt) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  /**
   * Enqueues the notification text. A failure is logged and counted, not thrown.
   *
   * @param notification The push request.
   */
  async push(notification: PushNotification): Promise<void> {
    const text = writeQueueMessage(
      createEnvelope(notification.type, notification.payload, contextIdOf(notification)),
    );
    try {
      await this.ensureQueue();
      await this.#client.sendMessage(text);
      this.#sent++;
    } catch (error) {
      this.#failed++;
      this.#log(
        "error",
        `Azure queue push failed: type ${notification.type}: ${(error as Error).message}`,
      );
    }
  }
}
