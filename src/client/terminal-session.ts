// Runs unchanged in Node 20 and in the browser console: the caller hands over its WebSocket class
// (the `ws` package's in Node, the browser's own); no Node modules.
import {
  ackedBytes,
  decodeFrame,
  encodeFrame,
  type Frame,
  frameJson,
  frameType,
  resizeFrame,
  sessionLimits,
} from '../protocol/session-frames.js';
import { SessionStream, StreamError } from './session-stream.js';

export { SessionStream, StreamError, type StreamReader } from './session-stream.js';

/**
 * A handler typed by the fields read here that still accepts ws's and the DOM's own event types:
 * a method's parameter is compared both ways (the bivariance of methods), a function's is not.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of a WebSocket a session uses; the browser's and the `ws` package's both have it. */
export interface WebSocketLike {
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onerror: Handler<unknown> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
}

export type WebSocketClass = new (url: string) => WebSocketLike;

/** What StartTerminalSession answers, all a client needs to connect. */
export interface SessionAddress {
  readonly WebSocketUrl: string;
  readonly SecurityToken: string;
}

/** The shell's end, from the `exit` frame. */
export interface ExitStatus {
  readonly exitCode: number | null;
  readonly signal?: string;
}

/** How a session ended: the server's close reason and what came before it. */
export interface SessionEnd {
  /** The ClosedReason (`ShellExited`, `EndedByApi`, …); `ConnectionLost` when the socket dropped without one. */
  readonly reason: string;
  /** The WebSocket close code: 1000 when the server closed it in order. */
  readonly code: number;
  readonly exit?: ExitStatus;
  /** The session's own error frame (stream 0), when one came: why the shell could not start, say. */
  readonly error?: StreamError;
}

/** The socket closed before it opened: a refused token (403), an unreachable server. */
export class SessionConnectError extends Error {}

interface Opening {
  readonly resolve: () => void;
  readonly reject: (error: StreamError) => void;
}

const sessionEnded = (reason: string) => new StreamError(reason, 'the session ended');

/**
 * One terminal session seen from its client (docs/terminal-sessions.md): the terminal is stream 0,
 * `openStream()` adds a forwarded connection; `ended` says how and why it ended.
 */
export class TerminalSession {
  readonly terminal: SessionStream;
  readonly ended: Promise<SessionEnd>;
  private readonly streams = new Map<number, SessionStream>();
  private readonly opening = new Map<number, Opening>();
  private nextStreamId = 1;
  private exit: ExitStatus | undefined;
  private error: StreamError | undefined;
  private closingReason: string | undefined;
  private over = false;
  private settle: (end: SessionEnd) => void = () => {};

  /** Opens `WebSocketUrl?token=…` (what a browser can do too); resolves once the socket is open. */
  static open(WebSocket: WebSocketClass, address: SessionAddress): Promise<TerminalSession> {
    const url = new URL(address.WebSocketUrl);
    url.searchParams.set('token', address.SecurityToken);
    const socket = new WebSocket(url.toString());
    socket.binaryType = 'arraybuffer';
    return new Promise((resolve, reject) => {
      let why = '';
      socket.onerror = (event) => {
        why = errorMessage(event) ?? why;
      };
      socket.onclose = (event) => {
        reject(
          new SessionConnectError(`cannot open the session's socket: ${why || `closed (${event.code})`}`),
        );
      };
      socket.onopen = () => resolve(new TerminalSession(socket));
    });
  }

  private constructor(private readonly socket: WebSocketLike) {
    this.ended = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.terminal = this.addStream(0);
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => {};
    socket.onclose = (event) =>
      this.finish(event.reason || this.closingReason || 'ConnectionLost', event.code);
  }

  /** The terminal's size, sent at the start and whenever it changes (the agent sets the pty's). */
  resize(columns: number, rows: number): void {
    const side = (n: number) => Math.min(Math.max(Math.round(n) || 1, 1), sessionLimits.maxTerminalSide);
    this.send(resizeFrame(side(columns), side(rows)));
  }

  /** A forwarded connection: resolves once the agent has connected it, fails with its error code. */
  openStream(): Promise<SessionStream> {
    if (this.over) return Promise.reject(sessionEnded('SessionEnded'));
    const stream = this.addStream(this.nextStreamId++);
    return new Promise((resolve, reject) => {
      this.opening.set(stream.id, { resolve: () => resolve(stream), reject });
      this.send(encodeFrame(frameType.open, stream.id));
    });
  }

  /** Ends the session from this side (ClosedReason `ClientClosed`): the agent ends the shell. */
  close(): void {
    this.closeSocket(1000, 'ClientClosed');
  }

  private addStream(id: number): SessionStream {
    const stream = new SessionStream(
      id,
      (frame) => this.send(frame),
      (done) => {
        if (done.id !== 0) this.streams.delete(done.id);
      },
    );
    this.streams.set(id, stream);
    return stream;
  }

  private send(frame: Uint8Array): void {
    if (!this.over) this.socket.send(frame);
  }

  private closeSocket(code: number, reason: string): void {
    if (this.over || this.closingReason) return;
    this.closingReason = reason;
    this.socket.close(code, reason);
  }

  private receive(data: unknown): void {
    const frame = data instanceof ArrayBuffer ? decodeFrame(new Uint8Array(data)) : undefined;
    if (!frame) {
      this.closeSocket(1002, 'ProtocolError');
      return;
    }
    const stream = this.streams.get(frame.stream);
    switch (frame.type) {
      case frameType.data:
        stream?.receiveData(frame.payload);
        break;
      case frameType.ack:
        if (stream && !stream.receiveAck(ackedBytes(frame))) this.closeSocket(1002, 'ProtocolError');
        break;
      case frameType.open:
        this.opening.get(frame.stream)?.resolve();
        this.opening.delete(frame.stream);
        break;
      case frameType.close:
        stream?.receiveEnd();
        break;
      case frameType.exit:
        this.exit = exitStatus(frame);
        break;
      case frameType.error:
        this.receiveError(frame, stream);
        break;
    }
  }

  private receiveError(frame: Frame, stream: SessionStream | undefined): void {
    const json = frameJson(frame);
    const error = new StreamError(
      typeof json?.code === 'string' ? json.code : 'Error',
      typeof json?.message === 'string' ? json.message : '',
    );
    if (frame.stream === 0) {
      this.error = error;
      return;
    }
    const opening = this.opening.get(frame.stream);
    this.opening.delete(frame.stream);
    stream?.fail(error);
    opening?.reject(error);
  }

  private finish(reason: string, code: number): void {
    if (this.over) return;
    this.over = true;
    const error = sessionEnded(reason);
    for (const opening of this.opening.values()) opening.reject(error);
    this.opening.clear();
    for (const stream of [...this.streams.values()]) stream.fail(error);
    this.settle({
      reason,
      code,
      ...(this.exit && { exit: this.exit }),
      ...(this.error && { error: this.error }),
    });
  }
}

function exitStatus(frame: Frame): ExitStatus {
  const json = frameJson(frame);
  const exitCode = typeof json?.exitCode === 'number' ? json.exitCode : null;
  return typeof json?.signal === 'string' ? { exitCode, signal: json.signal } : { exitCode };
}

/** ws's error event carries a message ("Unexpected server response: 403"); the browser's does not. */
function errorMessage(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || !('message' in event)) return undefined;
  return typeof event.message === 'string' ? event.message : undefined;
}
