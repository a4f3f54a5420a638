import type { InvocationInstance } from '../domain/invocation.js';
import type { RunChange, Store } from '../store/store.js';

// Transactions commit out of update-time order: each poll reads this far back and drops what it sent.
const lookbackMs = 3_000;
const pageSize = 500;

export interface FleetEvent {
  readonly Type: 'run.status';
  readonly RegionId: string;
  readonly ResourceGroupId: string;
  readonly CommandId: string;
  readonly InvokeId: string;
  readonly InstanceId: string;
  readonly Execution: number;
  readonly Status: string;
  readonly ExitCode: number | null;
  readonly ErrorCode: string;
  readonly UpdateTime: string;
}

const wireTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

const runKey = (run: InvocationInstance) => `${run.invokeId}/${run.instanceId}/${run.execution}`;

const toEvent = (regionId: string, change: RunChange): FleetEvent => ({
  Type: 'run.status',
  RegionId: regionId,
  ResourceGroupId: change.resourceGroupId,
  CommandId: change.commandId,
  InvokeId: change.run.invokeId,
  InstanceId: change.run.instanceId,
  Execution: change.run.execution,
  Status: change.run.status,
  ExitCode: change.run.exitCode,
  ErrorCode: change.run.errorCode,
  UpdateTime: wireTime(change.run.updateTimeMs),
});

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Every run status change of a region (of one group, for a scoped key) from now on, as any node
 * committed it: polled from the store each `pollMs`, so it sees other nodes' changes too. A live
 * view, not a durable one (a client that disconnects misses what happened meanwhile; webhooks are
 * the durable path). Each run's status is sent once per change, whatever else touched the row.
 */
export async function* followFleet(
  store: Store,
  regionId: string,
  resourceGroupId: string | undefined,
  nowMs: () => number,
  signal: AbortSignal,
  pollMs = 1_000,
): AsyncGenerator<FleetEvent, void, undefined> {
  const startedMs = nowMs();
  let since = startedMs;
  // What each run was last sent as, and when it changed: forgotten once out of the lookback.
  const sent = new Map<string, { status: string; atMs: number }>();
  let behind = false;
  while (!signal.aborted) {
    // Behind (the last page was full): read on from its end, without the look back.
    const from = behind ? since : since - lookbackMs;
    const changes = await store.invocations.changedSince(regionId, from, pageSize, resourceGroupId);
    for (const change of changes) {
      // Changes from before the stream opened are not news.
      if (change.run.updateTimeMs < startedMs) continue;
      const key = runKey(change.run);
      if (sent.get(key)?.status === change.run.status) continue;
      sent.set(key, { status: change.run.status, atMs: change.run.updateTimeMs });
      yield toEvent(regionId, change);
    }
    const newest = changes.at(-1)?.run.updateTimeMs ?? since;
    // A full page of one millisecond cannot be read past: wait, rather than read it forever.
    behind = changes.length === pageSize && newest > since;
    since = Math.max(since, newest);
    for (const [key, seen] of sent) if (seen.atMs < since - 2 * lookbackMs) sent.delete(key);
    if (!behind) await sleep(pollMs, signal);
  }
}
