import { ApiError } from './errors.js';
import type { InstanceStatus } from './invocation-status.js';
import { isFinal } from './invocation-status.js';

/**
 * Rolling runs (docs/rolling-runs.md): `MaxConcurrency` and `MaxErrors` pace an invocation over its
 * targets. Each is a count (`10`) or a percentage of the targets (`10%`), as AWS SSM takes them.
 */

export interface RollingSpec {
  /** As the request gave them, shown back by DescribeInvocations. */
  readonly maxConcurrency: string;
  readonly maxErrors: string;
}

/** A rolling run's limits resolved against its number of targets. */
export interface RollingLimits {
  /** Runs released at once; 0: not a rolling run. */
  readonly concurrency: number;
  /** Failed runs tolerated; -1: no limit. */
  readonly errors: number;
}

export const notRolling: RollingLimits = { concurrency: 0, errors: -1 };

const countPattern = /^(\d{1,6})(%?)$/;

type Limit = { readonly count: number; readonly percent: boolean };

function parseLimit(value: string, code: 'InvalidParameter.MaxConcurrency' | 'InvalidParameter.MaxErrors') {
  const match = countPattern.exec(value.trim());
  const count = match ? Number(match[1]) : Number.NaN;
  const percent = match?.[2] === '%';
  const least = code === 'InvalidParameter.MaxConcurrency' ? 1 : 0;
  if (!match || count < least || (percent && count > 100)) {
    throw new ApiError(
      code,
      `Got ${JSON.stringify(value.slice(0, 20))}: a whole number from ${least}, or a percentage from ${least}% to 100%.`,
    );
  }
  return { count, percent } satisfies Limit;
}

/**
 * Checks `MaxConcurrency` / `MaxErrors` as given (undefined or empty: not given). MaxErrors needs
 * MaxConcurrency (without pacing every run starts at once: nothing is left to hold back), and only
 * a `Once` invocation is paced (other modes' runs do not end one by one).
 */
export function validateRolling(
  maxConcurrency: string | undefined,
  maxErrors: string | undefined,
  repeatMode: string,
): RollingSpec | undefined {
  const concurrency = maxConcurrency ?? '';
  const errors = maxErrors ?? '';
  if (concurrency === '' && errors === '') return undefined;
  if (concurrency === '') {
    throw new ApiError('InvalidParameter.MaxErrors', 'MaxErrors needs MaxConcurrency.');
  }
  parseLimit(concurrency, 'InvalidParameter.MaxConcurrency');
  if (errors !== '') parseLimit(errors, 'InvalidParameter.MaxErrors');
  if (repeatMode !== 'Once' && repeatMode !== 'DryRun') {
    throw new ApiError(
      'InvalidParameter.MaxConcurrency',
      `Only RepeatMode Once is paced, not ${repeatMode}.`,
    );
  }
  return { maxConcurrency: concurrency.trim(), maxErrors: errors.trim() };
}

/** The limits for `targets` instances: a concurrency percentage rounds up (at least 1), an error one down. */
export function resolveRolling(spec: RollingSpec | undefined, targets: number): RollingLimits {
  if (!spec) return notRolling;
  const concurrency = parseLimit(spec.maxConcurrency, 'InvalidParameter.MaxConcurrency');
  const resolvedConcurrency = concurrency.percent
    ? Math.max(1, Math.ceil((targets * concurrency.count) / 100))
    : concurrency.count;
  if (spec.maxErrors === '') return { concurrency: resolvedConcurrency, errors: -1 };
  const errors = parseLimit(spec.maxErrors, 'InvalidParameter.MaxErrors');
  return {
    concurrency: resolvedConcurrency,
    errors: errors.percent ? Math.floor((targets * errors.count) / 100) : errors.count,
  };
}

/** The statuses that count against MaxErrors. */
export const countsAsError = (status: InstanceStatus): boolean =>
  status === 'Failed' || status === 'Error' || status === 'Timeout';

/** Where a rolling run's rows 0 stand: released and live, failed, and still held back. */
export interface RollingTally {
  readonly active: number;
  readonly failed: number;
  readonly held: number;
}

export function tallyRuns(runs: readonly { status: InstanceStatus; held: boolean }[]): RollingTally {
  let active = 0;
  let failed = 0;
  let held = 0;
  for (const run of runs) {
    if (run.held) held++;
    else if (!isFinal(run.status)) active++;
    else if (countsAsError(run.status)) failed++;
  }
  return { active, failed, held };
}

/** What to do with the held runs after a run ended: release some, or cancel them all. */
export type ReleaseDecision =
  | { readonly kind: 'release'; readonly count: number }
  | { readonly kind: 'cancel' };

export function releaseDecision(limits: RollingLimits, tally: RollingTally): ReleaseDecision {
  if (tally.held === 0) return { kind: 'release', count: 0 };
  if (limits.errors >= 0 && tally.failed > limits.errors) return { kind: 'cancel' };
  return { kind: 'release', count: Math.max(0, Math.min(tally.held, limits.concurrency - tally.active)) };
}

/** A rolling run's progress, as DescribeInvocations shows it. */
export interface RollingProgress {
  readonly targets: number;
  readonly started: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly held: number;
}

export function rollingProgress(
  runs: readonly { status: InstanceStatus; held: boolean; startTimeMs: number }[],
): RollingProgress {
  const count = (test: (run: (typeof runs)[number]) => boolean) => runs.filter(test).length;
  return {
    targets: runs.length,
    started: count((run) => run.startTimeMs > 0),
    succeeded: count((run) => run.status === 'Success'),
    failed: count((run) => countsAsError(run.status)),
    cancelled: count((run) => run.status === 'Cancelled' || run.status === 'Terminated'),
    held: count((run) => run.held),
  };
}
