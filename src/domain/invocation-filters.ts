import { isCommandType } from './command.js';
import { ApiError } from './errors.js';
import type { RepeatMode } from './invocation.js';
import {
  endedInvocationStatuses,
  type InstanceStatus,
  type InvocationStatus,
  isFinal,
} from './invocation-status.js';

/**
 * The rules of the DescribeInvocations and DescribeInvocationResults filters that the SDK's doc
 * comments state beyond "equals": `Timed`, what `InstanceId` switches off, and the filters that
 * `IncludeOutput` and `IncludeHistory` require.
 */

/** Modes that run again later: `Timed` tasks while they have not ended. */
export const timedRepeatModes: readonly RepeatMode[] = ['Period', 'NextRebootOnly', 'EveryReboot'];

/** `Timed` of an invocation: a Period or reboot task that has not ended (stopped, finished). */
export const isTimedInvocation = (mode: RepeatMode, status: InvocationStatus): boolean =>
  timedRepeatModes.includes(mode) && !endedInvocationStatuses.includes(status);

/** `Timed` of one instance's row of such a task: its row 0 has not ended. */
export const isTimedRun = (mode: RepeatMode, status: InstanceStatus): boolean =>
  timedRepeatModes.includes(mode) && !isFinal(status);

export interface InvocationListFilters {
  readonly instanceId?: string | undefined;
  readonly commandType?: string | undefined;
  readonly commandName?: string | undefined;
  readonly repeatMode?: string | undefined;
  readonly invokeStatus?: string | undefined;
  readonly includeOutput?: boolean | undefined;
}

/** The modes DescribeInvocations' `RepeatMode` filter takes (a DryRun creates nothing to list). */
const listedRepeatModes: readonly string[] = ['Once', ...timedRepeatModes];

/**
 * DescribeInvocations' filters as Alibaba applies them: `CommandType` and `RepeatMode` must be
 * among the SDK's values (else the codes InvokeCommand and DescribeCommands use); with `InstanceId`, `CommandName`,
 * `RepeatMode` and `InvokeStatus=PartialFailed` "do not take effect"; `IncludeOutput=true` needs
 * `InvokeId` or `InstanceId` (an unbounded listing with every output is refused).
 */
export function effectiveInvocationFilters<F extends InvocationListFilters>(
  filters: F,
  invokeId: string | undefined,
): F {
  if (filters.commandType !== undefined && !isCommandType(filters.commandType)) {
    throw new ApiError('InvalidCommandType.NotFound', `CommandType "${filters.commandType.slice(0, 40)}".`);
  }
  if (filters.repeatMode !== undefined && !listedRepeatModes.includes(filters.repeatMode)) {
    throw new ApiError('InvalidRepeatMode.NotFound', `RepeatMode "${filters.repeatMode.slice(0, 40)}".`);
  }
  if (filters.includeOutput && invokeId === undefined && filters.instanceId === undefined) {
    throw new ApiError('MissingParameter', 'IncludeOutput=true needs InvokeId or InstanceId.');
  }
  if (filters.instanceId === undefined) return filters;
  return {
    ...filters,
    commandName: undefined,
    repeatMode: undefined,
    invokeStatus: filters.invokeStatus === 'PartialFailed' ? undefined : filters.invokeStatus,
  };
}

/** DescribeInvocationResults: `IncludeHistory=true` is one invocation's history, so it needs `InvokeId`. */
export function requireHistoryScope(includeHistory: boolean, invokeId: string | undefined): void {
  if (includeHistory && invokeId === undefined) {
    throw new ApiError('MissingParameter', 'IncludeHistory=true needs InvokeId.');
  }
}
