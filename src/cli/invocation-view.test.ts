import { describe, expect, it } from 'vitest';
import { InvocationView } from './invocation-view.js';

const chunk = (instanceId: string, bytes: Uint8Array | string) => ({
  InstanceId: instanceId,
  Offset: 0,
  Output: Buffer.from(bytes).toString('base64'),
});

describe('InvocationView', () => {
  it('releases whole lines, keeps a partial one until its end or the run ends', () => {
    const view = new InvocationView(['mi-a']);
    expect(view.output(chunk('mi-a', 'one\ntw'))).toEqual([{ instanceId: 'mi-a', text: 'one' }]);
    expect(view.output(chunk('mi-a', 'o\nthr'))).toEqual([{ instanceId: 'mi-a', text: 'two' }]);
    expect(view.status({ InstanceId: 'mi-a', InvocationStatus: 'Running' })).toEqual([]);
    expect(view.status({ InstanceId: 'mi-a', InvocationStatus: 'Success', ExitCode: 0 })).toEqual([
      { instanceId: 'mi-a', text: 'thr' },
    ]);
    expect(view.rows()).toEqual([
      { instanceId: 'mi-a', status: 'Success', exitCode: 0, output: 'one\ntwo\nthr' },
    ]);
  });

  it('decodes a UTF-8 character split across two chunks', () => {
    const view = new InvocationView();
    const bytes = Buffer.from('é\n');
    expect(view.output(chunk('mi-a', bytes.subarray(0, 1)))).toEqual([]);
    expect(view.output(chunk('mi-a', bytes.subarray(1)))).toEqual([{ instanceId: 'mi-a', text: 'é' }]);
  });

  it('counts finished instances and succeeds only when every one did', () => {
    const view = new InvocationView(['mi-a', 'mi-b']);
    view.status({ InstanceId: 'mi-a', InvocationStatus: 'Success' });
    expect([view.done, view.total, view.allDone]).toEqual([1, 2, false]);
    view.status({
      InstanceId: 'mi-b',
      InvocationStatus: 'Failed',
      ErrorCode: 'ExitCodeNonzero',
      ExitCode: 1,
    });
    expect([view.done, view.allDone, view.allSucceeded]).toEqual([2, true, false]);
    // An instance first seen in the stream (selected by tag) joins the view.
    view.status({ InstanceId: 'mi-c', InvocationStatus: 'Running' });
    expect([view.total, view.allDone]).toEqual([3, false]);
  });
});
