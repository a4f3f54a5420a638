import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  ackedBytes,
  ackFrame,
  dataFrame,
  decodeFrame,
  encodeFrame,
  type Frame,
  frameType,
  jsonFrame,
  sessionLimits,
  terminalSize,
} from '../protocol/session-frames.js';
import { maxQueuedBytes, maxSendFrameBytes } from './session-stream.js';
import { SessionConnectError, StreamError, TerminalSession } from './terminal-session.js';

/** The server's end of one session socket: the frames the client sent, in order, awaited one by one. */
class Peer {
  private readonly frames: Frame[] = [];
  private wake: (() => void) | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly url: string,
  ) {
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data));
      if (!frame) throw new Error('the client sent a malformed frame');
      this.frames.push(frame);
      this.wake?.();
    });
  }

  async next(): Promise<Frame> {
    while (this.frames.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.frames.shift() as Frame;
  }

  /** Whatever arrived so far, without waiting. */
  drain(): Frame[] {
    return this.frames.splice(0);
  }

  send(frame: Uint8Array): void {
    this.socket.send(frame);
  }
}

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A relay stand-in on a free port; resolves the client's session and the server's end of it. */
async function connect(): Promise<{ session: TerminalSession; peer: Peer }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const peer = new Promise<Peer>((resolve) =>
    server.once('connection', (socket, request) => resolve(new Peer(socket, request.url ?? ''))),
  );
  const session = await TerminalSession.open(WebSocket, {
    WebSocketUrl: `ws://127.0.0.1:${port}/session/v1/s-1`,
    SecurityToken: 'tok en',
  });
  return { session, peer: await peer };
}

