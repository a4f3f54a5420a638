import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageAgentDir } from '../../src/api/agent-download-routes.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// GET /agent/install.sh and /agent/download/<file>: served without an access key, over real HTTP.

const run = promisify(execFile);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A raw request: the path goes on the wire exactly as given (no normalisation of `..` or `%2F`). */
function raw(url: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise<Answer>((resolve, reject) => {
    const outgoing = request(
      { hostname, port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** Downloads without keeping the body: its size and SHA-256. */
function digest(url: string): Promise<{ status: number; bytes: number; sha256: string; length: string }> {
  return new Promise((resolve, reject) => {
    request(url, (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          bytes,
          sha256: hash.digest('hex'),
          length: String(response.headers['content-length']),
        }),
      );
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const peakRssKiB = (pid: number): number =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

let dir: string;
let server: ServerProcess;
let noBuild: ServerProcess;
const executable = randomBytes(3 * 1024 * 1024 + 17);
const executableSha = createHash('sha256').update(executable).digest('hex');
// Sparse: 256 MiB that cost no disk, to show the server streams rather than buffers.
const bigBytes = 256 * 1024 * 1024;
const zerosSha256 = (bytes: number): string => {
  const hash = createHash('sha256');
  const mebibyte = Buffer.alloc(1024 * 1024);
  for (let done = 0; done < bytes; done += mebibyte.length) hash.update(mebibyte);
  return hash.digest('hex');
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openassist-download-'));
  const agentDir = join(dir, 'agent');
  await mkdir(agentDir);
  await writeFile(join(agentDir, 'openassist-agent-linux-x64'), executable);
  await writeFile(
    join(agentDir, 'openassist-agent-linux-x64.sha256'),
    `${executableSha}  openassist-agent-linux-x64\n`,
  );
  await writeFile(join(agentDir, 'openassist-agent-linux-arm64'), '');
  await truncate(join(agentDir, 'openassist-agent-linux-arm64'), bigBytes);
  await writeFile(join(dir, 'secret.txt'), 'not for download');
  [server, noBuild] = await Promise.all([
    startServerProcess({ env: { OPENASSIST_AGENT_DIR: agentDir } }),
    startServerProcess({ env: { OPENASSIST_AGENT_DIR: join(dir, 'missing') } }),
  ]);
});

afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  expect(await noBuild?.stop()).toBe(0);
  await rm(dir, { recursive: true, force: true });
});

describe('GET /agent/download/<file>', () => {
  it('serves the executable and its checksum without an access key, with length and type', async () => {
    const binary = await raw(server.url, '/agent/download/openassist-agent-linux-x64');
    expect(binary.status).toBe(200);
    expect(binary.headers['content-type']).toBe('application/octet-stream');
    expect(binary.headers['content-length']).toBe(String(executable.length));
    expect(binary.body.equals(executable)).toBe(true);
    const sum = await raw(server.url, '/agent/download/openassist-agent-linux-x64.sha256');
    expect(sum.status).toBe(200);
    expect(sum.headers['content-type']).toMatch(/^text\/plain/);
    expect(sum.body.toString()).toBe(`${executableSha}  openassist-agent-linux-x64\n`);
  });

  it('streams a large file: the server never holds it in memory', async () => {
    const before = peakRssKiB(server.child.pid ?? 0);
    const big = await digest(`${server.url}/agent/download/openassist-agent-linux-arm64`);
    expect(big).toMatchObject({ status: 200, bytes: bigBytes, length: String(bigBytes) });
    expect(big.sha256).toBe(zerosSha256(bigBytes));
    // Buffering would raise the peak by 256 MiB; streaming by a few chunks at most.
    expect(peakRssKiB(server.child.pid ?? 0) - before).toBeLessThan(96 * 1024);
  });

  it('answers HEAD with the length and no body, and ignores Range (whole file, 200)', async () => {
    const head = await raw(server.url, '/agent/download/openassist-agent-linux-x64', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(executable.length));
    expect(head.body.length).toBe(0);
    const ranged = await raw(server.url, '/agent/download/openassist-agent-linux-x64', {
      headers: { range: 'bytes=0-9' },
    });
    expect(ranged.status).toBe(200);
    expect(ranged.body.length).toBe(executable.length);
  });

  it.each([
    ['a path outside the build', '/agent/download/..%2Fsecret.txt'],
    ['a dot-dot path', '/agent/download/../secret.txt'],
    ['an encoded dot-dot segment', '/agent/download/%2E%2E/secret.txt'],
    ['a sub-path', '/agent/download/openassist-agent-linux-x64/x'],
    ['a trailing slash', '/agent/download/openassist-agent-linux-x64/'],
    ['an encoded NUL', '/agent/download/openassist-agent-linux-x64%00'],
    ['another suffix', '/agent/download/openassist-agent-linux-x64.sha256.bak'],
    ['an unknown architecture', '/agent/download/openassist-agent-linux-mips'],
    ['a huge name', `/agent/download/${'a'.repeat(60_000)}`],
    ['the directory itself', '/agent/download/'],
  ])('refuses %s with 404', async (_what, path) => {
    const answer = await raw(server.url, path);
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).not.toContain('not for download');
    expect(JSON.parse(answer.body.toString())).toMatchObject({ Code: expect.stringMatching(/NotFound/) });
  });

  it("defaults to this package's dist/agent, where npm run build puts the executables", () => {
    expect(packageAgentDir()).toBe(fileURLToPath(new URL('../../dist/agent', import.meta.url)));
  });

  it('says clearly when the server has no build', async () => {
    const answer = await raw(noBuild.url, '/agent/download/openassist-agent-linux-x64');
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body.toString())).toMatchObject({
      Code: 'AgentFile.NotFound',
      Message: expect.stringContaining('openassist-agent-linux-x64 is not built on this server'),
    });
  });
});

describe('GET /agent/install.sh', () => {
  it('serves the script with the URL the machine used as its default server', async () => {
    const script = await raw(server.url, '/agent/install.sh');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/x-shellscript/);
    const text = script.body.toString();
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toContain(`server='${server.url}'`);
    const named = await raw(server.url, '/agent/install.sh', { headers: { host: 'oa.example:8080' } });
    expect(named.body.toString()).toContain("server='http://oa.example:8080'");
  });

  it('puts no hostile Host header in the script: the address the request came in on instead', async () => {
    const hostile = await raw(server.url, '/agent/install.sh', { headers: { host: "x';reboot;'" } });
    expect(hostile.status).toBe(200);
    expect(hostile.body.toString()).not.toContain('reboot');
    expect(hostile.body.toString()).toContain(`server='${server.url}'`);
  });

  it('is a script dash and busybox sh parse (the shells of Debian and small systems)', async () => {
    const script = join(dir, 'install.sh');
    await writeFile(script, (await raw(server.url, '/agent/install.sh')).body);
    const shells = [['dash'], ['busybox', 'sh']].filter(
      ([shell]) => existsSync(`/usr/bin/${shell}`) || existsSync(`/bin/${shell}`),
    );
    expect(shells.length, 'dash or busybox').toBeGreaterThan(0);
    for (const shell of shells) {
      await run(shell[0] ?? '', [...shell.slice(1), '-n', script]);
    }
  });

  it('holds no secret of the server', async () => {
    const text = (await raw(server.url, '/agent/install.sh')).body.toString();
    expect(text).not.toContain(server.accessKeySecret);
    expect(text).not.toContain(server.accessKeyId);
  });
});
