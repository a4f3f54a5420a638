import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../protocol/messages.js';
import type { InvocationInstance, RepeatMode } from './invocation.js';
import {
  applyStop,
  applyTaskEvent,
  armedByBoot,
  followExecution,
  type InstanceRun,
  newRun,
  onBoot,
  patchRun,
  progressOf,
  redeliverable,
  redelivery,
  reportCreatesRun,
  stepRun,
} from './invocation-state.js';
import { aggregateStatus, type InstanceStatus, instanceStatuses, isFinal } from './invocation-status.js';

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

describe('event × current state → next state (a delivered row of a Once task)', () => {
  const events: Record<string, TaskEvent> = {
    accepted: { kind: 'accepted' },
    started: { kind: 'started', atMs: 5 },
    output: { kind: 'output', offset: 0, data: '' },
    finished,
    terminated: { ...finished, status: 'Terminated', exitCode: null },
  };
  // '—': no patch at all (nothing changes); otherwise the status the row has after the event.
  const table: [InstanceStatus, string, string, string, string, string][] = [
    // current      accepted started     output finished   terminated
    ['Pending', '—', 'Running', '—', 'Success', 'Terminated'],
    ['Scheduled', '—', 'Scheduled', '—', 'Success', 'Terminated'],
    ['Running', '—', 'Running', '—', 'Success', 'Terminated'],
    ['Stopping', '—', 'Stopping', '—', 'Success', 'Terminated'],
    ...instanceStatuses
      .filter(isFinal)
      .map((status): [InstanceStatus, string, string, string, string, string] => [
        status,
        '—',
        '—',
        '—',
        '—',
        '—',
      ]),
  ];
  const names = ['accepted', 'started', 'output', 'finished', 'terminated'] as const;

  it('covers every status', () => {
    expect(table.map(([status]) => status).sort()).toEqual([...instanceStatuses].sort());
  });

  it.each(table)('%s', (status, ...expected) => {
    const current = row(status, true);
    const next = names.map((name) => {
      const patch = applyTaskEvent(current, events[name] ?? finished, 'Once');
      return patch ? (patch.status ?? current.status) : '—';
    });
    expect(next).toEqual(expected);
  });

  it('an undelivered row becomes delivered by its first event; row 0 of a Period task becomes Scheduled', () => {
    expect(applyTaskEvent(row('Pending', false), { kind: 'accepted' }, 'Once')).toEqual({ delivered: true });
    expect(applyTaskEvent(row('Pending', false), { kind: 'accepted' }, 'Period')?.status).toBe('Scheduled');
    expect(applyTaskEvent(row('Scheduled', true), { kind: 'accepted' }, 'Period')).toBeUndefined();
  });
});

/** A full row, as the store reads it. */
const stored = (fields: Partial<InvocationInstance> = {}): InvocationInstance => ({
  invokeId: 't-1',
  instanceId: 'mi-1',
  execution: 0,
  repeats: 0,
  scheduledAtMs: 0,
  status: 'Pending',
  errorCode: '',
  errorInfo: '',
  exitCode: null,
  outputBytes: 0,
  droppedBytes: 0,
  delivered: false,
  createdAtMs: 1,
  startTimeMs: 0,
  finishTimeMs: 0,
  stopTimeMs: 0,
  updateTimeMs: 1,
  ...fields,
});