/** Lets the sockets deliver what is in flight, both ways. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

const bytesOf = (frames: readonly Frame[], type: number) =>
  frames.filter((frame) => frame.type === type).reduce((sum, frame) => sum + frame.payload.byteLength, 0);

describe('TerminalSession', () => {
  it('opens WebSocketUrl with the token as a query parameter', async () => {
    const { peer } = await connect();
    expect(peer.url).toBe('/session/v1/s-1?token=tok+en');
  });

  it('sends input in frames of at most 32 KiB, never past the 256 KiB window, the rest after acks', async () => {
    const { session, peer } = await connect();
    const input = new Uint8Array(600 * 1024).map((_, i) => i % 251);
    let written = false;
    const writing = session.terminal.write(input).then(() => {
      written = true;
    });
    await settle();
    const first = peer.drain();
    expect(first.every((frame) => frame.type === frameType.data && frame.stream === 0)).toBe(true);
    expect(Math.max(...first.map((frame) => frame.payload.byteLength))).toBe(maxSendFrameBytes);
    expect(bytesOf(first, frameType.data)).toBe(sessionLimits.windowBytes);
    expect(written).toBe(false);
    expect(session.terminal.queued).toBe(input.byteLength - sessionLimits.windowBytes);

    // The server acks 100 KiB at a time: the client never has more than the window unacknowledged.
    const received = [...first];
    let acked = 0;
    while (acked < input.byteLength) {
      const credit = Math.min(bytesOf(received, frameType.data) - acked, 100 * 1024);
      peer.send(ackFrame(0, credit));
      acked += credit;
      await settle();
      received.push(...peer.drain());
      expect(bytesOf(received, frameType.data) - acked).toBeLessThanOrEqual(sessionLimits.windowBytes);
    }
    await writing;
    expect(written).toBe(true);
    const joined = Buffer.concat(received.map((frame) => frame.payload));
    expect(joined.equals(Buffer.from(input))).toBe(true);
  });

  it('refuses a writer that does not wait once a MiB is queued', async () => {
    const { session } = await connect();
    const kept = session.terminal.write(new Uint8Array(sessionLimits.windowBytes + maxQueuedBytes));
    await expect(session.terminal.write(new Uint8Array(1))).rejects.toThrow(/QueueFull/);
    session.close();
    await expect(kept).rejects.toBeInstanceOf(StreamError);
  });

  it('acknowledges output only once the reader has passed it on, and keeps what came before attach', async () => {
    const { session, peer } = await connect();
    peer.send(dataFrame(0, new TextEncoder().encode('hello ')));
    peer.send(dataFrame(0, new TextEncoder().encode('world')));
    await settle();
    const chunks: string[] = [];
    const dones: (() => void)[] = [];
    session.terminal.attach({
      data: (bytes, done) => {
        chunks.push(new TextDecoder().decode(bytes));
        dones.push(done);
      },
      end: () => {},
      error: () => {},
    });
    expect(chunks).toEqual(['hello ', 'world']);
    await settle();
    expect(peer.drain()).toEqual([]);
    dones[1]?.();
    dones[1]?.();
    const ack = await peer.next();
    expect([ack.type, ack.stream, ackedBytes(ack)]).toEqual([frameType.ack, 0, 5]);
    dones[0]?.();
    expect(ackedBytes(await peer.next())).toBe(6);
  });

  it('sends the terminal size, clamped to what a frame may say', async () => {
    const { session, peer } = await connect();
    session.resize(120, 40);
    session.resize(0, 5000);
    expect(terminalSize(await peer.next())).toEqual({ columns: 120, rows: 40 });
    expect(terminalSize(await peer.next())).toEqual({ columns: 1, rows: sessionLimits.maxTerminalSide });
  });

  it("ends with the shell's exit status and the server's close reason", async () => {
    const { session, peer } = await connect();
    peer.send(jsonFrame(frameType.exit, 0, { exitCode: 3 }));
    peer.socket.close(1000, 'ShellExited');
    expect(await session.ended).toEqual({ reason: 'ShellExited', code: 1000, exit: { exitCode: 3 } });
  });

  it("reports the session's error frame and a signal's end", async () => {
    const { session, peer } = await connect();
    peer.send(jsonFrame(frameType.exit, 0, { exitCode: null, signal: 'SIGKILL' }));
    peer.send(jsonFrame(frameType.error, 0, { code: 'UserNotExists', message: 'no user bob' }));
    peer.socket.close(1000, 'UserNotExists');
    const end = await session.ended;
    expect(end.exit).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(end.error?.code).toBe('UserNotExists');
  });

  it('says ConnectionLost when the socket drops without a reason, and closes as ClientClosed', async () => {
    const first = await connect();
    first.peer.socket.terminate();
    expect((await first.session.ended).reason).toBe('ConnectionLost');
    const second = await connect();
    const closed = new Promise((resolve) =>
      second.peer.socket.on('close', (code, reason) => resolve([code, reason.toString()])),
    );
    second.session.close();
    expect(await closed).toEqual([1000, 'ClientClosed']);
  });

  it('fails a socket refused before the upgrade with the server answer', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: () => false });
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const opening = TerminalSession.open(WebSocket, {
      WebSocketUrl: `ws://127.0.0.1:${port}/session/v1/s-1`,
      SecurityToken: 'x',
    });
    await expect(opening).rejects.toBeInstanceOf(SessionConnectError);
    await expect(opening).rejects.toThrow(/401/);
  });

  it('closes with ProtocolError on a malformed frame or an ack past the window', async () => {
    for (const bad of [new Uint8Array([9, 0, 0, 0, 0]), ackFrame(0, 1)]) {
      const { peer } = await connect();
      const closed = new Promise((resolve) =>
        peer.socket.on('close', (code, reason) => resolve([code, reason.toString()])),
      );
      peer.send(bad);
      expect(await closed).toEqual([1002, 'ProtocolError']);
    }
  });
});

describe('forwarded streams', () => {
  it('open on the agent answer, carry bytes both ways, and end by half-closes', async () => {
    const { session, peer } = await connect();
    const opening = session.openStream();
    const open = await peer.next();
    expect([open.type, open.stream]).toEqual([frameType.open, 1]);
    peer.send(encodeFrame(frameType.open, 1));
    const stream = await opening;
    const got: string[] = [];
    let ended = false;
    stream.attach({
      data: (bytes, done) => {
        got.push(new TextDecoder().decode(bytes));
        done();
      },
      end: () => {
        ended = true;
      },
      error: () => {},
    });
    await stream.write(new TextEncoder().encode('GET /'));
    const data = await peer.next();
    expect([data.type, data.stream, new TextDecoder().decode(data.payload)]).toEqual([
      frameType.data,
      1,
      'GET /',
    ]);
    peer.send(dataFrame(1, new TextEncoder().encode('200 OK')));
    const ack = await peer.next();
    expect([ack.type, ack.stream, ackedBytes(ack)]).toEqual([frameType.ack, 1, 6]);
    expect(got).toEqual(['200 OK']);
    stream.end();
    expect((await peer.next()).type).toBe(frameType.close);
    expect(stream.finished).toBe(false);
    peer.send(encodeFrame(frameType.close, 1));
    await settle();
    expect(ended).toBe(true);
    expect(stream.finished).toBe(true);
    // The next connection gets the next id.
    void session.openStream().catch(() => {});
    expect((await peer.next()).stream).toBe(2);
  });

  it("fail to open with the agent's error code, and fail open ones when the session ends", async () => {
    const { session, peer } = await connect();
    const refused = session.openStream();
    await peer.next();
    peer.send(jsonFrame(frameType.error, 1, { code: 'ConnectionRefused', message: 'nothing on 5432' }));
    await expect(refused).rejects.toMatchObject({ code: 'ConnectionRefused' });

    const opening = session.openStream();
    await peer.next();
    peer.send(encodeFrame(frameType.open, 2));
    const stream = await opening;
    const errors: string[] = [];
    stream.attach({ data: () => {}, end: () => {}, error: (error) => errors.push(error.code) });
    stream.abort('ConnectionReset', 'the local connection closed');
    const error = await peer.next();
    expect([error.type, error.stream]).toEqual([frameType.error, 2]);
    expect(errors).toEqual(['ConnectionReset']);

    const pending = session.openStream();
    peer.socket.close(1000, 'EndedByApi');
    await expect(pending).rejects.toMatchObject({ code: 'EndedByApi' });
  });
});
