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

/** The row as the database gives it back: the columns a row leaves out hold their defaults. */
const stored = (value: Invocation) => ({
  kind: 'command',
  file_target_dir: '',
  file_owner: '',
  file_group: '',
  file_mode: '',
  file_overwrite: 0,
  file_content_type: '',
  max_concurrency: '',
  max_errors: '',
  concurrency_limit: 0,
  error_limit: -1,
  oss_output_delivery: '',
  oss_open: 0,
  ...invocationRow(value),
  seq: 7,
});

const sentFile: Invocation = {
  ...invocation,
  id: 'f-1',
  commandId: '',
  commandName: 'app.conf',
  repeatMode: 'Once',
  frequency: '',
  status: 'Pending',
  file: {
    name: 'app.conf',
    targetDir: '/etc/app',
    owner: 'app',
    group: 'staff',
    mode: '0640',
    overwrite: true,
    contentType: 'Base64',
  },
};

describe('invocation and run rows', () => {
  it('read back what they were written from', () => {
    expect(toInvocation(stored(invocation), [])).toEqual(invocation);
    expect(toInvocation(stored(sentFile), [])).toEqual(sentFile);
    // A command's row sets no file column: InvokeCommand's insert is the one it always was.
    expect(
      Object.keys(invocationRow(invocation)).filter((name) => name.startsWith('file_') || name === 'kind'),
    ).toEqual([]);
    const key = { invokeId: 't-1', instanceId: 'mi-1', execution: 2 };
    const row = {
      ...runRow(key, newRun(2, 'Pending', true, 9), 9),
      seq: 1,
      execution: 2,
      repeats: 2,
      scheduled_at: 0,
      exit_code: null,
      held: 0,
    };
    expect(toRun(row)).toMatchObject({
      ...key,
      status: 'Pending',
      delivered: true,
      repeats: 2,
      createdAtMs: 9,
    });
  });

  it("keep a rolling run's limits, and name its columns only for a rolling run", () => {
    const rolling: Invocation = {
      ...invocation,
      repeatMode: 'Once',
      frequency: '',
      rolling: { maxConcurrency: '10%', maxErrors: '2', concurrency: 3, errors: 2 },
    };
    expect(toInvocation(stored(rolling), [])).toEqual(rolling);
    expect(Object.keys(invocationRow(invocation)).filter((name) => name.includes('_limit'))).toEqual([]);
  });

  it('refuse a column holding what the store never writes, rather than pass it on as typed', () => {
    const row = stored(invocation);
    expect(() => toInvocation({ ...row, repeat_mode: 'Sometimes' }, [])).toThrow(/repeat_mode/);
    expect(() => toInvocation({ ...row, parameters: '{"n":1}' }, [])).toThrow(/parameters/);
    expect(() => toInvocation({ ...stored(sentFile), file_content_type: 'Hex' }, [])).toThrow(/content_type/);
  });

  it('set only the columns a patch names, with the update time', () => {
    expect(columnsOf({ status: 'Running', delivered: true, droppedBytes: 3 }, 4)).toEqual({
      update_time: 4,
      status: 'Running',
      delivered: 1,
    });
  });
});
