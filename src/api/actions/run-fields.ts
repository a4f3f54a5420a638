import type { ContentEncoding } from '../../domain/content.js';
import { hasExecutions, type Invocation, type InvocationInstance } from '../../domain/invocation.js';
import { optionalTime } from '../wire.js';

const noOutput = Buffer.alloc(0);

/**
 * The per-instance fields DescribeInvocations and DescribeInvocationResults share, with each
 * action's own; `output` is the run's shown tail, or undefined where the response leaves output
 * out. No object spread here: spreading ten rows' fields cost a fifth of a result page's CPU.
 */
export function runFields<More extends object>(
  run: InvocationInstance,
  output: Buffer | undefined,
  encoding: ContentEncoding,
  more: More,
) {
  const shown = output ?? noOutput;
  const fields = {
    InstanceId: run.instanceId,
    InvocationStatus: run.status,
    ErrorCode: run.errorCode,
    ErrorInfo: run.errorInfo,
    // Left out (undefined is not rendered) until the run has one.
    ExitCode: run.exitCode ?? undefined,
    // Output is the last 24 KB; Dropped counts every byte not shown (cut here or beyond the kept cap).
    Output: encoding === 'PlainText' ? shown.toString('utf8') : shown.toString('base64'),
    Dropped: run.droppedBytes + (output ? run.outputBytes - output.length : 0),
    StartTime: optionalTime(run.startTimeMs),
    StopTime: optionalTime(run.stopTimeMs),
    Repeats: run.repeats,
  };
  return Object.assign(fields, more);
}

/**
 * What one instance's row shows of a schedule or reboot task: where the task stands (status, runs
 * so far) with the newest run's results (exit code, output, times).
 */
export function withLatest(
  run: InvocationInstance,
  latest: Map<string, InvocationInstance>,
): InvocationInstance {
  const newest = run.execution === 0 ? latest.get(`${run.invokeId}/${run.instanceId}`) : undefined;
  if (!newest) return run;
  return {
    ...newest,
    status: run.status,
    repeats: run.repeats,
    createdAtMs: run.createdAtMs,
    updateTimeMs: Math.max(run.updateTimeMs, newest.updateTimeMs),
  };
}

/** Ids of the invocations with runs beyond row 0 (schedules, reboot tasks): only they have a newer run to show. */
export const withExecutions = (invocations: readonly Invocation[]): string[] => [
  ...new Set(invocations.filter((invocation) => hasExecutions(invocation.repeatMode)).map(({ id }) => id)),
];
