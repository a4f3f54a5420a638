import { appendFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/deadline.js';
import type { TaskSpec } from '../protocol/messages.js';
import { Journal, type JournalOptions, journalPath } from './journal.js';
import { encodeRecord } from './journal-format.js';

const task = (invokeId: string, script = 'echo hi', password?: string): TaskSpec => ({
  invokeId,
  commandType: 'RunShellScript',
  script,
  username: '',
  workingDir: '',
  timeoutSeconds: 60,
  terminationMode: 'ProcessTree',
  ...(password !== undefined && { password }),
});
const run = (invokeId: string, execution = 0) => ({ invokeId, execution });
const finished = (atMs: number) =>
  ({
    kind: 'finished',
    atMs,
    status: 'Success',
    exitCode: 0,
    errorCode: '',
    errorInfo: '',
    droppedBytes: 0,
  }) as const;

describe('the agent journal across crashes', () => {
  let dir: string;
  const open: Journal[] = [];
  const journal = (options?: JournalOptions) => {
    const opened = new Journal(dir, options);
    open.push(opened);
    return opened;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-journal-recovery-'));
  });

  afterEach(async () => {
    for (const opened of open.splice(0)) {
      try {
        opened.close();
      } catch {
        // closed by the test
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('opens past a record torn by a crash mid-append, cuts it off, and appends after it', () => {
    const first = journal();
    first.accept(task('t-1'), run('t-1'), 1);
    first.close();
    const whole = statSync(journalPath(dir)).size;
    // Half of the next record made it to the file before the crash.
    const torn = encodeRecord(Buffer.from('[{"o":"run","i":"t-2","x":0,"s":"accepted","at":2}]'));
    appendFileSync(journalPath(dir), torn.subarray(0, torn.length - 9));
    const second = journal();
    expect(statSync(journalPath(dir)).size).toBe(whole);
    expect(second.stateOf(run('t-1'))).toBe('accepted');
    expect(second.stateOf(run('t-2'))).toBeUndefined();
    second.accept(task('t-3'), run('t-3'), 3);
    second.close();
    const third = journal();
    expect(third.unfinished().map((r) => r.task.invokeId)).toEqual(['t-1', 't-3']);
  });

  it('keeps the old journal whole when a compaction is cut off before its rename', () => {
    const crashing = journal({
      onCompactionStep: (step) => {
        if (step === 'written') throw new Error('crash');
      },
    });
    crashing.accept(task('t-1'), run('t-1'), 1);
    for (const event of crashing.unacknowledged()) crashing.acknowledge([event.eventId]);
    expect(() => crashing.compact()).toThrow('crash');
    expect(existsSync(`${journalPath(dir)}.compacting`)).toBe(true);
    // What the crash left: the file as it was, and a temporary file beside it.
    const reopened = journal();
    expect(existsSync(`${journalPath(dir)}.compacting`)).toBe(false);
    expect(reopened.stateOf(run('t-1'))).toBe('accepted');
    expect(reopened.unacknowledged()).toEqual([]);
    expect(reopened.accept(task('t-1'), run('t-1'), 2)).toBeUndefined();
  });

  it('opens the compacted journal when a crash came after the rename, before the directory sync', () => {
    const crashing = journal({
      onCompactionStep: (step) => {
        if (step === 'renamed') throw new Error('crash');
      },
    });
    crashing.holdSchedule({ ...task('t-s'), schedule: { frequency: 'rate(1m)', startMs: 0 } }, 10, 10);
    crashing.accept(task('t-s'), run('t-s', 1), 70, 60);
    crashing.record(
      run('t-s', 1),
      { kind: 'output', offset: 0, data: Buffer.from('out').toString('base64') },
      71,
    );
    crashing.acknowledge(['1']);
    const before = readFileSync(journalPath(dir)).length;
    expect(() => crashing.compact()).toThrow('crash');
    expect(readFileSync(journalPath(dir)).length).toBeLessThan(before);
    const reopened = journal();
    expect(reopened.heldSchedules()).toMatchObject([{ nextExecution: 2, checkedUntilMs: 60 }]);
    expect(reopened.unacknowledged().map((e) => [e.eventId, e.event.kind])).toEqual([
      ['2', 'accepted'],
      ['3', 'output'],
    ]);
    // Ids go on from where they were, whatever the compaction left out.
    expect(reopened.record(run('t-s', 1), finished(80), 80).eventId).toBe('4');
  });

  it('compacts once the file has doubled past what is live, keeping ids, state and output', async () => {
    const compacting = journal({ minCompactBytes: 64 * 1024 });
    compacting.accept(task('t-1'), run('t-1'), 1);
    const chunk = Buffer.alloc(16 * 1024, 'a').toString('base64');
    for (let n = 0; n < 40; n++) {
      const event = compacting.record(run('t-1'), { kind: 'output', offset: n * 16_384, data: chunk }, 2);
      if (n < 39) compacting.acknowledge([event.eventId]);
    }
    await waitFor('the compaction', () => (statSync(journalPath(dir)).size < 64 * 1024 ? true : undefined));
    expect(compacting.unacknowledged().map((e) => [e.eventId, e.event.kind])).toEqual([
      ['1', 'accepted'],
      ['41', 'output'],
    ]);
    compacting.close();
    const reopened = journal();
    expect(reopened.unacknowledged().at(-1)?.event).toEqual({
      kind: 'output',
      offset: 39 * 16_384,
      data: chunk,
    });
    expect(reopened.stateOf(run('t-1'))).toBe('accepted');
  });

  it('rewrites the file without a finished run’s script and password soon after it ends', async () => {
    const secret = 'oos-secret-value-4242';
    const scrubbing = journal({ scrubDelayMs: 10 });
    scrubbing.accept(task('t-win', `net use x: /user:admin ${secret}`, 'Windows-Pa55word'), run('t-win'), 1);
    scrubbing.accept(task('t-other', `echo ${secret}-still-running`), run('t-other'), 1);
    const raw = () => readFileSync(journalPath(dir), 'latin1');
    expect(raw()).toContain(secret);
    scrubbing.record(run('t-win'), finished(2), 2);
    await waitFor('the finished run’s spec to leave the file', () =>
      raw().includes('Windows-Pa55word') || raw().includes(`/user:admin ${secret}`) ? undefined : true,
    );
    // The run still running keeps its spec; the finished one is still refused a second time.
    expect(raw()).toContain(`${secret}-still-running`);
    expect(scrubbing.accept(task('t-win'), run('t-win'), 3)).toBeUndefined();
    scrubbing.record(run('t-other'), finished(4), 4);
    scrubbing.close(); // closing scrubs at once
    expect(raw()).not.toContain(secret);
    const reopened = journal();
    expect(reopened.stateOf(run('t-other'))).toBe('finished');
    expect(reopened.unfinished()).toEqual([]);
  });

  it('does not rewrite the file for a finished run of a schedule it still holds (same spec)', () => {
    const held = journal({ scrubDelayMs: 3_600_000 });
    const scheduled = {
      ...task('t-s', 'echo sched-secret'),
      schedule: { frequency: 'rate(1m)', startMs: 0 },
    };
    held.holdSchedule(scheduled, 0, 0);
    held.accept(scheduled, run('t-s', 1), 1);
    held.record(run('t-s', 1), finished(2), 2);
    const before = statSync(journalPath(dir)).ino;
    held.close(); // closing compacts when a spec is left to scrub: here there is none of its own
    expect(statSync(journalPath(dir)).ino).toBe(before);
    // Once the schedule ends, its spec (and its runs') leaves the file.
    const reopened = journal({ scrubDelayMs: 3_600_000 });
    reopened.endSchedule('t-s', finished(3), 3);
    reopened.close();
    expect(statSync(journalPath(dir)).ino).not.toBe(before);
    expect(readFileSync(journalPath(dir), 'latin1')).not.toContain('sched-secret');
  });

  it('scrubs at open what a crash left unscrubbed, and an ended schedule’s spec too', () => {
    const first = journal({ scrubDelayMs: 3_600_000 });
    first.holdSchedule(
      { ...task('t-s', 'echo sched-secret'), schedule: { frequency: 'rate(1m)', startMs: 0 } },
      0,
      0,
    );
    first.accept(task('t-1', 'echo run-secret'), run('t-1'), 1);
    first.record(run('t-1'), finished(2), 2);
    first.endSchedule('t-s', finished(3), 3);
    // The process dies here: no close, no compaction.
    const raw = () => readFileSync(journalPath(dir), 'latin1');
    expect(raw()).toContain('run-secret');
    const second = journal();
    expect(raw()).not.toContain('run-secret');
    expect(raw()).not.toContain('sched-secret');
    expect(second.heldSchedules()).toEqual([]);
    expect(second.unacknowledged()).toHaveLength(4);
  });

  it('starts an empty journal in an empty file, and refuses a file of garbage', () => {
    writeFileSync(journalPath(dir), '');
    const empty = journal();
    expect(empty.unfinished()).toEqual([]);
    empty.close();
    writeFileSync(journalPath(dir), 'not a journal at all');
    expect(() => new Journal(dir)).toThrow(/not an agent journal/);
    truncateSync(journalPath(dir), 3);
    expect(() => new Journal(dir)).toThrow(/not an agent journal/);
  });
});
