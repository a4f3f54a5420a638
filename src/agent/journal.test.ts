import { statSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskSpec as task } from '../../test/helpers/task-spec.js';
import { Journal, journalPath } from './journal.js';

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

  const run = (invokeId: string, execution = 0) => ({ invokeId, execution });
  const finished = (status: 'Success' | 'Failed' | 'Error', atMs: number, errorCode = '') =>
    ({ kind: 'finished', atMs, status, exitCode: null, errorCode, errorInfo: '', droppedBytes: 0 }) as const;

  it('accepts a run once, however often it is delivered; runs of one task are apart', () => {
    expect(journal.accept(task('t-1'), run('t-1'), 1)?.event).toEqual({ kind: 'accepted' });
    expect(journal.accept(task('t-1'), run('t-1'), 2)).toBeUndefined();
    expect(journal.stateOf(run('t-1'))).toBe('accepted');
    expect(journal.accept(task('t-1'), run('t-1', 2), 3)).toMatchObject({ execution: 2 });
    expect(journal.stateOf(run('t-1', 1))).toBeUndefined();
  });

  it('holds the runs not finished or not fully acknowledged, up to a limit', () => {
    journal.accept(task('t-a'), run('t-a'), 1);
    journal.accept(task('t-b'), run('t-b', 3), 1);
    journal.record(run('t-b', 3), finished('Success', 2), 2);
    journal.accept(task('t-c'), run('t-c'), 1);
    journal.record(run('t-c'), finished('Success', 2), 2);
    const held = () =>
      journal
        .heldRuns(10)
        .map((r) => `${r.invokeId}#${r.execution}`)
        .sort();
    // Every run still has events the server has not acknowledged.
    expect(held()).toEqual(['t-a#0', 't-b#3', 't-c#0']);
    // One acknowledgement of every event, as the server batches them: one record in the file.
    const size = statSync(journalPath(dir)).size;
    journal.acknowledge([...journal.unacknowledged().map((event) => event.eventId), 'x', '999']);
    expect(journal.unacknowledged()).toEqual([]);
    const grown = statSync(journalPath(dir)).size - size;
    expect(grown).toBeGreaterThan(0);
    expect(grown).toBeLessThan(100);
    // t-a still runs; the others are finished and the server has their end.
    expect(held()).toEqual(['t-a#0']);
    journal.accept(task('t-d'), run('t-d'), 1);
    expect(journal.heldRuns(1)).toHaveLength(1);
  });

  it("reports its health: the file's size and the events the server has not acknowledged", () => {
    const empty = journal.health();
    expect(empty).toEqual({ journalBytes: statSync(journalPath(dir)).size, pendingEvents: 0 });
    journal.accept(task('t-h'), run('t-h'), 1);
    journal.record(run('t-h'), finished('Success', 2), 2);
    const busy = journal.health();
    expect(busy.pendingEvents).toBe(2);
    expect(busy.journalBytes).toBe(statSync(journalPath(dir)).size);
    expect(busy.journalBytes).toBeGreaterThan(empty.journalBytes);
    journal.acknowledge(journal.unacknowledged().map((event) => event.eventId));
    expect(journal.health().pendingEvents).toBe(0);
  });

  it('accepts a run at once and says when it is on the disk; a repeat is refused', async () => {
    const accepting = journal.acceptThen(task('t-0'), run('t-0'), 1);
    expect(accepting?.accepted.event).toEqual({ kind: 'accepted' });
    expect(journal.acceptThen(task('t-0'), run('t-0'), 2)).toBeUndefined();
    await accepting?.durable;
    journal.close();
    journal = new Journal(dir);
    expect(journal.stateOf(run('t-0'))).toBe('accepted');
    expect(journal.unacknowledged().map((e) => e.event.kind)).toEqual(['accepted']);
  });

  it('says a run is on the disk even when a synchronous accept synced it first', async () => {
    const first = journal.acceptThen(task('t-s1'), run('t-s1'), 1);
    const second = journal.acceptThen(task('t-s2'), run('t-s2'), 1);
    journal.accept(task('t-s3'), run('t-s3'), 1);
    await Promise.all([first?.durable, second?.durable]);
  });

  it('keeps events until acknowledged, in order, across a reopen', () => {
    journal.accept(task('t-2'), run('t-2'), 1);
    journal.record(run('t-2'), { kind: 'started', atMs: 2 }, 2);
    const last = journal.record(run('t-2'), finished('Success', 3), 3);
    expect(journal.stateOf(run('t-2'))).toBe('finished');
    const [accepted] = journal.unacknowledged();
    journal.acknowledge([accepted?.eventId ?? '']);
    journal.close();
    journal = new Journal(dir);
    expect(journal.unacknowledged().map((e) => e.event.kind)).toEqual(['started', 'finished']);
    expect(journal.unacknowledged().at(-1)?.eventId).toBe(last.eventId);
  });

  it('lists unfinished runs with their process group, and is readable by its owner only', async () => {
    journal.accept(task('t-3'), run('t-3', 4), 1);
    journal.setProcess(run('t-3', 4), 4242, 'boot-a');
    journal.accept(task('t-4'), run('t-4'), 1);
    journal.record(run('t-4'), finished('Failed', 3), 3);
    expect(journal.unfinished()).toEqual([
      { task: task('t-3'), execution: 4, state: 'accepted', pid: 4242, bootId: 'boot-a' },
    ]);
    expect((await stat(join(dir, 'journal.log'))).mode & 0o777).toBe(0o600);
  });

  it('forgets finished tasks after a week, not before', () => {
    journal.accept(task('t-5'), run('t-5'), 1);
    journal.record(run('t-5'), finished('Success', 1), 1);
    journal.forgetOld(1 + 6 * 24 * 3_600_000);
    expect(journal.stateOf(run('t-5'))).toBe('finished');
    journal.forgetOld(2 + 7 * 24 * 3_600_000);
    expect(journal.stateOf(run('t-5'))).toBeUndefined();
  });

  it('holds a schedule once, moves it on with each run or record, and ends it', () => {
    const scheduled = { ...task('t-6'), schedule: { frequency: 'rate(1m)', startMs: 100 } };
    expect(journal.holdSchedule(scheduled, 100, 100)?.event).toEqual({ kind: 'accepted' });
    expect(journal.holdSchedule(scheduled, 100, 200)).toBeUndefined();
    expect(journal.accept(scheduled, run('t-6', 1), 160_200, 160_100)?.event).toEqual({
      kind: 'accepted',
      scheduledAtMs: 160_100,
    });
    const skipped = journal.recordNotRun(
      run('t-6', 2),
      220_100,
      220_100,
      finished('Error', 220_101, 'ExecutionSkipped'),
      1,
    );
    expect(skipped.map((e) => [e.execution, e.event.kind])).toEqual([
      [2, 'accepted'],
      [2, 'finished'],
    ]);
    journal.close();
    journal = new Journal(dir);
    expect(journal.heldSchedules()).toEqual([{ task: scheduled, nextExecution: 3, checkedUntilMs: 220_100 }]);
    expect(journal.endSchedule('t-6', finished('Success', 5), 5)).toMatchObject({ execution: 0 });
    expect(journal.heldSchedules()).toEqual([]);
  });
});
