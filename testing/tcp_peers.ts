/**
 * Raw TCP views of WebSocket servers for tests and benchmarks: the server side of its sockets
 * counted by TCP state (what `ss` shows), and a WebSocket peer that upgrades and then never
 * reads, never answers (a Close included) unless told to send something.
 *
 * @module
 */

/** The headers of a valid WebSocket upgrade request (RFC 6455 sample key). */
export const UPGRADE_HEADERS: Readonly<Record<string, string>> = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

/** TCP states of the server's own side of its connections on one port. */
export interface ServerSocketStates {
  /** ESTABLISHED: the server still holds the socket open. */
  readonly established: number;
  /** CLOSE-WAIT: the peer closed, the server never closed its side (a leak). */
  readonly closeWait: number;
}

interface TcpRow {
  readonly state: "ESTABLISHED" | "CLOSE-WAIT" | "OTHER";
  readonly localPort: number;
  readonly remotePort: number;
}

function hexPort(address: string): number {
  return parseInt(address.slice(address.lastIndexOf(":") + 1), 16);
}

function decimalPort(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** `/proc/net/tcp{,6}`: Deno grants it only with --allow-all. */
async function procRows(): Promise<TcpRow[] | null> {
  const rows: TcpRow[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && file.endsWith("6")) continue;
      return null;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (!local || !remote || !state) continue;
      rows.push({
        state: state === "01" ? "ESTABLISHED" : state === "08" ? "CLOSE-WAIT" : "OTHER",
        localPort: hexPort(local),
        remotePort: hexPort(remote),
      });
    }
  }
  return rows;
}

/** `ss -tanH` (iproute2), for runs granted --allow-run but not --allow-all. */
async function ssRows(): Promise<TcpRow[] | null> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("ss", { args: ["-tanH"], stdin: "null", stderr: "null" })
      .output();
  } catch {
    return null;
  }
  if (!output.success) return null;
  return new TextDecoder().decode(output.stdout).split("\n").flatMap((line) => {
    const [state, , , local, remote] = line.trim().split(/\s+/);
    if (!state || !local || !remote) return [];
    return [
      {
        state: state === "ESTAB" ? "ESTABLISHED" : state === "CLOSE-WAIT" ? "CLOSE-WAIT" : "OTHER",
        localPort: decimalPort(local),
        remotePort: decimalPort(remote),
      } as const,
    ];
  });
}

/**
 * Counts the server side of TCP connections on `port` by state, as `ss -tn sport = :port`
 * shows them: from `/proc/net/tcp{,6}` when readable (Deno asks --allow-all for it), else from
 * `ss` (--allow-run). Only sockets with a local port of `port` count, so the test's own client
 * ends never do. A socket whose file descriptor was released is no longer ESTABLISHED or
 * CLOSE-WAIT (it is FIN-WAIT or TIME-WAIT in the kernel), so `established + closeWait` is what
 * the server process holds.
 *
 * @param port The server's port.
 * @param peerPorts Count only connections from these client ports (default: all).
 * @returns The counts.
 * @throws {Error} When neither source can be read: counting nothing would pass any test.
 */
export async function serverSocketStates(
  port: number,
  peerPorts?: ReadonlySet<number>,
): Promise<ServerSocketStates> {
  const rows = await procRows() ?? await ssRows();
  if (rows === null) {
    throw new Error(
      "Cannot count sockets: /proc/net/tcp needs --allow-all and `ss` needs --allow-run",
    );
  }
  let established = 0;
  let closeWait = 0;
  for (const row of rows) {
    if (row.localPort !== port) continue;
    if (peerPorts && !peerPorts.has(row.remotePort)) continue;
    if (row.state === "ESTABLISHED") established++;
    else if (row.state === "CLOSE-WAIT") closeWait++;
  }
  return { established, closeWait };
}

/** Options of {@linkcode SilentPeer.open}. */
export interface SilentPeerOptions {
  /** Access token (query `access_token`). */
  readonly token: string;
  /** Path (default `/hub`). */
  readonly path?: string;
  /** Send the JSON handshake request right after the upgrade (default false). */
  readonly handshake?: boolean;
}

/**
 * A WebSocket peer over raw TCP that upgrades and then never reads again and never answers
 * anything, a Close included: the peer that keeps a server's socket if the server waits for it.
 */
export class SilentPeer {
  /** The TCP connection. */
  readonly conn: Deno.TcpConn;
  /** The peer's local port (the server sees it as the remote port). */
  readonly port: number;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.port = conn.localAddr.port;
  }

  /**
   * Connects, upgrades (asserting the 101) and optionally sends the handshake.
   *
   * @param baseUrl Service base URL.
   * @param options Token, path, handshake.
   * @returns The peer.
   */
  static async open(baseUrl: string, options: SilentPeerOptions): Promise<SilentPeer> {
    const url = new URL(baseUrl);
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    const peer = new SilentPeer(conn);
    const request = `GET ${options.path ?? "/hub"}?access_token=${options.token} HTTP/1.1\r\n` +
      `host: ${url.host}\r\n` +
      Object.entries(UPGRADE_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("Closed during upgrade");
      head += new TextDecoder().decode(buffer.subarray(0, n));
    }
    if (!head.startsWith("HTTP/1.1 101")) {
      conn.close();
      throw new Error(`Upgrade refused: ${head.split("\r\n")[0]}`);
    }
    if (options.handshake) await peer.sendText('{"protocol":"json","version":1}\x1e');
    return peer;
  }

  /**
   * Sends one masked text frame (client frames must be masked).
   *
   * @param text The payload.
   */
  async sendText(text: string): Promise<void> {
    await this.conn.write(maskedFrame(0x1, new TextEncoder().encode(text)));
  }

  /**
   * Sends only the header of a text frame announcing `length` bytes (and none of them): what
   * a server that checks sizes up front must refuse without reading the payload.
   *
   * @param length The announced payload length.
   */
  async sendFrameHeader(length: number): Promise<void> {
    await this.conn.write(frameHeader(0x1, length));
  }

  /** Closes the TCP connection (the peer process "exits"). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

const MASK = [0x11, 0x22, 0x33, 0x44] as const;

/** A client frame header (FIN set, masked) announcing `length` payload bytes, mask included. */
function frameHeader(opcode: number, length: number): Uint8Array {
  const size = length < 126
    ? [0x80 | length]
    : length < 65_536
    ? [0x80 | 126, length >> 8, length & 0xff]
    : [0x80 | 127, 0, 0, 0, 0, ...[24, 16, 8, 0].map((shift) => (length >>> shift) & 0xff)];
  return new Uint8Array([0x80 | opcode, ...size, ...MASK]);
}

function maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const header = frameHeader(opcode, payload.length);
  const frame = new Uint8Array(header.length + payload.length);
  frame.set(header);
  for (let i = 0; i < payload.length; i++) {
    frame[header.length + i] = payload[i]! ^ MASK[i % 4]!;
  }
  return frame;
}
