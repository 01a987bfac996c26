/**
 * Private: how a case watches a hub end a connection whose client broke the protocol, and grades
 * the ASP.NET Core way of doing it (a Close message with an error, then the socket closed).
 *
 * @module
 */

import { type CloseMessage, MessageType } from "../../protocol/signalr/mod.ts";
import { type CaseContext, CaseFailure } from "../types.ts";
import type { HubClient } from "../driver/hub_client.ts";

/**
 * How long a hub gets to answer a handshake it accepts, or to close after a protocol error: a
 * third of the case timeout, between 1 s and 10 s.
 *
 * @param ctx The case context.
 * @returns Milliseconds.
 */
export function answerWindow(ctx: CaseContext): number {
  return Math.max(1000, Math.min(10_000, ctx.timeoutMs / 3));
}

/** What the hub did after a client broke the protocol. */
export interface ProtocolErrorEnd {
  /** The Close hub message, if one came. */
  readonly close?: CloseMessage;
  /** Whether the socket closed within the window. */
  readonly closed: boolean;
}

/**
 * Sends the faulty frame(s) on a connected client, then watches for the Close message and the
 * socket close.
 *
 * @param ctx The case context.
 * @param client A connected client.
 * @param send Sends what breaks the protocol.
 * @returns What the hub did.
 */
export async function afterProtocolError(
  ctx: CaseContext,
  client: HubClient,
  send: () => void,
): Promise<ProtocolErrorEnd> {
  send();
  const closed = await client.waitFor(() => client.closeInfo, answerWindow(ctx));
  const close = client.messages.find((m): m is CloseMessage => m.type === MessageType.Close);
  return close ? { close, closed: closed !== undefined } : { closed: closed !== undefined };
}

/**
 * Grades a protocol-error close: a Close message with an error, then the socket closed.
 *
 * @param end What {@linkcode afterProtocolError} saw.
 * @returns The Close message's error text.
 * @throws {CaseFailure} When a part is missing.
 */
export function expectErrorClose(end: ProtocolErrorEnd): string {
  if (!end.close) {
    throw new CaseFailure(
      "a Close message with an error, then the socket closed",
      end.closed ? "the socket closed without a Close message" : "the connection stayed open",
    );
  }
  if (!end.close.error) {
    throw new CaseFailure("a Close message with an error text", "a Close message without error");
  }
  if (!end.closed) {
    throw new CaseFailure("the socket to close after the Close message", "it stayed open");
  }
  return end.close.error;
}
