import type { Readable, Writable } from 'node:stream';
import { ackFrame, dataFrame, SendWindow, sessionLimits } from '../../protocol/session-frames.js';
import type { FrameLink } from './link.js';

/** Half the largest payload: a frame never waits long behind another on the socket. */
export const maxDataFrameBytes = 32 * 1024;

/**
 * One stream's bytes from the agent to the peer: what `source` gives goes out in data frames, never
 * more unacknowledged than the window; the source is paused meanwhile, so at most one read of it
 * waits here.
 */
export class OutboundFlow {
  private readonly window = new SendWindow(sessionLimits.windowBytes);
  private readonly pending: Buffer[] = [];
  private sourceEnded = false;
  private resolveDrained: () => void = () => undefined;
  /** Resolves once the source ended and all it gave was sent. */
  readonly drained = new Promise<void>((resolve) => {
    this.resolveDrained = resolve;
  });

  constructor(
    private readonly stream: number,
    private readonly source: Readable,
    private readonly link: FrameLink,
  ) {
    source.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      this.flush();
    });
    // 'close' too: a destroyed source (an error) never emits 'end'.
    const ended = () => {
      this.sourceEnded = true;
      this.flush();
    };
    source.once('end', ended);
    source.once('close', ended);
  }

  /** False when the peer acknowledged more than was sent. */
  acked(bytes: number): boolean {
    if (!this.window.acked(bytes)) return false;
    this.flush();
    return true;
  }

  private flush(): void {
    while (this.pending.length > 0 && this.window.available > 0) {
      const head = this.pending[0]!;
      const size = Math.min(head.byteLength, this.window.available, maxDataFrameBytes);
      this.link.send(dataFrame(this.stream, head.subarray(0, size)));
      this.window.sent(size);
      if (size === head.byteLength) this.pending.shift();
      else this.pending[0] = head.subarray(size);
    }
    if (this.pending.length > 0) this.source.pause();
    else if (this.sourceEnded) this.resolveDrained();
    else this.source.resume();
  }
}

/**
 * One stream's bytes from the peer to the agent: written to `sink`, acknowledged once written, so
 * the peer's window bounds what waits in the sink. A peer past its window breaks the protocol.
 */
export class InboundFlow {
  private unackedBytes = 0;

  constructor(
    private readonly stream: number,
    private readonly sink: Writable,
    private readonly link: FrameLink,
  ) {}

  /** False when these bytes are past the window the peer was granted. */
  receive(bytes: Uint8Array): boolean {
    const size = bytes.byteLength;
    if (this.unackedBytes + size > sessionLimits.windowBytes) return false;
    if (size === 0) return true;
    // A sink that is gone (the shell exited, the connection ended) drops the bytes: acked all the
    // same, so the peer is not stalled while the session ends.
    if (!this.sink.writable) {
      this.link.send(ackFrame(this.stream, size));
      return true;
    }
    this.unackedBytes += size;
    this.sink.write(bytes, () => {
      this.unackedBytes -= size;
      this.link.send(ackFrame(this.stream, size));
    });
    return true;
  }

  /** The peer sends no more (a half-close): the sink ends once written. */
  end(): void {
    if (this.sink.writable) this.sink.end();
  }
}
