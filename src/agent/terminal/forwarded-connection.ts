import { connect, type Socket } from 'node:net';
import { errnoCode } from '../../guards.js';
import { encodeFrame, frameType, jsonFrame } from '../../protocol/session-frames.js';
import { InboundFlow, OutboundFlow } from './flow.js';
import type { FrameLink } from './link.js';

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
}

/** Why a connection could not be made, as the contract names it. */
export type ConnectFailure = 'ConnectionRefused' | 'ConnectTimeout' | 'HostUnreachable';

/** The code of an error frame for a connection that failed. */
export function connectFailure(error: unknown): ConnectFailure {
  switch (errnoCode(error)) {
    case 'ECONNREFUSED':
      return 'ConnectionRefused';
    case 'ETIMEDOUT':
      return 'ConnectTimeout';
    default:
      // No route, no such host (ENOTFOUND, EAI_AGAIN), unreachable network: the host is out of reach.
      return 'HostUnreachable';
  }
}

/**
 * One forwarded TCP connection on stream `stream`: answered `open` once connected, bytes both ways
 * under the windows, a `close` each way is a half-close, an error ends it with an `error` frame.
 */
export class ForwardedConnection {
  private readonly socket: Socket;
  private readonly input: InboundFlow;
  private output: OutboundFlow | undefined;
  private connected = false;
  private sentClose = false;
  private receivedClose = false;
  private done = false;

  constructor(
    private readonly stream: number,
    target: Target,
    private readonly link: FrameLink,
    /** Called once, when the stream is over (both sides ended, or it failed). */
    private readonly onDone: () => void,
  ) {
    // allowHalfOpen: the target's end of its sending is not the end of ours.
    this.socket = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.socket.setNoDelay(true);
    const timer = setTimeout(
      () =>
        this.fail(
          'ConnectTimeout',
          `no connection to ${target.host}:${target.port} within ${target.connectTimeoutMs} ms`,
        ),
      target.connectTimeoutMs,
    );
    this.socket.once('connect', () => {
      clearTimeout(timer);
      this.opened();
    });
    this.socket.on('error', (error) => {
      clearTimeout(timer);
      this.fail(this.connected ? 'ConnectionReset' : connectFailure(error), error.message);
    });
    this.socket.once('close', () => {
      clearTimeout(timer);
      void this.socketClosed();
    });
    // Bytes sent before the connection is made wait in the socket, within the peer's window.
    this.input = new InboundFlow(stream, this.socket, link);
  }

  /** False when the peer sent past its window. */
  receive(bytes: Uint8Array): boolean {
    return this.done || this.input.receive(bytes);
  }

  /** False when the peer acknowledged more than it got. */
  acked(bytes: number): boolean {
    return this.done || !this.output || this.output.acked(bytes);
  }

  /** The peer sends no more: so does the socket, once what it had is written. */
  peerClosed(): void {
    if (this.done || this.receivedClose) return;
    this.receivedClose = true;
    this.input.end();
  }

  /** The peer gave up the stream, or the session ended. */
  destroy(): void {
    this.socket.destroy();
    this.finish();
  }

  private opened(): void {
    this.connected = true;
    this.link.send(encodeFrame(frameType.open, this.stream));
    this.output = new OutboundFlow(this.stream, this.socket, this.link);
    // The target ended its side and all of it went out: tell the peer.
    void this.output.drained.then(() => this.sendClose());
  }

  /**
   * The socket is closed: both ways ended (it closes itself once the target's end came and ours
   * was written), or it failed. What it read still goes out, then the stream is over.
   */
  private async socketClosed(): Promise<void> {
    if (this.output) await this.output.drained;
    this.sendClose();
    this.finish();
  }

  private sendClose(): void {
    if (this.done || this.sentClose) return;
    this.sentClose = true;
    this.link.send(encodeFrame(frameType.close, this.stream));
  }

  private fail(code: string, message: string): void {
    if (this.done) return;
    this.link.send(jsonFrame(frameType.error, this.stream, { code, message }));
    this.destroy();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.onDone();
  }
}
