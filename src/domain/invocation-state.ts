import type { FinishedStatus, TaskEvent } from '../protocol/messages.js';
import { type InstanceStatus, isFinal } from './invocation-status.js';

/** The part of a per-instance result that task events change. */
export interface InstanceRun {
  readonly status: InstanceStatus;
  readonly delivered: boolean;
}

export interface RunPatch {
  status?: InstanceStatus;
  delivered?: boolean;
  startTimeMs?: number;
  finishTimeMs?: number;
  stopTimeMs?: number;
  exitCode?: number | null;
  errorCode?: string;
  errorInfo?: string;
  droppedBytes?: number;
}

const finishedStatus: Record<FinishedStatus, InstanceStatus> = {
  Success: 'Success',
  Failed: 'Failed',
  Timeout: 'Timeout',
  Terminated: 'Terminated',
  Error: 'Error',
};

/**
 * How an agent's event moves one instance's run. Final states never move again (a late or repeated
 * event is ignored), so applying an event twice is harmless. Returns undefined when nothing changes.
 */
export function applyTaskEvent(run: InstanceRun, event: TaskEvent): RunPatch | undefined {
  if (isFinal(run.status)) return undefined;
  switch (event.kind) {
    case 'accepted':
      return run.delivered ? undefined : { delivered: true };
    case 'started':
      return run.status === 'Pending'
        ? { delivered: true, status: 'Running', startTimeMs: event.atMs }
        : { delivered: true, startTimeMs: event.atMs };
    case 'output':
      return undefined;
    case 'finished': {
      const status = finishedStatus[event.status];
      return {
        delivered: true,
        status,
        finishTimeMs: event.atMs,
        ...(status === 'Terminated' && { stopTimeMs: event.atMs }),
        exitCode: event.exitCode,
        errorCode: event.errorCode,
        errorInfo: event.errorInfo,
        droppedBytes: event.droppedBytes,
      };
    }
  }
}

/** StopInvocation on one instance: a run not yet delivered is cancelled, a live one is stopping. */
export function applyStop(run: InstanceRun, nowMs: number): RunPatch | undefined {
  if (isFinal(run.status) || run.status === 'Stopping') return undefined;
  if (run.status === 'Pending' && !run.delivered) {
    return { status: 'Cancelled', stopTimeMs: nowMs, finishTimeMs: nowMs };
  }
  return { status: 'Stopping', stopTimeMs: nowMs };
}
