// Runs unchanged in Node 20 and in the browser console: no Node modules.
import {
  ackFrame,
  dataFrame,
  encodeFrame,
  frameType,
  jsonFrame,
  SendWindow,
} from '../protocol/session-frames.js';

/** Input goes out in frames of at most 32 KiB, so a keystroke never queues behind a whole 64 KiB frame. */
export const maxSendFrameBytes = 32 * 1024;

/**
 * Bytes queued beyond the window past which a stream refuses more writes. A caller awaits each
 * write() (however large: the bytes are its own, not copied); one that keeps writing without
 * waiting is refused instead of filling the memory.
 */
export const maxQueuedBytes = 1024 * 1024;

/** A stream's failure: the peer's error frame (`ConnectionRefused`, …) or the session's end. */
export class StreamError extends Error {
  constructor(
    readonly code: string,
    /** The peer's message, without the code. */
    readonly detail: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }
}

/** What a stream's reader is told; events that come before attach() wait for it. */
export interface StreamReader {
  /** Bytes from the peer. Call `done` once they are passed on: that gives the peer its credit back. */
  data(bytes: Uint8Array, done: () => void): void;
  /** The peer sends no more (its close frame): a half-close. */
  end(): void;
  /** The stream failed; nothing more comes either way. */
  error(error: StreamError): void;
}

interface Pending {
  bytes: Uint8Array;
  readonly sent: () => void;
  readonly failed: (error: StreamError) => void;
}

/**
 * One stream of a session, either direction: the terminal (0) or a forwarded connection (1…). Its
 * writes wait for the peer's window (docs/terminal-sessions.md, flow control); what it receives is
 * acknowledged only once the reader says it passed it on.
 */
export class SessionStream {
  private readonly window = new SendWindow();
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private endWanted = false;
  private endSent = false;
  private peerEnded = false;
  private failure: StreamError | undefined;
  private over = false;
  private reader: StreamReader | undefined;
  private early: ((reader: StreamReader) => void)[] = [];

  constructor(
    readonly id: number,
    private readonly sendFrame: (frame: Uint8Array) => void,
    /** Called once, when both sides have ended or the stream failed: the session forgets it. */
    private readonly onFinished: (stream: SessionStream) => void,
  ) {}

  /** Sends bytes; resolves once they are all on the socket, within the peer's window. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.endWanted) return Promise.reject(new StreamError('StreamEnded', 'write after end()'));
    if (bytes.byteLength === 0) return Promise.resolve();
    if (this.queuedBytes >= maxQueuedBytes)
      return Promise.reject(new StreamError('QueueFull', `more than ${maxQueuedBytes} bytes queued`));
    return new Promise((sent, failed) => {
      this.queue.push({ bytes, sent, failed });
      this.queuedBytes += bytes.byteLength;
      this.pump();
    });
  }

  /** No more bytes from this side: the close frame goes out after whatever is queued. */
  end(): void {
    if (this.endWanted || this.failure) return;
    this.endWanted = true;
    this.pump();
  }

  /** Gives up the stream from this side (the local connection broke): an error frame tells the peer. */
  abort(code: string, message: string): void {
    if (this.over) return;
    this.sendFrame(jsonFrame(frameType.error, this.id, { code, message }));
    this.fail(new StreamError(code, message));
  }

  /** Both sides have ended, or the stream failed. */
  get finished(): boolean {
    return this.over;
  }

  /** Starts delivering what the peer sends, what came before first. */
  attach(reader: StreamReader): void {
    this.reader = reader;
    const early = this.early;
    this.early = [];
    for (const event of early) event(reader);
  }

  /** Bytes written but not yet sent, waiting for the peer's window. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** @internal The peer's data frame. */
  receiveData(bytes: Uint8Array): void {
    if (this.failure) return;
    let acked = false;
    const done = () => {
      if (acked || this.failure) return;
      acked = true;
      this.sendFrame(ackFrame(this.id, bytes.byteLength));
    };
    this.deliver((reader) => reader.data(bytes, done));
  }

  /** @internal The peer's ack; false when it acknowledges more than was sent (a broken peer). */
  receiveAck(bytes: number): boolean {
    if (!this.window.acked(bytes)) return false;
    this.pump();
    return true;
  }

  /** @internal The peer's close frame. */
  receiveEnd(): void {
    if (this.peerEnded || this.failure) return;
    this.peerEnded = true;
    this.deliver((reader) => reader.end());
    this.finishIfDone();
  }

  /** @internal The peer's error frame, or the session's end: every pending write fails with it. */
  fail(error: StreamError): void {
    if (this.over) return;
    this.failure = error;
    for (const pending of this.queue.splice(0)) pending.failed(error);
    this.queuedBytes = 0;
    this.deliver((reader) => reader.error(error));
    this.finish();
  }

  private deliver(event: (reader: StreamReader) => void): void {
    if (this.reader) event(this.reader);
    else this.early.push(event);
  }

  /** Sends what the window allows, in frames of at most maxSendFrameBytes, then the close frame. */
  private pump(): void {
    while (!this.failure && this.queue.length > 0 && this.window.available > 0) {
      const head = this.queue[0] as Pending;
      const size = Math.min(head.bytes.byteLength, maxSendFrameBytes, this.window.available);
      this.sendFrame(dataFrame(this.id, head.bytes.subarray(0, size)));
      this.window.sent(size);
      this.queuedBytes -= size;
      head.bytes = head.bytes.subarray(size);
      if (head.bytes.byteLength === 0) {
        this.queue.shift();
        head.sent();
      }
    }
    if (this.endWanted && !this.endSent && !this.failure && this.queue.length === 0) {
      this.endSent = true;
      this.sendFrame(encodeFrame(frameType.close, this.id));
      this.finishIfDone();
    }
  }

  private finishIfDone(): void {
    if (this.endSent && this.peerEnded) this.finish();
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.onFinished(this);
  }
}
