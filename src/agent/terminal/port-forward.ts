import {
  ackedBytes,
  type Frame,
  frameType,
  jsonFrame,
  sessionLimits,
} from '../../protocol/session-frames.js';
import { ForwardedConnection, type Target } from './forwarded-connection.js';
import { type FrameLink, protocolError, type SessionService } from './link.js';

/**
 * Serves a port-forwarding session: each `open` from the peer is a connection to the target, on
 * its own stream, at most `sessionLimits.maxStreams` at once.
 */
export class PortForward implements SessionService {
  private readonly connections = new Map<number, ForwardedConnection>();

  constructor(
    private readonly link: FrameLink,
    private readonly target: Target,
  ) {}

  receive(frame: Frame): void {
    if (frame.stream === 0) {
      // No terminal here: a resize means nothing; bytes for one break the protocol.
      if (frame.type === frameType.data || frame.type === frameType.ack) protocolError(this.link);
      return;
    }
    const connection = this.connections.get(frame.stream);
    switch (frame.type) {
      case frameType.open:
        this.open(frame.stream);
        return;
      // Frames of a stream that already ended crossed its end on the wire: nothing to do.
      case frameType.data:
        if (connection && !connection.receive(frame.payload)) protocolError(this.link);
        return;
      case frameType.ack:
        if (connection && !connection.acked(ackedBytes(frame))) protocolError(this.link);
        return;
      case frameType.close:
        connection?.peerClosed();
        return;
      case frameType.error:
        connection?.destroy();
        return;
      default:
        protocolError(this.link);
        return;
    }
  }

  async end(): Promise<void> {
    for (const connection of [...this.connections.values()]) connection.destroy();
  }

  private open(stream: number): void {
    if (this.connections.has(stream)) {
      protocolError(this.link);
      return;
    }
    if (this.connections.size >= sessionLimits.maxStreams) {
      const message = `at most ${sessionLimits.maxStreams} connections are open at once in one session`;
      this.link.send(jsonFrame(frameType.error, stream, { code: 'TooManyStreams', message }));
      return;
    }
    const connection = new ForwardedConnection(stream, this.target, this.link, () => {
      if (this.connections.get(stream) === connection) this.connections.delete(stream);
    });
    this.connections.set(stream, connection);
  }
}
