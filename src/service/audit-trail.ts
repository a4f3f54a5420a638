import { createHmac } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import { type AuditEvent, actionTrailEvent } from '../domain/audit.js';
import { ApiError } from '../domain/errors.js';
import type { AuditEventRepo, AuditFilter } from '../store/store.js';
import { auditEvent, type CallFacts } from './audit-events.js';

/** Where stored records are copied as JSON lines for a log shipper: a file (appended) or stdout. */
export type AuditExport = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdout' };

export interface AuditTrailOptions {
  /** Off: nothing is recorded (the bench compares); reads still answer what is stored. */
  readonly enabled: boolean;
  /** Keys the digests that replace secrets, so a short secret cannot be found by hashing guesses. */
  readonly digestKey: Buffer;
  readonly export?: AuditExport | undefined;
  readonly logger: FastifyBaseLogger;
  /** Records waiting to be stored; a caller beyond it waits for room, nothing is dropped. */
  readonly maxQueued?: number;
  /** Records per INSERT. */
  readonly maxBatch?: number;
  /** Told of each batch written or not (the metrics). */
  readonly observe?: (outcome: 'stored' | 'failed', records: number) => void;
}

interface Pending {
  readonly event: AuditEvent;
  readonly stored: () => void;
  readonly failed: (error: unknown) => void;
}

/** The answer of a call whose record could not be stored: never a success without its record. */
export const unrecorded = () =>
  new ApiError(
    'ServiceUnavailable',
    'The audit record of this call could not be stored; the call may have taken effect: check before retrying.',
  );

/**
 * The audit trail's writer (docs/audit.md). A group commit: records queue up, one INSERT stores
 * each batch, and every caller waits until its own record is stored, so no call is answered
 * before its record exists. While one batch is written the next one gathers, so the batch grows
 * with the database's latency instead of the calls waiting in line for one commit each.
 */
export class AuditTrail {
  private queue: Pending[] = [];
  private writing = false;
  /** Records of the batch being written: taken from the queue, not stored yet. */
  private inFlight = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly maxQueued: number;
  private readonly maxBatch: number;
  private sink: Promise<FileHandle | undefined> | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: AuditEventRepo,
    private readonly options: AuditTrailOptions,
  ) {
    this.maxQueued = options.maxQueued ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /**
   * Records not stored yet, each holding its call's answer: those being written, those queued, and
   * those whose callers wait for room in the full queue. Grows when the database falls behind.
   */
  get backlog(): number {
    return this.inFlight + this.queue.length + this.roomWaiters.length;
  }

  /** What replaces a secret in a record: a keyed SHA-256, equal for equal values on every node. */
  digest(value: string): string {
    return `hmac-sha256:${createHmac('sha256', this.options.digestKey).update(value).digest('hex')}`;
  }

  /** Resolves once the record is stored; rejects when it could not be. */
  async record(event: AuditEvent): Promise<void> {
    if (!this.options.enabled) return;
    while (this.queue.length >= this.maxQueued) {
      await new Promise<void>((room) => this.roomWaiters.push(room));
    }
    return new Promise<void>((stored, failed) => {
      this.queue.push({ event, stored, failed });
      if (!this.writing) {
        this.writing = true;
        // Calls of the same turn of the event loop share the first batch.
        this.idle = new Promise<void>((done) => setImmediate(() => void this.drain().then(done)));
      }
    });
  }

  /** Records a call described by its facts (redacted here); rejects with `unrecorded()` when not stored. */
  async recordCall(facts: CallFacts): Promise<void> {
    if (!this.options.enabled) return;
    await this.record(auditEvent(facts, (value) => this.digest(value))).catch(() => {
      throw unrecorded();
    });
  }

  lookup(filter: AuditFilter, limit: number, afterSeq: number | undefined) {
    return this.repo.lookup(filter, limit, afterSeq);
  }

  /** Records older than the retention go (0 days: kept forever). */
  purgeExpired(retentionDays: number, nowMs: number): Promise<number> {
    if (retentionDays <= 0) return Promise.resolve(0);
    return this.repo.purgeBefore(nowMs - retentionDays * 86_400_000);
  }

  /** Stores what is queued and closes the export file. */
  async close(): Promise<void> {
    await this.idle;
    const handle = await this.sink;
    await handle?.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      for (const wake of this.roomWaiters.splice(0, this.maxQueued - this.queue.length)) wake();
      this.inFlight = batch.length;
      try {
        await this.repo.append(batch.map((pending) => pending.event));
      } catch (error) {
        this.options.logger.error({ err: error, records: batch.length }, 'storing audit records failed');
        this.options.observe?.('failed', batch.length);
        for (const pending of batch) pending.failed(error);
        continue;
      } finally {
        this.inFlight = 0;
      }
      this.options.observe?.('stored', batch.length);
      for (const pending of batch) pending.stored();
      // Written before the next batch is taken: a slow export holds the queue, which holds callers.
      await this.export(batch);
    }
    this.writing = false;
  }

  private async export(batch: readonly Pending[]): Promise<void> {
    const target = this.options.export;
    if (!target) return;
    const text = batch.map((pending) => `${JSON.stringify(actionTrailEvent(pending.event))}\n`).join('');
    try {
      if (target.kind === 'stdout') {
        await new Promise<void>((written, failed) =>
          process.stdout.write(text, (error) => (error ? failed(error) : written())),
        );
        return;
      }
      this.sink ??= open(target.path, 'a', 0o600).then(async (handle) => {
        // An older file made looser by hand or umask is tightened: it holds who did what.
        await handle.chmod(0o600);
        return handle;
      });
      const handle = await this.sink;
      await handle?.appendFile(text);
    } catch (error) {
      // The records are stored: the export is a copy, and its failure is logged, not answered.
      const broken = this.sink;
      this.sink = undefined;
      void broken?.then((handle) => handle?.close()).catch(() => undefined);
      this.options.logger.error({ err: error }, 'writing the audit export failed');
    }
  }
}
