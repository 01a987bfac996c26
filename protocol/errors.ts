/**
 * Errors raised by the pure protocol layer. Every parser in `protocol/` throws only
 * {@linkcode ProtocolError} or one of its subclasses, so callers can tell bad input
 * from a bug with one `instanceof` check.
 *
 * @module
 */

/** Invalid input for a wire protocol (SignalR framing, hub messages, Bitwarden envelopes). */
export class ProtocolError extends Error {
  /**
   * Creates a protocol error.
   *
   * @param message What was wrong with the input, starting with a capital, no trailing period.
   * @param options Standard error options (for example `cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/** A SignalR handshake request or response that cannot be accepted. */
export class HandshakeError extends ProtocolError {
  /**
   * Creates a handshake error.
   *
   * @param message The error text, as the ASP.NET Core server would report it where one exists.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HandshakeError";
  }
}

/** A framing problem: bad record separator use, bad VarInt length prefix, oversized frame. */
export class FramingError extends ProtocolError {
  /**
   * Creates a framing error.
   *
   * @param message What is wrong with the frame.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FramingError";
  }
}

/** A Bitwarden push envelope or payload that cannot be parsed; `field` names the offending field. */
export class EnvelopeError extends ProtocolError {
  /** Dotted path of the offending field, for example `Payload.UserId`, or `""` for the whole input. */
  readonly field: string;

  /**
   * Creates an envelope error.
   *
   * @param field Dotted path of the offending field (`Type`, `Payload.UserId`), `""` for the whole input.
   * @param message What is wrong with it.
   * @param options Standard error options.
   */
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EnvelopeError";
    this.field = field;
  }
}
