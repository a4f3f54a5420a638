import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './deadline.js';
import { spawnNode } from './spawn-node.js';

/** bin/openassist of this checkout, found from here whether run from test/ (Vitest) or dist/ (bench). */
export const binPath = ((): string => {
  for (const up of ['../../bin/openassist', '../../../bin/openassist']) {
    const path = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('bin/openassist not found');
})();

export interface ServerProcess {
  /** `http://127.0.0.1:PORT` (https:// when the server is given a certificate) */
  readonly url: string;
  /** `127.0.0.1:PORT`, the SDK's endpoint form. */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** SIGTERM, then wait for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  readonly databaseUrl?: string;
  readonly env?: Record<string, string>;
  readonly command?: 'server' | 'up';
  readonly dataDir?: string;
  /** HOST:PORT; a free port by default. A restart passes the first run's, so agents find it again. */
  readonly listen?: string;
  /** The root key of a restarted server (its database has it already). */
  readonly accessKey?: { readonly id: string; readonly secret: string };
  /** Starts the process under this umask (through sh), e.g. 0o022 to test the modes of its files. */
  readonly umask?: number;
  /** Another checkout's bin/openassist (a bench's baseline); this checkout's by default. */
  readonly bin?: string;
}

/** Starts `openassist server` as a real process on a free port with a known root key. */
export async function startServerProcess(options: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'openassist-test-')));
  const accessKeyId = options.accessKey?.id ?? `LTAItest${randomBytes(8).toString('hex')}`;
  const accessKeySecret = options.accessKey?.secret ?? randomBytes(15).toString('hex');
  const listen = options.listen ?? '127.0.0.1:0';
  const args = [options.bin ?? binPath, options.command ?? 'server', '--listen', listen, '--data', dataDir];
  if (options.databaseUrl) args.push('--database', options.databaseUrl);
  const child = spawnNode(
    args,
    {
      ...process.env,
      OPENASSIST_ROOT_ACCESS_KEY_ID: accessKeyId,
      OPENASSIST_ROOT_ACCESS_KEY_SECRET: accessKeySecret,
      OPENASSIST_LOG_LEVEL: 'warn',
      ...options.env,
    },
    options.umask,
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await waitFor(
    'the server to print its ready line',
    () => {
      if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}): ${stderr}`);
      return /listening on (https?:\/\/[^\s]+)/.exec(stdout)?.[1];
    },
    30_000,
  );
  return {
    url,
    endpoint: url.replace(/^https?:\/\//, ''),
    dataDir,
    accessKeyId,
    accessKeySecret,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
