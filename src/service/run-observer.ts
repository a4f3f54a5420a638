import { type InvocationInstance, type RepeatMode, waitsForBoot } from '../domain/invocation.js';
import type { EndedRun } from '../store/store.js';

/**
 * What the services and the dispatch tell whoever watches work go by (the server's metrics,
 * `telemetry/metrics.ts`). Every call is synchronous and cheap: it sits on the request's path.
 */
export interface RunObserver {
  /** An invocation was stored: its repeat mode, or "File" for SendFile. */
  invocationCreated(repeatMode: string): void;
  /** A result row reached a final status (`InvocationRepo.onRunEnded`). */
  runEnded(run: EndedRun): void;
  /** A task went to its agent's channel, `waitedMs` after its run was stored. */
  taskSent(waitedMs: number): void;
  /** The agent reported a run started, `waitedMs` after the run was stored. */
  runStarted(waitedMs: number): void;
  /** Runs aborted because no agent took them within the delivery timeout. */
  deliveryTimedOut(count: number): void;
}

/**
 * When a run's dispatch began, for the dispatch latency: its row's creation (a Period task's own
 * row is delivered as any other). Undefined for a row that waits for a boot before it is due
 * (NextRebootOnly, EveryReboot's own row) and for a schedule's run, which the agent fires itself.
 */
export function dispatchStartMs(
  mode: RepeatMode,
  run: Pick<InvocationInstance, 'execution' | 'createdAtMs' | 'scheduledAtMs'>,
): number | undefined {
  if (run.scheduledAtMs > 0) return undefined;
  if (run.execution === 0 && waitsForBoot(mode)) return undefined;
  return run.createdAtMs;
}
