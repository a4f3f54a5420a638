/** Per-instance statuses of an invocation (fact sheet §5). */
export const instanceStatuses = [
  'Pending',
  'Scheduled',
  'Invalid',
  'Aborted',
  'Running',
  'Success',
  'Failed',
  'Error',
  'Timeout',
  'Cancelled',
  'Stopping',
  'Terminated',
] as const;
export type InstanceStatus = (typeof instanceStatuses)[number];

/** An invocation's aggregate status, over its instances' rows. */
export const invocationStatuses = [
  'Pending',
  'Scheduled',
  'Running',
  'Success',
  'Failed',
  'Stopping',
  'Stopped',
  'PartialFailed',
] as const;
export type InvocationStatus = (typeof invocationStatuses)[number];
const knownInvocationStatuses: ReadonlySet<string> = new Set(invocationStatuses);
const isInvocationStatus = (value: string): value is InvocationStatus => knownInvocationStatuses.has(value);

const failedClass: ReadonlySet<InstanceStatus> = new Set([
  'Invalid',
  'Aborted',
  'Failed',
  'Timeout',
  'Error',
]);
const stoppedClass: ReadonlySet<InstanceStatus> = new Set(['Cancelled', 'Terminated']);

/** True once an instance's run can change no more. */
export const isFinal = (status: InstanceStatus): boolean =>
  status === 'Success' || failedClass.has(status) || stoppedClass.has(status);

/** The aggregate InvocationStatus, in the documented order of precedence (fact sheet §5). */
export function aggregateStatus(statuses: readonly InstanceStatus[]): InvocationStatus {
  const any = (wanted: InstanceStatus) => statuses.includes(wanted);
  if (any('Pending')) return 'Pending';
  if (any('Scheduled')) return 'Scheduled';
  if (any('Running')) return 'Running';
  const successes = statuses.filter((s) => s === 'Success').length;
  const failures = statuses.filter((s) => failedClass.has(s)).length;
  const stopped = statuses.filter((s) => stoppedClass.has(s)).length;
  if (successes > 0 && successes + stopped === statuses.length) return 'Success';
  if (failures > 0 && failures + stopped === statuses.length) return 'Failed';
  if (any('Stopping')) return 'Stopping';
  if (stopped === statuses.length) return 'Stopped';
  return 'PartialFailed';
}

/**
 * The aggregate an invocation moves to when its rows 0 hold `statuses`; undefined when it stays
 * `current` (most runs of a wide invocation change their own status, not the invocation's).
 */
export function nextAggregate(
  statuses: readonly InstanceStatus[],
  current: InvocationStatus | undefined,
): InvocationStatus | undefined {
  const aggregate = aggregateStatus(statuses);
  return aggregate === current ? undefined : aggregate;
}

/** Rows that can still change: not final. */
export const liveStatuses: readonly InstanceStatus[] = instanceStatuses.filter((status) => !isFinal(status));

/** Aggregates of an invocation whose every row is final. */
export const endedInvocationStatuses: readonly InvocationStatus[] = [
  'Success',
  'Failed',
  'Stopped',
  'PartialFailed',
];

/** The legacy coarse `InvokeStatus` of an invocation: Running / Finished / Failed / Stopped / PartialFailed. */
export function legacyInvokeStatus(status: InvocationStatus): string {
  switch (status) {
    case 'Success':
      return 'Finished';
    case 'Failed':
    case 'Stopped':
    case 'PartialFailed':
      return status;
    default:
      return 'Running';
  }
}

/** The legacy per-instance `InstanceInvokeStatus`: Running / Finished / Failed / Stopped. */
export function legacyInstanceStatus(status: InstanceStatus): string {
  if (status === 'Success') return 'Finished';
  if (stoppedClass.has(status)) return 'Stopped';
  if (failedClass.has(status)) return 'Failed';
  return 'Running';
}

/** DescribeInvocations `InvokeStatus` filter → aggregate statuses ('Finished' is the legacy name of Success). */
export function invocationStatusFilter(value: string): InvocationStatus[] | undefined {
  if (value === 'Finished') return ['Success'];
  // "Scheduled execution: the execution status remains Running until you manually stop" it (the SDK).
  if (value === 'Running') return ['Running', 'Scheduled'];
  return isInvocationStatus(value) ? [value] : undefined;
}

/** DescribeInvocationResults `InvokeRecordStatus` filter → per-instance statuses. */
export function recordStatusFilter(value: string): InstanceStatus[] | undefined {
  switch (value) {
    case 'Running':
      // A schedule's row reads Running until it is stopped (the SDK), as its InvokeRecordStatus shows.
      return ['Pending', 'Scheduled', 'Running'];
    case 'Finished':
      return instanceStatuses.filter(isFinal);
    case 'Success':
      return ['Success'];
    case 'Failed':
      return ['Invalid', 'Aborted', 'Failed', 'Error', 'Timeout'];
    case 'Stopped':
      return ['Cancelled', 'Terminated'];
    case 'Stopping':
      return ['Stopping'];
    case 'PartialFailed':
      return [];
    default:
      return undefined;
  }
}
