import type { Worker } from 'node:worker_threads';
import type { ReadOffload, ReadRequest, RenderedText } from '../action.js';
import { apiErrorOfReply, type ReadCall, type ReadReply } from './reader-messages.js';

/**
 * Who answered a call handed to the pool: a reader thread (`reader`, an ApiError included), or
 * the main thread because every thread had its fill (`full`) or the thread failed or ended
 * before answering (`handed_back`).
 */
export type ReaderOutcome = 'reader' | 'full' | 'handed_back';

export interface ReaderPoolOptions {
  readonly threads: number;
  /**
   * Calls handed to one thread and not yet answered. Past it on every thread, a call is answered
   * on the main thread (as without readers): the queue to the readers stays bounded, and no call
   * is refused for it.
   */
  readonly maxPendingPerThread: number;
  /** Starts one reader thread (the real one, or a test's). */
  readonly start: () => Worker;
  readonly log: { warn(fields: object, message: string): void };
  /** A crashed thread is started again after this, doubling while it keeps crashing, up to 30 s. */
  readonly restartDelayMs?: number;
  /** Told who answered each call (the metrics). */
  readonly observe?: ((outcome: ReaderOutcome) => void) | undefined;
}

interface Pending {
  readonly resolve: (answer: RenderedText | undefined) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  readonly pending: Map<number, Pending>;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  startedAtMs: number;
}

const maxRestartDelayMs = 30_000;
// A thread that lived this long before crashing restarts at the first delay again.
const healthyAfterMs = 60_000;

/**
 * Reader threads, each with its own read-only connection, answering read-only calls off the event
 * loop (docs/reader-threads.md). A call goes to the thread with the fewest unanswered calls. A
 * thread that exits or crashes hands its unanswered calls back (they resolve undefined, and the
 * main thread answers them: none is lost) and is started again.
 */
export class ReaderPool implements ReadOffload {
  private readonly slots: Slot[];
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: ReaderPoolOptions) {
    const firstDelayMs = options.restartDelayMs ?? 100;
    this.slots = Array.from({ length: options.threads }, () => ({
      worker: undefined,
      pending: new Map(),
      restartDelayMs: firstDelayMs,
      restartTimer: undefined,
      startedAtMs: 0,
    }));
    for (const slot of this.slots) this.startThread(slot);
  }

  /** Calls handed to reader threads and not yet answered (bounded by threads × maxPendingPerThread). */
  get pendingCalls(): number {
    return this.slots.reduce((sum, slot) => sum + slot.pending.size, 0);
  }

  answer(request: ReadRequest): Promise<RenderedText | undefined> {
    let chosen: Slot | undefined;
    for (const slot of this.slots) {
      if (!slot.worker || slot.pending.size >= this.options.maxPendingPerThread) continue;
      if (!chosen || slot.pending.size < chosen.pending.size) chosen = slot;
    }
    const worker = chosen?.worker;
    if (!chosen || !worker) {
      this.options.observe?.('full');
      return Promise.resolve(undefined);
    }
    const id = ++this.nextId;
    const call: ReadCall = {
      id,
      action: request.action,
      requestId: request.requestId,
      regionId: request.regionId,
      params: [...request.params],
      format: request.format,
    };
    const pending = chosen.pending;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage(call);
    });
  }

  /** Stops every thread; unanswered calls resolve undefined (the caller answers them). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        clearTimeout(slot.restartTimer);
        const worker = slot.worker;
        slot.worker = undefined;
        this.handBack(slot);
        await worker?.terminate();
      }),
    );
  }

  private startThread(slot: Slot): void {
    if (this.closed) return;
    const worker = this.options.start();
    slot.worker = worker;
    slot.startedAtMs = Date.now();
    // The server's life is its HTTP listener's; a reader thread never holds the process open.
    worker.unref();
    worker.on('message', (reply: ReadReply) => this.settle(slot, reply));
    worker.on('error', (error) => this.options.log.warn({ err: error }, 'a reader thread failed'));
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      this.handBack(slot);
      if (this.closed) return;
      if (Date.now() - slot.startedAtMs >= healthyAfterMs)
        slot.restartDelayMs = this.options.restartDelayMs ?? 100;
      this.options.log.warn(
        { exitCode: code, restartInMs: slot.restartDelayMs },
        'a reader thread ended: its calls are answered on the main thread, and it starts again',
      );
      slot.restartTimer = setTimeout(() => this.startThread(slot), slot.restartDelayMs);
      slot.restartTimer.unref();
      slot.restartDelayMs = Math.min(maxRestartDelayMs, slot.restartDelayMs * 2);
    });
  }

  private settle(slot: Slot, reply: ReadReply): void {
    const pending = slot.pending.get(reply.id);
    if (!pending) return;
    slot.pending.delete(reply.id);
    if (!('failed' in reply)) this.options.observe?.('reader');
    if ('body' in reply) {
      pending.resolve({
        type: reply.type,
        text: Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength),
      });
    } else if ('code' in reply) pending.reject(apiErrorOfReply(reply));
    else {
      this.options.observe?.('handed_back');
      // Not the action's own error (a busy database, a bug): the main thread answers it as it would.
      this.options.log.warn({ cause: reply.failed }, 'a reader thread could not answer a call');
      pending.resolve(undefined);
    }
  }

  /** The calls a stopped thread held go back to their callers, to be answered on the main thread. */
  private handBack(slot: Slot): void {
    for (const pending of slot.pending.values()) {
      this.options.observe?.('handed_back');
      pending.resolve(undefined);
    }
    slot.pending.clear();
  }
}
