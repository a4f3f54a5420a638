import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/deadline.js';
import type { TaskSpec } from '../protocol/messages.js';
import { Executor } from './executor.js';
import { Journal, type JournalEvent } from './journal.js';
import { Scheduler } from './scheduler.js';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

const scheduled = (frequency: string, startMs: number): TaskSpec => ({
  invokeId: 't-sched',
  commandType: 'RunShellScript',
  script: 'echo hi',
  username: '',
  workingDir: '',
  timeoutSeconds: 5,
  terminationMode: 'ProcessTree',
  schedule: { frequency, startMs },
});

describe('the agent scheduler', () => {
  let dir: string;
  let journal: Journal;
  let executor: Executor;
  let scheduler: Scheduler;
  let emitted: JournalEvent[];
  let nowMs: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-scheduler-'));
    journal = new Journal(dir);
    emitted = [];
    nowMs = Date.parse('2026-06-01T12:00:00Z');
    const emit = (event: JournalEvent) => emitted.push(event);
    executor = new Executor({ journal, emit, workDir: dir, nowMs: () => nowMs });
    scheduler = new Scheduler({ journal, executor, emit, nowMs: () => nowMs, timeZone: 'UTC' });
  });

  afterEach(async () => {
    scheduler.stop();
    await executor.stopAll();
    journal.close();
    await rm(dir, { recursive: true, force: true });
  });

  const kinds = () => emitted.map((e) => `${e.execution}:${e.event.kind}`);

  it('records the fire times it was down for as one missed run, then keeps the schedule', () => {
    // Held since an hour ago, as if the agent had been down all that time.
    scheduler.add(scheduled('0/10 * * * * ?', nowMs - 3_600_000));
    expect(kinds()).toEqual(['0:accepted', '1:accepted', '1:finished']);
    const missed = emitted[2]?.event;
    expect(missed).toMatchObject({ status: 'Error', errorCode: 'ExecutionMissed' });
    // 11:00:10 to 11:59:40; 11:59:50 is within the late-run grace, so it runs (late) instead.
    expect(missed?.kind === 'finished' && missed.errorInfo).toBe(
      'the agent was not running at 358 scheduled time(s), from 2026-06-01T11:00:10Z to 2026-06-01T11:59:40Z',
    );
    expect(emitted[1]?.event).toEqual({
      kind: 'accepted',
      scheduledAtMs: Date.parse('2026-06-01T11:00:10Z'),
    });
    expect(scheduler.held()).toEqual(['t-sched']);
    expect(journal.heldSchedules()[0]).toMatchObject({ nextExecution: 2, checkedUntilMs: nowMs - 20_000 });
  });

  it('counts a rate from the invocation’s creation, start to start', () => {
    // Created 150 s ago: runs were due 90 s and 30 s ago (missed), the next one in 30 s.
    const startMs = nowMs - 150_000;
    scheduler.add(scheduled('rate(1m)', startMs));
    expect(emitted[2]?.event).toMatchObject({
      kind: 'finished',
      errorCode: 'ExecutionMissed',
      errorInfo: `the agent was not running at 2 scheduled time(s), from ${iso(startMs + 60_000)} to ${iso(startMs + 120_000)}`,
    });
    expect(journal.heldSchedules()[0]?.checkedUntilMs).toBe(startMs + 120_000);
  });

  it('ends a schedule whose last year has passed, with the status of its last run', () => {
    nowMs = Date.parse('2026-01-02T00:00:00Z');
    scheduler.add(scheduled('0 0 0 * * ? 2025 UTC', Date.parse('2025-12-30T12:00:00Z')));
    expect(kinds()).toEqual(['0:accepted', '1:accepted', '1:finished', '0:finished']);
    expect(emitted[3]?.event).toMatchObject({ kind: 'finished', status: 'Error' });
    expect(scheduler.held()).toEqual([]);
    expect(journal.heldSchedules()).toEqual([]);
  });

  it('holds a schedule once however often it is delivered, and resumes it after a restart', () => {
    const task = scheduled('rate(1h)', nowMs);
    scheduler.add(task);
    scheduler.add(task);
    expect(kinds()).toEqual(['0:accepted']);
    scheduler.stop();
    const again = new Scheduler({
      journal,
      executor,
      emit: (e) => emitted.push(e),
      nowMs: () => nowMs,
      timeZone: 'UTC',
    });
    expect(again.resume()).toBe(1);
    expect(again.held()).toEqual(['t-sched']);
    again.cancel('t-sched');
    expect(emitted.at(-1)).toMatchObject({ execution: 0, event: { kind: 'finished', status: 'Terminated' } });
    expect(again.held()).toEqual([]);
  });

  it('ends a schedule it cannot read with BadCronExpression', () => {
    scheduler.add(scheduled('not a schedule', nowMs));
    expect(emitted.at(-1)?.event).toMatchObject({
      kind: 'finished',
      status: 'Error',
      errorCode: 'BadCronExpression',
    });
    expect(scheduler.held()).toEqual([]);
  });

  it('does not hold a schedule its journal cannot take (disk full), and holds it when delivered again', () => {
    const hold = journal.holdSchedule.bind(journal);
    journal.holdSchedule = () => {
      throw new Error('database or disk is full');
    };
    const task = scheduled('0 0 13 * * ?', nowMs);
    expect(() => scheduler.add(task)).not.toThrow();
    expect({ held: scheduler.held(), emitted: kinds() }).toEqual({ held: [], emitted: [] });
    journal.holdSchedule = hold;
    scheduler.add(task);
    expect({ held: scheduler.held(), emitted: kinds() }).toEqual({
      held: ['t-sched'],
      emitted: ['0:accepted'],
    });
  });
});

describe('the agent scheduler on the real clock', () => {
  it('starts the runs of schedules due at one instant on time, then ends those with none left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openassist-scheduler-'));
    const journal = new Journal(dir);
    const starts: { invokeId: string; atMs: number }[] = [];
    const emitted: JournalEvent[] = [];
    const scheduler = new Scheduler({
      journal,
      // Runs end at once; what matters is when each started against its fire time.
      executor: {
        busy: () => false,
        enqueue: (job) => {
          starts.push({ invokeId: job.invokeId, atMs: Date.now() });
          return Promise.resolve('Success');
        },
      },
      emit: (event) => emitted.push(event),
      nowMs: Date.now,
      timeZone: 'UTC',
    });
    try {
      // at() counts whole seconds: the first one at least 200 ms away.
      const fireMs = Math.ceil((Date.now() + 200) / 1000) * 1000;
      const at = `at(${iso(fireMs).replace('T', ' ').replace('Z', ' UTC')})`;
      for (const invokeId of ['t-a', 't-b']) scheduler.add({ ...scheduled(at, Date.now()), invokeId });
      await waitFor('both schedules to end', () => (scheduler.held().length === 0 ? true : undefined), 5_000);
      expect(starts.map((start) => start.invokeId)).toEqual(['t-a', 't-b']);
      expect(starts.every((start) => start.atMs >= fireMs)).toBe(true);
      const kinds = emitted.map((e) => `${e.invokeId}#${e.execution}:${e.event.kind}`);
      expect(kinds).toEqual([
        't-a#0:accepted',
        't-b#0:accepted',
        't-a#1:accepted',
        't-b#1:accepted',
        't-a#0:finished',
        't-b#0:finished',
      ]);
      expect(emitted[2]?.event).toEqual({ kind: 'accepted', scheduledAtMs: fireMs });
      expect(emitted[5]?.event).toMatchObject({ kind: 'finished', status: 'Success' });
    } finally {
      scheduler.stop();
      journal.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
