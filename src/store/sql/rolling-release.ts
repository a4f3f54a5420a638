import type { Kysely } from 'kysely';
import { type RollingLimits, releaseDecision, tallyRuns } from '../../domain/rolling-run.js';
import { runError } from '../../domain/run-errors.js';
import type { Schema } from '../schema.js';
import { instanceStatus, toRun } from './invocation-rows.js';
import type { EventRecorder } from './webhooks.js';

/**
 * The release of a rolling run's held instances (docs/rolling-runs.md), inside the transaction
 * that ended one of its runs. The caller holds the invocation's row (locked on PostgreSQL), so two
 * nodes ending two runs at once release one after the other, each counting the other's change.
 */

/** Who hears of released runs, after the commit that released them (delivery wakes them). */
export type ReleaseListener = (instanceIds: readonly string[]) => void;

/** Releases the next held runs in instance order, or cancels them all past MaxErrors; returns the released instances. */
export async function releaseHeld(
  trx: Kysely<Schema>,
  invokeId: string,
  limits: RollingLimits,
  atMs: number,
  events: EventRecorder,
): Promise<string[]> {
  const rows = await trx
    .selectFrom('invocation_instances')
    .select(['status', 'held'])
    .where('invoke_id', '=', invokeId)
    .where('execution', '=', 0)
    .execute();
  const tally = tallyRuns(
    rows.map((row) => ({ status: instanceStatus(row.status), held: Number(row.held) === 1 })),
  );
  const decision = releaseDecision(limits, tally);
  if (decision.kind === 'cancel') {
    await cancelHeldRows(trx, invokeId, undefined, atMs, true, events);
    return [];
  }
  if (decision.count === 0) return [];
  const next = await trx
    .selectFrom('invocation_instances')
    .select(['seq', 'instance_id'])
    .where('invoke_id', '=', invokeId)
    .where('execution', '=', 0)
    .where('held', '=', 1)
    .orderBy('seq')
    .limit(decision.count)
    .execute();
  if (next.length === 0) return [];
  // update_time: the delivery timeout counts from the release, not from the invocation's creation.
  await trx
    .updateTable('invocation_instances')
    .set({ held: 0, update_time: atMs })
    .where(
      'seq',
      'in',
      next.map((row) => row.seq),
    )
    .execute();
  return next.map((row) => row.instance_id);
}

/**
 * Held runs end Cancelled: all past MaxErrors (with its code), or those StopInvocation names. Each
 * is a run's end like any other: an event for the webhooks, in the same transaction.
 */
export async function cancelHeldRows(
  trx: Kysely<Schema>,
  invokeId: string,
  instanceIds: readonly string[] | undefined,
  atMs: number,
  maxErrorsExceeded: boolean,
  events: EventRecorder,
): Promise<number> {
  const held = await trx
    .selectFrom('invocation_instances')
    .select('seq')
    .where('invoke_id', '=', invokeId)
    .where('execution', '=', 0)
    .where('held', '=', 1)
    .$if(instanceIds !== undefined, (q) => q.where('instance_id', 'in', [...(instanceIds ?? [])]))
    .orderBy('seq')
    .execute();
  if (held.length === 0) return 0;
  const seqs = held.map((row) => row.seq);
  const error = maxErrorsExceeded ? runError('MaxErrorsExceeded') : { errorCode: '', errorInfo: '' };
  await trx
    .updateTable('invocation_instances')
    .set({
      held: 0,
      status: 'Cancelled',
      error_code: error.errorCode,
      error_info: error.errorInfo,
      finish_time: atMs,
      update_time: atMs,
      ...(!maxErrorsExceeded && { stop_time: atMs }),
    })
    .where('seq', 'in', seqs)
    .execute();
  const cancelled = await trx
    .selectFrom('invocation_instances')
    .selectAll()
    .where('seq', 'in', seqs)
    .orderBy('seq')
    .execute();
  for (const row of cancelled) await events.runChanged(trx, toRun(row), atMs);
  return cancelled.length;
}
