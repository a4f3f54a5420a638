import { describe, expect, it } from 'vitest';
import { aggregateStatus, legacyInstanceStatus, legacyInvokeStatus } from './invocation-status.js';

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
