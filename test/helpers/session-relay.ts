import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { channelPath } from '../../src/protocol/messages.js';
import {
  ackedBytes,
  ackFrame,
  dataFrame,
  decodeFrame,
  type Frame,
  frameJson,
  frameType,
} from '../../src/protocol/session-frames.js';
import { waitFor } from './deadline.js';

/**
 * The server's side of an agent's session socket, for tests: accepts the agent's dial, records the
 * headers and every frame, and acknowledges the agent's data at once unless told otherwise.
 */
export class RelayedSession {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  /** Acks each data frame as it arrives; off: the test acks (see `ackAll`). */
  autoAck = true;
  private readonly unacked = new Map<number, number>();
  /** The largest count of unacknowledged data bytes seen on one stream. */
  maxUnackedBytes = 0;

  constructor(
    readonly socket: WebSocket,
    readonly path: string,
    readonly headers: IncomingHttpHeaders,
  ) {
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data));
      if (!frame) throw new Error('the agent sent a malformed frame');
      this.frames.push(frame);
      if (frame.type !== frameType.data) return;
      const unacked = (this.unacked.get(frame.stream) ?? 0) + frame.payload.byteLength;
      this.unacked.set(frame.stream, unacked);
      this.maxUnackedBytes = Math.max(this.maxUnackedBytes, unacked);
      if (this.autoAck) this.ackAll();
    });
    socket.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  send(frame: Uint8Array): void {
    this.socket.send(frame);
  }

  type(text: string, stream = 0): void {
    this.send(dataFrame(stream, Buffer.from(text)));
  }

  /** Acknowledges every data byte received so far. */
  ackAll(): void {
    for (const [stream, bytes] of this.unacked) {
      if (bytes > 0) this.send(ackFrame(stream, bytes));
      this.unacked.set(stream, 0);
    }
  }

  /** The data of one stream received so far. */
  bytes(stream = 0): Buffer {
    const parts = this.frames.filter((f) => f.type === frameType.data && f.stream === stream);
    return Buffer.concat(parts.map((f) => f.payload));
  }

  output(): string {
    return this.bytes(0).toString('latin1');
  }

  /** The JSON of the first frame of `type` on `stream`, once it came. */
  jsonOf(
    type: typeof frameType.exit | typeof frameType.error,
    stream = 0,
  ): Record<string, unknown> | undefined {
    const frame = this.frames.find((f) => f.type === type && f.stream === stream);
    return frame && frameJson(frame);
  }

  has(type: number, stream: number): boolean {
    return this.frames.some((f) => f.type === type && f.stream === stream);
  }

  /** The terminal's output as text: escape sequences (bracketed paste, colours) and carriage returns left out. */
  text(): string {
    const sequences = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;?]*[A-Za-z]`, 'g');
    return this.output().replace(sequences, '').replace(/\r/g, '');
  }

  waitForText(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return waitFor(`output matching ${pattern}`, () => this.text().match(pattern) ?? undefined, timeoutMs);
  }

  waitForClose(timeoutMs = 15_000): Promise<number> {
    return waitFor('the session socket to close', () => this.closeCode, timeoutMs);
  }

  /** Acks the agent acknowledged on `stream` (its credit returned for our data). */
  ackedBy(stream: number): number {
    return this.frames
      .filter((f) => f.type === frameType.ack && f.stream === stream)
      .reduce((sum, f) => sum + ackedBytes(f), 0);
  }
}

export interface SessionRelay {
  /** http://127.0.0.1:PORT, as a server URL the agent knows. */
  readonly url: string;
  readonly sessions: RelayedSession[];
  /** The next session the agent dials (the first not yet taken). */
  next(): Promise<RelayedSession>;
  close(): Promise<void>;
}

export interface RelayOptions {
  /** The agent channel's connections (`channelPath`) go here, so an agent whose server this is dials its sessions here too. */
  readonly channel?: (socket: WebSocket) => void;
  /** Serves wss:// (https:// as the agent's server URL) with this certificate. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

/** A relay on 127.0.0.1 that takes every session the agent dials. */
export async function startSessionRelay(options: RelayOptions = {}): Promise<SessionRelay> {
  const web = options.tls ? createHttpsServer(options.tls) : createHttpServer();
  const server = new WebSocketServer({ server: web });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  const sessions: RelayedSession[] = [];
  let taken = 0;
  server.on('connection', (socket, request) => {
    if (options.channel && request.url === channelPath) options.channel(socket);
    else sessions.push(new RelayedSession(socket, request.url ?? '', request.headers));
  });
  const { port } = web.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    sessions,
    next: async () => {
      const session = await waitFor('the agent to dial', () => sessions[taken]);
      taken++;
      return session;
    },
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
      await new Promise((resolve) => web.close(resolve));
    },
  };
}
