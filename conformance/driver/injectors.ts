/**
 * Picks the envelope transport of a run (`--inject send` or `--inject queue`).
 *
 * @module
 */

import { type CaseContext, CaseUnsupported } from "../types.ts";
import { createSendInjector, type EnvelopeInjectorLike } from "./send_injector.ts";
import { QueueInjector } from "./queue_injector.ts";

/** Injects raw envelopes into the target. */
export type EnvelopeInjector = EnvelopeInjectorLike;

/**
 * Creates the envelope injector for the run's inject mode.
 *
 * @param ctx The case context.
 * @returns The injector; close it when done.
 * @throws {CaseUnsupported} In `api` mode, where only real API calls produce pushes.
 */
export async function createEnvelopeInjector(ctx: CaseContext): Promise<EnvelopeInjector> {
  switch (ctx.target.inject) {
    case "send":
      return await createSendInjector(ctx);
    case "queue":
      return QueueInjector.fromContext(ctx);
    default:
      throw new CaseUnsupported("Raw envelopes need --inject send or --inject queue");
  }
}
