import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// s3rver is CommonJS without types: the little of it used here, typed.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  readonly httpServer?: {
    closeAllConnections(): void;
    on(event: 'request', listener: (request: { method?: string; url?: string }) => void): void;
  };
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
interface Account {
  createKeyPair(id: string, secret: string): void;
}
const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverClass;
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: Account };

/** An S3-compatible server on a free loopback port, checking every request's signature. */
export interface S3Server {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Stops answering (the port refuses); `start` brings it back (if stopped) on the same port with the same objects. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** `METHOD /path?query` of every request it received, oldest first. */
  readonly requests: readonly string[];
  /** Stops it and removes its objects. */
  remove(): Promise<void>;
}

export async function startS3Server(buckets: readonly string[]): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'openassist-s3-'));
  const accessKeyId = `oatest${randomBytes(6).toString('hex')}`;
  const accessKeySecret = randomBytes(20).toString('hex');
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, accessKeySecret);
  let port = 0;
  let running: S3rverInstance | undefined;
  const requests: string[] = [];
  const start = async () => {
    if (running) return;
    const server = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent: true,
      // Unsigned or wrongly signed requests are refused, as a real store refuses them.
      allowMismatchedSignatures: false,
      configureBuckets: buckets.map((name) => ({ name, configs: [] })),
    });
    const address = await server.run();
    port = address.port;
    running = server;
    server.httpServer?.on('request', (request) => requests.push(`${request.method} ${request.url}`));
  };
  await start();
  const stop = async () => {
    const server = running;
    running = undefined;
    if (!server) return;
    const closed = server.close();
    // Kept-alive connections too: the storage is gone, not just refusing new clients.
    server.httpServer?.closeAllConnections();
    await closed;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId,
    accessKeySecret,
    requests,
    stop,
    start,
    async remove() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
