/**
 * fast-check arbitraries for hub messages, shared by the property tests (private to this
 * folder). Messages are generated in the canonical shape our parsers produce: no empty
 * `headers` or `streamIds`, no `undefined` properties, `allowReconnect` only when true.
 *
 * @module
 */

import fc from "fast-check";
import { type HubMessage, MessageType } from "./messages.ts";

/** Property runs for every cross-check and robustness property. */
export const RUNS = 2000;

// "__proto__" is a legal header/map key on the wire, but @msgpack/msgpack refuses to decode
// it (prototype-pollution guard), so generated keys avoid it.
const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== "__proto__");

const finiteNumber = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
);

/** JSON-representable values (no `-0`, no `undefined`). */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    finiteNumber,
    fc.string({ maxLength: 10 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

/** MessagePack-representable values: JSON values plus binary data and millisecond dates. */
export const msgpackValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    finiteNumber,
    fc.string({ maxLength: 10 }),
    fc.uint8Array({ maxLength: 6 }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

function compact(message: Record<string, unknown>): HubMessage {
  return Object.fromEntries(
    Object.entries(message).filter(([, v]) => v !== undefined),
  ) as unknown as HubMessage;
}

/**
 * Canonical hub messages of all 9 types, with argument values from `value`.
 *
 * @param value Arbitrary for argument, item and result values.
 * @returns The message arbitrary.
 */
export function hubMessage(value: fc.Arbitrary<unknown>): fc.Arbitrary<HubMessage> {
  const id = fc.string({ minLength: 1, maxLength: 6 });
  const headers = fc.option(
    fc.dictionary(key, fc.string({ maxLength: 6 }), {
      minKeys: 1,
      maxKeys: 3,
      noNullPrototype: true,
    }),
    { nil: undefined },
  );
  const streamIds = fc.option(fc.array(id, { minLength: 1, maxLength: 2 }), { nil: undefined });
  const target = fc.string({ minLength: 1, maxLength: 8 });
  const args = fc.array(value, { maxLength: 3 });
  const sequenceId = fc.maxSafeNat();
  return fc.oneof(
    fc.record({
      type: fc.constant(MessageType.Invocation),
      headers,
      invocationId: fc.option(id, { nil: undefined }),
      target,
      arguments: args,
      streamIds,
    }).map(compact),
    fc.record({
      type: fc.constant(MessageType.StreamInvocation),
      headers,
      invocationId: id,
      target,
      arguments: args,
      streamIds,
    }).map(compact),
    fc.record({ type: fc.constant(MessageType.StreamItem), headers, invocationId: id, item: value })
      .map(compact),
    fc.record({
      type: fc.constant(MessageType.Completion),
      headers,
      invocationId: id,
      outcome: fc.oneof(
        fc.record({ error: fc.string({ minLength: 1, maxLength: 8 }) }),
        fc.record({ result: value }),
        fc.constant({}),
      ),
    }).map(({ outcome, ...rest }) => compact({ ...rest, ...outcome })),
    fc.record({ type: fc.constant(MessageType.CancelInvocation), headers, invocationId: id })
      .map(compact),
    fc.constant<HubMessage>({ type: MessageType.Ping }),
    fc.record({
      type: fc.constant(MessageType.Close),
      error: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
      allowReconnect: fc.option(fc.constant(true), { nil: undefined }),
    }).map(compact),
    fc.record({ type: fc.constant(MessageType.Ack), sequenceId }).map(compact),
    fc.record({ type: fc.constant(MessageType.Sequence), sequenceId }).map(compact),
  );
}
