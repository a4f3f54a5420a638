import { hasExecutions, type Invocation, type InvocationInstance } from '../domain/invocation.js';
import { isFinal } from '../domain/invocation-status.js';
import {
  nextAttemptDelayMs,
  type OssOutputStatus,
  outputObjectKey,
  parseOssUri,
  type RetrySchedule,
} from '../domain/output-delivery.js';
import type { OutputDelivery, RunKey, Store } from '../store/store.js';
import { type ObjectStorage, UploadError, uploadError } from './object-storage.js';

/** The result fields of a run of an invocation that delivers its output. */
export interface DeliveryFields {
  readonly OssOutputStatus: OssOutputStatus;
  readonly OssOutputUri: string;
  readonly OssOutputErrorCode: string;
  readonly OssOutputErrorInfo: string;
}

// Runs found and uploads tried per pass of the job.
const discoverPerPass = 500;
const uploadsPerPass = 50;
const uploadsAtOnce = 4;
// How much of the stored output one read takes.
const readBytes = 1024 * 1024;
// An upload left Uploading this long (its node died mid-way) is tried again.
const uploadLeaseMs = 10 * 60_000;

/**
 * Delivers each ended run's stored output to object storage (docs/output-delivery.md): the job's
 * pass finds ended runs of delivering invocations, adds their delivery rows, and uploads the due
 * ones, retrying failures on a bounded exponential schedule. The run itself never waits on this.
 */
export class OutputDeliveryService {
  constructor(
    private readonly store: Store,
    private readonly storage: ObjectStorage | undefined,
    private readonly nowMs: () => number,
    private readonly retries: RetrySchedule,
  ) {}

  /** One pass of the delivery job; returns how many uploads finished. */
  async deliverDue(): Promise<number> {
    await this.discover();
    const due = await this.store.outputDeliveries.due(this.nowMs(), uploadsPerPass);
    let finished = 0;
    for (let at = 0; at < due.length; at += uploadsAtOnce) {
      const done = await Promise.all(due.slice(at, at + uploadsAtOnce).map((row) => this.deliver(row)));
      finished += done.filter(Boolean).length;
    }
    return finished;
  }

  private async discover(): Promise<void> {
    const ended = await this.store.outputDeliveries.endedWithoutDelivery(discoverPerPass);
    const now = this.nowMs();
    const rows: OutputDelivery[] = ended.map((run) => {
      const target = parseOssUri(run.target);
      return {
        invokeId: run.invokeId,
        instanceId: run.instanceId,
        execution: run.execution,
        bucket: target.bucket,
        objectKey: outputObjectKey(target.prefix, run, run.repeatMode),
        status: 'Pending',
        attempts: 0,
        nextAttemptAtMs: now,
        errorCode: '',
        errorInfo: '',
      };
    });
    await this.store.outputDeliveries.add(rows, now);
    await this.store.outputDeliveries.closeDelivered();
  }

  /** One attempt: claimed (Uploading), then Finished, or Pending again after a wait, or Failed. */
  private async deliver(row: OutputDelivery): Promise<boolean> {
    const deliveries = this.store.outputDeliveries;
    const attempts = row.attempts + 1;
    const claimed = await deliveries.update(
      row,
      row.status,
      { ...row, status: 'Uploading', attempts, nextAttemptAtMs: this.nowMs() + uploadLeaseMs },
      this.nowMs(),
    );
    if (!claimed) return false;
    try {
      if (!this.storage)
        throw new UploadError(
          'StorageNotConfigured',
          'The server has no object storage configured (OPENASSIST_OSS_ENDPOINT).',
        );
      await this.storage.put(row.bucket, row.objectKey, this.output(row));
      await deliveries.update(
        row,
        'Uploading',
        { status: 'Finished', attempts, nextAttemptAtMs: 0, errorCode: '', errorInfo: '' },
        this.nowMs(),
      );
      return true;
    } catch (caught) {
      const error = uploadError(caught);
      const delay = this.storage ? nextAttemptDelayMs(this.retries, attempts) : undefined;
      await deliveries.update(
        row,
        'Uploading',
        {
          status: delay === undefined ? 'Failed' : 'Pending',
          attempts,
          nextAttemptAtMs: delay === undefined ? 0 : this.nowMs() + delay,
          errorCode: error.code,
          errorInfo: error.message,
        },
        this.nowMs(),
      );
      return false;
    }
  }

  /** The run's stored output, read a piece at a time as the upload takes it. */
  private async *output(key: RunKey): AsyncGenerator<Buffer> {
    for (let offset = 0; ; ) {
      const piece = await this.store.invocations.outputRange(key, offset, readBytes);
      if (piece.length === 0) return;
      offset += piece.length;
      yield piece;
    }
  }

  /**
   * The delivery fields of each shown run (undefined where there are none: an invocation that
   * delivers nothing, a task with no run yet, a run that ended without starting).
   */
  async fields(
    shown: readonly { readonly invocation: Invocation; readonly run: InvocationInstance }[],
  ): Promise<(DeliveryFields | undefined)[]> {
    const delivering = shown.filter(({ invocation }) => invocation.ossOutputDelivery);
    if (delivering.length === 0) return shown.map(() => undefined);
    const rows = await this.store.outputDeliveries.read(delivering.map(({ run }) => run));
    return shown.map(({ invocation, run }) => {
      if (!invocation.ossOutputDelivery) return undefined;
      const row = rows.get(`${run.invokeId}/${run.instanceId}/${run.execution}`);
      if (row) {
        return {
          OssOutputStatus: row.status,
          OssOutputUri: `oss://${row.bucket}/${row.objectKey}`,
          OssOutputErrorCode: row.errorCode,
          OssOutputErrorInfo: row.errorInfo,
        };
      }
      if (run.execution === 0 && hasExecutions(invocation.repeatMode)) return undefined;
      if (isFinal(run.status) && run.startTimeMs === 0) return undefined;
      const target = parseOssUri(invocation.ossOutputDelivery);
      return {
        OssOutputStatus: 'Pending',
        OssOutputUri: `oss://${target.bucket}/${outputObjectKey(target.prefix, run, invocation.repeatMode)}`,
        OssOutputErrorCode: '',
        OssOutputErrorInfo: '',
      };
    });
  }
}
