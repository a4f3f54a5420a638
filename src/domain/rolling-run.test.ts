import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import type { InstanceStatus } from './invocation-status.js';
import {
  releaseDecision,
  resolveRolling,
  rollingProgress,
  tallyRuns,
  validateRolling,
} from './rolling-run.js';

const codeOf = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return 'none';
};

describe('MaxConcurrency and MaxErrors', () => {
  it('take a count or a percentage, and nothing when neither is given', () => {
    expect(validateRolling(undefined, undefined, 'Once')).toBeUndefined();
    expect(validateRolling('', '', 'Once')).toBeUndefined();
    expect(validateRolling('10', undefined, 'Once')).toEqual({ maxConcurrency: '10', maxErrors: '' });
    expect(validateRolling('10%', '0', 'Once')).toEqual({ maxConcurrency: '10%', maxErrors: '0' });
    expect(validateRolling('100%', '100%', 'Once')).toEqual({ maxConcurrency: '100%', maxErrors: '100%' });
  });

  it('refuse anything else with the parameter named in the code', () => {
    for (const bad of ['0', '0%', '101%', '-1', '1.5', 'ten', '10 %', '%', '1234567']) {
      expect(codeOf(() => validateRolling(bad, undefined, 'Once'))).toBe('InvalidParameter.MaxConcurrency');
    }
    for (const bad of ['-1', '101%', 'x', '1e3']) {
      expect(codeOf(() => validateRolling('5', bad, 'Once'))).toBe('InvalidParameter.MaxErrors');
    }
    // MaxErrors alone paces nothing; a schedule's runs do not end one by one.
    expect(codeOf(() => validateRolling(undefined, '1', 'Once'))).toBe('InvalidParameter.MaxErrors');
    expect(codeOf(() => validateRolling('5', undefined, 'Period'))).toBe('InvalidParameter.MaxConcurrency');
  });

  it('resolve against the targets: concurrency rounds up (at least 1), errors down', () => {
    expect(resolveRolling(undefined, 20)).toEqual({ concurrency: 0, errors: -1 });
    expect(resolveRolling({ maxConcurrency: '3', maxErrors: '' }, 20)).toEqual({
      concurrency: 3,
      errors: -1,
    });
    expect(resolveRolling({ maxConcurrency: '10%', maxErrors: '10%' }, 2000)).toEqual({
      concurrency: 200,
      errors: 200,
    });
    expect(resolveRolling({ maxConcurrency: '10%', maxErrors: '10%' }, 15)).toEqual({
      concurrency: 2,
      errors: 1,
    });
    expect(resolveRolling({ maxConcurrency: '1%', maxErrors: '5%' }, 3)).toEqual({
      concurrency: 1,
      errors: 0,
    });
  });
});

describe('the release decision', () => {
  const runs = (...statuses: (InstanceStatus | 'Held')[]) =>
    tallyRuns(
      statuses.map((status) =>
        status === 'Held' ? { status: 'Pending', held: true } : { status, held: false },
      ),
    );

  it('fills the free slots with held runs, never past the limit or the held ones', () => {
    const limits = { concurrency: 3, errors: -1 };
    expect(releaseDecision(limits, runs('Success', 'Running', 'Running', 'Held', 'Held'))).toEqual({
      kind: 'release',
      count: 1,
    });
    expect(releaseDecision(limits, runs('Success', 'Success', 'Success', 'Held'))).toEqual({
      kind: 'release',
      count: 1,
    });
    expect(releaseDecision(limits, runs('Running', 'Pending', 'Stopping', 'Held'))).toEqual({
      kind: 'release',
      count: 0,
    });
    expect(releaseDecision(limits, runs('Success', 'Failed'))).toEqual({ kind: 'release', count: 0 });
  });

  it('cancels the held runs once more runs failed than MaxErrors allows', () => {
    const limits = { concurrency: 2, errors: 1 };
    expect(releaseDecision(limits, runs('Failed', 'Success', 'Held'))).toEqual({ kind: 'release', count: 1 });
    expect(releaseDecision(limits, runs('Failed', 'Timeout', 'Held'))).toEqual({ kind: 'cancel' });
    expect(releaseDecision(limits, runs('Error', 'Error', 'Running', 'Held'))).toEqual({ kind: 'cancel' });
    // Aborted (never delivered), Cancelled and Terminated are not failures of the script.
    expect(releaseDecision(limits, runs('Aborted', 'Cancelled', 'Terminated', 'Held'))).toEqual({
      kind: 'release',
      count: 1,
    });
    expect(releaseDecision({ concurrency: 2, errors: 0 }, runs('Failed', 'Held'))).toEqual({
      kind: 'cancel',
    });
  });

  it('shows the progress DescribeInvocations reports', () => {
    const at = (status: InstanceStatus, startTimeMs: number, held = false) => ({ status, startTimeMs, held });
    expect(
      rollingProgress([
        at('Success', 1),
        at('Failed', 2),
        at('Running', 3),
        at('Pending', 0, true),
        at('Cancelled', 0),
      ]),
    ).toEqual({ targets: 5, started: 3, succeeded: 1, failed: 1, cancelled: 1, held: 1 });
  });
});
