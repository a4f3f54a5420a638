import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '../../src/api/http-server.js';
import { waitFor } from '../helpers/deadline.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

/** Opens a raw connection and resolves, when the server ends it, with what it answered and when. */
function rawClient(url: string): { socket: Socket; ended: Promise<{ answer: string; afterMs: number }> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const started = Date.now();
  let answer = '';
  socket.on('data', (chunk) => {
    answer += chunk.toString();
  });
  socket.on('error', () => {});
  const ended = new Promise<{ answer: string; afterMs: number }>((resolve) =>
    socket.on('close', () => resolve({ answer, afterMs: Date.now() - started })),
  );
  return { socket, ended };
}

/** Whether a new connection to `url` is refused (nothing listens there any more). */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Writes a byte at a time until the socket closes: a client that never finishes. */
function drip(socket: Socket, text: string): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer);
    socket.write(text[at++] ?? '');
  }, 250);
  socket.on('close', () => clearInterval(timer));
}

// Slowloris-style clients hold a connection open by sending a little at a time; the server must
// cut them off at its header and request deadlines, and keep serving others meanwhile.
describe('slow clients', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.concurrent('a client that sends its headers slowly is cut off after the header deadline', async () => {
    const { socket, ended } = rawClient(server.url);
    socket.write('POST / HTTP/1.1\r\nHost: x\r\n');
    drip(socket, `X-Slow: ${'a'.repeat(10_000)}`);
    const { answer, afterMs } = await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"Code":"RequestTimeout"/);
    expect(afterMs).toBeGreaterThanOrEqual(limits.headersTimeoutMs - 500);
    expect(afterMs).toBeLessThan(limits.headersTimeoutMs + 5_000);
  }, 60_000);

  it.concurrent('a client that sends its body slowly is cut off after the request deadline', async () => {
    const { socket, ended } = rawClient(server.url);
    socket.write(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n',
    );
    drip(socket, 'a'.repeat(100_000));
    // Meanwhile other clients are served.
    expect((await fetch(new URL('/health', server.url))).status).toBe(200);
    const { answer, afterMs } = await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"Code":"RequestTimeout"/);
    expect(afterMs).toBeGreaterThanOrEqual(limits.requestTimeoutMs - 500);
    expect(afterMs).toBeLessThan(limits.requestTimeoutMs + 5_000);
  }, 60_000);

  it.concurrent('keeps an idle keep-alive connection past Node’s 5 s, and says for how long', async () => {
    const { socket, ended } = rawClient(server.url);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the first answer', () => (text.includes('\r\n\r\n') ? true : undefined));
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.toLowerCase()).toContain(`keep-alive: timeout=${limits.keepAliveTimeoutMs / 1000}`);
    // Idle longer than Node's default would keep it: the same connection still answers.
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(socket.destroyed).toBe(false);
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const { answer } = await ended;
    expect(answer.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
  }, 60_000);
});

describe('a server told to stop while it answers', () => {
  it('closes a keep-alive connection right after that answer, not after the keep-alive timeout', async () => {
    const server = await startServerProcess();
    try {
      const { socket, ended } = rawClient(server.url);
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      const body = 'Action=DescribeRegions&Version=2014-05-26';
      // `Expect: 100-continue`: the server says once it has the headers, so the request is known to
      // be in progress (not an idle connection) when the stop begins.
      socket.write(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      await waitFor('100 Continue', () => (text.includes('100 Continue') ? true : undefined));
      server.child.kill('SIGTERM');
      // The body is sent once the server has stopped listening: its close has begun.
      await waitFor('the server to stop listening', async () =>
        (await refused(server.url)) ? true : undefined,
      );
      socket.write(body);
      await waitFor('the answer', () => (/"Code":/.test(text) ? true : undefined));
      const answeredAt = Date.now();
      // Answered as any unsigned call, on a connection the answer still offers to keep alive.
      expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 400 [\s\S]*Connection: keep-alive/);
      expect(text).toContain('"Code":"IncompleteSignature"');
      // Closed soon after its answer: Node would keep it for the 72 s keep-alive timeout.
      await waitFor('the connection to be closed', () => (socket.destroyed ? true : undefined), 10_000);
      await ended;
      expect(Date.now() - answeredAt).toBeLessThan(10_000);
      expect(await server.stop()).toBe(0);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
