import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../protocol/messages.js';
import { Journal } from './journal.js';

const task = (invokeId: string): TaskSpec => ({
  invokeId,
  commandType: 'RunShellScript',
  script: 'echo hi',
  username: '',
  workingDir: '',
  timeoutSeconds: 60,
  terminationMode: 'ProcessTree',
});

describe('the agent journal', () => {
  let dir: string;
  let journal: Journal;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-journal-'));
    journal = new Journal(dir);
  });

  afterEach(async () => {
    journal.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a task once, however often it is delivered', () => {
    expect(journal.accept(task('t-1'), 1)?.event).toEqual({ kind: 'accepted' });
    expect(journal.accept(task('t-1'), 2)).toBeUndefined();
    expect(journal.stateOf('t-1')).toBe('accepted');
  });

  it('keeps events until acknowledged, in order, across a reopen', () => {
    journal.accept(task('t-2'), 1);
    journal.record('t-2', { kind: 'started', atMs: 2 }, 2);
    const finished = journal.record(
      't-2',
      {
        kind: 'finished',
        atMs: 3,
        status: 'Success',
        exitCode: 0,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
      },
      3,
    );
    expect(journal.stateOf('t-2')).toBe('finished');
    const [accepted] = journal.unacknowledged();
    journal.acknowledge(accepted?.eventId ?? '');
    journal.close();
    journal = new Journal(dir);
    expect(journal.unacknowledged().map((e) => e.event.kind)).toEqual(['started', 'finished']);
    expect(journal.unacknowledged().at(-1)?.eventId).toBe(finished.eventId);
  });

  it('lists unfinished tasks with their process group, and is readable by its owner only', async () => {
    journal.accept(task('t-3'), 1);
    journal.setProcess('t-3', 4242, 'boot-a');
    journal.accept(task('t-4'), 1);
    journal.record(
      't-4',
      {
        kind: 'finished',
        atMs: 3,
        status: 'Failed',
        exitCode: 1,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
      },
      3,
    );
    expect(journal.unfinished()).toEqual([
      { task: task('t-3'), state: 'accepted', pid: 4242, bootId: 'boot-a' },
    ]);
    expect((await stat(join(dir, 'journal.db'))).mode & 0o777).toBe(0o600);
  });

  it('forgets finished tasks after a week, not before', () => {
    journal.accept(task('t-5'), 1);
    journal.record(
      't-5',
      {
        kind: 'finished',
        atMs: 1,
        status: 'Success',
        exitCode: 0,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
      },
      1,
    );
    journal.forgetOld(1 + 6 * 24 * 3_600_000);
    expect(journal.stateOf('t-5')).toBe('finished');
    journal.forgetOld(2 + 7 * 24 * 3_600_000);
    expect(journal.stateOf('t-5')).toBeUndefined();
  });
});
