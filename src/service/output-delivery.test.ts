import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invocationRecord } from '../../test/helpers/store-records.js';
import type { Invocation, RepeatMode } from '../domain/invocation.js';
import { defaultRetrySchedule } from '../domain/output-delivery.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { type ObjectStorage, UploadError } from './object-storage.js';
import { OutputDeliveryService } from './output-delivery.js';

/** A storage that fails while `failing` is true and otherwise keeps what it is given. */
class FakeStorage implements ObjectStorage {
  failing = false;
  readonly objects = new Map<string, Buffer>();
  attempts = 0;
  async put(bucket: string, key: string, body: AsyncIterable<Buffer>): Promise<void> {
    this.attempts++;
    if (this.failing) throw new UploadError('ConnectionFailed', 'ECONNREFUSED: down');
    const pieces: Buffer[] = [];
    for await (const piece of body) pieces.push(piece);
    this.objects.set(`${bucket}/${key}`, Buffer.concat(pieces));
  }
}

const invocation = (
  id: string,
  repeatMode: RepeatMode,
  ossOutputDelivery?: string,
): Omit<Invocation, 'seq'> =>
  invocationRecord({
    id,
    contentBase64: '',
    repeatMode,
    frequency: repeatMode === 'Period' ? 'rate(1m)' : '',
    createdAtMs: 1,
    ...(ossOutputDelivery && { ossOutputDelivery }),
  });

describe('output delivery', () => {
  let store: Store;
  let storage: FakeStorage;
  let now: number;
  let service: OutputDeliveryService;

  beforeEach(() => {
    store = openSqliteStore(':memory:');
    storage = new FakeStorage();
    now = 1_000_000;
    service = new OutputDeliveryService(store, storage, () => now, defaultRetrySchedule(1_000));
  });
  afterEach(() => store.close());

  /** Creates a one-instance invocation whose run printed `output` and ended. */
  const endedRun = async (id: string, output: string, target = 'oss://bkt/logs', execution = 0) => {
    const mode = execution > 0 ? 'Period' : 'Once';
    await store.invocations.create(invocation(id, mode, target), [
      { instanceId: 'mi-1', status: 'Pending', errorCode: '', errorInfo: '' },
    ]);
    const key = { invokeId: id, instanceId: 'mi-1', execution };
    await store.invocations.updateRun(key, () => ({ status: 'Running', startTimeMs: now }), now, {
      create: true,
    });
    await store.invocations.appendOutput(key, 0, Buffer.from(output), 1 << 20);
    await store.invocations.updateRun(
      key,
      () => ({ status: 'Success', exitCode: 0, finishTimeMs: now }),
      now,
    );
    return key;
  };
  const fieldsOf = async (id: string, execution = 0) => {
    const shown = await store.invocations.get('cn-hangzhou', id);
    const runs = await store.invocations.executions(id);
    const run = runs.find((candidate) => candidate.execution === execution);
    if (!shown || !run) throw new Error(`no run ${id}/${execution}`);
    return (await service.fields([{ invocation: shown, run }]))[0];
  };

  it('uploads an ended run once, with its key and bytes, and the fields say Finished', async () => {
    await endedRun('t-a', 'hello\nworld');
    expect(await service.deliverDue()).toBe(1);
    expect(storage.objects.get('bkt/logs/t-a/mi-1.log')?.toString()).toBe('hello\nworld');
    expect(await fieldsOf('t-a')).toEqual({
      OssOutputStatus: 'Finished',
      OssOutputUri: 'oss://bkt/logs/t-a/mi-1.log',
      OssOutputErrorCode: '',
      OssOutputErrorInfo: '',
    });
    expect(await service.deliverDue()).toBe(0);
    expect(storage.attempts).toBe(1);
  });

  it('names run N of a schedule in its own key', async () => {
    await endedRun('t-p', 'run two', 'oss://bkt', 2);
    await service.deliverDue();
    expect(storage.objects.get('bkt/t-p/mi-1/2.log')?.toString()).toBe('run two');
  });

  it('retries on the schedule while the storage fails, then delivers; never touching the run', async () => {
    await endedRun('t-b', 'later');
    storage.failing = true;
    await service.deliverDue();
    expect(await fieldsOf('t-b')).toMatchObject({
      OssOutputStatus: 'Pending',
      OssOutputErrorCode: 'ConnectionFailed',
    });
    // Not due before its wait: 1 s after the first failure, 2 s after the second.
    now += 999;
    await service.deliverDue();
    expect(storage.attempts).toBe(1);
    now += 1;
    await service.deliverDue();
    expect(storage.attempts).toBe(2);
    now += 2_000;
    storage.failing = false;
    await service.deliverDue();
    expect(storage.objects.get('bkt/logs/t-b/mi-1.log')?.toString()).toBe('later');
    expect(await fieldsOf('t-b')).toMatchObject({ OssOutputStatus: 'Finished', OssOutputErrorCode: '' });
    const [run] = await store.invocations.runs('t-b');
    expect(run).toMatchObject({ status: 'Success', exitCode: 0 });
  });

  it('gives up after the last attempt: Failed, with the last error', async () => {
    await endedRun('t-c', 'never');
    storage.failing = true;
    for (let attempt = 0; attempt < 20; attempt++) {
      await service.deliverDue();
      now += 60_000;
    }
    expect(storage.attempts).toBe(12);
    expect(await fieldsOf('t-c')).toEqual({
      OssOutputStatus: 'Failed',
      OssOutputUri: 'oss://bkt/logs/t-c/mi-1.log',
      OssOutputErrorCode: 'ConnectionFailed',
      OssOutputErrorInfo: 'ECONNREFUSED: down',
    });
  });

  it('fails at once without a configured storage, and shows nothing for invocations that deliver nothing', async () => {
    const unconfigured = new OutputDeliveryService(store, undefined, () => now, defaultRetrySchedule());
    await endedRun('t-d', 'x');
    await store.invocations.create(invocation('t-none', 'Once'), [
      { instanceId: 'mi-1', status: 'Pending', errorCode: '', errorInfo: '' },
    ]);
    await unconfigured.deliverDue();
    expect(await fieldsOf('t-d')).toMatchObject({
      OssOutputStatus: 'Failed',
      OssOutputErrorCode: 'StorageNotConfigured',
    });
    expect(await fieldsOf('t-none')).toBeUndefined();
  });

  it('shows Pending with the object to be for a run not ended yet', async () => {
    await store.invocations.create(invocation('t-e', 'Once', 'oss://bkt/p'), [
      { instanceId: 'mi-1', status: 'Pending', errorCode: '', errorInfo: '' },
    ]);
    expect(await fieldsOf('t-e')).toEqual({
      OssOutputStatus: 'Pending',
      OssOutputUri: 'oss://bkt/p/t-e/mi-1.log',
      OssOutputErrorCode: '',
      OssOutputErrorInfo: '',
    });
  });
});
