import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// s3rver is CommonJS without types: the little of it used here, typed.
interface S3rverInstance {
  configureBuckets(): Promise<void>;
  callback(): (request: IncomingMessage, response: ServerResponse) => void;
  readonly logger?: { close(): void };
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
interface Account {
  createKeyPair(id: string, secret: string): void;
}
const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverClass;
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: Account };

/**
 * An S3-compatible server on a free loopback port. s3rver checks V2 signatures but takes any V4
 * one whose key id it knows, so a front here checks each request's V4 signature against the
 * secret (the payload hash it signs included) before s3rver sees it.
 */
export interface S3Server {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** `METHOD /path?query` of every request it received and accepted, oldest first. */
  readonly requests: readonly string[];
  /** The `x-amz-content-sha256` of every accepted request (a `STREAMING-…` one is aws-chunked). */
  readonly payloadHashes: readonly string[];
  /** Stops answering (the port refuses); `start` brings it back (if stopped) on the same port with the same objects. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its objects. */
  remove(): Promise<void>;
}

const rfc3986 = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/** Why a request's AWS4-HMAC-SHA256 signature is not that of `secret`; undefined when it is. */
export function sigV4Mismatch(request: IncomingMessage, secret: string): string | undefined {
  const authorization = request.headers.authorization ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) return 'not an AWS4-HMAC-SHA256 Authorization header';
  const [, , day = '', region = '', service = '', signedHeaders = '', signature = ''] = match;
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const url = request.url ?? '/';
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const query = (at < 0 ? '' : url.slice(at + 1))
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
      return `${rfc3986(name)}=${rfc3986(value)}`;
    })
    .sort()
    .join('&');
  const names = signedHeaders.split(';');
  const headers = names
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const payloadHash = String(request.headers['x-amz-content-sha256'] ?? '');
  const canonical = [request.method, path, query, headers, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  return hmac(key, toSign).toString('hex') === signature ? undefined : 'the signature does not match';
}

export async function startS3Server(buckets: readonly string[]): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'openassist-s3-'));
  const accessKeyId = `oatest${randomBytes(6).toString('hex')}`;
  const accessKeySecret = randomBytes(20).toString('hex');
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, accessKeySecret);
  let port = 0;
  let running: { http: Server; s3: S3rverInstance } | undefined;
  const requests: string[] = [];
  const payloadHashes: string[] = [];
  const start = async () => {
    if (running) return;
    const s3 = new S3rver({
      directory,
      silent: true,
      allowMismatchedSignatures: false,
      configureBuckets: buckets.map((name) => ({ name, configs: [] })),
    });
    await s3.configureBuckets();
    const handle = s3.callback();
    const http = createServer((request, response) => {
      const mismatch = sigV4Mismatch(request, accessKeySecret);
      if (mismatch) {
        response.writeHead(403, { 'content-type': 'application/xml' });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>${mismatch}</Message></Error>`,
        );
        return;
      }
      requests.push(`${request.method} ${request.url}`);
      payloadHashes.push(String(request.headers['x-amz-content-sha256'] ?? ''));
      handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => resolve());
    });
    port = (http.address() as AddressInfo).port;
    running = { http, s3 };
  };
  await start();
  const stop = async () => {
    const server = running;
    running = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.http.close(() => resolve()));
    // Kept-alive connections too: the storage is gone, not just refusing new clients.
    server.http.closeAllConnections();
    await closed;
    server.s3.logger?.close();
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId,
    accessKeySecret,
    requests,
    payloadHashes,
    stop,
    start,
    async remove() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
