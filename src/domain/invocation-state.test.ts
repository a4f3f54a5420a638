import { describe, expect, it } from 'vitest';
import { applyStop, applyTaskEvent, followExecution, type InstanceRun } from './invocation-state.js';
import type { InstanceStatus } from './invocation-status.js';

const finished = {
  kind: 'finished',
  atMs: 9,
  status: 'Success',
  exitCode: 0,
  errorCode: '',
  errorInfo: '',
  droppedBytes: 0,
} as const;

/** Row 0 (or run `execution`) in a given state. */
const row = (status: InstanceStatus, delivered: boolean, execution = 0, repeats = 0): InstanceRun => ({
  status,
  delivered,
  execution,
  repeats,
  outputBytes: 0,
  droppedBytes: 0,
});

describe('a run’s output accounting when it finishes', () => {
  const sent = (outputBytes?: number, droppedBytes = 0) => ({
    ...finished,
    droppedBytes,
    ...(outputBytes !== undefined && { outputBytes }),
  });
  const running = (outputBytes: number, droppedBytes: number): InstanceRun => ({
    ...row('Running', true),
    outputBytes,
    droppedBytes,
  });

  it('counts output the agent sent that never arrived (its last chunks lost) as dropped', () => {
    expect(applyTaskEvent(running(100, 20), sent(150, 7), 'Once')).toMatchObject({ droppedBytes: 37 });
  });

  it('adds only the agent’s own dropped bytes when everything it sent arrived, or it does not say', () => {
    expect(applyTaskEvent(running(100, 20), sent(120, 7), 'Once')).toMatchObject({ droppedBytes: 7 });
    expect(applyTaskEvent(running(100, 20), sent(undefined, 7), 'Once')).toMatchObject({ droppedBytes: 7 });
  });
});

describe('per-instance run state machine', () => {
  it('moves Pending → delivered → Running → final, counting the run', () => {
    expect(applyTaskEvent(row('Pending', false), { kind: 'accepted' }, 'Once')).toEqual({ delivered: true });
    expect(applyTaskEvent(row('Pending', true), { kind: 'accepted' }, 'Once')).toBeUndefined();
    expect(applyTaskEvent(row('Pending', true), { kind: 'started', atMs: 5 }, 'Once')).toEqual({
      delivered: true,
      status: 'Running',
      startTimeMs: 5,
      repeats: 1,
    });
    expect(applyTaskEvent(row('Running', true), finished, 'Once')).toMatchObject({
      status: 'Success',
      finishTimeMs: 9,
      exitCode: 0,
    });
  });

  it('never moves a final run, so repeated and late events are harmless', () => {
    for (const status of ['Success', 'Failed', 'Cancelled', 'Aborted', 'Terminated'] as const) {
      expect(applyTaskEvent(row(status, true), finished, 'Once')).toBeUndefined();
      expect(applyTaskEvent(row(status, false), { kind: 'started', atMs: 1 }, 'Period')).toBeUndefined();
    }
  });

  it('ends a stopping run with what the agent reports', () => {
    const terminated = { ...finished, status: 'Terminated', exitCode: null } as const;
    expect(applyTaskEvent(row('Stopping', true), terminated, 'Once')).toMatchObject({
      status: 'Terminated',
      stopTimeMs: 9,
    });
    expect(applyTaskEvent(row('Stopping', true), finished, 'Once')).toMatchObject({ status: 'Success' });
  });

  it('cancels an undelivered run and stops a delivered one', () => {
    expect(applyStop(row('Pending', false), 3)).toEqual({
      status: 'Cancelled',
      stopTimeMs: 3,
      finishTimeMs: 3,
    });
    expect(applyStop(row('Pending', true), 3)).toEqual({ status: 'Stopping', stopTimeMs: 3 });
    expect(applyStop(row('Running', true), 3)).toEqual({ status: 'Stopping', stopTimeMs: 3 });
    expect(applyStop(row('Success', true), 3)).toBeUndefined();
    expect(applyStop(row('Stopping', true), 3)).toBeUndefined();
  });
});

describe('schedules and reboot tasks', () => {
  it('a Period task’s row 0 is Scheduled once the agent holds the schedule, and ends when it reports the end', () => {
    expect(applyTaskEvent(row('Pending', false), { kind: 'accepted' }, 'Period')).toEqual({
      delivered: true,
      status: 'Scheduled',
    });
    expect(applyTaskEvent(row('Scheduled', true), { kind: 'accepted' }, 'Period')).toBeUndefined();
    expect(applyTaskEvent(row('Scheduled', true), finished, 'Period')).toMatchObject({ status: 'Success' });
  });

  it('a run remembers when it was due and does not count itself twice', () => {
    expect(
      applyTaskEvent(row('Pending', true, 3, 3), { kind: 'accepted', scheduledAtMs: 70 }, 'Period'),
    ).toEqual({ delivered: true, scheduledAtMs: 70 });
    expect(applyTaskEvent(row('Pending', true, 3, 3), { kind: 'started', atMs: 71 }, 'Period')).toEqual({
      delivered: true,
      status: 'Running',
      startTimeMs: 71,
    });
  });

  it('row 0 is Running while a run runs and Scheduled between runs, counting started runs', () => {
    expect(
      followExecution(
        row('Scheduled', true, 0, 4),
        { status: 'Running', started: true, startedNow: true },
        'Period',
        1,
      ),
    ).toEqual({ status: 'Running', repeats: 5 });
    expect(
      followExecution(
        row('Running', true, 0, 5),
        { status: 'Failed', started: true, startedNow: false },
        'Period',
        1,
      ),
    ).toEqual({ status: 'Scheduled' });
    // A skipped or missed run is recorded without counting as a run or waking row 0.
    expect(
      followExecution(
        row('Scheduled', true),
        { status: 'Error', started: false, startedNow: false },
        'Period',
        1,
      ),
    ).toBeUndefined();
    expect(
      followExecution(
        row('Stopping', true),
        { status: 'Running', started: true, startedNow: true },
        'Period',
        1,
      ),
    ).toEqual({
      repeats: 1,
    });
    expect(
      followExecution(
        row('Cancelled', false),
        { status: 'Running', started: true, startedNow: true },
        'Period',
        1,
      ),
    ).toBeUndefined();
  });

  it('a stopping EveryReboot task ends with its run; a stopping Period task waits for its schedule’s end', () => {
    expect(
      followExecution(
        row('Stopping', false),
        { status: 'Terminated', started: true, startedNow: false },
        'EveryReboot',
        8,
      ),
    ).toEqual({ status: 'Terminated', finishTimeMs: 8 });
    expect(
      followExecution(
        row('Stopping', true),
        { status: 'Terminated', started: true, startedNow: false },
        'Period',
        8,
      ),
    ).toBeUndefined();
  });

  it('stopping cancels what waits for a boot and stops a schedule the agent holds', () => {
    expect(applyStop(row('Scheduled', false), 4)).toMatchObject({ status: 'Cancelled' });
    expect(applyStop(row('Scheduled', true), 4)).toEqual({ status: 'Stopping', stopTimeMs: 4 });
  });
});
