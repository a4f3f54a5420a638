import { describe, expect, it } from 'vitest';
import {
  effectiveInvocationFilters,
  isTimedInvocation,
  isTimedRun,
  requireHistoryScope,
} from './invocation-filters.js';

const refusedWith = (code: string) => expect.objectContaining({ code });

describe('Timed', () => {
  it('is a Period or reboot task that has not ended', () => {
    expect(isTimedInvocation('Period', 'Scheduled')).toBe(true);
    expect(isTimedInvocation('EveryReboot', 'Running')).toBe(true);
    expect(isTimedInvocation('NextRebootOnly', 'Pending')).toBe(true);
    expect(isTimedInvocation('Period', 'Stopping')).toBe(true);
    for (const ended of ['Success', 'Failed', 'Stopped', 'PartialFailed'] as const) {
      expect(isTimedInvocation('Period', ended)).toBe(false);
    }
    expect(isTimedInvocation('Once', 'Running')).toBe(false);
  });

  it('holds per instance while that row has not ended', () => {
    expect(isTimedRun('Period', 'Scheduled')).toBe(true);
    expect(isTimedRun('Period', 'Terminated')).toBe(false);
    expect(isTimedRun('EveryReboot', 'Success')).toBe(false);
    expect(isTimedRun('Once', 'Pending')).toBe(false);
  });
});

describe('DescribeInvocations filters', () => {
  it('keeps every filter without InstanceId', () => {
    const filters = { commandName: 'n', repeatMode: 'Period', invokeStatus: 'PartialFailed' };
    expect(effectiveInvocationFilters(filters, undefined)).toEqual(filters);
  });

  it('drops CommandName, RepeatMode and InvokeStatus=PartialFailed with InstanceId, as documented', () => {
    expect(
      effectiveInvocationFilters(
        { instanceId: 'mi-1', commandName: 'n', repeatMode: 'Period', invokeStatus: 'PartialFailed' },
        undefined,
      ),
    ).toEqual({ instanceId: 'mi-1', commandName: undefined, repeatMode: undefined, invokeStatus: undefined });
    expect(
      effectiveInvocationFilters({ instanceId: 'mi-1', invokeStatus: 'Failed' }, undefined),
    ).toMatchObject({
      invokeStatus: 'Failed',
    });
  });

  it('refuses a CommandType or RepeatMode the SDK does not list', () => {
    expect(() => effectiveInvocationFilters({ commandType: 'RunPythonScript' }, undefined)).toThrow(
      refusedWith('InvalidCommandType.NotFound'),
    );
    expect(() => effectiveInvocationFilters({ repeatMode: 'DryRun' }, undefined)).toThrow(
      refusedWith('InvalidRepeatMode.NotFound'),
    );
    expect(() => effectiveInvocationFilters({ repeatMode: 'once', instanceId: 'mi-1' }, undefined)).toThrow(
      refusedWith('InvalidRepeatMode.NotFound'),
    );
    expect(
      effectiveInvocationFilters({ commandType: 'RunBatScript', repeatMode: 'EveryReboot' }, undefined),
    ).toEqual({ commandType: 'RunBatScript', repeatMode: 'EveryReboot' });
  });

  it('needs InvokeId or InstanceId for IncludeOutput', () => {
    expect(() => effectiveInvocationFilters({ includeOutput: true }, undefined)).toThrow(
      refusedWith('MissingParameter'),
    );
    expect(() => effectiveInvocationFilters({ includeOutput: true }, 't-1')).not.toThrow();
    expect(() =>
      effectiveInvocationFilters({ includeOutput: true, instanceId: 'mi-1' }, undefined),
    ).not.toThrow();
    expect(() => effectiveInvocationFilters({ includeOutput: false }, undefined)).not.toThrow();
  });

  it('needs InvokeId for IncludeHistory', () => {
    expect(() => requireHistoryScope(true, undefined)).toThrow(refusedWith('MissingParameter'));
    expect(() => requireHistoryScope(true, 't-1')).not.toThrow();
    expect(() => requireHistoryScope(false, undefined)).not.toThrow();
  });
});
