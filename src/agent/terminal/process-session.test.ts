import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/deadline.js';
import { killSessions, parseStat, sessionMembers } from './process-session.js';

const dir = mkdtempSync(join(tmpdir(), 'oa-process-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseStat', () => {
  it('reads the session id after the last parenthesis, whatever the command name holds', () => {
    expect(parseStat('4242 (bash) S 4200 4242 4242 34816 4242 4194560 1 0')).toEqual({
      state: 'S',
      sessionId: 4242,
    });
    // A command may name itself with spaces and parentheses: `a) R 1 2 3 (b`.
    expect(parseStat('77 (a) R 1 2 3 (b) Z 5 77 9000 0')).toEqual({ state: 'Z', sessionId: 9000 });
  });

  it('gives nothing for text that is not a stat line', () => {
    expect(parseStat('')).toBeUndefined();
    expect(parseStat('12 (x) S 1')).toBeUndefined();
  });
});

describe('killSessions', () => {
  it('hangs up a process forked after its first look too, so that it can clean up before the kill', async () => {
    const marker = join(dir, 'late-child-hung-up');
    const started = join(dir, 'leader-started');
    // The leader outlives its hang-up and only then forks a child; the child cleans up on its own.
    const child = join(dir, 'child.sh');
    writeFileSync(child, `trap 'echo hup > ${marker}; exit 0' HUP\nwhile :; do sleep 0.05; done\n`);
    const leader = join(dir, 'leader.sh');
    writeFileSync(leader, `trap 'sh ${child} &' HUP\necho > ${started}\nwhile :; do sleep 0.05; done\n`);
    // detached: the leader leads a session of its own, as a terminal's shell does.
    const session = spawn('sh', [leader], { detached: true, stdio: 'ignore' });
    const sessionId = session.pid ?? 0;
    await waitFor('the leader to start', () => (existsSync(started) ? true : undefined));

    await killSessions([sessionId], 3_000);

    expect(readFileSync(marker, 'utf8')).toBe('hup\n');
    await waitFor('the session to be gone', async () =>
      (await sessionMembers(new Set([sessionId]))).length === 0 ? true : undefined,
    );
  });
});
