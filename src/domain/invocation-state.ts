import type { FinishedStatus, TaskEvent } from '../protocol/messages.js';
import { hasExecutions, type RepeatMode } from './invocation.js';
import { type InstanceStatus, isFinal } from './invocation-status.js';

/** The part of a result row that task events change. */
export interface InstanceRun {
  readonly status: InstanceStatus;
  readonly delivered: boolean;
  /** 0: the invocation on the instance; n: run n of a Period or EveryReboot task. */
  readonly execution: number;
  readonly repeats: number;
  /** Output bytes stored, and counted as dropped so far (gaps, past the server's cap). */
  readonly outputBytes: number;
  readonly droppedBytes: number;
}

export interface RunPatch {
  status?: InstanceStatus;
  delivered?: boolean;
  repeats?: number;
  scheduledAtMs?: number;
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

/** Row 0 of a Period or EveryReboot task: it stands for the whole schedule, its runs are rows of their own. */
const isStanding = (run: InstanceRun, mode: RepeatMode): boolean =>
  run.execution === 0 && hasExecutions(mode);

/**
 * How an agent's event moves one row. Final states never move again (a late or repeated event is
 * ignored), so applying an event twice is harmless. Returns undefined when nothing changes.
 * On a Period task's row 0 the events describe the schedule: `accepted` (it is held and waiting:
 * Scheduled) and `finished` (it ended: its last year passed, its at() ran, or it was stopped).
 */
export function applyTaskEvent(run: InstanceRun, event: TaskEvent, mode: RepeatMode): RunPatch | undefined {
  if (isFinal(run.status)) return undefined;
  switch (event.kind) {
    case 'accepted':
      if (isStanding(run, mode)) {
        return run.status === 'Pending' ? { delivered: true, status: 'Scheduled' } : undefined;
      }
      if (run.delivered && event.scheduledAtMs === undefined) return undefined;
      return {
        delivered: true,
        ...(event.scheduledAtMs !== undefined && { scheduledAtMs: event.scheduledAtMs }),
      };
    case 'started':
      return {
        delivered: true,
        startTimeMs: event.atMs,
        ...(run.status === 'Pending' && { status: 'Running' }),
        ...(run.execution === 0 && { repeats: 1 }),
      };
    case 'output':
      return undefined;
    case 'finished': {
      const status = finishedStatus[event.status];
      // Output the agent sent that never arrived (its last chunks, lost unjournalled) is dropped too.
      const neverArrived = Math.max(0, (event.outputBytes ?? 0) - run.outputBytes - run.droppedBytes);
      return {
        delivered: true,
        status,
        finishTimeMs: event.atMs,
        ...(status === 'Terminated' && { stopTimeMs: event.atMs }),
        exitCode: event.exitCode,
        errorCode: event.errorCode,
        errorInfo: event.errorInfo,
        droppedBytes: event.droppedBytes + neverArrived,
      };
    }
  }
}

/** What row 0 of a schedule needs to know of a run that changed. */
export interface RunProgress {
  readonly status: InstanceStatus;
  /** The run has started (it has a start time). */
  readonly started: boolean;
  /** It started with this change. */
  readonly startedNow: boolean;
}

/**
 * How row 0 of a Period or EveryReboot task follows one of its runs: Running while a run runs,
 * Scheduled again after it, counting started runs. An EveryReboot task being stopped ends when its
 * run does (a Period task ends when the agent reports its schedule over).
 */
export function followExecution(
  standing: InstanceRun,
  execution: RunProgress,
  mode: RepeatMode,
  atMs: number,
): RunPatch | undefined {
  if (isFinal(standing.status)) return undefined;
  if (isFinal(execution.status) && standing.status === 'Stopping' && mode === 'EveryReboot') {
    return { status: 'Terminated', finishTimeMs: atMs };
  }
  const patch: RunPatch = {
    ...(execution.startedNow && { repeats: standing.repeats + 1 }),
    ...(execution.status === 'Running' && standing.status !== 'Stopping' && { status: 'Running' }),
    // Only a run that ran hands row 0 back: a skipped one is recorded while another one runs.
    ...(isFinal(execution.status) &&
      execution.started &&
      standing.status === 'Running' && { status: 'Scheduled' }),
  };
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * StopInvocation on one row: what never reached the agent (or waits for a boot) is cancelled; what
 * the agent holds (a running run, a schedule it evaluates) is stopping until the agent reports.
 */
export function applyStop(run: InstanceRun, nowMs: number): RunPatch | undefined {
  if (isFinal(run.status) || run.status === 'Stopping') return undefined;
  if ((run.status === 'Pending' || run.status === 'Scheduled') && !run.delivered) {
    return { status: 'Cancelled', stopTimeMs: nowMs, finishTimeMs: nowMs };
  }
  return { status: 'Stopping', stopTimeMs: nowMs };
}