describe('one change of a row, and row 0 following it', () => {
  const follow = (standing: InvocationInstance, run: ReturnType<typeof progressOf>, mode: RepeatMode) =>
    followExecution(standing, run, mode, 50);

  it('sets the patched fields, adds dropped bytes, and stamps the update time', () => {
    const run = stored({ status: 'Running', droppedBytes: 4, startTimeMs: 10 });
    expect(patchRun(run, { status: 'Success', droppedBytes: 3, exitCode: 0 }, 20)).toEqual({
      ...run,
      status: 'Success',
      exitCode: 0,
      droppedBytes: 7,
      updateTimeMs: 20,
    });
  });

  it.each([
    // before's start, after's start, after's status → progress
    [0, 0, 'Pending', { status: 'Pending', started: false, startedNow: false }],
    [0, 30, 'Running', { status: 'Running', started: true, startedNow: true }],
    [30, 30, 'Success', { status: 'Success', started: true, startedNow: false }],
    [0, 0, 'Error', { status: 'Error', started: false, startedNow: false }],
  ] as const)('progress: started at %d, then %d, %s', (before, after, status, expected) => {
    expect(progressOf(stored({ startTimeMs: before }), stored({ startTimeMs: after, status }))).toEqual(
      expected,
    );
  });

  it('a run of a schedule starting moves row 0 to Running and counts it; the aggregate must be refreshed', () => {
    const run = stored({ execution: 2, repeats: 2, delivered: true });
    const standing = stored({ status: 'Scheduled', repeats: 1, delivered: true });
    const step = stepRun(run, { status: 'Running', startTimeMs: 40 }, 41, 'Period', standing, follow);
    expect(step.updated).toMatchObject({ status: 'Running', startTimeMs: 40, updateTimeMs: 41 });
    expect(step.standingPatch).toEqual({ status: 'Running', repeats: 2 });
    expect(step.statusChanged).toBe(true);
  });

  it('a change without a status, and without row 0, leaves the aggregate alone', () => {
    const step = stepRun(stored({ delivered: true }), { scheduledAtMs: 9 }, 10, 'Once', undefined, follow);
    expect(step).toMatchObject({ standingPatch: undefined, statusChanged: false });
  });

  it('row 0 changing status alone still refreshes the aggregate', () => {
    const run = stored({ execution: 1, status: 'Running', startTimeMs: 5, delivered: true });
    const standing = stored({ status: 'Running', repeats: 1, delivered: true });
    const step = stepRun(run, { exitCode: 0, finishTimeMs: 6 }, 6, 'Period', standing, () => ({
      status: 'Scheduled',
    }));
    expect(step).toMatchObject({ standingPatch: { status: 'Scheduled' }, statusChanged: true });
  });
});

describe('rows created and armed', () => {
  it.each([
    [0, 'Pending', false, { status: 'Pending', delivered: false, repeats: 0, finishTimeMs: 0 }],
    [0, 'Scheduled', false, { status: 'Scheduled', delivered: false, repeats: 0, finishTimeMs: 0 }],
    [0, 'Invalid', false, { status: 'Invalid', delivered: false, repeats: 0, finishTimeMs: 7 }],
    [3, 'Pending', true, { status: 'Pending', delivered: true, repeats: 3, finishTimeMs: 0 }],
  ] as const)('run %d starts %s (delivered: %s)', (execution, status, delivered, expected) => {
    expect(newRun(execution, status, delivered, 7)).toEqual(expected);
  });

  it.each([
    ['Period', 1, true],
    ['Period', 0, false],
    ['EveryReboot', 1, false],
    ['Once', 1, false],
    ['NextRebootOnly', 1, false],
  ] as const)('a report of %s run %d creates its row: %s', (mode, execution, expected) => {
    expect(reportCreatesRun(mode, execution)).toBe(expected);
  });

  const bootTable: [RepeatMode, InstanceStatus, string][] = [
    ['NextRebootOnly', 'Scheduled', 'deliver'],
    ['NextRebootOnly', 'Pending', '—'],
    ['NextRebootOnly', 'Success', '—'],
    ['EveryReboot', 'Scheduled', 'new-run'],
    ['EveryReboot', 'Running', 'new-run'],
    ['EveryReboot', 'Stopping', '—'],
    ['EveryReboot', 'Cancelled', '—'],
    ['Period', 'Scheduled', '—'],
    ['Once', 'Pending', '—'],
  ];
  it.each(bootTable)('a boot arms %s row 0 in %s: %s', (mode, status, expected) => {
    expect(onBoot(mode, status)?.kind ?? '—').toBe(expected);
  });

  it('the rows a boot arms are exactly the ones the store selects for it', () => {
    for (const mode of ['NextRebootOnly', 'EveryReboot'] as const) {
      const armed: readonly InstanceStatus[] = armedByBoot[mode];
      for (const status of instanceStatuses) {
        expect(onBoot(mode, status) !== undefined).toBe(armed.includes(status));
      }
    }
  });

  it('a delivered reboot task makes its invocation Pending, as the aggregate’s precedence says', () => {
    const step = onBoot('NextRebootOnly', 'Scheduled');
    expect(step).toEqual({ kind: 'deliver', patch: { status: 'Pending' }, invocationStatus: 'Pending' });
    for (const other of instanceStatuses) expect(aggregateStatus(['Pending', other])).toBe('Pending');
  });

  it('a schedule the agent lost is delivered again, from the states in which the agent held it', () => {
    expect(redelivery).toEqual({ status: 'Pending', delivered: false });
    expect([...redeliverable]).toEqual(['Scheduled', 'Running']);
  });
});
