import { describe, expect, it } from 'vitest';
import { applyStop, applyTaskEvent } from './invocation-state.js';

const finished = {
  kind: 'finished',
  atMs: 9,
  status: 'Success',
  exitCode: 0,
  errorCode: '',
  errorInfo: '',
  droppedBytes: 0,
} as const;

describe('per-instance run state machine', () => {
  it('moves Pending → delivered → Running → final', () => {
    expect(applyTaskEvent({ status: 'Pending', delivered: false }, { kind: 'accepted' })).toEqual({
      delivered: true,
    });
    expect(applyTaskEvent({ status: 'Pending', delivered: true }, { kind: 'accepted' })).toBeUndefined();
    expect(applyTaskEvent({ status: 'Pending', delivered: true }, { kind: 'started', atMs: 5 })).toEqual({
      delivered: true,
      status: 'Running',
      startTimeMs: 5,
    });
    expect(applyTaskEvent({ status: 'Running', delivered: true }, finished)).toMatchObject({
      status: 'Success',
      finishTimeMs: 9,
      exitCode: 0,
    });
  });

  it('never moves a final run, so repeated and late events are harmless', () => {
    for (const status of ['Success', 'Failed', 'Cancelled', 'Aborted', 'Terminated'] as const) {
      expect(applyTaskEvent({ status, delivered: true }, finished)).toBeUndefined();
      expect(applyTaskEvent({ status, delivered: false }, { kind: 'started', atMs: 1 })).toBeUndefined();
    }
  });

  it('ends a stopping run with what the agent reports', () => {
    expect(
      applyTaskEvent(
        { status: 'Stopping', delivered: true },
        { ...finished, status: 'Terminated', exitCode: null },
      ),
    ).toMatchObject({ status: 'Terminated', stopTimeMs: 9 });
    expect(applyTaskEvent({ status: 'Stopping', delivered: true }, finished)).toMatchObject({
      status: 'Success',
    });
  });

  it('cancels an undelivered run and stops a delivered one', () => {
    expect(applyStop({ status: 'Pending', delivered: false }, 3)).toEqual({
      status: 'Cancelled',
      stopTimeMs: 3,
      finishTimeMs: 3,
    });
    expect(applyStop({ status: 'Pending', delivered: true }, 3)).toEqual({
      status: 'Stopping',
      stopTimeMs: 3,
    });
    expect(applyStop({ status: 'Running', delivered: true }, 3)).toEqual({
      status: 'Stopping',
      stopTimeMs: 3,
    });
    expect(applyStop({ status: 'Success', delivered: true }, 3)).toBeUndefined();
    expect(applyStop({ status: 'Stopping', delivered: true }, 3)).toBeUndefined();
  });
});
