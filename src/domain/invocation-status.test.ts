import { describe, expect, it } from 'vitest';
import {
  aggregateStatus,
  endedInvocationStatuses,
  instanceStatuses,
  invocationStatusFilter,
  isFinal,
  legacyInstanceStatus,
  legacyInvokeStatus,
  liveStatuses,
  nextAggregate,
  recordStatusFilter,
} from './invocation-status.js';

describe('aggregate InvocationStatus, in the documented precedence', () => {
  it.each([
    [['Pending', 'Running', 'Success'], 'Pending'],
    [['Scheduled', 'Running'], 'Scheduled'],
    [['Running', 'Failed'], 'Running'],
    [['Success', 'Success'], 'Success'],
    [['Success', 'Cancelled', 'Terminated'], 'Success'],
    [['Failed', 'Timeout', 'Error', 'Aborted', 'Invalid'], 'Failed'],
    [['Failed', 'Terminated'], 'Failed'],
    [['Stopping', 'Success'], 'Stopping'],
    [['Stopping', 'Failed'], 'Stopping'],
    [['Cancelled', 'Terminated'], 'Stopped'],
    [['Success', 'Failed'], 'PartialFailed'],
    [['Success', 'Timeout', 'Cancelled'], 'PartialFailed'],
  ] as const)('%j → %s', (statuses, expected) => {
    expect(aggregateStatus(statuses)).toBe(expected);
  });

  it('maps to the legacy fields', () => {
    expect(legacyInvokeStatus('Success')).toBe('Finished');
    expect(legacyInvokeStatus('Pending')).toBe('Running');
    expect(legacyInvokeStatus('PartialFailed')).toBe('PartialFailed');
    expect(legacyInstanceStatus('Terminated')).toBe('Stopped');
    expect(legacyInstanceStatus('Timeout')).toBe('Failed');
    expect(legacyInstanceStatus('Stopping')).toBe('Running');
  });
});

describe('the aggregate an invocation moves to', () => {
  it.each([
    [['Running', 'Success'], 'Pending', 'Running'],
    [['Running', 'Success'], 'Running', undefined],
    [['Success', 'Success'], 'Running', 'Success'],
    [['Success', 'Failed'], undefined, 'PartialFailed'],
    [['Cancelled'], 'Stopped', undefined],
  ] as const)('%j from %s → %s', (statuses, current, expected) => {
    expect(nextAggregate(statuses, current)).toBe(expected);
  });

  it('names the live rows and the ended aggregates', () => {
    expect(liveStatuses).toEqual(['Pending', 'Scheduled', 'Running', 'Stopping']);
    expect(liveStatuses.every((status) => !isFinal(status))).toBe(true);
    // An invocation has ended exactly when its aggregate over final rows can be.
    const finals = instanceStatuses.filter(isFinal);
    for (const a of finals) {
      for (const b of finals) expect(endedInvocationStatuses).toContain(aggregateStatus([a, b]));
    }
    for (const live of liveStatuses) expect(endedInvocationStatuses).not.toContain(aggregateStatus([live]));
  });
});

describe('status filters', () => {
  it('InvokeRecordStatus selects the rows whose legacy status reads the same, Stopping and PartialFailed aside', () => {
    for (const legacy of ['Running', 'Failed', 'Stopped']) {
      const rows = instanceStatuses.filter(
        (status) => legacyInstanceStatus(status) === legacy && status !== 'Stopping',
      );
      expect([...(recordStatusFilter(legacy) ?? [])].sort(), legacy).toEqual([...rows].sort());
    }
    // Finished is every ended row, successful or not (the SDK: "the command execution is complete").
    expect(recordStatusFilter('Finished')).toEqual(instanceStatuses.filter(isFinal));
    expect(recordStatusFilter('Running')).toContain('Scheduled');
    expect(recordStatusFilter('Stopping')).toEqual(['Stopping']);
    expect(recordStatusFilter('PartialFailed')).toEqual([]);
    expect(recordStatusFilter('Scheduled')).toBeUndefined();
  });

  it('InvokeStatus selects aggregates; Finished is the legacy name of Success', () => {
    expect(invocationStatusFilter('Finished')).toEqual(['Success']);
    expect(invocationStatusFilter('PartialFailed')).toEqual(['PartialFailed']);
    expect(invocationStatusFilter('Running')).toEqual(['Running', 'Scheduled']);
    expect(invocationStatusFilter('Scheduled')).toEqual(['Scheduled']);
    expect(invocationStatusFilter('Done')).toBeUndefined();
  });
});
