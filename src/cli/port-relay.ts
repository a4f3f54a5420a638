import type { Socket } from 'node:net';
import { type SessionStream, StreamError, type TerminalSession } from '../client/terminal-session.js';
import { sessionLimits } from '../protocol/session-frames.js';

/**
 * Relays accepted TCP connections over a session, one stream each, both ways within the windows: a
 * connection's bytes are read only as fast as the session takes them, and acknowledged only once
 * written to the local socket. At most 32 streams are open at once (the agent's limit); later
 * connections wait, unread, for a stream to end.
 */
export class PortRelay {
  private open = 0;
  private readonly waiting: Socket[] = [];

  constructor(
    private readonly session: TerminalSession,
    /** A connection the agent could not make (`ConnectionRefused`, …), for the user to read. */
    private readonly report: (line: string) => void,
  ) {}

  accept(socket: Socket): void {
    socket.pause();
    socket.on('error', () => {}); // 'close' follows, which ends the stream
    if (this.open >= sessionLimits.maxStreams) this.waiting.push(socket);
    else void this.relay(socket);
  }

  private async relay(socket: Socket): Promise<void> {
    this.open++;
    try {
      const stream = await this.session.openStream();
      if (socket.destroyed) stream.abort('ConnectionReset', 'the local connection closed');
      else await pipe(socket, stream);
    } catch (error) {
      if (error instanceof StreamError) this.report(error.message);
      socket.destroy();
    } finally {
      this.open--;
      let next = this.waiting.shift();
      while (next?.destroyed) next = this.waiting.shift();
      if (next) void this.relay(next);
    }
  }
}

/** Both directions of one connection until both have ended or either failed. */
function pipe(socket: Socket, stream: SessionStream): Promise<void> {
  return new Promise((finished) => {
    stream.attach({
      data: (bytes, done) => {
        if (socket.writable) socket.write(bytes, () => done());
        else done();
      },
      end: () => socket.end(),
      error: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      stream.write(chunk).then(
        () => socket.resume(),
        () => socket.destroy(),
      );
    });
    socket.on('end', () => stream.end());
    socket.on('close', () => {
      stream.abort('ConnectionReset', 'the local connection closed');
      finished();
    });
    socket.resume();
  });
}
