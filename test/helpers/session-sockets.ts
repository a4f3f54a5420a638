import { WebSocket } from 'ws';
import { sessionsPath } from '../../src/protocol/messages.js';
import {
  ackFrame,
  dataFrame,
  decodeFrame,
  type Frame,
  frameType,
} from '../../src/protocol/session-frames.js';
import { waitFor } from './deadline.js';
import type { ProtocolAgent } from './protocol-agent.js';

/** One WebSocket with the frames it received and how it closed. */
export class FrameSocket {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(readonly socket: WebSocket) {
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data));
      if (frame) this.frames.push(frame);
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.opened = new Promise((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => reject(new Error(`${response.statusCode} ${body}`)));
      });
    });
  }

  text(stream = 0): string {
    return Buffer.concat(
      this.frames
        .filter((f) => f.type === frameType.data && f.stream === stream)
        .map((f) => Buffer.from(f.payload)),
    ).toString();
  }

  waitClosed(): Promise<{ code: number; reason: string }> {
    return waitFor('the socket to close', () => this.closed);
  }
}

export const wsUrl = (httpUrl: string, path: string) => `${httpUrl.replace(/^http/, 'ws')}${path}`;

/**
 * Starts a session (`start`: StartTerminalSession through the SDK), connects as the client with the
 * token, and as the protocol agent once it is asked to; the agent echoes and acks each data frame
 * (`echo`), or reads nothing.
 */
export async function openProtocolSession(
  serverUrl: string,
  agent: ProtocolAgent,
  start: () => Promise<{ body?: { sessionId?: string; webSocketUrl?: string; securityToken?: string } }>,
  echo = true,
) {
  const body = (await start()).body;
  const sessionId = body?.sessionId ?? '';
  const user = new FrameSocket(new WebSocket(`${body?.webSocketUrl}?token=${body?.securityToken}`));
  await user.opened;
  const open = await waitFor('session-open', () => agent.sessionOpens.find((o) => o.sessionId === sessionId));
  const machine = new FrameSocket(
    new WebSocket(wsUrl(serverUrl, `${sessionsPath}${sessionId}`), {
      headers: { 'x-openassist-instance-id': agent.instanceId, authorization: `Bearer ${agent.token}` },
    }),
  );
  await machine.opened;
  machine.socket.on('message', (data: Buffer) => {
    if (!echo) return;
    const frame = decodeFrame(new Uint8Array(data));
    if (frame?.type === frameType.data) {
      machine.socket.send(ackFrame(frame.stream, frame.payload.byteLength));
      machine.socket.send(dataFrame(frame.stream, frame.payload));
    }
  });
  return { sessionId, user, machine, open, body };
}
