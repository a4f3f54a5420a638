import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from './identity.js';
import { lockPath, lockStateDir } from './state-lock.js';

/** The start time Linux gives a process (/proc/PID/stat field 22). */
const startedOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};

describe('the state dir lock', () => {
  let dir: string;
  const releases: (() => void)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-lock-'));
  });

  afterEach(async () => {
    for (const release of releases.splice(0)) release();
    await rm(dir, { recursive: true, force: true });
  });

  const lock = (bootId = 'boot-1') => {
    const release = lockStateDir(dir, bootId);
    releases.push(release);
    return release;
  };
  const holdBy = (pid: number, fields: Record<string, unknown> = {}) =>
    writeFileSync(
      lockPath(dir),
      JSON.stringify({ pid, started: startedOf(pid), bootId: 'boot-1', sinceMs: 0, ...fields }),
      { mode: 0o600 },
    );

  it('is taken once, owner-only, refused to a second agent, and free again once released', () => {
    const release = lock();
    expect(statSync(lockPath(dir)).mode & 0o777).toBe(0o600);
    expect(() => lockStateDir(dir, 'boot-1')).toThrow(AgentError);
    expect(() => lockStateDir(dir, 'boot-1')).toThrow(
      /another agent \(pid \d+, since .*\) uses the state dir/,
    );
    release();
    lock();
  });

  it('is refused while the agent named in it runs', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      holdBy(other.pid ?? 0);
      expect(() => lockStateDir(dir, 'boot-1')).toThrow(new RegExp(`another agent \\(pid ${other.pid},`));
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('is taken over from an agent that is gone, from another boot, or whose pid now names another process', () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(lockPath(dir), JSON.stringify({ pid: Number(gone.stdout), bootId: 'boot-1', sinceMs: 0 }));
    lock()();
    holdBy(process.ppid, { bootId: 'boot-0' });
    lock()();
    holdBy(process.ppid, { started: '1' });
    lock()();
    expect(existsSync(lockPath(dir))).toBe(false);
  });
});
