import { type Kysely, sql } from 'kysely';
import { endedInvocationStatuses, instanceStatuses, isFinal } from '../../domain/invocation-status.js';
import { ossOutputStatuses } from '../../domain/output-delivery.js';
import type { Schema } from '../schema.js';
import type { OutputDelivery, OutputDeliveryRepo } from '../store.js';
import { oneOf } from './columns.js';
import { repeatMode, runKeyText } from './invocation-rows.js';

const finalStatuses = instanceStatuses.filter(isFinal);
const ossStatus = oneOf(ossOutputStatuses, 'output_deliveries.status');
// Once and NextRebootOnly run as row 0; schedules and reboot tasks as rows 1, 2, … (row 0 is the task).
const singleRunModes = ['Once', 'NextRebootOnly'];

type Db = Kysely<Schema>;

// An IN list's most ids per query (SQLite's bound-parameter limit is far above).
const idsPerQuery = 500;

/**
 * Ended, started runs of these invocations with no delivery row. Each query starts from the open
 * invocations' ids (index on oss_open, then invocation_instances by invoke_id): a join left to
 * the planner started from every ended run of the table.
 */
async function undeliveredRuns(db: Db, invokeIds: readonly string[]) {
  const found = [];
  for (let at = 0; at < invokeIds.length; at += idsPerQuery) {
    const rows = await db
      .selectFrom('invocation_instances as ii')
      .innerJoin('invocations as i', 'i.id', 'ii.invoke_id')
      .select([
        'ii.seq',
        'ii.invoke_id',
        'ii.instance_id',
        'ii.execution',
        'i.repeat_mode',
        'i.oss_output_delivery',
      ])
      .where('ii.invoke_id', 'in', invokeIds.slice(at, at + idsPerQuery))
      .where('ii.status', 'in', finalStatuses)
      .where('ii.start_time', '>', 0)
      .where((eb) => eb.or([eb('ii.execution', '>', 0), eb('i.repeat_mode', 'in', singleRunModes)]))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('output_deliveries as d')
              .select(sql`1`.as('one'))
              .whereRef('d.invoke_id', '=', 'ii.invoke_id')
              .whereRef('d.instance_id', '=', 'ii.instance_id')
              .whereRef('d.execution', '=', 'ii.execution'),
          ),
        ),
      )
      .execute();
    found.push(...rows);
  }
  return found.sort((a, b) => Number(a.seq) - Number(b.seq));
}

export function outputDeliveryRepo(db: Db): OutputDeliveryRepo {
  const openInvocations = (ended: boolean) =>
    db
      .selectFrom('invocations')
      .select('id')
      .where('oss_open', '=', 1)
      .$if(ended, (q) => q.where('invocation_status', 'in', endedInvocationStatuses))
      .execute();
  return {
    async endedWithoutDelivery(limit) {
      const open = await openInvocations(false);
      const rows = await undeliveredRuns(
        db,
        open.map((row) => row.id),
      );
      return rows.slice(0, limit).map((row) => ({
        invokeId: row.invoke_id,
        instanceId: row.instance_id,
        execution: Number(row.execution),
        repeatMode: repeatMode(row.repeat_mode),
        target: row.oss_output_delivery,
      }));
    },

    async add(rows, atMs) {
      if (rows.length === 0) return;
      await db
        .insertInto('output_deliveries')
        .values(
          rows.map((row) => ({
            invoke_id: row.invokeId,
            instance_id: row.instanceId,
            execution: row.execution,
            bucket: row.bucket,
            object_key: row.objectKey,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.nextAttemptAtMs,
            error_code: row.errorCode,
            error_info: row.errorInfo,
            updated_at: atMs,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
    },

    async closeDelivered() {
      // An ended invocation's runs change no more: once none lacks a row, it never will.
      const ended = (await openInvocations(true)).map((row) => row.id);
      if (ended.length === 0) return 0;
      const waiting = new Set((await undeliveredRuns(db, ended)).map((row) => row.invoke_id));
      const done = ended.filter((id) => !waiting.has(id));
      for (let at = 0; at < done.length; at += idsPerQuery) {
        await db
          .updateTable('invocations')
          .set({ oss_open: 0 })
          .where('id', 'in', done.slice(at, at + idsPerQuery))
          .execute();
      }
      return done.length;
    },

    async due(atMs, limit) {
      const rows = await db
        .selectFrom('output_deliveries')
        .selectAll()
        .where('status', 'in', ['Pending', 'Uploading'])
        .where('next_attempt_at', '<=', atMs)
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute();
      return rows.map(toDelivery);
    },

    async update(key, from, change, atMs) {
      const result = await db
        .updateTable('output_deliveries')
        .set({
          status: change.status,
          attempts: change.attempts,
          next_attempt_at: change.nextAttemptAtMs,
          error_code: change.errorCode,
          error_info: change.errorInfo,
          updated_at: atMs,
        })
        .where('invoke_id', '=', key.invokeId)
        .where('instance_id', '=', key.instanceId)
        .where('execution', '=', key.execution)
        .where('status', '=', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async read(keys) {
      const found = new Map<string, OutputDelivery>();
      const invokeIds = [...new Set(keys.map((key) => key.invokeId))];
      if (invokeIds.length === 0) return found;
      const wanted = new Set(keys.map((key) => runKeyText(key.invokeId, key.instanceId, key.execution)));
      const rows = await db
        .selectFrom('output_deliveries')
        .selectAll()
        .where('invoke_id', 'in', invokeIds)
        .where('instance_id', 'in', [...new Set(keys.map((key) => key.instanceId))])
        .execute();
      for (const row of rows) {
        const text = runKeyText(row.invoke_id, row.instance_id, Number(row.execution));
        if (wanted.has(text)) found.set(text, toDelivery(row));
      }
      return found;
    },
  };
}

const toDelivery = (row: Schema['output_deliveries']): OutputDelivery => ({
  invokeId: row.invoke_id,
  instanceId: row.instance_id,
  execution: Number(row.execution),
  bucket: row.bucket,
  objectKey: row.object_key,
  status: ossStatus(row.status),
  attempts: Number(row.attempts),
  nextAttemptAtMs: Number(row.next_attempt_at),
  errorCode: row.error_code,
  errorInfo: row.error_info,
});
