import { createRequire } from 'node:module';
import type * as Ws from 'ws';
import { sessionsPath } from '../../protocol/messages.js';
import { decodeFrame, type Frame, frameHeaderBytes, sessionLimits } from '../../protocol/session-frames.js';
import { readSmallBody, refusalCode } from '../server-tls.js';
import { type FrameLink, protocolError } from './link.js';

// Required, not imported: see channel-ws.ts (Node's export scan of ws's source costs idle memory).
const { WebSocket } = createRequire(import.meta.url)('ws') as typeof Ws;

/** A relay that does not answer the upgrade in this time is not waiting for the agent. */
const handshakeTimeoutMs = 15_000;

export interface SessionDial {
  /** The relaying server's URL (http(s):// or ws(s)://); the session's path is added. */
  readonly serverUrl: string;
  readonly sessionId: string;
  /** The channel's credentials: the relay admits only the session's own instance. */
  readonly instanceId: string;
  readonly token: string;
  /** With --ca, only that CA is trusted for wss:// servers, as for the channel. */
  readonly ca?: Buffer | undefined;
}

export interface SessionSocketEvents {
  opened(): void;
  frame(frame: Frame): void;
  /** Once, however the socket ended (refused, failed, closed by either side). */
  closed(why: string): void;
}

/** `<server><sessionsPath><sessionId>` as a WebSocket URL (http → ws, https → wss). */
export function sessionUrl(serverUrl: string, sessionId: string): string {
  const url = new URL(sessionsPath + encodeURIComponent(sessionId), serverUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  return url.toString();
}

/** Dials the relay for one session: binary frames each way, anything else breaks the protocol. */
export function dialSession(dial: SessionDial, events: SessionSocketEvents): FrameLink {
  const ws = new WebSocket(sessionUrl(dial.serverUrl, dial.sessionId), {
    headers: {
      'x-openassist-instance-id': dial.instanceId,
      authorization: `Bearer ${dial.token}`,
    },
    // One frame at most: a larger message is refused by ws itself (close 1009).
    maxPayload: frameHeaderBytes + sessionLimits.maxPayloadBytes,
    perMessageDeflate: false,
    handshakeTimeout: handshakeTimeoutMs,
    ...(dial.ca && { ca: dial.ca }),
  });
  // The first explanation wins: terminating a refused upgrade reports an error of its own.
  let why: string | undefined;
  let ended = false;
  const link: FrameLink = {
    send(frame) {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    },
    close(code, reason) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    },
  };
  ws.on('open', () => events.opened());
  ws.on('message', (data, isBinary) => {
    const frame = isBinary && Buffer.isBuffer(data) ? decodeFrame(data) : undefined;
    if (frame) events.frame(frame);
    else protocolError(link);
  });
  ws.on('unexpected-response', (_request, response) => {
    void readSmallBody(response).then((body) => {
      why ??= `refused: ${refusalCode(response.statusCode ?? 0, body)}`;
      ws.terminate();
    });
  });
  ws.on('error', (error) => {
    why ??= `failed: ${error.message}`;
  });
  ws.on('close', (code, reason) => {
    if (ended) return;
    ended = true;
    events.closed(why ?? `closed ${code} ${reason.toString()}`.trim());
  });
  return link;
}
