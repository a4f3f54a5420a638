import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/deadline.js';
import { binPath } from '../helpers/server-process.js';

const quote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

/** A process has ended: gone, or a zombie its parent has not reaped yet. */
function ended(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};

interface Piped {
  /** The shell's pid, which leads the process group (spawned detached). */
  readonly group: number;
  readonly up: number;
  readonly tee: number;
}

// `openassist up 2>&1 | tee log` typed in a terminal: both in one process group, which Ctrl-C signals.
describe('openassist up with its output piped into tee', () => {
  let dir: string;
  const started: number[] = [];

  afterEach(async () => {
    for (const pid of started.splice(0)) if (!ended(pid)) process.kill(pid, 'SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function startPiped(): Promise<Piped> {
    dir = await mkdtemp(join(tmpdir(), 'openassist-up-pipe-'));
    const log = join(dir, 'log');
    const up = [process.execPath, binPath, 'up', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')];
    const shell = spawn('bash', ['-c', `${up.map(quote).join(' ')} 2>&1 | tee ${quote(log)} >/dev/null`], {
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        OPENASSIST_LOG_LEVEL: 'info',
        OPENASSIST_ROOT_ACCESS_KEY_ID: '',
        OPENASSIST_ROOT_ACCESS_KEY_SECRET: '',
      },
    });
    const shellPid = shell.pid;
    // Never 0: process.kill(0) or kill(-0) would signal this test's own process group.
    if (shellPid === undefined) throw new Error('bash did not start');
    started.push(shellPid);
    // Both children found by what they run, after their exec: a child just forked is still bash.
    const comm = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    };
    const { upPid, teePid } = await waitFor('up and tee to start', () => {
      const children = childrenOf(shellPid);
      const upPid = children.find((pid) => comm(pid) === 'node');
      const teePid = children.find((pid) => comm(pid) === 'tee');
      return upPid !== undefined && teePid !== undefined ? { upPid, teePid } : undefined;
    });
    started.push(upPid, teePid);
    await waitFor(
      'the local agent to connect',
      () => {
        let text = '';
        try {
          text = readFileSync(log, 'utf8');
        } catch {}
        return text.includes('agent: connected as') ? true : undefined;
      },
      60_000,
    );
    return { group: shellPid, up: upPid, tee: teePid };
  }

  const exits = (pid: number) => waitFor(`pid ${pid} to exit`, () => ended(pid) || undefined, 30_000);

  it('Ctrl-C (SIGINT to the process group, tee dies too) ends up', async () => {
    const piped = await startPiped();
    process.kill(-piped.group, 'SIGINT');
    await expect(exits(piped.tee)).resolves.toBe(true); // tee dies too: the pipe has no reader left
    await expect(exits(piped.up)).resolves.toBe(true);
  }, 120_000);

  it('SIGTERM to the process group ends up', async () => {
    const piped = await startPiped();
    process.kill(-piped.group, 'SIGTERM');
    await expect(exits(piped.up)).resolves.toBe(true);
  }, 120_000);

  it('with the pipe reader gone first, SIGTERM still ends up', async () => {
    const piped = await startPiped();
    process.kill(piped.tee, 'SIGKILL');
    await waitFor('tee to end', () => ended(piped.tee) || undefined);
    process.kill(piped.up, 'SIGTERM');
    await expect(exits(piped.up)).resolves.toBe(true);
  }, 120_000);
});
