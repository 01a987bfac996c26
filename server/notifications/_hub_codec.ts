/**
 * Server-side view of the two hub protocols: streaming incoming parsers, cached Ping and
 * handshake frames, and handshake validation. Private to the notifications service; the wire
 * rules themselves live in `protocol/signalr`.
 *
 * @module
 */

import { HandshakeError, ProtocolError } from "../../protocol/mod.ts";
import {
  BinaryMessageParser,
  frameBinary,
  handshakeError,
  type HubMessage,
  type HubProtocol,
  jsonHubProtocol,
  messagePackHubProtocol,
  MessageType,
  parseHandshakeRequest,
  TextMessageParser,
  TransferFormat,
  writeHandshakeResponse,
} from "../../protocol/signalr/mod.ts";

/** Incremental parser of one connection's incoming hub messages. */
export interface HubFrameParser {
  /**
   * Feeds bytes and returns the complete messages (unknown message types skipped).
   *
   * @throws {ProtocolError} On framing or message errors (including the size limit).
   */
  push(bytes: Uint8Array): HubMessage[];
}

/** A hub protocol as the server uses it. */
export interface HubCodec {
  /** Handshake name. */
  readonly name: string;
  /** Highest supported version. */
  readonly version: number;
  /** Transfer format. */
  readonly transferFormat: TransferFormat;
  /** The protocol. */
  readonly protocol: HubProtocol;
  /** A fresh incoming parser with the size limit. */
  createParser(maxMessageSize: number): HubFrameParser;
  /** Encodes one message (text for JSON, bytes for MessagePack). */
  encode(message: HubMessage): string | Uint8Array;
  /** The cached Ping frame. */
  ping(): string | Uint8Array;
  /** The successful handshake response in this protocol's frame type. */
  handshakeResponse(): string | Uint8Array;
}

function toBytes(data: string | ArrayBuffer): string | Uint8Array {
  return typeof data === "string" ? data : new Uint8Array(data);
}

const UTF8 = new TextEncoder();

function makeCodec(protocol: HubProtocol): HubCodec {
  const binary = protocol.transferFormat === TransferFormat.Binary;
  const ping = toBytes(protocol.writeMessage({ type: MessageType.Ping }));
  const ok = writeHandshakeResponse();
  const handshake = binary ? UTF8.encode(ok) : ok;
  return {
    name: protocol.name,
    version: protocol.version,
    transferFormat: protocol.transferFormat,
    protocol,
    createParser(maxMessageSize: number): HubFrameParser {
      if (binary) {
        const framer = new BinaryMessageParser({ maxMessageSize });
        return {
          push: (bytes) =>
            framer.push(bytes).flatMap((body) => protocol.parseMessages(frameBinary(body))),
        };
      }
      const framer = new TextMessageParser({ maxMessageSize });
      return {
        push: (bytes) =>
          framer.push(bytes).flatMap((payload) => protocol.parseMessages(`${payload}\x1e`)),
      };
    },
    encode: (message) => toBytes(protocol.writeMessage(message)),
    ping: () => ping,
    handshakeResponse: () => handshake,
  };
}

/** The JSON codec. */
export const jsonCodec: HubCodec = makeCodec(jsonHubProtocol);

/** The MessagePack codec (timestamps as `Date`). */
export const messagePackCodec: HubCodec = makeCodec(messagePackHubProtocol);

/** Both codecs by handshake name. */
export const DEFAULT_CODECS: ReadonlyMap<string, HubCodec> = new Map([
  [jsonCodec.name, jsonCodec],
  [messagePackCodec.name, messagePackCodec],
]);

/** Outcome of {@linkcode parseHandshake}. */
export type HandshakeOutcome =
  | { readonly ok: true; readonly codec: HubCodec }
  | {
    readonly ok: false;
    /** Text for the handshake response (ASP.NET Core's). */
    readonly error: string;
    /** Specific detail for logs and the close reason. */
    readonly detail: string;
    /** True when the request did not parse (the real server hides the detail then). */
    readonly unexpected: boolean;
  };

/**
 * Parses and validates a complete handshake record (bytes up to and including `0x1E`).
 *
 * @param record The handshake bytes.
 * @param options Available codecs and the transport's transfer formats.
 * @returns The chosen codec or the refusal.
 */
export function parseHandshake(
  record: Uint8Array,
  options: {
    readonly codecs: ReadonlyMap<string, HubCodec>;
    readonly transferFormats: readonly TransferFormat[];
  },
): HandshakeOutcome {
  let request;
  try {
    request = parseHandshakeRequest(record);
  } catch (error) {
    const detail = error instanceof HandshakeError || error instanceof ProtocolError
      ? error.message
      : String(error);
    return { ok: false, error: detail, detail, unexpected: true };
  }
  if (!request) {
    return { ok: false, error: "Incomplete handshake", detail: "No 0x1E", unexpected: true };
  }
  const codecs = [...options.codecs.values()];
  // ASP.NET Core's protocol resolver matches names with OrdinalIgnoreCase: `MessagePack` is
  // `messagepack`. Texts name the server's spelling once the protocol is known.
  const wanted = request.value.protocol.toLowerCase();
  const match = codecs.find((c) => c.name.toLowerCase() === wanted);
  const canonical = match ? { ...request.value, protocol: match.name } : request.value;
  const refusal = handshakeError(canonical, {
    protocols: codecs.map((c) => ({
      name: c.name,
      version: c.version,
      transferFormat: c.transferFormat,
    })),
    transferFormats: options.transferFormats,
  });
  if (refusal !== undefined) {
    return { ok: false, error: refusal, detail: refusal, unexpected: false };
  }
  return { ok: true, codec: match! };
}
