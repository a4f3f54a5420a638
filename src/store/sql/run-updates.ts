import type { Kysely } from 'kysely';
import {
  armedByBoot,
  newRun,
  onBoot,
  redeliverable,
  redelivery,
  reportCreatesRun,
  stepRun,
} from '../../domain/invocation-state.js';
import { isFinal } from '../../domain/invocation-status.js';
import type { Schema } from '../schema.js';
import type { InvocationRepo } from '../store.js';
import { columnsOf, instanceStatus, repeatMode, runRow, toRun } from './invocation-rows.js';
import { releaseHeld } from './rolling-release.js';
import {
  announceReleased,
  inTransaction,
  type RunQueries,
  type RunRows,
  refreshAggregate,
  rollingLimitsOf,
  type TransactionScope,
} from './run-transaction.js';
import type { EventRecorder } from './webhooks.js';

type UpdateMethods = Pick<InvocationRepo, 'updateRun' | 'armForBoot' | 'redeliver'>;

/**
 * The writes that move runs from one state to the next. Every next state comes from the domain
 * (invocation-state: the service's `change` and `follow` rules, `stepRun`, `onBoot`); this file
 * reads and locks the rows, and writes what the domain returns.
 */
export function runUpdates(
  db: Kysely<Schema>,
  queries: RunQueries,
  rows: RunRows,
  scope: TransactionScope | undefined,
  events: EventRecorder,
): UpdateMethods {
  return {
    async updateRun(key, change, atMs, options = {}) {
      const released: string[] = [];
      const updated = await inTransaction(db, async (trx) => {
        let head = scope?.invocations.get(key.invokeId);
        // In a burst, the first change of a run reads its invocation's head and its row together.
        if (!head && scope) head = (await rows.readWithHead(trx, key))?.head;
        head ??= (await queries.invocationHead(trx, key.invokeId)).rows[0];
        if (!head) return undefined;
        // Its status is compared only outside a scope; the mode never changes.
        scope?.invocations.set(key.invokeId, head);
        const mode = repeatMode(head.repeat_mode);
        const standingKey = { invokeId: key.invokeId, instanceId: key.instanceId, execution: 0 };
        let row = await rows.read(trx, key);
        const standingRow = key.execution > 0 ? await rows.read(trx, standingKey) : undefined;
        if (!row && options.create && standingRow && reportCreatesRun(mode, key.execution)) {
          await queries.insertRun(trx, runRow(key, newRun(key.execution, 'Pending', true, atMs), atMs));
          row = await rows.read(trx, key);
        }
        if (!row) return undefined;
        const current = toRun(row);
        const patch = change(current, mode);
        if (!patch) return current;
        const standing = standingRow && options.follow ? toRun(standingRow) : undefined;
        const step = stepRun(current, patch, atMs, mode, standing, options.follow);
        await rows.write(trx, key, row.seq, columnsOf(patch, atMs), patch.droppedBytes ?? 0);
        if (standingRow && step.standingPatch) {
          const follow = step.standingPatch;
          await rows.write(
            trx,
            standingKey,
            standingRow.seq,
            columnsOf(follow, atMs),
            follow.droppedBytes ?? 0,
          );
        }
        if (step.statusChanged) await events.runChanged(trx, step.updated, atMs);
        // A rolling run's row 0 that ends releases the next held ones (or cancels them past MaxErrors).
        const rolling = rollingLimitsOf(head);
        const releases = rolling.concurrency > 0 && step.statusChanged && isFinal(step.updated.status);
        if (releases && scope) scope.rolling.set(key.invokeId, { limits: rolling, atMs });
        else if (releases) released.push(...(await releaseHeld(trx, key.invokeId, rolling, atMs, events)));
        if (step.statusChanged && scope) scope.staleAggregates.add(key.invokeId);
        else if (step.statusChanged)
          await refreshAggregate(
            trx,
            queries,
            key.invokeId,
            releases ? undefined : head.invocation_status,
            events,
            atMs,
          );
        return step.updated;
      });
      announceReleased(queries, released);
      return updated;
    },

    async armForBoot(instanceId, atMs) {
      return db.transaction().execute(async (trx) => {
        const waiting = await trx
          .selectFrom('invocation_instances as ii')
          .innerJoin('invocations', 'invocations.id', 'ii.invoke_id')
          .select(['ii.seq', 'ii.invoke_id', 'ii.status', 'invocations.repeat_mode'])
          .where('ii.instance_id', '=', instanceId)
          .where('ii.execution', '=', 0)
          .where((eb) =>
            eb.or([
              eb.and([
                eb('invocations.repeat_mode', '=', 'NextRebootOnly'),
                eb('ii.status', 'in', armedByBoot.NextRebootOnly),
              ]),
              eb.and([
                eb('invocations.repeat_mode', '=', 'EveryReboot'),
                eb('ii.status', 'in', armedByBoot.EveryReboot),
              ]),
            ]),
          )
          .execute();
        for (const task of waiting) {
          const step = onBoot(repeatMode(task.repeat_mode), instanceStatus(task.status));
          if (step?.kind === 'deliver') {
            await trx
              .updateTable('invocation_instances')
              .set(columnsOf(step.patch, atMs))
              .where('seq', '=', task.seq)
              .execute();
            await trx
              .updateTable('invocations')
              .set({ invocation_status: step.invocationStatus })
              .where('id', '=', task.invoke_id)
              .execute();
          } else if (step?.kind === 'new-run') {
            const newest = await trx
              .selectFrom('invocation_instances')
              .select(({ fn }) => fn.max('execution').as('n'))
              .where('invoke_id', '=', task.invoke_id)
              .where('instance_id', '=', instanceId)
              .executeTakeFirst();
            const run = { invokeId: task.invoke_id, instanceId, execution: Number(newest?.n ?? 0) + 1 };
            await trx
              .insertInto('invocation_instances')
              .values(runRow(run, newRun(run.execution, 'Pending', false, atMs), atMs))
              .execute();
          }
        }
        return waiting.length;
      });
    },

    async redeliver(instanceId, invokeIds, atMs) {
      if (invokeIds.length === 0) return;
      await db
        .updateTable('invocation_instances')
        .set(columnsOf(redelivery, atMs))
        .where('instance_id', '=', instanceId)
        .where('execution', '=', 0)
        .where('invoke_id', 'in', invokeIds)
        .where('status', 'in', redeliverable)
        .execute();
    },
  };
}
