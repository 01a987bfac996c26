/**
 * SignalR hub message shapes, identical to `@microsoft/signalr`'s `IHubProtocol.ts` so that
 * messages produced by our protocols and by the official client compare with `deepStrictEqual`.
 *
 * @module
 */

/** Hub message type codes (the `type` field / first MessagePack array element). */
export enum MessageType {
  /** Invocation of a hub or client method. */
  Invocation = 1,
  /** One item of a streaming result. */
  StreamItem = 2,
  /** Result (or error) of an invocation. */
  Completion = 3,
  /** Invocation of a streaming method. */
  StreamInvocation = 4,
  /** Cancellation of a streaming invocation. */
  CancelInvocation = 5,
  /** Keep-alive. */
  Ping = 6,
  /** Connection close, optionally with an error and a reconnect hint. */
  Close = 7,
  /** Stateful-reconnect acknowledgement. */
  Ack = 8,
  /** Stateful-reconnect sequence reset. */
  Sequence = 9,
}

/** String-to-string headers carried by message types 1..5. */
export interface MessageHeaders {
  [key: string]: string;
}

/** Fields shared by every hub message. */
export interface HubMessageBase {
  /** The message type code. */
  readonly type: MessageType;
}

/** Fields shared by the invocation-family messages (types 1..5). */
export interface HubInvocationMessage extends HubMessageBase {
  /** Optional headers; absent when empty on the JSON wire. */
  readonly headers?: MessageHeaders;
  /** Invocation id; absent for non-blocking invocations. */
  readonly invocationId?: string;
}

/** Type 1: invoke a method on the other side. */
export interface InvocationMessage extends HubInvocationMessage {
  /** Message type. */
  readonly type: MessageType.Invocation;
  /** Method name. */
  readonly target: string;
  /** Positional arguments. */
  // deno-lint-ignore no-explicit-any
  readonly arguments: any[];
  /** Ids of upload streams. */
  readonly streamIds?: string[];
}

/** Type 4: invoke a streaming method. */
export interface StreamInvocationMessage extends HubInvocationMessage {
  /** Message type. */
  readonly type: MessageType.StreamInvocation;
  /** Invocation id (required). */
  readonly invocationId: string;
  /** Method name. */
  readonly target: string;
  /** Positional arguments. */
  // deno-lint-ignore no-explicit-any
  readonly arguments: any[];
  /** Ids of upload streams. */
  readonly streamIds?: string[];
}

/** Type 2: one streamed item. */
export interface StreamItemMessage extends HubInvocationMessage {
  /** Message type. */
  readonly type: MessageType.StreamItem;
  /** Invocation id (required). */
  readonly invocationId: string;
  /** The item. */
  // deno-lint-ignore no-explicit-any
  readonly item?: any;
}

/** Type 3: invocation result or error. */
export interface CompletionMessage extends HubInvocationMessage {
  /** Message type. */
  readonly type: MessageType.Completion;
  /** Invocation id (required). */
  readonly invocationId: string;
  /** Error text; mutually exclusive with `result`. */
  readonly error?: string;
  /** Result value; mutually exclusive with `error`. */
  // deno-lint-ignore no-explicit-any
  readonly result?: any;
}

/** Type 6: keep-alive. */
export interface PingMessage extends HubMessageBase {
  /** Message type. */
  readonly type: MessageType.Ping;
}

/** Type 7: close the connection. */
export interface CloseMessage extends HubMessageBase {
  /** Message type. */
  readonly type: MessageType.Close;
  /** Reason the connection closed with an error, if any. */
  readonly error?: string;
  /** Whether the client may reconnect automatically. */
  readonly allowReconnect?: boolean;
}

/** Type 5: cancel a streaming invocation. */
export interface CancelInvocationMessage extends HubInvocationMessage {
  /** Message type. */
  readonly type: MessageType.CancelInvocation;
  /** Invocation id (required). */
  readonly invocationId: string;
}

/** Type 8: stateful-reconnect acknowledgement. */
export interface AckMessage extends HubMessageBase {
  /** Message type. */
  readonly type: MessageType.Ack;
  /** Highest sequence id received. */
  readonly sequenceId: number;
}

/** Type 9: stateful-reconnect sequence reset. */
export interface SequenceMessage extends HubMessageBase {
  /** Message type. */
  readonly type: MessageType.Sequence;
  /** First sequence id that follows. */
  readonly sequenceId: number;
}

/** Any SignalR hub message. */
export type HubMessage =
  | InvocationMessage
  | StreamInvocationMessage
  | StreamItemMessage
  | CompletionMessage
  | CancelInvocationMessage
  | PingMessage
  | CloseMessage
  | AckMessage
  | SequenceMessage;

/** Transfer formats, with the official client's numeric values. */
export enum TransferFormat {
  /** Text frames (JSON protocol). */
  Text = 1,
  /** Binary frames (MessagePack protocol). */
  Binary = 2,
}

/**
 * A hub protocol, shaped like `@microsoft/signalr`'s `IHubProtocol` (minus the logger
 * argument, which our pure parsers do not need; an extra argument is ignored, so
 * instances are drop-in replacements for the official ones).
 */
export interface HubProtocol {
  /** Protocol name used in the handshake (`json`, `messagepack`). */
  readonly name: string;
  /** Highest protocol version supported. */
  readonly version: number;
  /** Transfer format the protocol needs. */
  readonly transferFormat: TransferFormat;
  /**
   * Parses every complete message in `input`. Throws `ProtocolError` on malformed input.
   * Incomplete trailing data is an error here (as in the official client); use the
   * streaming parsers in the framing modules to buffer partial input.
   */
  parseMessages(input: string | ArrayBuffer | Uint8Array): HubMessage[];
  /**
   * Serializes one message, framing included: a string ending in 0x1E for text protocols,
   * an `ArrayBuffer` spanning exactly the framed bytes for binary ones (as the official
   * client returns, so an instance can be passed to `HubConnectionBuilder.withHubProtocol`).
   */
  writeMessage(message: HubMessage): string | ArrayBuffer;
}
