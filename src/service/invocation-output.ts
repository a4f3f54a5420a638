import { ApiError } from '../domain/errors.js';
import { hasExecutions, type Invocation, type InvocationInstance } from '../domain/invocation.js';
import { type InstanceStatus, type InvocationStatus, isFinal } from '../domain/invocation-status.js';
import { maxOutputChunkBytes } from '../protocol/messages.js';
import type { RunKey, Store } from '../store/store.js';
import type { InvocationChanges } from './invocation-changes.js';
import { decodeCursor, encodeCursor, runKeyText } from './output-cursor.js';

/** DescribeInvocationOutput's request: a byte range of one run's stored output. */
export interface OutputRequest {
  readonly invokeId: string;
  readonly instanceId: string;
  /** Absent or 0: row 0 as DescribeInvocationResults shows it (a schedule's newest run). */
  readonly execution?: number | undefined;
  readonly offset: number;
  readonly length: number;
}

export interface OutputPage {
  readonly run: InvocationInstance;
  readonly offset: number;
  readonly data: Buffer;
  /** The run is final and nothing is stored beyond this page. */
  readonly finished: boolean;
}

export interface FollowRequest {
  readonly invokeId: string;
  readonly instanceId?: string | undefined;
  readonly cursor?: string | undefined;
}

/** What a follower sees, in order: run states, output with the cursor after it, then the end. */
export type FollowEvent =
  | { readonly type: 'status'; readonly run: InvocationInstance }
  | {
      readonly type: 'output';
      readonly run: InvocationInstance;
      readonly offset: number;
      readonly data: Buffer;
      readonly cursor: string;
    }
  | { readonly type: 'end'; readonly status: InvocationStatus | InstanceStatus };

export interface FollowTiming {
  /** Re-read this often without a wake-up: changes applied by another cluster node. */
  readonly fallbackMs: number;
  /** Largest output event. */
  readonly chunkBytes: number;
}

// An output event carries at most what one agent chunk did: a follower sees the agent's pieces.
export const defaultFollowTiming: FollowTiming = { fallbackMs: 1_000, chunkBytes: maxOutputChunkBytes };

/** The state of a run as a follower compares it: any change is a new `status` event. */
const stateOf = (run: InvocationInstance): string =>
  JSON.stringify([
    run.status,
    run.exitCode,
    run.errorCode,
    run.errorInfo,
    run.startTimeMs,
    run.finishTimeMs,
    run.repeats,
  ]);

/** Full output downloads (DescribeInvocationOutput) and live following (StreamInvocationOutput). */
export class InvocationOutputService {
  constructor(
    private readonly store: Store,
    private readonly changes: InvocationChanges,
    private readonly timing: FollowTiming = defaultFollowTiming,
  ) {}

  private async invocation(regionId: string, invokeId: string): Promise<Invocation> {
    const invocation = await this.store.invocations.get(regionId, invokeId);
    // A sent file has no output: its invocation is not one of a command's.
    if (!invocation || invocation.file) {
      throw new ApiError(
        'InvalidInvokeId.NotFound',
        `No invocation ${invokeId.slice(0, 80)} in ${regionId}.`,
      );
    }
    return invocation;
  }

  private async standingRow(invokeId: string, instanceId: string): Promise<InvocationInstance> {
    const row = await this.store.invocations.run({ invokeId, instanceId, execution: 0 });
    if (!row) {
      throw new ApiError('InvalidInstanceId.NotFound', `${instanceId.slice(0, 80)} is not in ${invokeId}.`);
    }
    return row;
  }

  async read(regionId: string, request: OutputRequest): Promise<OutputPage> {
    const invocation = await this.invocation(regionId, request.invokeId);
    const standing = await this.standingRow(request.invokeId, request.instanceId);
    const run = await this.resolveRun(invocation, standing, request.execution ?? 0);
    const data = await this.store.invocations.outputRange(run, request.offset, request.length);
    const finished = isFinal(run.status) && request.offset + data.length === run.outputBytes;
    return { run, offset: request.offset, data, finished };
  }

