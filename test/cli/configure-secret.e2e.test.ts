import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/deadline.js';
import { binPath } from '../helpers/server-process.js';

// `configure --access-key-secret` is for scripts; while its check call runs, the secret must not be
// in what every local user reads of the process (ps, /proc/PID/cmdline).
describe('openassist configure --access-key-secret', () => {
  let home: string;
  let silent: Server;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'openassist-configure-'));
    // An endpoint that accepts and never answers: the check call waits, the process stays up.
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await rm(home, { recursive: true, force: true });
  });

  it('scrubs the secret from its arguments', async () => {
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const secret = `cfg-secret-${Date.now().toString(36)}`;
    const child = spawn(
      process.execPath,
      [
        binPath,
        'configure',
        '--endpoint',
        `http://127.0.0.1:${port}`,
        '--access-key-id',
        'LTAIconfiguretest',
        '--access-key-secret',
        secret,
        '--region',
        'cn-hangzhou',
      ],
      { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      // Once the check call is on its way, the arguments shown are the masked ones.
      await waitFor('the check call', () => (sockets.length > 0 ? true : undefined), 30_000);
      const shown = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      expect(shown).toContain('--access-key-secret ***');
      expect(shown).not.toContain(secret);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
