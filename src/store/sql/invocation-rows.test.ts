import { describe, expect, it } from 'vitest';
import type { Invocation } from '../../domain/invocation.js';
import { newRun } from '../../domain/invocation-state.js';
import { columnsOf, invocationRow, runRow, toInvocation, toRun } from './invocation-rows.js';

const invocation: Invocation = {
  seq: 7,
  id: 't-1',
  regionId: 'cn-hangzhou',
  commandId: 'c-1',
  commandName: 'x',
  commandType: 'RunShellScript',
  commandDescription: '',
  contentBase64: 'ZWNobw==',
  parameters: { name: 'value' },
  repeatMode: 'Period',
  frequency: 'rate(5m)',
  timeoutSeconds: 60,
  username: '',
  windowsPasswordName: '',
  workingDir: '',
  launcher: '',
  containerId: '',
  containerName: '',
  terminationMode: 'Process',
  resourceGroupId: '',
  clientToken: '',
  status: 'Scheduled',
  createdAtMs: 5,
  tags: [],
};

describe('invocation and run rows', () => {
  it('read back what they were written from', () => {
    expect(toInvocation({ ...invocationRow(invocation), seq: 7 }, [])).toEqual(invocation);
    const key = { invokeId: 't-1', instanceId: 'mi-1', execution: 2 };
    const row = {
      ...runRow(key, newRun(2, 'Pending', true, 9), 9),
      seq: 1,
      execution: 2,
      repeats: 2,
      scheduled_at: 0,
      exit_code: null,
    };
    expect(toRun(row)).toMatchObject({
      ...key,
      status: 'Pending',
      delivered: true,
      repeats: 2,
      createdAtMs: 9,
    });
  });

  it('refuse a column holding what the store never writes, rather than pass it on as typed', () => {
    const row = { ...invocationRow(invocation), seq: 7 };
    expect(() => toInvocation({ ...row, repeat_mode: 'Sometimes' }, [])).toThrow(/repeat_mode/);
    expect(() => toInvocation({ ...row, parameters: '{"n":1}' }, [])).toThrow(/parameters/);
  });

  it('set only the columns a patch names, with the update time', () => {
    expect(columnsOf({ status: 'Running', delivered: true, droppedBytes: 3 }, 4)).toEqual({
      update_time: 4,
      status: 'Running',
      delivered: 1,
    });
  });
});
