import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/deadline.js';
import {
  type RelayedSession,
  type SessionRelay,
  startSessionRelay,
} from '../../../test/helpers/session-relay.js';
import { dataFrame, encodeFrame, frameType, sessionLimits } from '../../protocol/session-frames.js';
import { maxDataFrameBytes } from './flow.js';
import { TerminalSessions } from './sessions.js';

// Forwarded connections to a real local HTTP server, through a relay that plays the server's part.
let relay: SessionRelay;
let sessions: TerminalSessions;
let web: Server;
let webPort: number;

beforeAll(async () => {
  relay = await startSessionRelay();
  sessions = new TerminalSessions({
    instanceId: 'i-forwardtest',
    token: 'agent-token',
    serverUrl: () => relay.url,
    say: () => undefined,
  });
  // Echoes each request's body.
  web = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      const body = Buffer.concat(parts);
      response.writeHead(200, { 'content-length': body.byteLength });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
});

afterAll(async () => {
  await sessions.stopAll();
  await relay.close();
  web.closeAllConnections();
  await new Promise((resolve) => web.close(resolve));
});

const newSessionId = () => `s-${randomBytes(16).toString('hex')}`;

async function forwardSession(port: number): Promise<RelayedSession> {
  sessions.open({
    type: 'session-open',
    sessionId: newSessionId(),
    portNumber: port,
    targetServer: '127.0.0.1',
  });
  return relay.next();
}

async function openStream(peer: RelayedSession, stream: number): Promise<void> {
  peer.send(encodeFrame(frameType.open, stream));
  await waitFor(`stream ${stream} to open`, () => peer.has(frameType.open, stream) || undefined);
}

/** Sends `bytes` on a stream in frames of at most 32 KiB (each request here is within the window). */
function sendBytes(peer: RelayedSession, stream: number, bytes: Buffer): void {
  for (let at = 0; at < bytes.byteLength; at += maxDataFrameBytes) {
    peer.send(dataFrame(stream, bytes.subarray(at, at + maxDataFrameBytes)));
  }
}

/** One POST over the stream; its response body, read from `offset` of what the stream gave. */
async function post(peer: RelayedSession, stream: number, body: Buffer, offset: number) {
  const head = `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.byteLength}\r\n\r\n`;
  sendBytes(peer, stream, Buffer.concat([Buffer.from(head), body]));
  return waitFor(`the response on stream ${stream}`, () => {
    const received = peer.bytes(stream).subarray(offset);
    const headEnd = received.indexOf('\r\n\r\n');
    if (headEnd < 0) return undefined;
    const length = Number(/content-length: (\d+)/i.exec(received.subarray(0, headEnd).toString())?.[1]);
    const bodyStart = headEnd + 4;
    if (received.byteLength < bodyStart + length) return undefined;
    return { body: received.subarray(bodyStart, bodyStart + length), next: offset + bodyStart + length };
  });
}

describe('a port-forwarding session', () => {
  it('carries 20 requests over 5 parallel connections byte for byte, and half-closes them', async () => {
    const peer = await forwardSession(webPort);
    const streams = [1, 2, 3, 4, 5];
    await Promise.all(
      streams.map(async (stream) => {
        await openStream(peer, stream);
        let offset = 0;
        for (let request = 0; request < 4; request++) {
          // 100 kB out and back: several frames, and acks, each way.
          const body = randomBytes(100_000);
          const answer = await post(peer, stream, body, offset);
          expect(answer.body.equals(body)).toBe(true);
          offset = answer.next;
        }
        // Our half-close: the web server ends its side, which comes back as the agent's close.
        peer.send(encodeFrame(frameType.close, stream));
        await waitFor(`stream ${stream} to close`, () => peer.has(frameType.close, stream) || undefined);
      }),
    );
    expect(peer.maxUnackedBytes).toBeLessThanOrEqual(sessionLimits.windowBytes);
    // Every byte we sent was acknowledged once written to its connection.
    for (const stream of streams) expect(peer.ackedBy(stream)).toBeGreaterThan(400_000);
    expect(peer.closeCode).toBeUndefined();
    peer.socket.close();
  });

  it('forgets connections closed both ways: many more than 32 one after another', async () => {
    const peer = await forwardSession(webPort);
    for (let stream = 1; stream <= 2 * sessionLimits.maxStreams; stream++) {
      await openStream(peer, stream);
      const body = randomBytes(1000);
      expect((await post(peer, stream, body, 0)).body.equals(body)).toBe(true);
      peer.send(encodeFrame(frameType.close, stream));
      await waitFor(`stream ${stream} to close`, () => peer.has(frameType.close, stream) || undefined);
    }
    expect(peer.has(frameType.error, 2 * sessionLimits.maxStreams)).toBe(false);
    peer.socket.close();
  });

  it('answers ConnectionRefused for a port nobody listens on', async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const freePort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const peer = await forwardSession(freePort);
    peer.send(encodeFrame(frameType.open, 1));
    await waitFor('the error frame', () => peer.jsonOf(frameType.error, 1));
    expect(peer.jsonOf(frameType.error, 1)).toMatchObject({ code: 'ConnectionRefused' });
    // The session itself goes on: another connection may be tried.
    expect(peer.closeCode).toBeUndefined();
    peer.socket.close();
  });

  it('refuses the connection past the 32 open at once with TooManyStreams', async () => {
    const peer = await forwardSession(webPort);
    for (let stream = 1; stream <= sessionLimits.maxStreams; stream++) await openStream(peer, stream);
    const oneTooMany = sessionLimits.maxStreams + 1;
    peer.send(encodeFrame(frameType.open, oneTooMany));
    await waitFor('the error frame', () => peer.jsonOf(frameType.error, oneTooMany));
    expect(peer.jsonOf(frameType.error, oneTooMany)).toMatchObject({ code: 'TooManyStreams' });
    peer.socket.close();
  });

  it('cuts off a peer that sends past its window (4400)', async () => {
    // A listener that never reads: the agent's writes stall, so nothing is acked.
    const stall = createTcpServer((socket) => socket.pause());
    await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
    try {
      const peer = await forwardSession((stall.address() as AddressInfo).port);
      await openStream(peer, 1);
      // Far past the window (the kernel's buffers take some of it, then the writes stall).
      for (let sent = 0; sent < 64 * sessionLimits.windowBytes; sent += sessionLimits.maxPayloadBytes) {
        peer.send(dataFrame(1, Buffer.alloc(sessionLimits.maxPayloadBytes)));
      }
      expect(await peer.waitForClose()).toBe(4400);
    } finally {
      stall.close();
    }
  });
});

describe('the sessions of one agent', () => {
  it('refuses a session past its limit with TooManySessions', async () => {
    const limited = new TerminalSessions({
      instanceId: 'i-forwardtest',
      token: 'agent-token',
      serverUrl: () => relay.url,
      say: () => undefined,
      maxSessions: 1,
    });
    try {
      limited.open({ type: 'session-open', sessionId: newSessionId(), portNumber: webPort });
      const first = await relay.next();
      limited.open({ type: 'session-open', sessionId: newSessionId(), portNumber: webPort });
      const second = await relay.next();
      expect(await second.waitForClose()).toBe(1000);
      expect(second.jsonOf(frameType.error)).toMatchObject({ code: 'TooManySessions' });
      expect(first.closeCode).toBeUndefined();
    } finally {
      await limited.stopAll();
    }
  });
});
