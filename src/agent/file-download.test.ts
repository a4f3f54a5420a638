import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadInto, FileDownloadError, type FileDownloadRequest } from './file-download.js';

const file = randomBytes(300_000);
const sha = createHash('sha256').update(file).digest('hex');

/** A real HTTP server answering each request with `answer`; the Range headers it saw are kept. */
async function serve(
  answer: (request: IncomingMessage, response: ServerResponse, count: number) => void,
): Promise<{ server: Server; url: string; ranges: (string | undefined)[] }> {
  const ranges: (string | undefined)[] = [];
  const server = createServer((request, response) => {
    ranges.push(request.headers.range);
    answer(request, response, ranges.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ranges };
}

const startOf = (request: IncomingMessage): number =>
  Number(/bytes=(\d+)-/.exec(request.headers.range ?? '')?.[1] ?? 0);

/** Sends the file from the requested start; with `cutAfter`, drops the connection after that many bytes. */
function sendFrom(request: IncomingMessage, response: ServerResponse, cutAfter?: number): void {
  const start = startOf(request);
  response.writeHead(start > 0 ? 206 : 200, { 'content-length': String(file.length - start) });
  if (cutAfter === undefined) {
    response.end(file.subarray(start));
    return;
  }
  response.write(file.subarray(start, start + cutAfter), () => response.socket?.destroy());
}

describe('downloadInto', () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-download-'));
  });
  afterEach(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function download(url: string, overrides: Partial<FileDownloadRequest> = {}): Promise<Buffer> {
    const path = join(dir, 'target.tmp');
    const handle = await open(path, 'w');
    try {
      await downloadInto(
        {
          path: '/agent/v1/files/f-1',
          sizeBytes: file.length,
          sha256: sha,
          serverUrl: () => url,
          instanceId: 'mi-1',
          token: 'secret',
          ...overrides,
        },
        handle,
        new AbortController().signal,
      );
    } finally {
      await handle.close();
    }
    return readFile(path);
  }

  it('downloads with the instance credentials and checks the bytes', async () => {
    let seen: IncomingMessage['headers'] = {};
    const served = await serve((request, response) => {
      seen = request.headers;
      sendFrom(request, response);
    });
    server = served.server;
    expect((await download(served.url)).equals(file)).toBe(true);
    expect(seen).toMatchObject({ 'x-openassist-instance-id': 'mi-1', authorization: 'Bearer secret' });
    expect(served.ranges).toEqual([undefined]);
  });

  it('resumes after dropped connections from the bytes it has', async () => {
    const served = await serve((request, response, count) =>
      sendFrom(request, response, count < 3 ? 100_000 : undefined),
    );
    server = served.server;
    expect((await download(served.url)).equals(file)).toBe(true);
    // Each cut sent 100,000 bytes, but how many reached the file before the close was seen
    // depends on the scheduling: each resume starts past the last one, never before it.
    const [first, ...resumed] = served.ranges;
    expect(first).toBeUndefined();
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    const starts = resumed.map((range) => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]));
    expect(starts[0]).toBeGreaterThan(0);
    for (const [i, start] of starts.entries()) if (i > 0) expect(start).toBeGreaterThan(starts[i - 1] ?? 0);
  });

  it('refuses bytes that do not hash to the sha256', async () => {
    const served = await serve((request, response) => sendFrom(request, response));
    server = served.server;
    const failure = await download(served.url, { sha256: 'f'.repeat(64) }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FileDownloadError);
    expect(failure).toMatchObject({ code: 'FileChecksumMismatch' });
  });

  it('stops at once on a refusal, naming the code', async () => {
    const served = await serve((_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ Code: 'InvalidFile.NotFound', Message: 'No file.' }));
    });
    server = served.server;
    const failure = await download(served.url).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'FileDownloadFailed' });
    expect(String(failure)).toContain('InvalidFile.NotFound');
    expect(served.ranges).toHaveLength(1);
  });
});
