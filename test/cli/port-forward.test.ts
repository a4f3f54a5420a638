import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, get, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliJson } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { binPath } from '../helpers/server-process.js';

/** The body of `/N`: up to 512 KiB (two windows), of bytes that differ from one request to the next. */
function body(n: number): Buffer {
  const size = ((n * 37) % 512) * 1024 + n;
  const seed = createHash('sha256').update(String(n)).digest();
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += seed.length) seed.copy(bytes, i);
  return bytes;
}

interface Forwarding {
  readonly child: ChildProcess;
  readonly port: number;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `openassist port-forward` and waits for its ready line. */
async function forward(env: Record<string, string>, args: readonly string[]): Promise<Forwarding> {
  const child = spawn(process.execPath, [binPath, 'port-forward', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await waitFor('the ready line', () => {
    if (child.exitCode !== null) throw new Error(`port-forward exited (${child.exitCode}): ${output}`);
    const found = /^forwarding 127\.0\.0\.1:(\d+) -> /m.exec(output)?.[1];
    return found ? Number(found) : undefined;
  });
  return { child, port, output: () => output, exited };
}

function fetchBytes(port: number, path: string, agent: Agent): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks)));
      response.on('error', reject);
    }).on('error', reject);
  });
}

// `openassist port-forward` against a real server and agent, to an HTTP server on this machine.
describe('openassist port-forward', () => {
  let fleet: Fleet;
  let home: string;
  let env: Record<string, string>;
  let web: Server;
  let webPort: number;

  beforeAll(async () => {
    fleet = await startFleet();
    home = await mkdtemp(join(tmpdir(), 'openassist-home-'));
    env = {
      HOME: home,
      OPENASSIST_DATA_DIR: join(home, 'no-data'),
      OPENASSIST_ENDPOINT: fleet.server.url,
      OPENASSIST_ACCESS_KEY_ID: fleet.server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: fleet.server.accessKeySecret,
    };
    web = createServer((request, response) => {
      const bytes = body(Number(request.url?.slice(1)));
      response.writeHead(200, { 'content-length': bytes.byteLength });
      response.end(bytes);
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webPort = (web.address() as AddressInfo).port;
  });

  afterAll(async () => {
    web?.closeAllConnections();
    await new Promise((resolve) => web?.close(resolve));
    await fleet?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('carries 100 requests over 10 parallel connections byte for byte, and Ctrl-C ends it', async () => {
    const forwarding = await forward(env, [fleet.agent.instanceId, `0:${webPort}`]);
    expect(forwarding.output()).toContain(`-> localhost:${webPort} on ${fleet.agent.instanceId}`);
    const agent = new Agent({ keepAlive: true, maxSockets: 10 });
    const started = Date.now();
    let bytes = 0;
    const requests = Array.from({ length: 100 }, (_, n) => n);
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let n = requests.shift(); n !== undefined; n = requests.shift()) {
          const got = await fetchBytes(forwarding.port, `/${n}`, agent);
          expect(got.equals(body(n)), `response ${n}`).toBe(true);
          bytes += got.byteLength;
        }
      }),
    );
    agent.destroy();
    const seconds = (Date.now() - started) / 1000;
    console.log(`port-forward: ${(bytes / 2 ** 20).toFixed(1)} MiB in 100 requests, ${seconds.toFixed(2)} s`);

    forwarding.child.kill('SIGINT');
    expect(await forwarding.exited).toBe(0);
    const [session] = await cliJson<
      { PortNumber: number; Connections: { Connection: { ClosedReason: string }[] } }[]
    >(['session', 'list', '--instance', fleet.agent.instanceId, '--max', '1'], { env });
    expect(session?.PortNumber).toBe(webPort);
    await waitFor('the session to close', async () => {
      const [now] = await cliJson<{ Connections: { Connection: { ClosedReason: string }[] } }[]>(
        ['session', 'list', '--instance', fleet.agent.instanceId, '--max', '1'],
        { env },
      );
      return now?.Connections.Connection[0]?.ClosedReason === 'ClientClosed' || undefined;
    });
  });

  it('holds connections past the 32 streams of a session until one ends', async () => {
    const forwarding = await forward(env, [fleet.agent.instanceId, `0:${webPort}`]);
    const agent = new Agent({ keepAlive: false, maxSockets: 50 });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, n) => fetchBytes(forwarding.port, `/${n + 1000}`, agent)),
    );
    for (const [n, got] of responses.entries())
      expect(got.equals(body(n + 1000)), `response ${n}`).toBe(true);
    expect(forwarding.output()).not.toMatch(/TooManyStreams/);
    forwarding.child.kill('SIGINT');
    expect(await forwarding.exited).toBe(0);
  });

  it('closes a connection the agent cannot make, says why, and goes on forwarding', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const forwarding = await forward(env, [
      fleet.agent.instanceId,
      `0:${closedPort}`,
      '--target',
      '127.0.0.1',
    ]);
    const socket = connect(forwarding.port, '127.0.0.1');
    await new Promise((resolve) => socket.on('close', resolve).on('error', () => {}));
    await waitFor('the refusal on stderr', () => /ConnectionRefused/.test(forwarding.output()) || undefined);
    expect(forwarding.child.exitCode).toBeNull();
    forwarding.child.kill('SIGINT');
    expect(await forwarding.exited).toBe(0);
  });

  it('refuses a taken local port before opening any session', async () => {
    const taken = createTcpServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const child = spawn(process.execPath, [binPath, 'port-forward', fleet.agent.instanceId, `${port}:80`], {
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    await new Promise((resolve) => taken.close(resolve));
    expect([code, stderr]).toEqual([2, expect.stringContaining(`127.0.0.1:${port} is already in use`)]);
  });
});
