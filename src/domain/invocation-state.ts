import type { FinishedStatus, TaskEvent } from '../protocol/messages.js';
import { hasExecutions, type InvocationInstance, type RepeatMode } from './invocation.js';
import { type InstanceStatus, type InvocationStatus, isFinal } from './invocation-status.js';

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

/** How a new row starts: nothing run yet, no output; a row final from the start has its finish time. */
export interface RunStart {
  readonly status: InstanceStatus;
  readonly delivered: boolean;
  /** Row 0 counts the runs it has started (none yet); run n counts itself. */
  readonly repeats: number;
  readonly finishTimeMs: number;
}

/**
 * The row of run `execution`: row 0 as InvokeCommand creates it (Pending, Scheduled, or Invalid and
 * so final at once), or run n as a boot arms it (Pending) or an agent's schedule starts it (delivered).
 */
export const newRun = (
  execution: number,
  status: InstanceStatus,
  delivered: boolean,
  atMs: number,
): RunStart => ({ status, delivered, repeats: execution, finishTimeMs: isFinal(status) ? atMs : 0 });

/**
 * Whether a report of run `execution` the server does not know creates its row: only a Period task's
 * agent starts runs on its own (by its schedule). Row 0 exists from InvokeCommand on, and an
 * EveryReboot run is armed by the server at boot.
 */
export const reportCreatesRun = (mode: RepeatMode, execution: number): boolean =>
  execution > 0 && mode === 'Period';

/** A row after `patch` at `atMs`: dropped bytes are added to the count, every other field set. */
export function patchRun(run: InvocationInstance, patch: RunPatch, atMs: number): InvocationInstance {
  return Object.assign({}, run, patch, {
    droppedBytes: run.droppedBytes + (patch.droppedBytes ?? 0),
    updateTimeMs: atMs,
  });
}

/** What row 0 of a schedule learns of a change of one of its runs, `before` → `after`. */
export const progressOf = (before: InvocationInstance, after: InvocationInstance): RunProgress => ({
  status: after.status,
  started: after.startTimeMs > 0,
  startedNow: before.startTimeMs === 0 && after.startTimeMs > 0,
});

/** How row 0 of a schedule follows a change of one of its runs (`followExecution`, its time bound). */
export type FollowRule = (
  standing: InvocationInstance,
  execution: RunProgress,
  mode: RepeatMode,
) => RunPatch | undefined;

/** One change of a row, and what it does to row 0 of its schedule. */
export interface RunStep {
  readonly patch: RunPatch;
  readonly updated: InvocationInstance;
  /** Row 0's patch, when the row is a run of a schedule that row 0 follows. */
  readonly standingPatch: RunPatch | undefined;
  /** A status changed: the invocation's aggregate must be computed again. */
  readonly statusChanged: boolean;
}

/**
 * Applies `patch` to `run` and lets row 0 (`standing`, for a run n ≥ 1) follow it by `follow`.
 * Pure: the store reads the rows, calls this, and writes what it returns in the same transaction.
 */
export function stepRun(
  run: InvocationInstance,
  patch: RunPatch,
  atMs: number,
  mode: RepeatMode,
  standing: InvocationInstance | undefined,
  follow: FollowRule | undefined,
): RunStep {
  const updated = patchRun(run, patch, atMs);
  const standingPatch = standing && follow ? follow(standing, progressOf(run, updated), mode) : undefined;
  const statusChanged = patch.status !== undefined || standingPatch?.status !== undefined;
  return { patch, updated, standingPatch, statusChanged };
}

/** Statuses of row 0 that a new boot arms, per mode that waits for boots. */
export const armedByBoot = {
  NextRebootOnly: ['Scheduled'],
  EveryReboot: ['Scheduled', 'Running'],
} as const satisfies Partial<Record<RepeatMode, readonly InstanceStatus[]>>;

/**
 * What a new boot does to row 0 of a task waiting for boots: a NextRebootOnly task becomes Pending
 * (delivered once; its invocation is then Pending too, the first rule of the aggregate's
 * precedence); an EveryReboot task gets a new run. Undefined: the boot leaves the row.
 */
export function onBoot(mode: RepeatMode, status: InstanceStatus): BootStep | undefined {
  if (mode === 'NextRebootOnly' && among(armedByBoot.NextRebootOnly, status)) return delivery;
  if (mode === 'EveryReboot' && among(armedByBoot.EveryReboot, status)) return { kind: 'new-run' };
  return undefined;
}

export type BootStep =
  | { readonly kind: 'deliver'; readonly patch: RunPatch; readonly invocationStatus: InvocationStatus }
  | { readonly kind: 'new-run' };

const delivery: BootStep = { kind: 'deliver', patch: { status: 'Pending' }, invocationStatus: 'Pending' };

const among = (statuses: readonly InstanceStatus[], status: InstanceStatus): boolean =>
  statuses.includes(status);

/** Statuses of a Period task's row 0 that an agent may have lost (it held the schedule). */
export const redeliverable = ['Scheduled', 'Running'] as const satisfies readonly InstanceStatus[];

/** A Period task the agent lost is delivered again: Pending and undelivered. */
export const redelivery = { status: 'Pending', delivered: false } as const satisfies RunPatch;