  /** Row n as asked; row 0 of a schedule or reboot task stands for its newest run, as in the Describe calls. */
  private async resolveRun(
    invocation: Invocation,
    standing: InvocationInstance,
    execution: number,
  ): Promise<InvocationInstance> {
    if (execution === 0) {
      if (!hasExecutions(invocation.repeatMode)) return standing;
      const latest = await this.store.invocations.latestExecutions([invocation.id]);
      return latest.get(`${invocation.id}/${standing.instanceId}`) ?? standing;
    }
    const key: RunKey = { invokeId: invocation.id, instanceId: standing.instanceId, execution };
    const run = await this.store.invocations.run(key);
    if (!run)
      throw new ApiError('InvalidParameter', `Execution ${execution} of ${key.instanceId} does not exist.`);
    return run;
  }

  /**
   * Checks the request (invocation, instance, cursor) before anything is streamed, then returns
   * the events to stream: they stop at `end`, or when `signal` aborts.
   */
  async follow(
    regionId: string,
    request: FollowRequest,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<FollowEvent, void, undefined>> {
    const invocation = await this.invocation(regionId, request.invokeId);
    if (request.instanceId !== undefined) await this.standingRow(invocation.id, request.instanceId);
    const offsets =
      request.cursor === undefined ? new Map<string, number>() : decodeCursor(request.cursor, invocation.id);
    return this.events(regionId, invocation.id, request.instanceId, offsets, signal);
  }

  private async *events(
    regionId: string,
    invokeId: string,
    instanceId: string | undefined,
    offsets: Map<string, number>,
    signal: AbortSignal,
  ): AsyncGenerator<FollowEvent, void, undefined> {
    // Subscribed before the first read, so a change between a read and the wait is never missed.
    let dirty = false;
    let wake: (() => void) | undefined;
    const unsubscribe = this.changes.subscribe(invokeId, () => {
      dirty = true;
      wake?.();
    });
    const shown = new Map<string, string>();
    try {
      while (!signal.aborted) {
        dirty = false;
        const rows = await this.store.invocations.executions(invokeId, instanceId);
        const changed = rows.filter(
          (run) => shown.get(runKeyText(run.instanceId, run.execution)) !== stateOf(run),
        );
        for (const run of changed) {
          shown.set(runKeyText(run.instanceId, run.execution), stateOf(run));
        }
        // A run's final state follows its last output; earlier states come first.
        for (const run of changed) if (!isFinal(run.status)) yield { type: 'status', run };
        for (const run of rows) {
          const key = runKeyText(run.instanceId, run.execution);
          let offset = offsets.get(key) ?? 0;
          while (offset < run.outputBytes && !signal.aborted) {
            const max = Math.min(this.timing.chunkBytes, run.outputBytes - offset);
            const data = await this.store.invocations.outputRange(run, offset, max);
            if (data.length === 0) break;
            offsets.set(key, offset + data.length);
            yield { type: 'output', run, offset, data, cursor: encodeCursor(invokeId, offsets) };
            offset += data.length;
          }
        }
        for (const run of changed) if (isFinal(run.status)) yield { type: 'status', run };
        const caughtUp = rows.every(
          (run) => (offsets.get(runKeyText(run.instanceId, run.execution)) ?? 0) >= run.outputBytes,
        );
        if (rows.length > 0 && caughtUp && rows.every((run) => isFinal(run.status))) {
          yield { type: 'end', status: await this.endStatus(regionId, invokeId, rows, instanceId) };
          return;
        }
        if (!dirty && !signal.aborted) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              wake = undefined;
              resolve();
            };
            const timer = setTimeout(done, this.timing.fallbackMs);
            signal.addEventListener('abort', done, { once: true });
            wake = done;
          });
        }
      }
    } finally {
      unsubscribe();
    }
  }

  /** The one instance's row 0 status, or the invocation's aggregate. */
  private async endStatus(
    regionId: string,
    invokeId: string,
    rows: readonly InvocationInstance[],
    instanceId: string | undefined,
  ): Promise<InvocationStatus | InstanceStatus> {
    if (instanceId !== undefined) {
      return rows.find((run) => run.execution === 0)?.status ?? 'Success';
    }
    return (await this.invocation(regionId, invokeId)).status;
  }
}
